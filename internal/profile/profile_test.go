package profile

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tftest"
	"github.com/tfcifar/tfcifar/internal/tolerance"
)

// net is a tiny training-like graph: a 3x3 convolution of 3 channels to
// 8, ReLU, a dense layer of 10 units, the sum as loss, and the gradients
// of the loss with respect to the filter and the dense weights.
type net struct {
	sess    *tf.Session
	x       tf.Output
	fetches []tf.Output
}

const batch, side = 4, 16

func newNet(t *testing.T) net {
	t.Helper()
	s := op.NewScope()
	x := op.Placeholder(s, tf.Float, op.PlaceholderShape(tf.MakeShape(-1, side, side, 3)))
	filter := op.Reshape(s.SubScope("filter"), op.Const(s.SubScope("filter"), values(3*3*3*8)), op.Const(s.SubScope("filter_shape"), []int32{3, 3, 3, 8}))
	dense := op.Reshape(s.SubScope("dense"), op.Const(s.SubScope("dense"), values(side*side*8*10)), op.Const(s.SubScope("dense_shape"), []int32{side * side * 8, 10}))
	conv := op.Relu(s, op.Conv2D(s, x, filter, []int64{1, 1, 1, 1}, "SAME"))
	flat := op.Reshape(s, conv, op.Const(s.SubScope("flat"), []int32{-1, side * side * 8}))
	loss := op.Sum(s, op.MatMul(s, flat, dense), op.Const(s.SubScope("axes"), []int32{0, 1}))
	g, err := s.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	grads, err := g.AddGradients("grad", []tf.Output{loss}, []tf.Output{filter, dense}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := tf.NewSession(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	return net{sess: sess, x: x, fetches: append([]tf.Output{loss}, grads...)}
}

// values returns n fixed values in [0, 1).
func values(n int) []float32 {
	vals := make([]float32, n)
	for i := range vals {
		vals[i] = float32(i%17) / 17
	}
	return vals
}

func (n net) feeds(t *testing.T) map[tf.Output]*tf.Tensor {
	t.Helper()
	in := tftest.Tensor(t, values(batch*side*side*3))
	if err := in.Reshape([]int64{batch, side, side, 3}); err != nil {
		t.Fatal(err)
	}
	return map[tf.Output]*tf.Tensor{n.x: in}
}

func TestRunEqualsSessionRun(t *testing.T) {
	n := newNet(t)
	want, err := n.sess.Run(n.feeds(t), n.fetches, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, md, err := Run(n.sess, n.feeds(t), n.fetches, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(md.GetStepStats().GetDevStats()) == 0 || len(md.PartitionGraphs) == 0 {
		t.Fatalf("run metadata without step stats or partition graphs: %v", md)
	}
	for i := range want {
		if !slices.Equal(got[i].Shape(), want[i].Shape()) || got[i].DataType() != want[i].DataType() {
			t.Fatalf("fetch %d: got %v %v, want %v %v", i, got[i].DataType(), got[i].Shape(), want[i].DataType(), want[i].Shape())
		}
	}
	if g, w := got[0].Value().(float32), want[0].Value().(float32); !tolerance.EqualWithinRel(float64(g), float64(w), 1e-5) { //nolint:forcetypeassert // the loss is a float32 scalar
		t.Errorf("loss: got %v, want %v", g, w)
	}
}

func TestPhase(t *testing.T) {
	n := newNet(t)
	rec := New(2, 3)
	p := rec.Sub("stage").Phase("step")
	if p.Name != "stage: step" {
		t.Errorf("phase name: got %q, want %q", p.Name, "stage: step")
	}
	for range 7 {
		if _, err := p.Run(n.sess, n.feeds(t), n.fetches, nil); err != nil {
			t.Fatal(err)
		}
	}
	if p.Traced() != 3 {
		t.Errorf("traced calls: got %d, want 3 of 7 after 2", p.Traced())
	}
	types := p.ByType()
	var sum float64
	var names []string
	flops := map[string]float64{}
	for _, r := range types {
		sum += r.Share
		names = append(names, r.Name)
		flops[kind(r.Name)] += r.FLOPs
	}
	if !tolerance.EqualWithinAbs(sum, 1, 1e-9) {
		t.Errorf("shares of the op types sum to %v, want 1", sum)
	}
	for _, k := range []string{"conv", "filter", "matmul"} {
		if flops[k] == 0 {
			t.Errorf("no FLOPs counted for the %s family among the op types %v", k, names)
		}
	}
	// Forward convolution: 2*3*3*3 per output value; the filter gradient
	// the same per value of the output's gradient.
	conv := 2.0 * 3 * 3 * 3 * batch * side * side * 8
	if !tolerance.EqualWithinRel(flops["conv"], conv, 1e-12) || !tolerance.EqualWithinRel(flops["filter"], conv, 1e-12) {
		t.Errorf("convolution FLOPs per step: got forward %v, filter gradient %v, want %v", flops["conv"], flops["filter"], conv)
	}
	// The dense layer forward [4, 2048] x [2048, 10], the gradient of its
	// weights [2048, 4] x [4, 10] (a transposed first input) and that of
	// its input [4, 10] x [10, 2048]: 2*4*2048*10 each.
	dense := 3 * 2.0 * batch * side * side * 8 * 10
	if !tolerance.EqualWithinRel(flops["matmul"], dense, 1e-12) {
		t.Errorf("matrix product FLOPs per step: got %v, want %v", flops["matmul"], dense)
	}
	run, span, ops := p.Step()
	if run <= 0 || span <= 0 || ops <= 0 || span > run {
		t.Errorf("step times: Session.Run %v, executor %v, ops %v: want all > 0, executor within Session.Run", run, span, ops)
	}
	var buf bytes.Buffer
	if err := rec.Write(&buf, 100); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"== stage: step: 3 steps traced after 2", "op type", types[0].Name, "total", "100.0%"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestNilRecorder(t *testing.T) {
	n := newNet(t)
	var rec *Recorder
	p := rec.Sub("x").Phase("y")
	if p != nil {
		t.Fatalf("a nil Recorder's phase: got %v, want nil", p)
	}
	if _, err := p.Run(n.sess, n.feeds(t), n.fetches, nil); err != nil {
		t.Fatal(err)
	}
}

func TestPeak(t *testing.T) {
	gflops, err := Peak(config.Run{Device: config.CPU}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if gflops <= 0 || gflops > 1e5 {
		t.Errorf("peak: got %v GFLOP/s, want a positive CPU rate", gflops)
	}
}

func TestPhaseOf(t *testing.T) {
	if p := PhaseOf(context.Background()); p != nil {
		t.Errorf("PhaseOf a bare context: got %v, want nil", p)
	}
	p := New(0, 1).Phase("feature caching")
	if got := PhaseOf(WithPhase(context.Background(), p)); got != p {
		t.Errorf("PhaseOf(WithPhase(p)): got %v, want %v", got, p)
	}
}
