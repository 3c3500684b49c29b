package train

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
)

// TestPackedInputGradient trains, in float32 and with mixed_float16's loss
// scaling, a network whose second conv2d gets graph's packed input
// gradient: the training graph holds the packed convolution, the loss
// decreases, and the first layer's kernel, trained only through that
// gradient, moves.
func TestPackedInputGradient(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on real CIFAR-10; runs without -short")
	}
	net := config.Network{Input: []int{32, 32, 3}, Layers: []config.Layer{
		{Type: config.Rescaling, Scale: 1.0 / 255},
		{Type: config.Conv2D, Filters: 4, Kernel: config.Size{3, 3}, Activation: config.ReLU},
		{Type: config.Conv2D, Filters: 8, Kernel: config.Size{5, 5}, Activation: config.ReLU},
		{Type: config.MaxPooling2D, Pool: config.Size{2, 2}},
		{Type: config.Flatten},
		{Type: config.Dense, Units: 5},
	}}
	train, val := realSlice(t, 256)
	for _, precision := range []string{config.Float32, config.MixedFloat16} {
		t.Run(precision, func(t *testing.T) {
			g, s := newGraph()
			m, err := graph.Build(s, net, graph.Options{Seed: 4})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.InputGrads) != 1 {
				t.Fatalf("%d layers with a packed input gradient, want 1", len(m.InputGrads))
			}
			opt := testOptions()
			opt.Run.Precision = precision
			cfg := trainCfg(3, 32)
			cfg.Optimizer.LearningRate = 0.002
			tr, err := New(g, m, cfg, opt)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			packed := 0
			for _, o := range g.Operations() {
				if strings.Contains(o.Name(), "packed_input_grad") && o.Type() == "Conv2D" {
					packed++
				}
			}
			if packed != 1 {
				t.Errorf("training graph has %d packed convolutions, want 1", packed)
			}
			// Every ReluGrad reads its Relu's output (graph.ReluGradsReadOutputs),
			// so TensorFlow can fuse the Relus into the convolutions.
			reluGrads, readingRelu := 0, 0
			for _, o := range g.Operations() {
				switch o.Type() {
				case "ReluGrad":
					reluGrads++
				case "Relu":
					for _, c := range o.Output(0).Consumers() {
						if c.Op.Type() == "ReluGrad" && c.Index == 1 {
							readingRelu++
						}
					}
				}
			}
			if reluGrads != 2 || readingRelu != reluGrads {
				t.Errorf("%d of the training graph's %d ReluGrads read a Relu's output, want all of 2", readingRelu, reluGrads)
			}
			before := values(t, tr)["conv2d/kernel"]
			h, err := tr.Fit(context.Background(), train, val)
			if err != nil {
				t.Fatal(err)
			}
			if first, last := h.Epochs[0].Loss, h.Epochs[len(h.Epochs)-1].Loss; !(last < first) {
				t.Errorf("loss %v after epoch 1, %v at the end: want it to decrease", first, last)
			}
			if after := values(t, tr)["conv2d/kernel"]; len(before) == 0 || slices.Equal(before, after) {
				t.Errorf("conv2d/kernel did not train (%d values)", len(before))
			}
		})
	}
}
