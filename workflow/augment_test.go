package workflow

import (
	"context"
	"testing"

	"github.com/tfcifar/tfcifar/infer"
	"github.com/tfcifar/tfcifar/internal/tolerance"
	"github.com/tfcifar/tfcifar/savedmodel"
)

// augmentedStages are a base network that augments, rescales and adapts a
// normalization to its training images, and a transfer stage that reuses
// it frozen.
const augmentedStages = `stages=[
{name: base, classes: [0, 1], train: {epochs: 2}, model: {input: [32, 32, 3], layers: [
  {type: random_flip, mode: horizontal}, {type: random_translation, height_factor: 0.1, width_factor: 0.1},
  {type: rescaling, scale: 0.00392156862745098}, {type: normalization, adapt: true},
  {type: conv2d, filters: 4, kernel: 3, strides: 2, activation: relu}, {type: flatten}, {type: dense, units: 2, activation: softmax}]}},
{name: transfer, classes: [2, 3], train: {epochs: 1}, model: {input: [32, 32, 3], from: {stage: base, up_to: flatten},
  layers: [{type: dense, units: 2, activation: softmax}]}}]`

// TestAugmentedRun trains and exports a network with augmentation and an
// adapted normalization, then a transfer network that reuses it.
func TestAugmentedRun(t *testing.T) {
	cfg := smallConfig(t, fixture(t, 200), augmentedStages)
	rep, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	base, transfer := rep.Stages[0], rep.Stages[1]
	if transfer.CachedLayers != 0 {
		t.Errorf("transfer cached %d layers, want 0: random_flip comes first", transfer.CachedLayers)
	}
	// The export records the adapted statistics in its network and weights.
	meta, err := savedmodel.ReadMeta(base.Export)
	if err != nil {
		t.Fatal(err)
	}
	norm := meta.Network.Layers[3]
	if norm.Adapt || len(norm.Mean) != 3 || len(norm.Variance) != 3 {
		t.Fatalf("exported normalization %+v, want adapt false and 3 means and variances", norm)
	}
	for _, export := range []string{base.Export, transfer.Export} {
		read, err := savedmodel.ReadVariables(export, savedmodel.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		mean := read.Weights["normalization/mean"].Value().([]float32)
		for c, m := range norm.Mean {
			if mean[c] != float32(m) || m <= 0.2 || m >= 0.8 {
				t.Errorf("%s: normalization/mean[%d] = %g, network %g; want them equal, in (0.2, 0.8) for pixels / 255", export, c, mean[c], m)
			}
		}
	}
	// The export takes raw pixels and does not augment: eval measures the
	// validation accuracy training measured.
	ev, err := infer.Evaluate(context.Background(), base.Export, cfg.Data, "val", savedmodel.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := base.Epochs[1].ValAccuracy; !tolerance.EqualWithinAbs(ev.Accuracy, want, 1e-6) {
		t.Errorf("eval accuracy %.6f, training measured %.6f", ev.Accuracy, want)
	}
}
