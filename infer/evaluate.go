package infer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/savedmodel"
)

// splits are the sets Evaluate accepts.
var splits = []string{"train", "val", "test"}

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
// set of CIFAR-10 images of the export's classes: "train" or "val" (as the
// data section splits them) or "test" (the official test images). An
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
	set, err := evalSet(ctx, data, split, m.Classes, modelDir)
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
			return nil, fmt.Errorf("%s: class %q is not a CIFAR-10 class (%v)", dir, n, all)
		}
		out[i] = k
	}
	return out, nil
}
