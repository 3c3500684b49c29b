package train

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/config"
)

// float16Options are testOptions with mixed_float16 and the given loss
// scaling.
func float16Options(ls lossScaling) Options {
	opt := testOptions()
	opt.Run.Precision = config.MixedFloat16
	opt.lossScaling = &ls
	return opt
}

// bright is a Dataset whose pixels are f times brighter: the tiny
// model's gradients grow with them.
type bright struct {
	Dataset
	f float32
}

func (b bright) FillTo(idx []int, images, labels []float32) {
	b.Dataset.FillTo(idx, images, labels)
	for i := range images {
		images[i] *= b.f
	}
}

// TestLossScaleSkipsOverflow forces an overflow: with the largest float32
// scale and bright pixels, the scaled gradients are infinite. The step
// must be skipped (weights and Adam's step unchanged: its update with
// those gradients would make them NaN) without counting as diverged, and
// the scale halved.
func TestLossScaleSkipsOverflow(t *testing.T) {
	opt := float16Options(lossScaling{initial: math.MaxFloat32, growthSteps: 2000})
	tr := newTiny(t, tiny{k: 3, seed: 4}, trainCfg(1, 100), opt)
	before := values(t, tr)
	h, err := tr.Fit(context.Background(), bright{colors(100, 3, 6), 1e4}, nil)
	if err != nil {
		t.Fatalf("Fit: %v, want the overflowing step skipped", err)
	}
	if l := h.Epochs[0].Loss; math.IsNaN(l) || math.IsInf(l, 0) {
		t.Errorf("loss %v, want the finite unscaled loss", l)
	}
	after := values(t, tr)
	for _, name := range []string{"pre/kernel", "dense/kernel", "dense/bias"} {
		if !slices.Equal(after[name], before[name]) {
			t.Errorf("%s changed by a skipped step: %v, was %v", name, after[name], before[name])
		}
	}
	if c := after["stats/count"]; c[0] != 1 {
		t.Errorf("model update count %v, want 1: a skipped step still runs the model's updates", c)
	}
	st, ok, err := tr.lossScale()
	if err != nil || !ok {
		t.Fatalf("lossScale: %v, %v", ok, err)
	}
	if want := (lossScaleState{Scale: math.MaxFloat32 / 2, Counter: 0, Steps: 0}); st != want {
		t.Errorf("loss scale state %+v, want %+v", st, want)
	}
	if tr.st.Step != 1 {
		t.Errorf("steps taken %d, want 1 (skipped steps count)", tr.st.Step)
	}
}

// TestLossScaleHalvesUntilFinite starts from a scale at which the
// gradients overflow: the first steps are skipped, each halving the scale,
// until the gradients fit; the later steps are applied and training ends
// without counting the skipped steps as diverged.
func TestLossScaleHalvesUntilFinite(t *testing.T) {
	opt := float16Options(lossScaling{initial: math.MaxFloat32, growthSteps: 2000})
	tr := newTiny(t, tiny{k: 3, seed: 4}, resumeCfg(2), opt)
	if _, err := tr.Fit(context.Background(), bright{colors(100, 3, 6), 1e3}, nil); err != nil {
		t.Fatal(err)
	}
	st, _, err := tr.lossScale()
	if err != nil {
		t.Fatal(err)
	}
	skipped := tr.st.Step - st.Steps
	if skipped < 1 || st.Steps < 1 || st.Scale != math.MaxFloat32/float32(int64(1)<<skipped) || st.Counter != st.Steps {
		t.Errorf("after %d steps: %+v, want the first ones skipped, each halving the scale, and the rest applied", tr.st.Step, st)
	}
}

// TestLossScaleGrows checks that the scale doubles after every
// growthSteps finite steps and that every finite step is applied.
func TestLossScaleGrows(t *testing.T) {
	opt := float16Options(lossScaling{initial: 1, growthSteps: 3})
	tr := newTiny(t, tiny{k: 3, seed: 4}, resumeCfg(1), opt)
	before := values(t, tr)
	// 100 images in batches of 16: 7 steps; the scale doubles after steps
	// 3 and 6.
	if _, err := tr.Fit(context.Background(), colors(100, 3, 6), nil); err != nil {
		t.Fatal(err)
	}
	st, _, err := tr.lossScale()
	if err != nil {
		t.Fatal(err)
	}
	if want := (lossScaleState{Scale: 4, Counter: 1, Steps: 7}); st != want {
		t.Errorf("loss scale state %+v, want %+v", st, want)
	}
	if slices.Equal(values(t, tr)["dense/kernel"], before["dense/kernel"]) {
		t.Error("dense/kernel unchanged by 7 applied steps")
	}
}

// TestNoLossScaleWithoutFloat16 checks that other precisions build no loss
// scaling.
func TestNoLossScaleWithoutFloat16(t *testing.T) {
	for _, p := range []string{config.Float32, config.MixedBfloat16} {
		opt := testOptions()
		opt.Run.Precision = p
		tr := newTiny(t, tiny{k: 3, seed: 4}, resumeCfg(1), opt)
		if _, ok, _ := tr.lossScale(); ok {
			t.Errorf("precision %s: the graph has loss scaling", p)
		}
		for _, name := range tr.saver.Names() {
			if strings.HasPrefix(name, "train/") && name != "train/step" && name != "train/epoch" {
				t.Errorf("precision %s: checkpoint entry %s", p, name)
			}
		}
	}
}
