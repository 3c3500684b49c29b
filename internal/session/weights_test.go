package session

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/tftest"
)

// dense builds a small dense network and returns its scope and model.
func dense(t *testing.T) (*op.Scope, *graph.Model) {
	t.Helper()
	net := config.Network{Input: []int{2}, Layers: []config.Layer{{Type: "dense", Units: 3}}}
	s := op.NewScope()
	m, err := graph.Build(s, net.Named(), graph.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return s, m
}

func TestAssignRead(t *testing.T) {
	s, m := dense(t)
	w := graph.Weights{
		"dense/kernel": tftest.Tensor(t, [][]float32{{1, 2, 3}, {4, 5, 6}}),
		"dense/bias":   tftest.Tensor(t, []float32{7, 8, 9}),
	}
	a, err := NewAssign(s.SubScope("init"), m.Variables, w)
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	sess, err := Open(g, config.Run{IntraOpThreads: 1, InterOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := a.Run(sess, w); err != nil {
		t.Fatal(err)
	}
	got, err := Read(sess, m.Variables)
	if err != nil {
		t.Fatal(err)
	}
	if names := got.Names(); !slices.Equal(names, []string{"dense/bias", "dense/kernel"}) {
		t.Fatalf("read %v, want dense/bias and dense/kernel", names)
	}
	if b := got["dense/bias"].Value().([]float32); !slices.Equal(b, []float32{7, 8, 9}) {
		t.Errorf("dense/bias = %v, want [7 8 9]", b)
	}
	if k := got["dense/kernel"].Value().([][]float32); !slices.Equal(k[1], []float32{4, 5, 6}) {
		t.Errorf("dense/kernel = %v, want row 1 [4 5 6]", k)
	}
	if os.Getenv(ThreadPoolEnv) == "" {
		t.Errorf("%s not set after a session opened", ThreadPoolEnv)
	}
}

func TestNewAssignErrors(t *testing.T) {
	cases := []struct {
		desc string
		w    func(t *testing.T) graph.Weights
		want string
	}{
		{"unknown variable", func(t *testing.T) graph.Weights {
			return graph.Weights{"dense_9/bias": tftest.Tensor(t, []float32{1, 2, 3})}
		}, `value for "dense_9/bias": the model has no such variable`},
		{"nil", func(*testing.T) graph.Weights { return graph.Weights{"dense/bias": nil} }, "value for dense/bias is nil"},
		{"type", func(t *testing.T) graph.Weights {
			return graph.Weights{"dense/bias": tftest.Tensor(t, []int32{1, 2, 3})}
		}, "value for dense/bias: type"},
		{"shape", func(t *testing.T) graph.Weights {
			return graph.Weights{"dense/bias": tftest.Tensor(t, []float32{1, 2})}
		}, "value for dense/bias: shape [2], want [3]"},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			s, m := dense(t)
			_, err := NewAssign(s, m.Variables, c.w(t))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("NewAssign error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestOpenWithoutGPU(t *testing.T) {
	s, _ := dense(t)
	g, err := s.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	sess, err := Open(g, config.Run{Device: "gpu"})
	if err == nil {
		sess.Close()
		t.Skip("this machine has a GPU")
	}
	if !strings.Contains(err.Error(), `run.device: "gpu" asks for a GPU`) {
		t.Errorf("Open error = %v, want one naming run.device", err)
	}
}
