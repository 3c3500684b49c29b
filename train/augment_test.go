package train

import (
	"context"
	"testing"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
)

// augmented is a small network that augments its images in training.
var augmented = config.Network{Input: []int{32, 32, 3}, Layers: []config.Layer{
	{Type: config.RandomFlip, Mode: config.Horizontal},
	{Type: config.RandomTranslation, HeightFactor: config.Range{0.1}, WidthFactor: config.Range{0.1}},
	{Type: config.Rescaling, Scale: 1.0 / 255},
	{Type: config.Conv2D, Filters: 2, Kernel: config.Size{3, 3}, Strides: config.Size{4, 4}, Activation: config.ReLU},
	{Type: config.Flatten},
	{Type: config.Dense, Units: 3},
}}

// fitAugmented trains the augmented network on a synthetic set for epochs
// in dir and returns its history and final values.
func fitAugmented(t *testing.T, dir string, epochs int, resume bool) (*History, map[string][]float32) {
	t.Helper()
	g, s := newGraph()
	m, err := graph.Build(s, augmented, graph.Options{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	opt := testOptions()
	opt.Dir, opt.Resume = dir, resume
	tr, err := New(g, m, resumeCfg(epochs), opt)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	h, err := tr.Fit(context.Background(), colors(64, 3, 6), colors(16, 3, 7))
	if err != nil {
		t.Fatal(err)
	}
	return h, values(t, tr)
}

// TestAugmentedTrainingIsReproducible checks that training with random
// layers gives the same weights twice, and that a run resumed from its
// checkpoint draws the same augmentations as an uninterrupted one.
func TestAugmentedTrainingIsReproducible(t *testing.T) {
	want, wantVals := fitAugmented(t, t.TempDir(), 2, false)
	_, again := fitAugmented(t, t.TempDir(), 2, false)
	dir := t.TempDir()
	fitAugmented(t, dir, 1, false)
	resumed, resumedVals := fitAugmented(t, dir, 2, true)
	if wantVals["random_flip/seed"][0] != 2*4 {
		t.Errorf("random_flip/seed = %v after 2 epochs of 4 steps, want 8", wantVals["random_flip/seed"])
	}
	for name, w := range wantVals {
		for i := range w {
			if again[name][i] != w[i] || resumedVals[name][i] != w[i] {
				t.Fatalf("%s[%d] = %v (again), %v (resumed); want %v", name, i, again[name][i], resumedVals[name][i], w[i])
			}
		}
	}
	g, w := resumed.Epochs[1], want.Epochs[1]
	if g.Loss != w.Loss || g.Accuracy != w.Accuracy || g.ValLoss != w.ValLoss || g.ValAccuracy != w.ValAccuracy || g.LearningRate != w.LearningRate {
		t.Errorf("resumed epoch 2: %+v, want %+v", g, w)
	}
}
