package workflow

import (
	"context"
	"math"
	"testing"

	"github.com/tfcifar/tfcifar/savedmodel"
)

// TestZeroPadding2DRun trains, exports and loads the reference workflow
// with the base's max pooling replaced by zero_padding2d (so that the
// transfer stage reuses it, frozen, from cached features).
func TestZeroPadding2DRun(t *testing.T) {
	cfg := smallConfig(t, fixture(t, 200), "stages.base.model.layers.2={type: zero_padding2d, pad: [1, 2]}")
	rep, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// conv2d 608, conv2d_1 3,216, zero_padding2d 0 ([26 28 16]), conv2d_2
	// 4,640 ([24 26 32]), dense 19,968*128+128, dense_1 645.
	const head = 19968*128 + 128 + 645
	want := []Params{{8464 + head, 8464 + head, 0}, {8464 + head, head, 8464}}
	for i, s := range rep.Stages {
		if s.Params != want[i] {
			t.Errorf("stage %s params = %+v, want %+v", s.Name, s.Params, want[i])
		}
		if len(s.Epochs) != 1 || math.IsNaN(s.Epochs[0].Loss) {
			t.Errorf("stage %s epochs = %+v, want one with a loss", s.Name, s.Epochs)
		}
		// Loaded without trust: Pad is on the allow-list of untrusted exports.
		m, err := savedmodel.Load(context.Background(), s.Export, savedmodel.LoadOptions{})
		if err != nil {
			t.Fatalf("stage %s: %v", s.Name, err)
		}
		defer m.Close()
		img := make([]float32, 2*32*32*3)
		for k := range img {
			img[k] = float32(k % 256)
		}
		probs, ids, err := m.Predict(img, 2)
		if err != nil || len(probs) != 10 || len(ids) != 2 {
			t.Fatalf("stage %s: Predict = %d probabilities, %d ids, %v; want 10, 2", s.Name, len(probs), len(ids), err)
		}
		if sum := probs[0] + probs[1] + probs[2] + probs[3] + probs[4]; math.Abs(float64(sum)-1) > 1e-4 {
			t.Errorf("stage %s: probabilities of the first image sum to %g, want 1", s.Name, sum)
		}
	}
}
