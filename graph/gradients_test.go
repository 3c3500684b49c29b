package graph

import (
	"math"
	"slices"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tftest"
	"github.com/tfcifar/tfcifar/internal/tolerance"
)

// conv is a conv2d layer with a relu.
func conv(filters, k int) config.Layer {
	return config.Layer{Type: "conv2d", Filters: filters, Kernel: config.Size{k, k}, Activation: "relu", BiasInitializer: "ones"}
}

// head ends a network with flatten and a dense layer of 10 units.
func head(layers ...config.Layer) []config.Layer {
	return append(layers, config.Layer{Type: "flatten"}, config.Layer{Type: "dense", Units: 10})
}

// xentLoss adds the mean cross-entropy of m's logits against fixed labels.
func xentLoss(s *op.Scope, m *Model) tf.Output {
	s = s.SubScope("loss")
	labels := op.OneHot(s, op.Const(s.SubScope("classes"), []int32{3, 7, 1, 0}), op.Const(s.SubScope("depth"), int32(10)),
		op.Const(s.SubScope("on"), float32(1)), op.Const(s.SubScope("off"), float32(0)))
	xent, _ := op.SoftmaxCrossEntropyWithLogits(s, m.Logits, labels)
	return op.Mean(s, xent, op.Const(s.SubScope("axis"), []int32{0}))
}

// trainableReads returns the Read outputs of m's trainable variables.
func trainableReads(m *Model) []tf.Output {
	var reads []tf.Output
	for _, v := range m.TrainableVariables() {
		reads = append(reads, v.Read)
	}
	return reads
}

// countOps counts the ops of g of type typ whose name contains part.
func countOps(g *tf.Graph, part, typ string) int {
	n := 0
	for _, o := range g.Operations() {
		if strings.Contains(o.Name(), part) && o.Type() == typ {
			n++
		}
	}
	return n
}

// initialized opens a session on g, closed when the test ends, and
// initializes m's variables.
func initialized(t *testing.T, g *tf.Graph, m *Model) *tf.Session {
	t.Helper()
	sess, err := tf.NewSession(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	initialize(t, sess, m)
	return sess
}

// TestGradientsMatch checks that Gradients gives op.Gradients' gradients
// for every trainable variable, with the packed input gradient used at
// the expected number of layers.
func TestGradientsMatch(t *testing.T) {
	frozen := conv(4, 3)
	frozen.Frozen = true
	tests := []struct {
		desc   string
		input  []int
		layers []config.Layer
		packed int  // layers that get a packed input gradient
		l2     bool // the loss also adds the squared first kernel: no cut below it
	}{
		{"one packed conv", []int{12, 12, 3}, head(conv(8, 5), conv(16, 5)), 1, false},
		{"stacked packed convs with a pool", []int{16, 16, 2}, head(conv(4, 3), conv(8, 3),
			config.Layer{Type: "maxpool2d", Pool: config.Size{2, 2}}, conv(6, 3), conv(5, 2)), 3, false},
		{"wide kernel, batchnorm and dropout", []int{10, 14, 3}, head(conv(6, 3), config.Layer{Type: "batchnorm"},
			config.Layer{Type: "dropout", Rate: 0.25}, config.Layer{Type: "conv2d", Filters: 4, Kernel: config.Size{2, 5}, UseBias: new(bool)}), 1, false},
		{"loss depends on a lower kernel directly", []int{12, 12, 3}, head(conv(8, 5), conv(16, 5)), 0, true},
		{"frozen layer below the trained ones", []int{12, 12, 3}, head(frozen, conv(8, 3), conv(4, 3)), 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			net := config.Network{Input: tt.input, Layers: tt.layers}.Named()
			s, m := build(t, net, 5)
			loss := xentLoss(s, m)
			if tt.l2 {
				ls := s.SubScope("l2")
				k := m.Variables[0].Read
				loss = op.Add(ls, loss, op.Sum(ls, op.Square(ls, k), op.Const(ls.SubScope("axes"), []int32{0, 1, 2, 3})))
			}
			reads := trainableReads(m)
			packed := Gradients(s.SubScope("packed"), m, loss, reads)
			plain := op.Gradients(s.SubScope("plain"), []tf.Output{loss}, reads)
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			g, err := s.Finalize()
			if err != nil {
				t.Fatal(err)
			}
			if got := countOps(g, "packed_input_grad", "Conv2D"); got != tt.packed {
				t.Errorf("packed input gradients = %d, want %d", got, tt.packed)
			}
			sess := initialized(t, g, m)
			in := images(4, tt.input[0], tt.input[1], tt.input[2], func(i int) float32 { return float32(math.Sin(float64(i)*0.37)) * 2 })
			feeds := map[tf.Output]*tf.Tensor{m.Images: tftest.Tensor(t, in), m.Training: tftest.Tensor(t, true)}
			out, err := sess.Run(feeds, append(slices.Clone(packed), plain...), nil)
			if err != nil {
				t.Fatal(err)
			}
			vars := m.TrainableVariables()
			for i, v := range vars {
				assertClose(t, v.Name, values(out[i].Value()), values(out[len(vars)+i].Value()))
			}
		})
	}
}

