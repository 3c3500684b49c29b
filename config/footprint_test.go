package config

import (
	"strings"
	"testing"
)

func TestFootprint(t *testing.T) {
	c := Default()
	// The model summary's counts: 418,837 in the base network; 410,373
	// trainable and 8,464 frozen in the transfer network.
	for i, want := range []float64{418837, 410373 + 8464} {
		net, err := c.Resolve(i, nil)
		if err != nil {
			t.Fatal(err)
		}
		f, err := net.Footprint(100, 2)
		if err != nil {
			t.Fatal(err)
		}
		var params float64
		for _, p := range f.Params {
			params += p
		}
		if params != want {
			t.Errorf("stage %d: %.0f parameters, want %.0f", i, params, want)
		}
	}

	// [2 2 1] -> conv2d 3 filters, kernel 1 (6 params, output 12) -> flatten (12) -> dense 2 (26 params, output 2).
	net := Network{Input: []int{2, 2, 1}, Layers: []Layer{
		{Type: "conv2d", Filters: 3, Kernel: Size{1, 1}, Frozen: true},
		{Type: "flatten"},
		{Type: "dense", Units: 2},
	}}.Named()
	f, err := net.Footprint(10, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{
		4 * (6 + 10*12*2),   // frozen: parameters only; outputs and their gradients
		4 * (10 * 12 * 2),   // no parameters
		4 * (26*4 + 10*2*2), // parameters, gradients, two adam slots
	}
	total := 4 * 10 * 4.0 // the input batch
	for i, w := range want {
		if f.Layers[i] != w { // small integers: exact in float64
			t.Errorf("layers[%d]: %g bytes, want %g", i, f.Layers[i], w)
		}
		total += w
	}
	if f.Total != total {
		t.Errorf("total %g bytes, want %g", f.Total, total)
	}
	inf, err := net.Footprint(1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if w := 4.0 * (4 + 6 + 12 + 12 + 26 + 2); inf.Total != w {
		t.Errorf("inference on one example: %g bytes, want %g", inf.Total, w)
	}
}

func TestOptimizerSlots(t *testing.T) {
	for _, c := range []struct {
		o    Optimizer
		want int
	}{{DefaultOptimizer(), 2}, {Optimizer{Name: "sgd"}, 0}, {Optimizer{Name: "sgd", Momentum: 0.9}, 1}} {
		if got := c.o.Slots(); got != c.want {
			t.Errorf("%+v: %d slots, want %d", c.o, got, c.want)
		}
	}
}

// TestHugeInputFootprint checks the input's share of the memory cap, which
// a config cannot reach any more (every stage takes 32x32x3 images).
func TestHugeInputFootprint(t *testing.T) {
	n := Network{Input: []int{100000, 100000, 3}, Layers: []Layer{{Type: "conv2d", Filters: 1, Kernel: Size{3, 3}, Strides: Size{1000, 1000}}}}
	f, err := n.Footprint(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	err = n.checkFootprint(f, MaxTrainBytes, "training")
	if want := "input: [100000 100000 3] per example takes 111.8 GiB"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one containing %q", err, want)
	}
}
