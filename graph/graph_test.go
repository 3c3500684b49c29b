package graph

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/golden"
	"github.com/tfcifar/tfcifar/internal/tftest"
)

// session finalizes s and opens a session on it with the variables of m
// initialised.
func session(t *testing.T, s *op.Scope, m *Model) *tf.Session {
	t.Helper()
	sess := tftest.Session(t, s)
	initialize(t, sess, m)
	return sess
}

// initialize runs the Init ops of m's variables in sess.
func initialize(t *testing.T, sess *tf.Session, m *Model) {
	t.Helper()
	var inits []*tf.Operation
	for _, v := range m.Variables {
		inits = append(inits, v.Init)
	}
	if _, err := sess.Run(nil, nil, inits); err != nil {
		t.Fatal(err)
	}
}

func build(t *testing.T, net config.Network, seed int64) (*op.Scope, *Model) {
	t.Helper()
	s := op.NewScope()
	m, err := Build(s, net, Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return s, m
}

// images returns n images of shape h×w×c with values from f(i).
func images(n, h, w, c int, f func(i int) float32) [][][][]float32 {
	out := make([][][][]float32, n)
	k := 0
	for b := range out {
		out[b] = make([][][]float32, h)
		for y := range out[b] {
			out[b][y] = make([][]float32, w)
			for x := range out[b][y] {
				out[b][y][x] = make([]float32, c)
				for ch := range out[b][y][x] {
					out[b][y][x][ch] = f(k)
					k++
				}
			}
		}
	}
	return out
}

func TestSummary(t *testing.T) {
	tests := []struct {
		desc               string
		stage              int
		total, trainable   int64
		golden             string
		trainableVariables int
	}{
		{"reference base", 0, 418837, 418837, "base.golden.txt", 10},
		{"reference transfer", 1, 418837, 410373, "transfer.golden.txt", 4},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			net, err := config.Default().Resolve(tt.stage, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, m := build(t, net, 1)
			total, trainable := m.Params()
			if total != tt.total || trainable != tt.trainable {
				t.Errorf("params: total %d trainable %d, want %d %d", total, trainable, tt.total, tt.trainable)
			}
			if n := len(m.TrainableVariables()); n != tt.trainableVariables {
				t.Errorf("%d trainable variables, want %d", n, tt.trainableVariables)
			}
			if got := m.Logits.Shape().String(); got != "[?, 5]" {
				t.Errorf("logits shape %s, want [?, 5]", got)
			}
			var b bytes.Buffer
			if err := m.Summary(&b); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", tt.golden), b.Bytes())
		})
	}
}

func TestBuildInvalidNetwork(t *testing.T) {
	s := op.NewScope()
	net := config.Network{Input: []int{4, 4, 1}, Layers: []config.Layer{{Type: "dense", Units: 2}}}
	_, err := Build(s, net, Options{})
	if err == nil || !strings.Contains(err.Error(), "layers[0] (dense)") {
		t.Fatalf("Build = %v, want the validation error of layers[0]", err)
	}
	g, _ := s.Finalize()
	if n := len(g.Operations()); n != 0 {
		t.Errorf("invalid network added %d ops, want none", n)
	}
}

func TestFirstScopeErrorReported(t *testing.T) {
	s := op.NewScope()
	// First error: MatMul of a vector.
	op.MatMul(s.SubScope("first"), op.Const(s.SubScope("a"), []float32{1}), op.Const(s.SubScope("b"), []float32{1}))
	// A second one would be a Cast of a string.
	op.Cast(s.SubScope("second"), op.Const(s.SubScope("c"), "x"), tf.Float)
	_, err := Build(s, tiny(), Options{})
	if err == nil || !strings.Contains(err.Error(), `"MatMul"`) {
		t.Fatalf("Build = %v, want the first error (MatMul)", err)
	}
	if strings.Contains(err.Error(), "Stacktrace") {
		t.Errorf("error carries a stack trace: %v", err)
	}
}

func TestTfgoPanicRecovered(t *testing.T) {
	s := op.NewScope()
	err := catch(s, func() {
		// The first failing op makes tfgo panic when it checks the scope.
		b := &builder{s: s, m: &Model{}}
		x := op.Const(s.SubScope("x"), []float32{1, 2}) // not a matrix
		l := config.Network{Layers: []config.Layer{{Type: "dense", Units: 2}}}.Named().Layers[0]
		b.layer(s.SubScope("dense"), l, x, []int{2}, []int{2})
		t.Error("no panic from tfgo")
	})
	if err == nil || !strings.Contains(err.Error(), "failed to add operation") {
		t.Fatalf("catch = %v, want the scope error", err)
	}
	if err := catch(op.NewScope(), func() { panic("boom") }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("catch of a plain panic = %v, want boom", err)
	}
}

// tiny is a small net: conv2d, flatten, dense + softmax.
func tiny() config.Network {
	return config.Network{Input: []int{3, 3, 2}, Layers: []config.Layer{
		{Type: "conv2d", Filters: 2, Kernel: config.Size{2, 2}, Activation: "relu", BiasInitializer: "ones"},
		{Type: "flatten"},
		{Type: "dense", Units: 3, Activation: "softmax", BiasInitializer: "ones"},
	}}
}

func TestEveryLayerTypeHasBuilder(t *testing.T) {
	for _, typ := range config.Types() {
		if builders[typ] == nil {
			t.Errorf("layer type %s has no op builder", typ)
		}
		if typ.Keras() == "" {
			t.Errorf("layer type %s has no Keras name", typ)
		}
	}
	if n, k := len(builders), len(config.Types()); n != k {
		t.Errorf("%d op builders for %d layer types", n, k)
	}
}
