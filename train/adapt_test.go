package train

import (
	"math"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/config"
)

func TestAdapt(t *testing.T) {
	// Two 1x2 images with 2 channels: channel 0 holds 0, 10, 20, 30 and
	// channel 1 holds 100 four times.
	pixels := []byte{0, 100, 10, 100, 20, 100, 30, 100}
	net := config.Network{Input: []int{1, 2, 2}, Layers: []config.Layer{
		{Type: config.RandomFlip},
		{Type: config.Rescaling, Scale: 0.5, Offset: 1},
		{Type: config.Normalization, Adapt: true},
		{Type: config.Normalization, Adapt: true},
		{Type: config.Flatten},
	}}.Named()
	got, err := Adapt(net, rawPixels{pixels, 2}, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Values reaching the first normalization: p*2*0.5+1: 1, 11, 21, 31
	// (mean 16, variance 125) and 101 (variance 0).
	norm := got.Layers[2]
	if norm.Adapt || !near(norm.Mean, []float64{16, 101}) || !near(norm.Variance, []float64{125, 0}) {
		t.Errorf("first normalization: adapt %v, mean %v, variance %v; want false, [16 101], [125 0]", norm.Adapt, norm.Mean, norm.Variance)
	}
	// The second sees normalized values: mean 0, variance 1 (0 for the
	// constant channel).
	norm = got.Layers[3]
	if !near(norm.Mean, []float64{0, 0}) || !near(norm.Variance, []float64{1, 0}) {
		t.Errorf("second normalization: mean %v, variance %v; want [0 0], [1 0]", norm.Mean, norm.Variance)
	}
	if !net.Layers[2].Adapt {
		t.Error("Adapt changed its input network")
	}
}

func TestAdaptErrors(t *testing.T) {
	adapt := config.Layer{Type: config.Normalization, Adapt: true}
	reused := adapt
	reused.Reused = true
	tests := []struct {
		desc   string
		layers []config.Layer
		pixels []byte
		want   string
	}{
		{"after a conv", []config.Layer{{Type: config.Conv2D, Filters: 1, Kernel: config.Size{1, 1}}, adapt}, []byte{1, 2}, "layers[0] (conv2d): adapt: a normalization that adapts may follow only"},
		{"through an unadapted reused one", []config.Layer{reused, adapt}, []byte{1, 2}, "layers[0] (normalization): adapt: the statistics of this reused layer"},
		{"no images", []config.Layer{adapt}, nil, "adapt: 0 pixels per channel of training images, want whole images of shape [1 1 2]"},
		{"other channels", []config.Layer{adapt}, []byte{1, 2, 3}, "adapt: training images of 3 channels, want images of shape [1 1 2]"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			net := config.Network{Input: []int{1, 1, 2}, Layers: tt.layers}.Named()
			c := 2
			if tt.desc == "other channels" {
				c = 3
			}
			if _, err := Adapt(net, rawPixels{tt.pixels, c}, 1); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Adapt = %v, want an error with %q", err, tt.want)
			}
		})
	}
	// A reused layer alone keeps its source's statistics: nothing to do.
	net := config.Network{Input: []int{1, 1, 2}, Layers: []config.Layer{reused}}
	if got, err := Adapt(net, rawPixels{nil, 2}, 1); err != nil || !got.Layers[0].Adapt {
		t.Errorf("Adapt of a reused layer = %+v, %v; want it unchanged", got.Layers[0], err)
	}
}

func near(got config.Values, want []float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-9 {
			return false
		}
	}
	return true
}

// rawPixels are images as bytes with c channels, last.
type rawPixels struct {
	b []byte
	c int
}

func (r rawPixels) Histogram() ([][256]int64, error) {
	counts := make([][256]int64, r.c)
	for i, p := range r.b {
		counts[i%r.c][p]++
	}
	return counts, nil
}
