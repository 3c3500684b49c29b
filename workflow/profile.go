package workflow

import (
	"fmt"
	"io"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/atomicfile"
	"github.com/tfcifar/tfcifar/internal/libtf"
	"github.com/tfcifar/tfcifar/internal/profile"
)

// A profiled run (run.profile) traces, of every stage, profileSteps
// training steps and validation batches after profileWarmup of each (the
// first steps create oneDNN's kernels and TensorFlow's buffers).
const (
	profileWarmup = 10
	profileSteps  = 20
)

// newProfile returns the Recorder of a run with run.profile set, else
// nil (config validation has checked the path).
func newProfile(r config.Run) *profile.Recorder {
	if r.Profile == "" {
		return nil
	}
	return profile.New(profileWarmup, profileSteps)
}

// writeProfile measures TensorFlow's matrix product rate with the run's
// settings and writes rec's report to run.profile.
func writeProfile(r config.Run, rec *profile.Recorder, out io.Writer) error {
	peak, err := profile.Peak(r, 5)
	if err != nil {
		return err
	}
	err = atomicfile.Write(r.Profile, func(w io.Writer) error {
		fmt.Fprintf(w, "tfcifar profile: TensorFlow %s, device %s, threads intra %d inter %d (0: TensorFlow chooses), precision %s\n",
			libtf.Version(), r.Device, r.IntraOpThreads, r.InterOpThreads, r.Precision)
		fmt.Fprintf(w, "peak: %dx%d float32 MatMul through TensorFlow, same settings: %.1f GFLOP/s\n", profile.PeakSize, profile.PeakSize, peak)
		fmt.Fprintln(w, "share: of the summed op time of a step; µs/step: summed time of the op type's or node's runs per step; GFLOP/s: FLOPs over that time")
		return rec.Write(w, peak)
	})
	if err != nil {
		return fmt.Errorf("run.profile: %w", err)
	}
	fmt.Fprintf(out, "Profile written to %s (MatMul peak %.1f GFLOP/s)\n", r.Profile, peak)
	return nil
}
