package graph

import (
	"math"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tftest"
	"github.com/tfcifar/tfcifar/internal/tolerance"
)

// TestForward runs small nets and checks logits and probabilities against
// the same computation done by hand in Go with the initial weights.
func TestForward(t *testing.T) {
	tests := []struct {
		desc    string
		conv    config.Layer
		pool    *config.Layer
		softmax bool // as a separate activation layer
	}{
		{"valid conv", config.Layer{Type: "conv2d", Filters: 2, Kernel: config.Size{2, 2}, Activation: "relu", BiasInitializer: "ones"}, nil, false},
		{"same conv, strides 2", config.Layer{Type: "conv2d", Filters: 3, Kernel: config.Size{3, 2}, Strides: config.Size{2, 2}, Padding: "same", Activation: "tanh", KernelInitializer: "he_normal", BiasInitializer: "ones"}, nil, true},
		{"no bias, max pool", config.Layer{Type: "conv2d", Filters: 2, Kernel: config.Size{1, 1}, UseBias: new(bool), Activation: "sigmoid"}, &config.Layer{Type: "maxpool2d", Pool: config.Size{2, 2}, Strides: config.Size{1, 1}}, false},
		{"avg pool same", config.Layer{Type: "conv2d", Filters: 2, Kernel: config.Size{2, 2}}, &config.Layer{Type: "avgpool2d", Pool: config.Size{2, 2}, Padding: "same"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			layers := []config.Layer{tt.conv}
			if tt.pool != nil {
				layers = append(layers, *tt.pool)
			}
			dense := config.Layer{Type: "dense", Units: 3, BiasInitializer: "ones"}
			layers = append(layers, config.Layer{Type: "flatten"}, dense)
			if tt.softmax {
				layers = append(layers, config.Layer{Type: "activation", Activation: "softmax"})
			} else {
				layers[len(layers)-1].Activation = "softmax"
			}
			net := config.Network{Input: []int{5, 4, 2}, Layers: layers}.Named()
			s, m := build(t, net, 3)
			sess := session(t, s, m)
			in := images(2, 5, 4, 2, func(i int) float32 { return float32(math.Sin(float64(i)*0.7)) * 3 })
			fetch := []tf.Output{m.Logits, m.Probabilities}
			for _, v := range m.Variables {
				fetch = append(fetch, v.Read)
			}
			out, err := sess.Run(map[tf.Output]*tf.Tensor{m.Images: tftest.Tensor(t, in)}, fetch, nil)
			if err != nil {
				t.Fatal(err)
			}
			logits := out[0].Value().([][]float32)
			probs := out[1].Value().([][]float32)
			w := map[string]*tf.Tensor{}
			for i, v := range m.Variables {
				w[v.Name] = out[2+i]
			}
			for b := range in {
				want := handForward(net, in[b], w)
				var sum float64
				for k := range want {
					if !tolerance.EqualWithinAbsOrRel(float64(logits[b][k]), want[k], 1e-4, 1e-4) {
						t.Errorf("image %d logit %d = %g, want %g", b, k, logits[b][k], want[k])
					}
					sum += math.Exp(want[k])
				}
				for k := range want {
					if p := math.Exp(want[k]) / sum; !tolerance.EqualWithinAbsOrRel(float64(probs[b][k]), p, 1e-4, 1e-4) {
						t.Errorf("image %d probability %d = %g, want %g", b, k, probs[b][k], p)
					}
				}
			}
		})
	}
}

// handForward computes the logits of one image in plain Go.
func handForward(net config.Network, img [][][]float32, w map[string]*tf.Tensor) []float64 {
	x := make([][][]float64, len(img))
	for y := range img {
		x[y] = make([][]float64, len(img[y]))
		for i := range img[y] {
			for _, v := range img[y][i] {
				x[y][i] = append(x[y][i], float64(v))
			}
		}
	}
	var flat []float64
	for _, l := range net.Layers {
		switch l.Type {
		case "conv2d":
			k := w[l.Name+"/kernel"].Value().([][][][]float32)
			var bias []float32
			if l.HasBias() {
				bias = w[l.Name+"/bias"].Value().([]float32)
			}
			x = slide(x, l.Kernel, l.Strides, l.Padding, func(win [][][]float64, oy, ox, dy, dx int) []float64 {
				out := make([]float64, l.Filters)
				for f := range out {
					if bias != nil {
						out[f] = float64(bias[f])
					}
					for i := range l.Kernel[0] {
						for j := range l.Kernel[1] {
							if v := at(win, oy+i, ox+j); v != nil {
								for c := range v {
									out[f] += v[c] * float64(k[i][j][c][f])
								}
							}
						}
					}
					out[f] = act(l.Activation, out[f])
				}
				return out
			})
		case "maxpool2d", "avgpool2d":
			x = slide(x, l.Pool, l.Strides, l.Padding, func(win [][][]float64, oy, ox, dy, dx int) []float64 {
				out := make([]float64, len(win[0][0]))
				for c := range out {
					best, sum, n := math.Inf(-1), 0.0, 0
					for i := range l.Pool[0] {
						for j := range l.Pool[1] {
							if v := at(win, oy+i, ox+j); v != nil {
								best, sum, n = math.Max(best, v[c]), sum+v[c], n+1
							}
						}
					}
					out[c] = best
					if l.Type == "avgpool2d" {
						out[c] = sum / float64(n)
					}
				}
				return out
			})
		case "flatten":
			flat = nil
			for y := range x {
				for i := range x[y] {
					flat = append(flat, x[y][i]...)
				}
			}
		case "dense":
			k := w[l.Name+"/kernel"].Value().([][]float32)
			b := w[l.Name+"/bias"].Value().([]float32)
			out := make([]float64, l.Units)
			for u := range out {
				out[u] = float64(b[u])
				for i, v := range flat {
					out[u] += v * float64(k[i][u])
				}
			}
			flat = out // softmax is left to the caller: these are the logits
		}
	}
	return flat
}

// slide applies f at every output position of a window of size k with
// strides s; f gets the input, the window's top-left corner (may be
// negative with same padding) and the output position.
func slide(x [][][]float64, k, s config.Size, padding config.Padding, f func(win [][][]float64, oy, ox, dy, dx int) []float64) [][][]float64 {
	h, w := len(x), len(x[0])
	oh, ow := (h-k[0])/s[0]+1, (w-k[1])/s[1]+1
	py, px := 0, 0
	if padding == "same" {
		oh, ow = (h+s[0]-1)/s[0], (w+s[1]-1)/s[1]
		py = max((oh-1)*s[0]+k[0]-h, 0) / 2
		px = max((ow-1)*s[1]+k[1]-w, 0) / 2
	}
	out := make([][][]float64, oh)
	for y := range out {
		out[y] = make([][]float64, ow)
		for i := range out[y] {
			out[y][i] = f(x, y*s[0]-py, i*s[1]-px, y, i)
		}
	}
	return out
}

// at returns x[y][i], or nil outside x (zero padding).
func at(x [][][]float64, y, i int) []float64 {
	if y < 0 || i < 0 || y >= len(x) || i >= len(x[0]) {
		return nil
	}
	return x[y][i]
}

func act(name config.ActivationFunc, v float64) float64 {
	switch name {
	case "relu":
		return math.Max(v, 0)
	case "tanh":
		return math.Tanh(v)
	case "sigmoid":
		return 1 / (1 + math.Exp(-v))
	}
	return v
}
