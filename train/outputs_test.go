package train

import (
	"context"
	"slices"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/graph"
)

// TestOutputsChecksSets checks that Outputs refuses, naming the set, a set
// whose examples do not fit the model's input, and a set that fails its
// own check, instead of reading past its buffers.
func TestOutputsChecksSets(t *testing.T) {
	good := colors(4, 3, 1)
	cases := []struct {
		desc  string
		shape []int64 // the model's input, batch first
		sets  []Dataset
		want  string
	}{
		{"smaller input", []int64{-1, 16, 16, 3}, []Dataset{colors(4, 3, 1)}, "train: outputs: set 0: 3072 values per example, the model's input [?, 16, 16, 3] takes 768"},
		{"second set", []int64{-1, 32, 32, 3}, []Dataset{good, &cifar.Set{Images: make([]byte, 10), Labels: []uint8{0}, Classes: []string{"a", "b", "c"}}}, "train: outputs: set 1: 10 bytes for 1 images"},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			g := tf.NewGraph()
			s := op.NewScopeWithGraph(g)
			m := &graph.Model{Images: op.Placeholder(s.SubScope("images"), tf.Float, op.PlaceholderShape(tf.MakeShape(c.shape...)))}
			out := op.Mean(s, m.Images, op.Const(s.SubScope("axes"), []int32{1, 2}))
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			_, err := Outputs(context.Background(), testOptions().Run, g, m, out, graph.Weights{}, c.sets...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// panicSink panics on its first batch.
type panicSink struct{}

func (panicSink) Add([]float32) error { panic("full") }

// TestOutputsToSinks checks that OutputsTo hands every example's outputs,
// in order and over several batches (the last one partial), to the sinks:
// packed features then fill exactly what the dense Outputs returns and
// what the op computes; a sink that panics gives an error.
func TestOutputsToSinks(t *testing.T) {
	sets := []Dataset{colors(2*outputBatch+7, 3, 1), colors(5, 3, 2)}
	g := tf.NewGraph()
	s := op.NewScopeWithGraph(g)
	m := &graph.Model{Images: op.Placeholder(s.SubScope("images"), tf.Float, op.PlaceholderShape(tf.MakeShape(-1, 32, 32, 3)))}
	out := op.Relu(s, op.Sub(s, m.Images, op.Const(s.SubScope("cut"), float32(150)))) // mostly 0
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	run := testOptions().Run
	dense, err := Outputs(context.Background(), run, g, m, out, graph.Weights{}, sets...)
	if err != nil {
		t.Fatal(err)
	}
	packed := make([]*cifar.PackedFeatures, len(sets))
	sinks := make([]Sink, len(sets))
	for i, set := range sets {
		c := set.(*cifar.Set)
		packed[i] = &cifar.PackedFeatures{Shape: []int{32, 32, 3}, Labels: c.Labels, Classes: c.Classes}
		sinks[i] = packed[i]
	}
	if err := OutputsTo(context.Background(), run, g, m, out, graph.Weights{}, sets, sinks); err != nil {
		t.Fatal(err)
	}
	for i, set := range sets {
		c := set.(*cifar.Set)
		n := c.Len()
		want := make([]float32, n*cifar.ImageSize)
		for p, v := range c.Images {
			want[p] = max(float32(v)-150, 0)
		}
		if !slices.Equal(dense[i], want) {
			t.Errorf("set %d: Outputs differs from relu(pixels - 150)", i)
		}
		idx := make([]int, n)
		for j := range idx {
			idx[j] = j
		}
		got, labels := make([]float32, len(want)), make([]float32, n*3)
		if err := packed[i].FillTo(idx, got, labels); err != nil {
			t.Fatal(err)
		}
		if packed[i].Len() != n || !slices.Equal(got, want) {
			t.Errorf("set %d: %d packed examples fill other values than relu(pixels - 150)", i, packed[i].Len())
		}
	}
	err = OutputsTo(context.Background(), run, g, m, out, graph.Weights{}, sets[1:], []Sink{panicSink{}})
	if err == nil || !strings.Contains(err.Error(), "panicked: full") {
		t.Errorf("a panicking sink: error %v, want one saying it panicked", err)
	}
	if err := OutputsTo(context.Background(), run, g, m, out, graph.Weights{}, sets, sinks[:1]); err == nil {
		t.Error("OutputsTo accepted 1 sink for 2 sets")
	}
}
