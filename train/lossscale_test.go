package train

import (
	"context"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/cifartest"
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

func (b bright) FillTo(idx []int, images, labels []float32) error {
	err := b.Dataset.FillTo(idx, images, labels)
	for i := range images {
		images[i] *= b.f
	}
	return err
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

// small is a small conv network for real CIFAR-10 images.
var small = config.Network{Input: []int{32, 32, 3}, Layers: []config.Layer{
	{Type: config.Rescaling, Scale: 1.0 / 255},
	{Type: config.Conv2D, Filters: 8, Kernel: config.Size{3, 3}, Strides: config.Size{2, 2}, Activation: config.ReLU},
	{Type: config.Flatten},
	{Type: config.Dense, Units: 5},
}}

// realSlice returns the first n training and n/4 validation images of the
// real CIFAR-10 classes 0-4 (reference split).
func realSlice(t *testing.T, n int) (train, val *cifar.Set) {
	t.Helper()
	dir := cifartest.RealDir(t)
	if err := cifar.Check(dir); err != nil {
		t.Fatalf("CIFAR-10 data needed (set TFCIFAR_DATA): %v", err)
	}
	d, err := cifar.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tr, va, err := d.Split([]int{0, 1, 2, 3, 4}, cifar.SplitReference, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	head := func(s *cifar.Set, n int) *cifar.Set {
		return &cifar.Set{Images: s.Images[:n*cifar.ImageSize], Labels: s.Labels[:n], Classes: s.Classes}
	}
	return head(tr, n), head(va, n/4)
}

// fitSmall trains the small network with mixed_float16 in dir and returns
// its history, values and loss scale.
func fitSmall(t *testing.T, ctx context.Context, dir string, resume bool, train, val *cifar.Set) (*History, map[string][]float32, lossScaleState, error) {
	t.Helper()
	g, s := newGraph()
	m, err := graph.Build(s, small, graph.Options{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	opt := float16Options(lossScaling{initial: 1 << 15, growthSteps: 10})
	opt.Dir, opt.Resume = dir, resume
	cfg := trainCfg(3, 32)
	cfg.Optimizer.LearningRate = 0.002
	tr, err := New(g, m, cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	h, fitErr := tr.Fit(ctx, train, val)
	st, _, err := tr.lossScale()
	if err != nil {
		t.Fatal(err)
	}
	return h, values(t, tr), st, fitErr
}

// TestMixedFloat16TrainsAndResumes trains the small network on 512 real
// images with mixed_float16 for 3 epochs of 16 steps: the loss decreases,
// the scale doubles every 10 steps, and a run interrupted inside epoch 2
// and resumed ends with the same weights, history and loss scale.
func TestMixedFloat16TrainsAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on real CIFAR-10; runs without -short")
	}
	train, val := realSlice(t, 512)
	bg := context.Background()
	want, wantVals, wantScale, err := fitSmall(t, bg, t.TempDir(), false, train, val)
	if err != nil {
		t.Fatal(err)
	}
	if first, last := want.Epochs[0].Loss, want.Epochs[2].Loss; last >= first {
		t.Errorf("loss %v after epoch 1, %v after epoch 3: want it to decrease", first, last)
	}
	if ws := (lossScaleState{Scale: 1 << 19, Counter: 8, Steps: 48}); wantScale != ws {
		t.Errorf("loss scale after 48 steps %+v, want %+v", wantScale, ws)
	}
	dir := t.TempDir()
	if _, _, _, err := fitSmall(t, &stopAfter{Context: bg, n: 21}, dir, false, train, val); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted fit: err = %v, want it cancelled", err)
	}
	got, gotVals, gotScale, err := fitSmall(t, bg, dir, true, train, val)
	if err != nil {
		t.Fatal(err)
	}
	if gotScale != wantScale {
		t.Errorf("resumed loss scale %+v, want %+v", gotScale, wantScale)
	}
	if !reflect.DeepEqual(gotVals, wantVals) {
		t.Error("resumed run's weights differ from the uninterrupted run's")
	}
	for i, e := range want.Epochs {
		g := got.Epochs[min(i, len(got.Epochs)-1)]
		if len(got.Epochs) != len(want.Epochs) || g.Loss != e.Loss || g.Accuracy != e.Accuracy || g.ValLoss != e.ValLoss || g.ValAccuracy != e.ValAccuracy {
			t.Errorf("resumed epoch %d: %+v, want %+v", i+1, g, e)
		}
	}
}

// TestLossScaleStillDiverges checks that with loss scaling a non-finite
// loss still stops training: step 1's finite gradients, applied with a
// huge rate, make step 2's logits overflow.
func TestLossScaleStillDiverges(t *testing.T) {
	tr := newTiny(t, tiny{k: 3, seed: 4}, trainCfg(3, 16), float16Options(kerasLossScaling))
	tr.cfg.Optimizer.LearningRate = 1e30
	_, err := tr.Fit(context.Background(), colors(100, 3, 6), nil)
	if !errors.Is(err, ErrDiverged) || !strings.Contains(err.Error(), "epoch 1/3 step 2/7: the loss is NaN") {
		t.Fatalf("Fit: err = %v, want ErrDiverged at step 2", err)
	}
}
