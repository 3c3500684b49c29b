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
	"github.com/tfcifar/tfcifar/folder"
	"github.com/tfcifar/tfcifar/savedmodel"
)

// The sets Evaluate accepts.
const (
	splitTrain = "train"
	splitVal   = "val"
	splitTest  = "test"
)

// splits are the sets Evaluate accepts.
var splits = []string{splitTrain, splitVal, splitTest}

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
// tfcifar export in modelDir (EvaluateSet) on one set of images of the
// export's classes from the data section (CIFAR-10, CIFAR-100 or a folder,
// read at the model's input size): "train" or "val" (as the data section
// splits them; a folder with load.Run.Seed) or "test" (the official test
// images; a folder's data.test_dir). An export that records its pixel
// scale gets raw pixels and applies it itself; an older one gets pixels
// times data.scale. load says whether the model is trusted
// (savedmodel.Load).
func Evaluate(ctx context.Context, modelDir string, data config.Data, split string, load savedmodel.LoadOptions) (ev *Evaluation, err error) {
	if !slices.Contains(splits, split) {
		return nil, fmt.Errorf("split %q: want one of %v", split, splits)
	}
	m, err := savedmodel.Load(ctx, modelDir, load)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	set, done, err := evalSet(ctx, data, split, m, modelDir, load.Run)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, done()) }()
	ev, err = EvaluateSet(ctx, m, set, data.Scale, 0)
	if err != nil {
		return nil, err
	}
	ev.Model, ev.Split = modelDir, split
	return ev, nil
}

// evalSet reads the dataset data names and returns the split's images of
// the export m's classes, labelled in the export's class order, and done,
// which closes the files a CIFAR set read from them (data.in_memory
// false) reads its images from.
func evalSet(ctx context.Context, data config.Data, split string, m *savedmodel.Model, modelDir string, run config.Run) (set *cifar.Set, done func() error, err error) {
	done = func() error { return nil }
	if data.Source == config.SourceFolder {
		set, err = evalFolder(ctx, data, split, m, modelDir, run)
		return set, done, err
	}
	ds, err := loadCIFAR(ctx, data)
	if err != nil {
		return nil, done, err
	}
	set, err = splitOf(ds, data, split, m, modelDir)
	if err != nil {
		return nil, done, errors.Join(err, ds.Close())
	}
	return set, ds.Close, nil
}

// splitOf returns the split's images of ds of the export m's classes.
func splitOf(ds *cifar.Dataset, data config.Data, split string, m *savedmodel.Model, modelDir string) (*cifar.Set, error) {
	classes, err := classIndices(m.Classes, ds.Train.Classes, modelDir)
	if err != nil {
		return nil, err
	}
	var set *cifar.Set
	if split == splitTest {
		_, set, err = ds.Split(classes, cifar.SplitStandard, 0)
	} else {
		var tr, val *cifar.Set
		tr, val, err = ds.Split(classes, cifar.SplitKind(data.Split), data.ValidationFraction)
		set = tr
		if split == splitVal {
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
// classes, in one pass of batches of batch images (0 or more than
// savedmodel.MaxBatch: MaxBatch; smaller batches take less memory), and
// returns the loss, accuracy and confusion matrix (Model and Split are
// left empty). An export that records its pixel scale gets raw pixels
// and applies it itself; an older one gets pixels times dataScale (the
// config's data.scale).
func EvaluateSet(ctx context.Context, m *savedmodel.Model, set *cifar.Set, dataScale float64, batch int) (*Evaluation, error) {
	if batch <= 0 || batch > savedmodel.MaxBatch {
		batch = savedmodel.MaxBatch
	}
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
	b := cifar.NewBatcher(set, batch, scale, 0)
	for batch := range b.Epoch(0, false) {
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
	if err := b.Err(); err != nil {
		return nil, fmt.Errorf("infer: evaluate: %w", err)
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
			return nil, fmt.Errorf("%s: class %q is not a class of the data (%v)", dir, n, all)
		}
		out[i] = k
	}
	return out, nil
}

// loadCIFAR locates and reads the CIFAR-10 or CIFAR-100 dataset data
// names, in memory or left in its files as data.in_memory says.
func loadCIFAR(ctx context.Context, data config.Data) (*cifar.Dataset, error) {
	hundred := data.Source == config.SourceCIFAR100
	locate := cifar.Locate
	if hundred {
		locate = cifar.Locate100
	}
	dir, err := locate(ctx, data.Dir, data.CacheDir, data.Download, nil)
	if err != nil {
		return nil, err
	}
	return cifar.Read(dir, cifar.ReadOptions{CIFAR100: hundred, Coarse: data.Labels == config.LabelsCoarse, InMemory: data.InMemory})
}

// evalFolder reads the folder data names (data.test_dir for "test") at
// m's input size and returns the split's images of m's classes.
func evalFolder(ctx context.Context, data config.Data, split string, m *savedmodel.Model, modelDir string, run config.Run) (*cifar.Set, error) {
	dir := data.Dir
	if split == splitTest {
		if dir = data.TestDir; dir == "" {
			return nil, errors.New("split test: the folder data has no data.test_dir")
		}
	}
	in := m.Network.Input
	if len(in) != 3 || in[2] != 3 {
		return nil, fmt.Errorf("%s: model input %v is not an RGB image", modelDir, in)
	}
	cache := data.CacheDir
	if cache == "" {
		cache, _ = cifar.DefaultCacheDir() // none: no cache
	}
	f, err := folder.Load(ctx, dir, folder.Options{Height: in[0], Width: in[1], CacheDir: cache, SkipBad: data.SkipBad, Run: run})
	if err != nil {
		return nil, err
	}
	classes, err := classIndices(m.Classes, f.Set.Classes, modelDir)
	if err != nil {
		return nil, err
	}
	all := &cifar.Dataset{Train: f.Set, Test: &cifar.Set{Classes: f.Set.Classes, Shape: f.Set.Shape}}
	set, _, err := all.Split(classes, cifar.SplitStandard, 0)
	if err != nil || split == splitTest || data.Split == config.SplitStandard && split == splitTrain {
		return set, err
	}
	if data.Split == config.SplitStandard { // val: the test folder
		return evalFolder(ctx, data, splitTest, m, modelDir, run)
	}
	tr, val, err := folder.Split(set, data.ValidationFraction, run.Seed)
	if split == splitVal {
		return val, err
	}
	return tr, err
}
