package infer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/confusion"
	"github.com/tfcifar/tfcifar/savedmodel"
)

// splits are the sets Evaluate accepts.
var splits = []string{"train", "val", "test"}

// Splits returns the sets Evaluate accepts: the training and validation
// parts of the data section's split, and the official test images.
func Splits() []string { return slices.Clone(splits) }

// Evaluation is how a model did on one set of images: the mean
// cross-entropy of its logits and the true labels (Loss, as training
// computes its loss; NaN or +Inf when the model's outputs are not finite),
// Accuracy, and the confusion matrix, whose rows are the true classes and
// columns the predicted ones, both in Classes order.
type Evaluation struct {
	Model     string
	Split     string
	Images    int
	Loss      float64
	Accuracy  float64
	Classes   []string
	Confusion *confusion.Matrix
}

// Report returns the per-class precision, recall, F1 and support and
// their averages (confusion.Matrix.Report).
func (ev *Evaluation) Report() confusion.Report { return ev.Confusion.Report() }

// WriteText writes the classification report (confusion.Report.WriteText)
// and, after a blank line and a heading, the confusion matrix as text.
func (ev *Evaluation) WriteText(w io.Writer) error {
	var b strings.Builder
	if err := ev.Report().WriteText(&b); err != nil {
		return err
	}
	b.WriteString("\nconfusion matrix (rows: true class, columns: predicted class)\n")
	if err := ev.Confusion.WriteText(&b); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary is an Evaluation as eval -json prints it and a run's
// report.json stores it; the README's "eval -json" section documents its
// fields.
type Summary struct {
	Model   string   `json:"model,omitempty"`
	Split   string   `json:"split"`
	Classes []string `json:"classes"`
	Images  int      `json:"images"`
	Loss    *float64 `json:"loss"` // null when not finite
	confusion.Report
	Matrix [][]int `json:"confusion_matrix"`
}

// Summary returns ev's summary.
func (ev *Evaluation) Summary() Summary {
	s := Summary{Model: ev.Model, Split: ev.Split, Classes: ev.Classes, Images: ev.Images,
		Report: ev.Report(), Matrix: ev.Confusion.Counts}
	if !math.IsNaN(ev.Loss) && !math.IsInf(ev.Loss, 0) {
		loss := ev.Loss
		s.Loss = &loss
	}
	return s
}

// Evaluate measures the loss, accuracy and confusion matrix of the
// tfcifar export in modelDir (EvaluateSet) on one set of CIFAR-10 images
// of the export's classes: "train" or "val" (as the data section splits
// them) or "test" (the official test images). load says whether the
// model is trusted (savedmodel.Load).
func Evaluate(ctx context.Context, modelDir string, data config.Data, split string, load savedmodel.LoadOptions) (ev *Evaluation, err error) {
	if !slices.Contains(splits, split) {
		return nil, fmt.Errorf("split %q: want one of %v", split, splits)
	}
	m, err := savedmodel.Load(ctx, modelDir, load)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	set, err := evalSet(ctx, data, split, m.Classes, modelDir)
	if err != nil {
		return nil, err
	}
	ev, err = EvaluateSet(ctx, m, set, data.Scale)
	if err != nil {
		return nil, err
	}
	ev.Model, ev.Split = modelDir, split
	return ev, nil
}

// evalSet loads CIFAR-10 as data says and returns the split's images of
// the export's classes, labelled in the export's class order.
func evalSet(ctx context.Context, data config.Data, split string, names []string, modelDir string) (*cifar.Set, error) {
	dir, err := cifar.Locate(ctx, data.Dir, data.CacheDir, data.Download, nil)
	if err != nil {
		return nil, err
	}
	ds, err := cifar.Load(dir)
	if err != nil {
		return nil, err
	}
	classes, err := classIndices(names, ds.Train.Classes, modelDir)
	if err != nil {
		return nil, err
	}
	var set *cifar.Set
	if split == "test" {
		_, set, err = ds.Split(classes, cifar.SplitStandard, 0)
	} else {
		var tr, val *cifar.Set
		tr, val, err = ds.Split(classes, cifar.SplitKind(data.Split), data.ValidationFraction)
		set = tr
		if split == "val" {
			set = val
		}
	}
	if err != nil {
		return nil, err
	}
	if set.Len() == 0 {
		return nil, fmt.Errorf("split %q has no images", split)
	}
	return set, nil
}

// EvaluateSet runs the loaded model m over set, whose labels index m's
// classes, in one pass of batches of savedmodel.MaxBatch images, and
// returns the loss, accuracy and confusion matrix (Model and Split are
// left empty). An export that records its pixel scale gets raw pixels
// and applies it itself; an older one gets pixels times dataScale (the
// config's data.scale).
func EvaluateSet(ctx context.Context, m *savedmodel.Model, set *cifar.Set, dataScale float64) (*Evaluation, error) {
	scale := float32(1)
	if m.Scale == 0 {
		scale = float32(dataScale)
	}
	k := len(m.Classes)
	if set.Len() == 0 {
		return nil, errors.New("infer: evaluate: no images")
	}
	if n := len(set.Classes); n != k {
		return nil, fmt.Errorf("infer: evaluate: %d classes in the set, the model has %d", n, k)
	}
	ev := &Evaluation{Images: set.Len(), Classes: m.Classes, Confusion: confusion.New(m.Classes)}
	i := 0
	for batch := range cifar.NewBatcher(set, savedmodel.MaxBatch, scale, 0).Epoch(0, false) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		logits, ids, err := m.Logits(batch.Images, batch.N)
		if err != nil {
			return nil, err
		}
		for j, id := range ids {
			label := int(set.Labels[i+j])
			if label >= k {
				return nil, fmt.Errorf("infer: evaluate: image %d has label %d, outside the model's %d classes", i+j, label, k)
			}
			ev.Loss += crossEntropy(logits[j*k:(j+1)*k], label)
			ev.Confusion.Add(label, int(id))
		}
		i += batch.N
	}
	ev.Loss /= float64(ev.Images)
	ev.Accuracy = ev.Confusion.Accuracy()
	return ev, nil
}

// crossEntropy is -log(softmax(logits)[label]), computed in float64 as
// log(sum(exp(logits - max))) - (logits[label] - max).
func crossEntropy(logits []float32, label int) float64 {
	top := float64(slices.Max(logits))
	sum := 0.0
	for _, v := range logits {
		sum += math.Exp(float64(v) - top)
	}
	return math.Log(sum) - (float64(logits[label]) - top)
}

// classIndices maps an export's class names to CIFAR-10 labels.
func classIndices(names, all []string, dir string) ([]int, error) {
	out := make([]int, len(names))
	for i, n := range names {
		k := slices.Index(all, n)
		if k < 0 {
			return nil, fmt.Errorf("%s: class %q is not a CIFAR-10 class (%v)", dir, n, all)
		}
		out[i] = k
	}
	return out, nil
}
