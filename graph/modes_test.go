package graph

import (
	"fmt"
	"math"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tftest"
	"github.com/tfcifar/tfcifar/internal/tolerance"
)

func run(t *testing.T, sess *tf.Session, feeds map[tf.Output]*tf.Tensor, fetch []tf.Output, targets []*tf.Operation) []*tf.Tensor {
	t.Helper()
	out, err := sess.Run(feeds, fetch, targets)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDropout checks that dropout is the identity in inference and, in
// training, keeps about 1-rate of the values scaled by 1/(1-rate), with a
// new mask after every update and the same mask sequence for the same seed.
func TestDropout(t *testing.T) {
	tests := []struct {
		desc   string
		rate   float64
		frozen bool
	}{
		{"rate 0.4", 0.4, false},
		{"rate 0.75", 0.75, false},
		{"frozen still drops", 0.4, true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			net := config.Network{Input: []int{10, 10, 10}, Layers: []config.Layer{{Type: "flatten"}, {Type: "dropout", Rate: tt.rate}}}.Named()
			net.Layers[1].Frozen = tt.frozen
			s, m := build(t, net, 5)
			sess := session(t, s, m)
			ones := tftest.Tensor(t, images(4, 10, 10, 10, func(int) float32 { return 1 }))
			train := map[tf.Output]*tf.Tensor{m.Images: ones, m.Training: tftest.Tensor(t, true)}

			infer := run(t, sess, map[tf.Output]*tf.Tensor{m.Images: ones}, []tf.Output{m.Logits}, nil)[0].Value().([][]float32)
			for _, row := range infer {
				for _, v := range row {
					if v != 1 {
						t.Fatalf("inference output %g, want 1 (no dropout)", v)
					}
				}
			}
			first := run(t, sess, train, []tf.Output{m.Logits}, nil)[0].Value().([][]float32)
			again := run(t, sess, train, []tf.Output{m.Logits}, m.Updates)[0].Value().([][]float32)
			next := run(t, sess, train, []tf.Output{m.Logits}, nil)[0].Value().([][]float32)
			scale := float32(1 / (1 - tt.rate))
			kept, same, changed := 0, true, false
			for b := range first {
				for i, v := range first[b] {
					switch v {
					case 0:
					case scale:
						kept++
					default:
						t.Fatalf("training output %g, want 0 or %g", v, scale)
					}
					same = same && again[b][i] == v
					changed = changed || next[b][i] != v
				}
			}
			if frac, want := float64(kept)/4000, 1-tt.rate; !tolerance.EqualWithinAbs(frac, want, 0.04) {
				t.Errorf("kept %.3f of the values, want %.2f ± 0.04", frac, want)
			}
			if !same {
				t.Error("mask changed without running Updates")
			}
			if !changed {
				t.Error("mask did not change after Updates")
			}
		})
	}
}

// TestDropoutDrawsOnlyInTraining checks that an inference run does not
// execute dropout's random draws (their outputs have no value there), while
// a training run does: one draw, and with DrawAhead the next step's too.
func TestDropoutDrawsOnlyInTraining(t *testing.T) {
	net := config.Network{Input: []int{4, 4, 2}, Layers: []config.Layer{{Type: "flatten"}, {Type: "dropout", Rate: 0.4}}}.Named()
	for _, ahead := range []bool{false, true} {
		t.Run(fmt.Sprintf("DrawAhead %v", ahead), func(t *testing.T) {
			g, m := builtGraph(t, net, Options{Seed: 5, DrawAhead: ahead})
			var draws []tf.Output
			for _, o := range g.Operations() {
				if o.Type() == "StatelessRandomUniformFullInt" {
					draws = append(draws, o.Output(0))
				}
			}
			if want := map[bool]int{false: 1, true: 2}[ahead]; len(draws) != want {
				t.Fatalf("%d random draws in the graph, want %d", len(draws), want)
			}
			sess := initialized(t, g, m)
			ones := tftest.Tensor(t, images(3, 4, 4, 2, func(int) float32 { return 1 }))
			for _, d := range draws {
				if _, err := sess.Run(map[tf.Output]*tf.Tensor{m.Images: ones}, []tf.Output{d}, nil); err == nil {
					t.Errorf("inference run drew dropout's random numbers (%s)", d.Op.Name())
				}
			}
			out := run(t, sess, map[tf.Output]*tf.Tensor{m.Images: ones, m.Training: tftest.Tensor(t, true)}, draws, nil)
			for i := range out {
				if n := len(out[i].Value().([]uint64)); n != 3*4*4*2/4 {
					t.Errorf("training run drew %d words in %s, want %d", n, draws[i].Op.Name(), 3*4*4*2/4)
				}
			}
		})
	}
}

