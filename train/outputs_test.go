package train

import (
	"context"
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
