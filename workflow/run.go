package workflow

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tfcifar/tfcifar/cluster"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/atomicfile"
	"github.com/tfcifar/tfcifar/internal/closer"
	"github.com/tfcifar/tfcifar/internal/libtf"
	"github.com/tfcifar/tfcifar/internal/session"
)

// Options are the settings of a run that do not come from the config.
//
// Out receives the summaries, the per-epoch lines and the final table (nil:
// nothing is printed). Resume continues every stage from its last
// checkpoint. Overwrite lets the run replace a finished run in its run dir
// (without it or Resume, Run refuses with ErrFinished). How to resume an
// interrupted run is the caller's to say: Run returns a *train.Interrupted.
type Options struct {
	Out       io.Writer
	Resume    bool
	Overwrite bool
}

// Run runs every stage of cfg in order and returns the report. cfg must be
// validated (config.Load does that). When ctx is done, the running stage
// stops between steps and leaves a checkpoint; the error wraps a
// *train.Interrupted.
//
// The run dir is locked while the run is in it; another run into it fails
// at once. It must be new, empty or a tfcifar run dir, and one holding a
// finished run is refused unless opt.Overwrite or opt.Resume is set. What
// killed runs left there under temporary names is removed first.
func Run(ctx context.Context, cfg *config.Config, opt Options) (_ *Report, err error) {
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	local := cfg.Run
	if local.Device, err = cfg.Cluster.CheckDevice(local.Device); err != nil {
		return nil, err
	}
	run, device, err := session.Resolve(local)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(opt.Out, device)
	if run != cfg.Run {
		c := *cfg
		c.Run = run
		cfg = &c
	}
	prof := newProfile(cfg.Run)
	rd, err := lockRunDir(cfg.Run.Out)
	if err != nil {
		return nil, err
	}
	defer closer.Join(&err, rd) // also removes a run dir this run made, if left empty
	if err := rd.prepare(cfg, opt); err != nil {
		return nil, err
	}
	src := newSources()
	ds := newDatasets(cfg, opt.Out)
	defer closer.Join(&err, ds)
	if err := ds.prepare(ctx, src.network); err != nil {
		return nil, err
	}
	libtf.ReleaseMemory() // the whole datasets are garbage: the stages keep their sets
	resolved, err := cfg.YAML()
	if err != nil {
		return nil, err
	}
	resolved = append([]byte(configHeader), resolved...)
	if err := atomicfile.WriteFile(filepath.Join(cfg.Run.Out, config.ConfigFile), resolved); err != nil {
		return nil, err
	}
	rep := &Report{
		TFVersion: libtf.Version(),
		Seed:      cfg.Run.Seed,
		Threads:   Threads{Intra: cfg.Run.IntraOpThreads, Inter: cfg.Run.InterOpThreads},
		Data:      strings.Join(slices.Compact(ds.dirs), ", "),
	}
	var chief *cluster.Chief
	if cfg.Cluster.Enabled() {
		if chief, err = cluster.Start(cfg.Cluster, cfg.Run, opt.Out); err != nil {
			return nil, err
		}
		defer closer.Join(&err, chief)
	}
	done := map[string]graph.Weights{} // trained values by stage name
	for i := range cfg.Stages {
		st := &stage{cfg: cfg, i: i, data: ds, src: src, done: done, opt: opt, chief: chief, prof: prof.Sub(cfg.Stages[i].Name)}
		sr, err := st.run(ctx)
		if err != nil {
			return nil, fmt.Errorf("stage %q: %w", cfg.Stages[i].Name, err)
		}
		rep.Stages = append(rep.Stages, sr)
		libtf.ReleaseMemory() // the stage's images, buffers and sessions are garbage now
	}
	if cpu := session.CPUOps(); len(cpu) > 0 {
		fmt.Fprintf(opt.Out, "ops with no GPU kernel, run on the CPU: %s\n", strings.Join(cpu, ", "))
	}
	rep.PeakRSS = peakRSS()
	if prof != nil {
		if err := writeProfile(cfg.Run, prof, opt.Out); err != nil {
			return nil, err
		}
	}
	if err := rep.write(cfg.Run.Out); err != nil {
		return nil, err
	}
	fmt.Fprintln(opt.Out)
	if err := rep.Table(opt.Out); err != nil {
		return nil, fmt.Errorf("print report: %w", err)
	}
	return rep, nil
}
