package train

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
)

func TestFeatures(t *testing.T) {
	// A 1x1 convolution with known weights, then flatten: output (y, x, f)
	// is sum_c pixel(y, x, c) * w(c, f) + f.
	net := config.Network{Input: []int{32, 32, 3}, Layers: []config.Layer{
		{Type: "conv2d", Filters: 2, Kernel: config.Size{1, 1}, Activation: "linear"},
		{Type: "flatten"},
	}}.Named()
	w := func(c, f int) float32 { return float32((c+1)*(f+2)) / 1000 }
	kernel := make([]float32, 0, 6)
	for c := range 3 {
		for f := range 2 {
			kernel = append(kernel, w(c, f))
		}
	}
	kt, err := tf.NewTensor(kernel)
	if err != nil {
		t.Fatal(err)
	}
	if err := kt.Reshape([]int64{1, 1, 3, 2}); err != nil {
		t.Fatal(err)
	}
	bt, err := tf.NewTensor([]float32{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]*tf.Tensor{"conv2d/kernel": kt, "conv2d/bias": bt}
	a, b := colors(503, 5, 1), colors(7, 5, 2) // 503 images: one partial batch
	const scale = 0.5
	got, err := Features(context.Background(), config.Run{}, net, values, scale, a, b)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for k, set := range []*cifar.Set{a, b} {
		f := got[k]
		if f.Len() != set.Len() || f.Width() != 32*32*2 {
			t.Fatalf("features %d: %d examples of width %d, want %d of %d", k, f.Len(), f.Width(), set.Len(), 32*32*2)
		}
		if !slices.Equal(f.Classes, set.Classes) || !slices.Equal(f.Labels, set.Labels) {
			t.Errorf("features %d: classes %v, want %v (and the set's labels)", k, f.Classes, set.Classes)
		}
		for i := range f.Len() {
			img := set.Image(i)
			for p := range 32 * 32 {
				for fi := range 2 {
					want := float32(fi)
					for c := range 3 {
						want += float32(img[p*3+c]) * scale * w(c, fi)
					}
					worst = math.Max(worst, math.Abs(float64(f.Values[i*2048+p*2+fi]-want)))
				}
			}
		}
	}
	if worst > 1e-4 {
		t.Errorf("features differ from the hand computation by up to %g", worst)
	}

	delete(values, "conv2d/bias")
	if _, err := Features(context.Background(), config.Run{}, net, values, 1, a); err == nil || !strings.Contains(err.Error(), "conv2d/bias") {
		t.Errorf("Features without a bias value: err = %v, want one naming conv2d/bias", err)
	}
}
