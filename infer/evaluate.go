package infer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
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

// Evaluation is a model's accuracy on one set.
type Evaluation struct {
	Model    string
	Split    string
	Images   int
	Correct  int
	Accuracy float64
	Classes  []string
	PerClass []float64 // accuracy per class, in Classes order
}

// Evaluate measures the accuracy of the tfcifar export in modelDir on one
// set of images of the export's classes from the data section (CIFAR-10,
// CIFAR-100 or a folder, read at the model's input size): "train" or
// "val" (as the data section splits them; a folder with load.Run.Seed) or
// "test" (the official test images; a folder's data.test_dir). An
// export that records its pixel scale gets raw pixels and applies it
// itself; an older one gets pixels times data.scale. load says whether
// the model is trusted (savedmodel.Load).
func Evaluate(ctx context.Context, modelDir string, data config.Data, split string, load savedmodel.LoadOptions) (ev *Evaluation, err error) {
	if !slices.Contains(splits, split) {
		return nil, fmt.Errorf("split %q: want one of %v", split, splits)
	}
	m, err := savedmodel.Load(ctx, modelDir, load)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	set, err := evalSet(ctx, data, split, m, modelDir, load.Run)
	if err != nil {
		return nil, err
	}
	scale := float32(1)
	if m.Scale == 0 {
		scale = float32(data.Scale)
	}
	ev = &Evaluation{Model: modelDir, Split: split, Images: set.Len(), Classes: m.Classes}
	if err := ev.count(ctx, m, set, scale); err != nil {
		return nil, err
	}
	return ev, nil
}

// evalSet loads the dataset data names and returns the split's images of
// the export m's classes, labelled in the export's class order.
func evalSet(ctx context.Context, data config.Data, split string, m *savedmodel.Model, modelDir string, run config.Run) (*cifar.Set, error) {
	if data.Source == config.SourceFolder {
		return evalFolder(ctx, data, split, m, modelDir, run)
	}
	ds, err := loadCIFAR(ctx, data)
	if err != nil {
		return nil, err
	}
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

// count runs m over set (pixels times scale) and fills in the counts and
// accuracies of ev.
func (ev *Evaluation) count(ctx context.Context, m *savedmodel.Model, set *cifar.Set, scale float32) error {
	right := make([]int, len(ev.Classes))
	total := make([]int, len(ev.Classes))
	i := 0
	for batch := range cifar.NewBatcher(set, savedmodel.MaxBatch, scale, 0).Epoch(0, false) {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, ids, err := m.Predict(batch.Images, batch.N)
		if err != nil {
			return err
		}
		for j, id := range ids {
			label := int(set.Labels[i+j])
			total[label]++
			if int(id) == label {
				right[label]++
				ev.Correct++
			}
		}
		i += batch.N
	}
	ev.Accuracy = float64(ev.Correct) / float64(ev.Images)
	ev.PerClass = make([]float64, len(total))
	for k := range total {
		if total[k] > 0 {
			ev.PerClass[k] = float64(right[k]) / float64(total[k])
		}
	}
	return nil
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

// loadCIFAR locates and loads the CIFAR-10 or CIFAR-100 dataset data names.
func loadCIFAR(ctx context.Context, data config.Data) (*cifar.Dataset, error) {
	if data.Source == config.SourceCIFAR100 {
		dir, err := cifar.Locate100(ctx, data.Dir, data.CacheDir, data.Download, nil)
		if err != nil {
			return nil, err
		}
		return cifar.Load100(dir, data.Labels == config.LabelsCoarse)
	}
	dir, err := cifar.Locate(ctx, data.Dir, data.CacheDir, data.Download, nil)
	if err != nil {
		return nil, err
	}
	return cifar.Load(dir)
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