// TestDropoutNextMasks checks that the masks a training step of a
// DrawAhead build draws for the next one are that step's masks: it gives
// the outputs of a Sharded build (which draws each step's mask in that step) over batches
// that grow, shrink and follow a counter set back as by a restore, and the
// stored mask is used (no draw of its own) whenever it was drawn for the
// step's counter and at least its rows.
func TestDropoutNextMasks(t *testing.T) {
	net := config.Network{Input: []int{2, 2, 3}, Layers: []config.Layer{{Type: "flatten"}, {Type: "dropout", Rate: 0.5}}}.Named()
	g, local := builtGraph(t, net, Options{Seed: 7, DrawAhead: true})
	var now tf.Output // the draw of a step without a stored mask
	for _, o := range g.Operations() {
		if o.Type() == "StatelessRandomUniformFullInt" && strings.Contains(o.Name(), "/now/") {
			now = o.Output(0)
		}
	}
	if now.Op == nil {
		t.Fatal("no draw of a step's own mask in the graph")
	}
	localSess := initialized(t, g, local)
	ss := op.NewScope()
	sharded, err := Build(ss, net, Options{Seed: 7, Sharded: true})
	if err != nil {
		t.Fatal(err)
	}
	shardedSess := session(t, ss, sharded)
	var counter *Variable
	for _, v := range local.Variables {
		if v.State {
			counter = v
		}
	}
	const restore = 0 // a batch size that stands for setting the counter back to 0
	steps := []struct {
		n     int
		reuse bool
	}{{4, false}, {4, true}, {3, true}, {5, false}, {5, true}, {restore, false}, {4, false}, {4, true}, {2, true}}
	dropped := 0
	for i, st := range steps {
		if st.n == restore {
			run(t, localSess, nil, nil, []*tf.Operation{counter.Init})
			run(t, shardedSess, nil, nil, []*tf.Operation{sharded.Variables[0].Init})
			continue
		}
		in := tftest.Tensor(t, images(st.n, 2, 2, 3, func(int) float32 { return 1 }))
		yes := tftest.Tensor(t, true)
		_, err := localSess.Run(map[tf.Output]*tf.Tensor{local.Images: in, local.Training: yes}, []tf.Output{now}, nil)
		if drew := err == nil; drew == st.reuse {
			t.Errorf("step %d (batch %d): drew its own mask %v, want %v", i, st.n, drew, !st.reuse)
		}
		got := run(t, localSess, map[tf.Output]*tf.Tensor{local.Images: in, local.Training: yes}, []tf.Output{local.Logits}, local.Updates)[0].Value().([][]float32)
		want := run(t, shardedSess, map[tf.Output]*tf.Tensor{sharded.Images: in, sharded.Training: yes, sharded.Offset: tftest.Tensor(t, int64(0))}, []tf.Output{sharded.Logits}, sharded.Updates)[0].Value().([][]float32)
		for r := range want {
			for j, v := range want[r] {
				if got[r][j] != v {
					t.Fatalf("step %d (batch %d) row %d value %d = %g, want %g", i, st.n, r, j, got[r][j], v)
				}
				if v == 0 {
					dropped++
				}
			}
		}
	}
	if dropped == 0 {
		t.Error("no value dropped: the comparison proves little")
	}
}

