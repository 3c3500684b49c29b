package workflow

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/infer"
	"github.com/tfcifar/tfcifar/internal/atomicfile"
	"github.com/tfcifar/tfcifar/internal/textfmt"
	"github.com/tfcifar/tfcifar/train"
)

// Report is what a run measured: one entry per stage, plus the
// TensorFlow version, seed, threads, data directory and the peak resident
// memory of the process. It is written as report.json (the format
// scripts/bench reads) and report.txt (the final table).
type Report struct {
	TFVersion string        `json:"tf_version"`
	Seed      int64         `json:"seed"`
	Threads   Threads       `json:"threads"`
	Data      string        `json:"data"`
	PeakRSS   int64         `json:"peak_rss_bytes"`
	Stages    []StageReport `json:"stages"`
}

// Threads are the session's thread counts (0: TensorFlow's choice).
type Threads struct {
	Intra int `json:"intra"`
	Inter int `json:"inter"`
}

// StageReport is the result of one stage: its parameter counts, per-epoch
// metrics, time taken by the fit (seconds, including the computation of
// cached frozen features), the export directory, the floating-point
// operations its training executed (an estimate from the layer shapes),
// how many leading layers were served from cached features, whether an
// existing export was reused instead of training, the epoch whose weights
// were exported when a callback chose it (best_epoch, restore_best_weights;
// 0: the last), and the export's loss, accuracy, per-class metrics and
// confusion matrix on the validation images (absent without validation
// images).
type StageReport struct {
	Name         string         `json:"name"`
	Params       Params         `json:"params"`
	Epochs       []train.Epoch  `json:"epochs"`
	TimeTaken    float64        `json:"time_taken"`
	Export       string         `json:"export"`
	TrainFLOPs   float64        `json:"train_flops"`
	CachedLayers int            `json:"cached_layers"`
	Reused       bool           `json:"reused_export"`
	WeightsEpoch int            `json:"weights_epoch,omitempty"`
	Validation   *infer.Summary `json:"validation,omitempty"`
}

// Params counts a network's parameters.
type Params struct {
	Total        int64 `json:"total"`
	Trainable    int64 `json:"trainable"`
	NonTrainable int64 `json:"non_trainable"`
}

// Final returns the metrics of the exported weights' epoch: the last one,
// or the one a callback chose (zero when there are none).
func (s StageReport) Final() train.Epoch {
	if len(s.Epochs) == 0 {
		return train.Epoch{}
	}
	if n := s.WeightsEpoch; n > 0 && n <= len(s.Epochs) {
		return s.Epochs[n-1]
	}
	return s.Epochs[len(s.Epochs)-1]
}

// Table writes the side-by-side table of the stages.
func (r *Report) Table(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\ttrainable\tfrozen\taccuracy\tval_accuracy\ttime taken\t")
	for _, s := range r.Stages {
		f := s.Final()
		took := fmt.Sprintf("%.1fs", s.TimeTaken)
		if s.Reused {
			took += " (reused)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.4f\t%.4f\t%s\t\n", s.Name, textfmt.Thousands(s.Params.Trainable),
			textfmt.Thousands(s.Params.NonTrainable), f.Accuracy, f.ValAccuracy, took)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range r.Stages {
		fmt.Fprintf(w, "%s: SavedModel in %s\n", s.Name, s.Export)
		if v := s.Validation; v != nil {
			fmt.Fprintf(w, "%s: validation macro F1 %.4f; per-class report %s, confusion matrix %s\n", s.Name, v.Macro.F1,
				filepath.Join(s.Name, classReport), filepath.Join(s.Name, confusionChart))
		}
	}
	return nil
}

// write saves report.json and report.txt in dir.
func (r *Report) write(dir string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, config.ReportJSON), append(b, '\n')); err != nil {
		return err
	}
	var t strings.Builder
	if err := r.Table(&t); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, config.ReportText), []byte(t.String()))
}

// peakRSS returns the process's peak resident set size in bytes (0 when
// the system does not say).
func peakRSS() int64 {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return u.Maxrss * 1024 // Linux reports kilobytes
}
