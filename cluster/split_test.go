package cluster

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/tolerance"
	"github.com/tfcifar/tfcifar/train"
)

// set is a small random labelled dataset of 8x8x3 images.
type set struct {
	x []float32
	y []int
}

func newSet(n int) *set {
	r := rand.New(rand.NewPCG(1, 2))
	s := &set{x: make([]float32, n*192), y: make([]int, n)}
	for i := range s.x {
		s.x[i] = r.Float32()
	}
	for i := range s.y {
		s.y[i] = i % 3
	}
	return s
}

func (s *set) Len() int        { return len(s.y) }
func (s *set) Width() int      { return 192 }
func (s *set) NumClasses() int { return 3 }
func (s *set) FillTo(idx []int, images, labels []float32) error {
	clear(labels)
	for k, i := range idx {
		copy(images[k*192:(k+1)*192], s.x[i*192:(i+1)*192])
		labels[k*3+s.y[i]] = 1
	}
	return nil
}

// TestSplitTrainsAsOneProcess trains a small network with dropout and a
// packed input gradient (graph.Gradients) in this process, once locally
// and once split across two in-process workers, in batches whose last one
// is smaller than the workers' count, and compares the histories and the
// final weights.
func TestSplitTrainsAsOneProcess(t *testing.T) {
	net, err := config.ParseNetwork([]byte("input: [8, 8, 3]\nlayers:\n" +
		"  - {type: conv2d, filters: 4, kernel: 3, activation: relu}\n" +
		"  - {type: conv2d, filters: 4, kernel: 3, activation: relu}\n  - {type: flatten}\n" +
		"  - {type: dropout, rate: 0.3}\n  - {type: dense, units: 3, activation: softmax}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultTrain()
	cfg.Epochs, cfg.BatchSize = 2, 8 // 25 examples: batches of 8, 8, 8 and 1 (an empty shard)
	data, val := newSet(25), newSet(6)
	fit := func(ch *Chief) (*train.History, graph.Weights) {
		g := tf.NewGraph()
		opt := graph.Options{Seed: 3}
		m, err := graph.Build(op.NewScopeWithGraph(g), net, opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.InputGrads) != 1 { // both ways take the second conv2d's packed input gradient
			t.Fatalf("%d layers with a packed input gradient, want 1", len(m.InputGrads))
		}
		o := train.Options{Run: config.DefaultRun()}
		if ch != nil {
			sp, err := ch.Split(net, opt, g, m)
			if err != nil {
				t.Fatal(err)
			}
			o.Split = sp
		}
		tr, err := train.New(g, m, cfg, o)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := tr.Close(); err != nil {
				t.Error(err)
			}
		}()
		h, err := tr.Fit(context.Background(), data, val)
		if err != nil {
			t.Fatal(err)
		}
		w, err := tr.Values()
		if err != nil {
			t.Fatal(err)
		}
		return h, w
	}
	wantH, wantW := fit(nil)

	c := loopback(t, 2)
	serveTask(t, c, 0, Version())
	serveTask(t, c, 1, Version())
	ch, err := Start(c, config.Run{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := ch.Close(); err != nil {
			t.Error(err)
		}
	}()
	gotH, gotW := fit(ch)
	for i, w := range wantH.Epochs {
		g := gotH.Epochs[i]
		if !tolerance.EqualWithinRel(g.Loss, w.Loss, 1e-5) || g.Accuracy != w.Accuracy || !tolerance.EqualWithinRel(g.ValLoss, w.ValLoss, 1e-5) {
			t.Errorf("epoch %d: split loss %.7f accuracy %.4f val_loss %.7f, one process %.7f %.4f %.7f", i+1, g.Loss, g.Accuracy, g.ValLoss, w.Loss, w.Accuracy, w.ValLoss)
		}
	}
	for name, w := range wantW {
		a, b := floats(t, w), floats(t, gotW[name])
		for i := range a {
			if !tolerance.EqualWithinAbsOrRel(float64(a[i]), float64(b[i]), 1e-6, 1e-5) {
				t.Fatalf("%s value %d: split %g, one process %g", name, i, b[i], a[i])
			}
		}
	}
}

// floats returns the values of a float32 tensor.
func floats(t *testing.T, x *tf.Tensor) []float32 {
	t.Helper()
	var buf bytes.Buffer
	if _, err := x.WriteContentsTo(&buf); err != nil {
		t.Fatal(err)
	}
	v := make([]float32, buf.Len()/4)
	if err := binary.Read(&buf, binary.NativeEndian, v); err != nil {
		t.Fatal(err)
	}
	return v
}
