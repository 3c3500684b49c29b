package workflow

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/infer"
	"github.com/tfcifar/tfcifar/internal/atomicfile"
	"github.com/tfcifar/tfcifar/internal/libtf"
	"github.com/tfcifar/tfcifar/savedmodel"
)

// Files the stage's evaluation writes in its directory.
const (
	confusionChart = "confusion.png" // the validation confusion matrix
	classReport    = "classes.txt"   // the per-class report and the matrix as text
)

// evaluate measures the stage's export on its validation images (none:
// nothing to do) in batches of the stage's batch size, records the result in sr and writes the confusion
// matrix as confusion.png and the per-class report as classes.txt in the
// stage's directory.
func (st *stage) evaluate(ctx context.Context, sr *StageReport, val *cifar.Set) (err error) {
	if val.Len() == 0 {
		return nil
	}
	libtf.ReleaseMemory() // what training and the export freed goes before the export is loaded
	m, err := savedmodel.Load(ctx, sr.Export, savedmodel.LoadOptions{Run: st.cfg.Run})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	ev, err := infer.EvaluateSet(ctx, m, val, st.scale(), st.conf().Train.BatchSize) // a training batch's memory
	if err != nil {
		return fmt.Errorf("evaluate %s: %w", sr.Export, err)
	}
	ev.Model, ev.Split = sr.Export, "val"
	chart := filepath.Join(st.dir(), confusionChart)
	if err := ev.Confusion.WritePNG(chart, fmt.Sprintf("%s on its validation images", sr.Name)); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s on its %d validation images: loss %.4f, accuracy %.4f\n\n", sr.Name, ev.Images, ev.Loss, ev.Accuracy)
	if err := ev.WriteText(&b); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(st.dir(), classReport), []byte(b.String())); err != nil {
		return err
	}
	s := ev.Summary()
	sr.Validation = &s
	fmt.Fprintf(st.opt.Out, "Validation: loss %.4f, accuracy %.4f, macro F1 %.4f; per-class report in %s\n",
		ev.Loss, ev.Accuracy, s.Macro.F1, filepath.Join(st.dir(), classReport))
	return nil
}