// builtGraph builds net with opt in a new graph and finalizes it.
func builtGraph(t *testing.T, net config.Network, opt Options) (*tf.Graph, *Model) {
	t.Helper()
	s := op.NewScope()
	m, err := Build(s, net, opt)
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	return g, m
}

// TestBatchnorm checks batch statistics in training, the moving statistics
// updates, their use in inference, and that a frozen batchnorm stays in
// inference mode.
func TestBatchnorm(t *testing.T) {
	const momentum, eps = 0.75, 0.001
	for _, frozen := range []bool{false, true} {
		for _, input := range [][]int{{2, 3, 2}, {1, 1, 4}} {
			name := map[bool]string{false: "trainable", true: "frozen"}[frozen]
			t.Run(name+" "+map[int]string{3: "image", 1: "flat"}[input[0]+input[1]-1], func(t *testing.T) {
				layers := []config.Layer{{Type: "batchnorm", Momentum: momentum, Epsilon: eps}}
				if input[0] == 1 {
					layers = append([]config.Layer{{Type: "flatten"}}, layers...)
				}
				net := config.Network{Input: input, Layers: layers}.Named()
				net.Layers[len(layers)-1].Frozen = frozen
				s, m := build(t, net, 1)
				sess := session(t, s, m)
				const n = 3
				h, w, c := input[0], input[1], input[2]
				x := images(n, h, w, c, func(i int) float32 { return float32(i*i%7) + float32(i%c)*10 })
				feed := map[tf.Output]*tf.Tensor{m.Images: tftest.Tensor(t, x), m.Training: tftest.Tensor(t, true)}

				// Per-channel batch mean and (biased, unbiased) variance.
				mean, vb, vu := make([]float64, c), make([]float64, c), make([]float64, c)
				cnt := float64(n * h * w)
				each := func(f func(ch int, v float64)) {
					for b := range x {
						for y := range x[b] {
							for i := range x[b][y] {
								for ch, v := range x[b][y][i] {
									f(ch, float64(v))
								}
							}
						}
					}
				}
				each(func(ch int, v float64) { mean[ch] += v / cnt })
				each(func(ch int, v float64) { vb[ch] += (v - mean[ch]) * (v - mean[ch]) / cnt })
				for ch := range vu {
					vu[ch] = vb[ch] * cnt / (cnt - 1)
				}

				out := run(t, sess, feed, []tf.Output{m.Logits}, m.Updates)[0]
				got := flatten(out.Value())
				k := 0
				each(func(ch int, v float64) {
					want := (v - mean[ch]) / math.Sqrt(vb[ch]+eps) // gamma 1, beta 0
					if frozen {
						want = v / math.Sqrt(1+eps) // moving mean 0, variance 1
					}
					if !tolerance.EqualWithinAbsOrRel(float64(got[k]), want, 1e-3, 1e-3) {
						t.Errorf("training output[%d] = %g, want %g", k, got[k], want)
					}
					k++
				})
				if frozen && len(m.Updates) != 0 {
					t.Errorf("frozen batchnorm has %d updates, want none", len(m.Updates))
				}

				// Moving statistics after one update; inference uses them.
				var mm, mv tf.Output
				for _, v := range m.Variables {
					switch v.Name {
					case "batch_normalization/moving_mean":
						mm = v.Read
					case "batch_normalization/moving_variance":
						mv = v.Read
					}
					moving := v.Name == "batch_normalization/moving_mean" || v.Name == "batch_normalization/moving_variance"
					if want := !frozen && !moving; v.Trainable != want {
						t.Errorf("%s: trainable %v, want %v", v.Name, v.Trainable, want)
					}
				}
				stats := run(t, sess, nil, []tf.Output{mm, mv}, nil)
				gm, gv := stats[0].Value().([]float32), stats[1].Value().([]float32)
				for ch := range c {
					wm, wv := mean[ch]*(1-momentum), momentum+vu[ch]*(1-momentum)
					if frozen {
						wm, wv = 0, 1
					}
					if !tolerance.EqualWithinAbsOrRel(float64(gm[ch]), wm, 1e-4, 1e-4) || !tolerance.EqualWithinAbsOrRel(float64(gv[ch]), wv, 1e-4, 1e-4) {
						t.Errorf("channel %d: moving mean %g variance %g, want %g %g", ch, gm[ch], gv[ch], wm, wv)
					}
				}
				inf := flatten(run(t, sess, map[tf.Output]*tf.Tensor{m.Images: tftest.Tensor(t, x)}, []tf.Output{m.Logits}, nil)[0].Value())
				k = 0
				each(func(ch int, v float64) {
					want := (v - float64(gm[ch])) / math.Sqrt(float64(gv[ch])+eps)
					if !tolerance.EqualWithinAbsOrRel(float64(inf[k]), want, 1e-3, 1e-3) {
						t.Errorf("inference output[%d] = %g, want %g", k, inf[k], want)
					}
					k++
				})
			})
		}
	}
}

