package train

import (
	"math/rand/v2"
	"testing"
	"time"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
)

// tiny describes a small hand-built model over 32x32x3 images:
// x = channel means / 255 ([N,3]), h = x·pre ([3,3]), logits = h·w + b
// ([3,k], [k]); pre is trainable unless frozen. A non-trainable "count"
// variable is incremented by the model's Updates (one per training step),
// by inc when it is not 0.
type tiny struct {
	k      int
	frozen bool
	seed   uint64
	inc    float32
}

// init values of the tiny model, by variable name.
func (c tiny) values() map[string][]float32 {
	r := rand.New(rand.NewPCG(c.seed, 7))
	rnd := func(n int, scale float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = (r.Float32()*2 - 1) * scale
		}
		return v
	}
	pre := rnd(9, 0.2)
	for i := 0; i < 3; i++ {
		pre[i*3+i] += 1
	}
	return map[string][]float32{
		"pre/kernel":   pre,
		"dense/kernel": rnd(3*c.k, 0.5),
		"dense/bias":   make([]float32, c.k),
		"stats/count":  {0},
	}
}

// build adds the tiny model to s.
func (c tiny) build(t testing.TB, s *op.Scope) *graph.Model {
	t.Helper()
	vals := c.values()
	m := &graph.Model{}
	m.Images = op.Placeholder(s.SubScope("images"), tf.Float, op.PlaceholderShape(tf.MakeShape(-1, 32, 32, 3)))
	ts := s.SubScope("training")
	m.Training = op.PlaceholderWithDefault(ts, op.Const(ts, false), tf.ScalarShape())
	newVar := func(name, layer string, shape []int64, trainable bool) *graph.Variable {
		vs := s.SubScope(name)
		h := op.VarHandleOp(vs, tf.Float, tf.MakeShape(shape...), op.VarHandleOpSharedName(name))
		init := op.Reshape(vs, op.Const(vs.SubScope("value"), vals[name]), op.Const(vs.SubScope("shape"), shape))
		v := &graph.Variable{Name: name, Layer: layer, Shape: shape, Handle: h, Trainable: trainable,
			Read: op.ReadVariableOp(vs, h, tf.Float), Init: op.AssignVariableOp(vs, h, init)}
		m.Variables = append(m.Variables, v)
		return v
	}
	pre := newVar("pre/kernel", "pre", []int64{3, 3}, !c.frozen)
	w := newVar("dense/kernel", "dense", []int64{3, int64(c.k)}, true)
	b := newVar("dense/bias", "dense", []int64{int64(c.k)}, true)
	count := newVar("stats/count", "stats", []int64{1}, false)
	x := op.Mul(s, op.Mean(s, m.Images, op.Const(s.SubScope("axes"), []int32{1, 2})), op.Const(s.SubScope("scale"), float32(1.0/255)))
	h := op.MatMul(s.SubScope("pre"), x, pre.Read)
	m.Logits = op.BiasAdd(s, op.MatMul(s.SubScope("dense"), h, w.Read), b.Read)
	m.Probabilities = op.Softmax(s, m.Logits)
	us := s.SubScope("update")
	inc := c.inc
	if inc == 0 {
		inc = 1
	}
	m.Updates = []*tf.Operation{op.AssignAddVariableOp(us, count.Handle, op.Const(us, []float32{inc}))}
	if err := s.Err(); err != nil {
		t.Fatalf("build tiny model: %v", err)
	}
	return m
}

// colors returns a separable synthetic set of n images in k (<= 3)
// classes: image i has label i mod k and its channel of that number is
// brighter than the others, with noise.
func colors(n, k int, seed uint64) *cifar.Set {
	r := rand.New(rand.NewPCG(seed, 1))
	s := &cifar.Set{Images: make([]byte, n*cifar.ImageSize), Labels: make([]uint8, n)}
	for c := range k {
		s.Classes = append(s.Classes, string(rune('a'+c)))
	}
	for i := range n {
		l := i % k
		s.Labels[i] = uint8(l)
		img := s.Image(i)
		for p := range img {
			v := r.IntN(140)
			if p%3 == l {
				v += 60 + r.IntN(56)
			}
			img[p] = byte(v)
		}
	}
	return s
}

// trainCfg is a small Adam training configuration.
func trainCfg(epochs, batch int) config.Train {
	c := config.DefaultTrain()
	c.Epochs, c.BatchSize, c.Seed = epochs, batch, 3
	c.Optimizer.LearningRate = 0.05
	return c
}

// fixedClock returns a clock that advances by step at every call.
func fixedClock(step time.Duration) func() time.Time {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		now = now.Add(step)
		return now
	}
}

// testOptions are quiet single-threaded options.
func testOptions() Options {
	return Options{
		Run:   config.Run{Seed: 11, IntraOpThreads: 1, InterOpThreads: 1, Device: "cpu", Progress: "off"},
		Clock: fixedClock(time.Second),
	}
}

// newTiny builds the tiny model and a Trainer around it.
func newTiny(t testing.TB, c tiny, cfg config.Train, opt Options) *Trainer {
	t.Helper()
	g, s := newGraph()
	m := c.build(t, s)
	tr, err := New(g, m, cfg, opt)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// floats returns the values of a float32 tensor, flattened.
func floats(t testing.TB, v *tf.Tensor) []float32 {
	t.Helper()
	n := int64(1)
	for _, d := range v.Shape() {
		n *= d
	}
	out := make([]float32, n)
	if err := readFloats(v, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// values returns the trainer's variables as float slices.
func values(t testing.TB, tr *Trainer) map[string][]float32 {
	t.Helper()
	vals, err := tr.Values()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]float32, len(vals))
	for k, v := range vals {
		out[k] = floats(t, v)
	}
	return out
}

// newGraph returns a new graph and a scope over it.
func newGraph() (*tf.Graph, *op.Scope) {
	g := tf.NewGraph()
	return g, op.NewScopeWithGraph(g)
}
