package graph

import (
	"math"
	"slices"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tftest"
)

// TestPackedConv checks that training graphs run the conv2d layers that
// packsOutput as packed convolutions with the same outputs, bit for bit,
// as the plain convolutions of a serving graph, and gradients that match
// the plain graph's.
func TestPackedConv(t *testing.T) {
	linear := config.Layer{Type: "conv2d", Filters: 6, Kernel: config.Size{3, 5}, UseBias: new(bool)}
	tests := []struct {
		desc   string
		input  []int
		layers []config.Layer
		packed int // layers run as packed convolutions
		grads  int // layers with a packed input gradient
	}{
		{"the reference's first layers", []int{32, 32, 3}, head(conv(8, 5), conv(16, 5)), 1, 1},
		{"packed output and packed input gradient", []int{12, 12, 3}, head(conv(4, 3), conv(8, 3)), 2, 1},
		{"no bias, no activation, wide kernel", []int{10, 14, 3}, head(linear, conv(5, 3)), 2, 1},
		{"softmax over the filters", []int{7, 4, 1}, head(config.Layer{Type: "conv2d", Filters: 3, Kernel: config.Size{7, 3}, Activation: "softmax"}), 1, 0},
		{"too many filters, even kernel", []int{12, 12, 3}, head(conv(16, 3), conv(8, 2)), 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			net := config.Network{Input: tt.input, Layers: tt.layers}.Named()
			in := images(4, tt.input[0], tt.input[1], tt.input[2], func(i int) float32 { return float32(math.Sin(float64(i)*0.37)) * 2 })
			run := func(serving bool) [][]float32 {
				s := op.NewScope()
				m, err := Build(s, net, Options{Seed: 7, Serving: serving})
				if err != nil {
					t.Fatal(err)
				}
				loss := xentLoss(s, m)
				var grads []tf.Output
				if serving {
					grads = op.Gradients(s.SubScope("plain"), []tf.Output{loss}, trainableReads(m))
				} else {
					grads = Gradients(s.SubScope("packed"), m, loss, trainableReads(m))
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
				g, err := s.Finalize()
				if err != nil {
					t.Fatal(err)
				}
				want := 0
				if !serving {
					want = tt.packed
					if got := len(m.InputGrads); got != tt.grads {
						t.Errorf("packed input gradients = %d, want %d", got, tt.grads)
					}
				}
				if got := countOps(g, "/packed/", "Conv2D"); got != want {
					t.Errorf("serving %v: packed convolutions = %d, want %d", serving, got, want)
				}
				sess := initialized(t, g, m)
				out, err := sess.Run(map[tf.Output]*tf.Tensor{m.Images: tftest.Tensor(t, in)}, append(slices.Clone(m.Outputs), grads...), nil)
				if err != nil {
					t.Fatal(err)
				}
				vals := make([][]float32, len(out))
				for i, o := range out {
					vals[i] = values(o.Value())
				}
				return vals
			}
			packed, plain := run(false), run(true)
			for i, l := range net.Layers {
				if !slices.Equal(packed[i], plain[i]) {
					t.Errorf("layer %s: packed outputs differ from the plain convolution's", l.Name)
				}
			}
			for i := len(net.Layers); i < len(plain); i++ {
				assertClose(t, "gradient", packed[i], plain[i])
			}
		})
	}
}