// flatten returns the values of a 2-D or 4-D float32 tensor in order.
func flatten(v any) []float32 {
	var out []float32
	switch t := v.(type) {
	case [][]float32:
		for _, r := range t {
			out = append(out, r...)
		}
	case [][][][]float32:
		for _, a := range t {
			for _, b := range a {
				for _, c := range b {
					out = append(out, c...)
				}
			}
		}
	}
	return out
}

// TestSeeds checks that the same seed gives the same initial weights, a
// different seed different ones, and that the draws follow Keras' bounds.
func TestSeeds(t *testing.T) {
	net, err := config.Default().Resolve(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	initial := func(seed int64) (map[string][]float32, *Model) {
		s, m := build(t, net, seed)
		sess := session(t, s, m)
		var fetch []tf.Output
		for _, v := range m.Variables {
			fetch = append(fetch, v.Read)
		}
		out := run(t, sess, nil, fetch, nil)
		w := map[string][]float32{}
		for i, v := range m.Variables {
			w[v.Name] = flatAny(out[i].Value())
		}
		return w, m
	}
	a, m := initial(7)
	b, _ := initial(7)
	c, _ := initial(8)
	for _, v := range m.Variables {
		same, diff := true, false
		for i := range a[v.Name] {
			same = same && a[v.Name][i] == b[v.Name][i]
			diff = diff || a[v.Name][i] != c[v.Name][i]
		}
		if !same {
			t.Errorf("%s: same seed, different initial values", v.Name)
		}
		kernel := len(v.Shape) > 1
		if kernel && !diff {
			t.Errorf("%s: different seeds, same initial values", v.Name)
		}
		if !kernel {
			for _, x := range a[v.Name] {
				if x != 0 {
					t.Fatalf("%s: initial value %g, want zeros", v.Name, x)
				}
			}
			continue
		}
		fin, fout := fans(v.Shape)
		limit := math.Sqrt(6 / (fin + fout))
		var sum, sq float64
		for _, x := range a[v.Name] {
			if math.Abs(float64(x)) > limit {
				t.Fatalf("%s: %g outside ±%g", v.Name, x, limit)
			}
			sum += float64(x)
			sq += float64(x) * float64(x)
		}
		n := float64(len(a[v.Name]))
		if sd := math.Sqrt(sq / n); math.Abs(sum/n) > 4*limit/math.Sqrt(3*n) || !tolerance.EqualWithinAbsOrRel(sd, limit/math.Sqrt(3), 0.1, 0.1) {
			t.Errorf("%s: mean %g sd %g, want about 0 and %g (Glorot uniform)", v.Name, sum/n, sd, limit/math.Sqrt(3))
		}
	}
}

func flatAny(v any) []float32 {
	switch t := v.(type) {
	case float32:
		return []float32{t}
	case []float32:
		return t
	case [][]float32:
		return flatten(t)
	case [][][][]float32:
		return flatten(t)
	}
	return nil
}

// TestGradients checks that the logits of nets using every layer type are
// differentiable with respect to every trainable variable, with the ops of
// TensorFlow's C++ gradient registry (op.Gradients fails on an op without
// one), and that the gradients can be computed in training mode.
func TestGradients(t *testing.T) {
	every := config.Network{Input: []int{12, 12, 3}, Layers: []config.Layer{
		{Type: config.RandomTranslation, HeightFactor: config.Range{0.2}, WidthFactor: config.Range{0.2}}, // no gradient: first
		{Type: "conv2d", Filters: 4, Kernel: config.Size{3, 3}, Padding: "same", Activation: "tanh"},
		{Type: config.Rescaling, Scale: 2, Offset: 0.5},
		{Type: config.Normalization, Mean: config.Values{0.1}, Variance: config.Values{2}},
		{Type: config.RandomFlip},
		{Type: config.RandomBrightness, Factor: config.Range{0.1}, ValueRange: []float64{-10, 10}},
		{Type: config.RandomContrast, Factor: config.Range{0.3}, ValueRange: []float64{-10, 10}},
		{Type: "batchnorm"},
		{Type: "maxpool2d"},
		{Type: "zero_padding2d", Pad: config.Size{1, 2}},
		{Type: "conv2d", Filters: 4, Kernel: config.Size{3, 3}, Activation: "sigmoid", KernelInitializer: "he_normal"},
		{Type: "avgpool2d", Pool: config.Size{2, 2}},
		{Type: "dropout", Rate: 0.2},
		{Type: "global_avgpool2d"},
		{Type: "batchnorm"},
		{Type: "dense", Units: 6, Activation: "relu"},
		{Type: "dense", Units: 3, Activation: "softmax"},
	}}
	base, err := config.Default().Resolve(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	transfer, err := config.Default().Resolve(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		net  config.Network
	}{
		{"reference base", base},
		{"reference transfer", transfer},
		{"every layer type", every.Named()},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			s, m := build(t, tt.net, 1)
			var xs []tf.Output
			for _, v := range m.TrainableVariables() {
				xs = append(xs, v.Read)
			}
			labels := op.Placeholder(s.SubScope("labels"), tf.Float)
			loss, _ := op.SoftmaxCrossEntropyWithLogits(s.SubScope("loss"), m.Logits, labels)
			grads := op.Gradients(s.SubScope("gradients"), []tf.Output{loss}, xs)
			sess := session(t, s, m)
			h, w, c := tt.net.Input[0], tt.net.Input[1], tt.net.Input[2]
			k := int(m.Logits.Shape().Size(1))
			oneHot := make([][]float32, 4)
			for i := range oneHot {
				oneHot[i] = make([]float32, k)
				oneHot[i][i%k] = 1
			}
			feed := map[tf.Output]*tf.Tensor{
				m.Images:   tftest.Tensor(t, images(4, h, w, c, func(i int) float32 { return float32(i%255) / 10 })),
				m.Training: tftest.Tensor(t, true),
				labels:     tftest.Tensor(t, oneHot),
			}
			out := run(t, sess, feed, grads, nil)
			for i, v := range m.TrainableVariables() {
				g := flatAny(out[i].Value())
				if len(g) != int(v.Size()) {
					t.Errorf("%s: gradient has %d values, want %d", v.Name, len(g), v.Size())
				}
				nonzero := false
				for _, x := range g {
					if math.IsNaN(float64(x)) {
						t.Fatalf("%s: NaN gradient", v.Name)
					}
					nonzero = nonzero || x != 0
				}
				if !nonzero {
					t.Errorf("%s: gradient is all zeros", v.Name)
				}
			}
		})
	}
}
