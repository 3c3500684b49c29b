package transfer

import (
	"fmt"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
)

// TestSplitMatchesByLayer checks that reused values are given to layers by
// Variable.Layer, also for layer names with a "/", and that a value of no
// layer fails.
func TestSplitMatchesByLayer(t *testing.T) {
	one, err := tf.NewTensor([]float32{1})
	if err != nil {
		t.Fatal(err)
	}
	net := config.Network{Layers: []config.Layer{{Name: "blk/conv1"}, {Name: "blk"}, {Name: "head"}}}
	full := &graph.Model{Variables: []*graph.Variable{
		{Name: "blk/conv1/kernel", Layer: "blk/conv1"},
		{Name: "blk/kernel", Layer: "blk"},
		{Name: "head/kernel", Layer: "head"},
	}}
	init := map[string]*tf.Tensor{"blk/conv1/kernel": one, "blk/kernel": one}
	for cached, want := range [][2][]string{
		{nil, {"blk/conv1/kernel", "blk/kernel"}},
		{{"blk/conv1/kernel"}, {"blk/kernel"}},
		{{"blk/conv1/kernel", "blk/kernel"}, nil},
	} {
		prefix, head, err := Split(init, full, net, cached)
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(prefix); got != fmt.Sprint(want[0]) {
			t.Errorf("%d cached layers: cached values %s, want %v", cached, got, want[0])
		}
		if got := keys(head); got != fmt.Sprint(want[1]) {
			t.Errorf("%d cached layers: trained values %s, want %v", cached, got, want[1])
		}
	}
	init["blk/conv2/kernel"] = one
	if _, _, err := Split(init, full, net, 1); err == nil || !strings.Contains(err.Error(), "blk/conv2/kernel") {
		t.Errorf("a value of no layer: err = %v, want one naming it", err)
	}
}

// keys lists the names of values, sorted, as fmt prints a slice.
func keys(values map[string]*tf.Tensor) string {
	var names []string
	for _, k := range []string{"blk/conv1/kernel", "blk/kernel", "head/kernel", "blk/conv2/kernel"} {
		if values[k] != nil {
			names = append(names, k)
		}
	}
	return fmt.Sprint(names)
}
