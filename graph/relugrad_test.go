package graph

import (
	"math"
	"slices"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"
)

// TestReluGradsReadOutputs checks that the ReluGrad of a Relu's C++
// gradient is rewired to read the Relu's output, that a ReluGrad reading
// no Relu's input is left alone, and that the gradients keep their bits.
func TestReluGradsReadOutputs(t *testing.T) {
	s := op.NewScope()
	x := op.Const(s.SubScope("x"), [][]float32{{1, -2, 0, 3}, {-1, 0.5, 2, float32(math.Inf(-1))}, {0, 0, -0.25, 4}})
	w := op.Const(s.SubScope("w"), [][]float32{{0.5, -1}, {1, 0.25}, {-0.5, 2}, {0, -0.1}})
	b := op.Const(s.SubScope("b"), []float32{0.1, -0.2})
	pre := op.Add(s, op.MatMul(s, x, w), b)
	relu := op.Relu(s, pre)
	loss := op.Sum(s, op.Mul(s, relu, relu), op.Const(s.SubScope("axes"), []int32{0, 1}))
	grads := op.Gradients(s, []tf.Output{loss}, []tf.Output{w, b})
	other := op.ReluGrad(s.SubScope("other"), b, op.Neg(s, b)) // reads no Relu's input
	g, err := s.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	fetches := append(slices.Clone(grads), other)
	before := runBits(t, g, fetches)
	n, err := ReluGradsReadOutputs(g)
	if err != nil || n != 1 {
		t.Fatalf("ReluGradsReadOutputs: %d rewired (%v), want 1", n, err)
	}
	var readers []string
	for _, c := range relu.Consumers() {
		if c.Op.Type() == "ReluGrad" && c.Index == 1 {
			readers = append(readers, c.Op.Name())
		}
	}
	if len(readers) != 1 {
		t.Errorf("ReluGrads reading the Relu's output: %v, want the gradient's one", readers)
	}
	for _, c := range pre.Consumers() {
		if c.Op.Type() != "Relu" {
			t.Errorf("the Relu's input is still read by %s (%s)", c.Op.Name(), c.Op.Type())
		}
	}
	if after := runBits(t, g, fetches); !slices.Equal(after, before) {
		t.Errorf("values after rewiring %v, before %v", after, before)
	}
	if _, err := ReluGradsReadOutputs(nil); err == nil {
		t.Error("a nil graph: no error")
	}
}

// runBits runs fetches in a new session of g and returns the float32 bit
// patterns of all their values.
func runBits(t *testing.T, g *tf.Graph, fetches []tf.Output) []uint32 {
	t.Helper()
	sess, err := tf.NewSession(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	out, err := sess.Run(nil, fetches, nil)
	if err != nil {
		t.Fatal(err)
	}
	var bits []uint32
	for _, o := range out {
		switch v := o.Value().(type) {
		case []float32:
			for _, f := range v {
				bits = append(bits, math.Float32bits(f))
			}
		case [][]float32:
			for _, row := range v {
				for _, f := range row {
					bits = append(bits, math.Float32bits(f))
				}
			}
		default:
			t.Fatalf("unexpected value %T", v)
		}
	}
	return bits
}