// assertClose compares two gradients value by value (relative 1e-5).
func assertClose(t *testing.T, name string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	nonzero := false
	for i := range got {
		nonzero = nonzero || want[i] != 0
		if !tolerance.EqualWithinAbsOrRel(float64(got[i]), float64(want[i]), 1e-6, 1e-5) {
			t.Errorf("%s[%d] = %g, want %g", name, i, got[i], want[i])
			return
		}
	}
	if !nonzero {
		t.Errorf("%s: all gradients are zero", name)
	}
}

// values returns the float32 values of a tensor's Value.
func values(v any) []float32 {
	switch v := v.(type) {
	case float32:
		return []float32{v}
	case []float32:
		return v
	case [][]float32:
		var out []float32
		for _, r := range v {
			out = append(out, r...)
		}
		return out
	case [][][][]float32:
		return flat(v)
	}
	return nil
}

// TestGradientsPlain checks that without a packed layer Gradients adds
// exactly the ops op.Gradients adds.
func TestGradientsPlain(t *testing.T) {
	for _, net := range []config.Network{
		{Input: []int{12, 12, 3}, Layers: head(conv(8, 5))}, // nothing trains below
		{Input: []int{12, 12, 3}, Layers: head(conv(8, 5), config.Layer{Type: "conv2d", Filters: 4, Kernel: config.Size{3, 3}, Padding: "same"})}, // same padding
	} {
		net = net.Named()
		ops := func(grads func(s *op.Scope, m *Model, loss tf.Output, xs []tf.Output) []tf.Output) []string {
			s, m := build(t, net, 1)
			if len(m.InputGrads) != 0 {
				t.Fatalf("%d packed layers, want none", len(m.InputGrads))
			}
			grads(s.SubScope("gradients"), m, xentLoss(s, m), trainableReads(m))
			g, err := s.Finalize()
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, o := range g.Operations() {
				if strings.HasPrefix(o.Name(), "gradients/") { // tfgo numbers some forward ops globally
					names = append(names, o.Name()+" "+o.Type())
				}
			}
			slices.Sort(names)
			return names
		}
		got := ops(Gradients)
		want := ops(func(s *op.Scope, _ *Model, loss tf.Output, xs []tf.Output) []tf.Output {
			return op.Gradients(s, []tf.Output{loss}, xs)
		})
		if len(got) == 0 || !slices.Equal(got, want) {
			t.Errorf("Gradients added %d ops, op.Gradients %d: not the same graph", len(got), len(want))
		}
	}
}

// TestInputGrads checks which conv2d layers get a packed input gradient.
func TestInputGrads(t *testing.T) {
	frozen := conv(4, 3)
	frozen.Frozen = true
	tests := []struct {
		desc   string
		input  []int
		below  config.Layer
		layer  config.Layer
		packed bool
	}{
		{"stride 1, valid, 4 channels, even width", []int{12, 12, 3}, conv(4, 3), conv(8, 3), true},
		{"8 channels", []int{12, 12, 3}, conv(8, 3), conv(8, 3), true},
		{"stride 2", []int{12, 12, 3}, conv(4, 3), config.Layer{Type: "conv2d", Filters: 8, Kernel: config.Size{3, 3}, Strides: config.Size{2, 2}}, false},
		{"same padding", []int{12, 12, 3}, conv(4, 3), config.Layer{Type: "conv2d", Filters: 8, Kernel: config.Size{3, 3}, Padding: "same"}, false},
		{"16 input channels", []int{12, 12, 3}, conv(16, 3), conv(8, 3), false},
		{"9 input channels", []int{12, 12, 3}, conv(9, 3), conv(8, 3), false},
		{"odd width", []int{12, 13, 3}, conv(4, 3), conv(8, 3), false},
		{"nothing trains below", []int{12, 12, 3}, frozen, conv(8, 3), false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			net := config.Network{Input: tt.input, Layers: head(tt.below, tt.layer)}.Named()
			_, m := build(t, net, 1)
			if got := len(m.InputGrads) == 1; got != tt.packed {
				t.Fatalf("packed = %v, want %v (%d layers)", got, tt.packed, len(m.InputGrads))
			}
			if tt.packed {
				c := m.InputGrads[0]
				if c.Layer != 1 || c.Input != m.Outputs[0] || c.Conv.Op.Type() != "Conv2D" {
					t.Errorf("InputGrad = layer %d, input %v, conv %s; want layer 1, the first layer's output, a Conv2D", c.Layer, c.Input, c.Conv.Op.Type())
				}
			}
		})
	}
}
