package graph

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tftest"
)

// twoDense builds dense layers "a_b" and "a" and returns the model.
func twoDense(t *testing.T) *Model {
	t.Helper()
	net := config.Network{Input: []int{2}, Layers: []config.Layer{
		{Type: "dense", Name: "a_b", Units: 3},
		{Type: "dense", Name: "a", Units: 2},
	}}
	m, err := Build(op.NewScope(), net, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// valid returns a value for every variable of twoDense.
func valid(t *testing.T) Weights {
	return Weights{
		"a_b/kernel": tftest.Tensor(t, [][]float32{{1, 2, 3}, {4, 5, 6}}),
		"a_b/bias":   tftest.Tensor(t, []float32{0, 0, 0}),
		"a/kernel":   tftest.Tensor(t, [][]float32{{1, 2}, {3, 4}, {5, 6}}),
		"a/bias":     tftest.Tensor(t, []float32{0, 0}),
	}
}

// TestWeightsOf checks that values go by Variable.Layer, also for layer
// names with a "/" (which a source model may have).
func TestWeightsOf(t *testing.T) {
	m := &Model{Variables: []*Variable{
		{Name: "a/b/kernel", Layer: "a/b"}, {Name: "a/b/bias", Layer: "a/b"},
		{Name: "a/kernel", Layer: "a"}, {Name: "a/bias", Layer: "a"},
		{Name: "c/bias", Layer: "c"}, // no value
	}}
	x := tftest.Tensor(t, []float32{1})
	w := Weights{"a/b/kernel": x, "a/b/bias": x, "a/kernel": x, "a/bias": x, "d/bias": x}
	cases := []struct {
		desc   string
		layers []string
		want   []string
	}{
		{"layer whose name prefixes another's", []string{"a"}, []string{"a/bias", "a/kernel"}},
		{"layer with a slash", []string{"a/b"}, []string{"a/b/bias", "a/b/kernel"}},
		{"both", []string{"a", "a/b"}, []string{"a/b/bias", "a/b/kernel", "a/bias", "a/kernel"}},
		{"no layers", nil, nil},
		{"layer without values", []string{"c"}, nil},
		{"unknown layer", []string{"e"}, nil},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			if got := w.Of(m.Variables, c.layers...).Names(); !slices.Equal(got, c.want) {
				t.Errorf("Of(%q) = %v, want %v", c.layers, got, c.want)
			}
		})
	}
	if got := len(VariablesOf(m.Variables, "a")); got != 2 {
		t.Errorf("VariablesOf(a) gave %d variables, want 2", got)
	}
}

func TestWeightsClone(t *testing.T) {
	w := valid(t)
	c := w.Clone()
	delete(c, "a/bias")
	if _, ok := w["a/bias"]; !ok || len(c) != 3 {
		t.Errorf("Clone shares its map: original %d entries, clone %d", len(w), len(c))
	}
	if c["a/kernel"] != w["a/kernel"] {
		t.Error("Clone copied a tensor, want the same tensors")
	}
	if Weights(nil).Clone() != nil {
		t.Error("Clone of nil is not nil")
	}
}

func TestWeightsCheck(t *testing.T) {
	m := twoDense(t)
	if err := valid(t).Check(m.Variables); err != nil {
		t.Fatalf("Check of valid weights: %v", err)
	}
	cases := []struct {
		desc   string
		change func(Weights)
		want   string
	}{
		{"missing", func(w Weights) { delete(w, "a/kernel") }, `variable "a/kernel" has no value`},
		{"nil", func(w Weights) { w["a/kernel"] = nil }, `variable "a/kernel" has no value`},
		{"extra", func(w Weights) { w["c/bias"] = w["a/bias"] }, `value "c/bias" matches no variable of the network`},
		{"type", func(w Weights) { w["a/bias"] = tftest.Tensor(t, []int32{0, 0}) }, `variable "a/bias": value of type int32, want float32`},
		{"shape", func(w Weights) { w["a/bias"] = tftest.Tensor(t, []float32{0}) }, `variable "a/bias": value of shape [1], want [2]`},
		{"NaN", func(w Weights) { w["a/bias"] = tftest.Tensor(t, []float32{0, float32(math.NaN())}) }, `variable "a/bias" holds NaN or infinite values`},
		{"infinity", func(w Weights) { w["a/bias"] = tftest.Tensor(t, []float32{float32(math.Inf(-1)), 0}) }, `variable "a/bias" holds NaN or infinite values`},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			w := valid(t)
			c.change(w)
			err := w.Check(m.Variables)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Check error = %v, want one containing %q", err, c.want)
			}
		})
	}
	t.Run("all problems in one error", func(t *testing.T) {
		w := valid(t)
		delete(w, "a/kernel")
		w["c/bias"] = w["a/bias"]
		err := w.Check(m.Variables)
		if err == nil || !strings.Contains(err.Error(), `"a/kernel" has no value; value "c/bias"`) {
			t.Errorf("Check error = %v, want both problems", err)
		}
	})
}
