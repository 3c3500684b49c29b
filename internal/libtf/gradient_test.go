package libtf

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/internal/tolerance"
)

// param is a float32 tensor fed through a placeholder, so the check can move
// one element at a time.
type param struct {
	name  string
	shape []int64
	value []float32
	ph    tf.Output
}

func newParam(s *op.Scope, rng *rand.Rand, name string, shape ...int64) *param {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	p := &param{name: name, shape: shape, value: make([]float32, n)}
	for i := range p.value {
		p.value[i] = rng.Float32()*2 - 1
	}
	p.ph = op.Placeholder(s.SubScope(name), tf.Float, op.PlaceholderShape(tf.MakeShape(shape...)))
	return p
}

func (p *param) tensor(t *testing.T) *tf.Tensor {
	t.Helper()
	tensor, err := tf.NewTensor(p.value)
	if err != nil {
		t.Fatal(err)
	}
	if err := tensor.Reshape(p.shape); err != nil {
		t.Fatal(err)
	}
	return tensor
}

// TestGradients checks op.Gradients through the ops the reference network
// trains with (Conv2D, BiasAdd, Relu, MaxPool, Reshape, MatMul and
// SoftmaxCrossEntropyWithLogits, averaged with Mean) against central finite
// differences. Every one of them has a C++ gradient in libtensorflow, so
// training needs no gradient written in Go.
func TestGradients(t *testing.T) {
	const (
		eps = 1e-3
		tol = 1e-3 // on |analytic - numeric| / max(1, |numeric|), float32 precision
	)
	rng := rand.New(rand.NewPCG(1, 2))
	s := op.NewScope()
	images := newParam(s, rng, "images", 2, 6, 6, 2)
	kernel := newParam(s, rng, "kernel", 3, 3, 2, 4)
	bias := newParam(s, rng, "bias", 4)
	weights := newParam(s, rng, "weights", 2*2*4, 3)
	params := []*param{kernel, bias, weights}

	labels := op.Const(s.SubScope("labels"), [][]float32{{0, 1, 0}, {0, 0, 1}})
	conv := op.Conv2D(s, images.ph, kernel.ph, []int64{1, 1, 1, 1}, "VALID") // [2,4,4,4]
	relu := op.Relu(s, op.BiasAdd(s, conv, bias.ph))
	pool := op.MaxPool(s, relu, []int64{1, 2, 2, 1}, []int64{1, 2, 2, 1}, "VALID") // [2,2,2,4]
	flat := op.Reshape(s, pool, op.Const(s.SubScope("flat"), []int32{-1, 2 * 2 * 4}))
	logits := op.MatMul(s, flat, weights.ph)
	perExample, _ := op.SoftmaxCrossEntropyWithLogits(s, logits, labels)
	loss := op.Mean(s, perExample, op.Const(s.SubScope("axis"), []int32{0}))
	grads := op.Gradients(s, []tf.Output{loss}, []tf.Output{kernel.ph, bias.ph, weights.ph})

	g, err := s.Finalize()
	if err != nil {
		t.Fatalf("building graph: %v", err)
	}
	sess, err := tf.NewSession(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()

	all := append([]*param{images}, params...)
	feeds := func() map[tf.Output]*tf.Tensor {
		f := map[tf.Output]*tf.Tensor{}
		for _, p := range all {
			f[p.ph] = p.tensor(t)
		}
		return f
	}
	lossAt := func() float64 {
		out, err := sess.Run(feeds(), []tf.Output{loss}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return float64(out[0].Value().(float32))
	}
	out, err := sess.Run(feeds(), grads, nil)
	if err != nil {
		t.Fatal(err)
	}

	worst := 0.0
	for i, p := range params {
		analytic := flatten(out[i].Value())
		if len(analytic) != len(p.value) {
			t.Fatalf("gradient of %s has %d values, want %d", p.name, len(analytic), len(p.value))
		}
		for j := range p.value {
			orig := p.value[j]
			p.value[j] = orig + eps
			up := lossAt()
			p.value[j] = orig - eps
			down := lossAt()
			p.value[j] = orig
			numeric := (up - down) / (2 * eps)
			diff := math.Abs(float64(analytic[j])-numeric) / math.Max(1, math.Abs(numeric))
			worst = math.Max(worst, diff)
			if !tolerance.EqualWithinAbsOrRel(float64(analytic[j]), numeric, tol, tol) {
				t.Errorf("d loss / d %s[%d] = %.9g, finite differences give %.9g", p.name, j, analytic[j], numeric)
			}
		}
	}
	t.Logf("gradient check passed: worst relative difference %.3g (tolerance %g)", worst, tol)
}

// flatten returns the float32 values of a tensor value of rank 1, 2 or 4.
func flatten(v any) []float32 {
	switch x := v.(type) {
	case []float32:
		return x
	case [][]float32:
		var out []float32
		for _, r := range x {
			out = append(out, r...)
		}
		return out
	case [][][][]float32:
		var out []float32
		for _, a := range x {
			for _, b := range a {
				for _, c := range b {
					out = append(out, c...)
				}
			}
		}
		return out
	}
	panic(fmt.Sprintf("flatten: unexpected %T", v))
}
