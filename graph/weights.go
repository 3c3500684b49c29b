package graph

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	tf "github.com/galeone/tensorflow/tensorflow/go"
)

// Weights are values of a model's variables keyed by Variable.Name (e.g.
// "conv2d/kernel"), each a tensor of its variable's type and shape. The
// tensors are shared, not copied: whoever holds Weights must not write to
// them. A map literal of that type is a Weights.
type Weights map[string]*tf.Tensor

// Names returns the variable names of w, sorted.
func (w Weights) Names() []string { return slices.Sorted(maps.Keys(w)) }

// Clone returns a new Weights holding the same tensors, so that adding or
// removing entries of one does not change the other.
func (w Weights) Clone() Weights {
	if w == nil {
		return nil
	}
	return maps.Clone(w)
}

// Of returns the values in w of the variables of vars that belong to one of
// layers, matched by Variable.Layer, never by a prefix of the variable's
// name (a prefix "dense" would also take the variables of "dense_1"). No
// layers give empty Weights.
func (w Weights) Of(vars []*Variable, layers ...string) Weights {
	out := Weights{}
	for _, v := range VariablesOf(vars, layers...) {
		if t, ok := w[v.Name]; ok {
			out[v.Name] = t
		}
	}
	return out
}

// VariablesOf returns the variables of vars that belong to one of layers,
// in the order of vars.
func VariablesOf(vars []*Variable, layers ...string) []*Variable {
	var out []*Variable
	for _, v := range vars {
		if slices.Contains(layers, v.Layer) {
			out = append(out, v)
		}
	}
	return out
}

// Check reports, in one error, every variable of vars without a value,
// every value without a variable, every value of another type or shape
// than its variable's and every float32 value holding a NaN or an infinity
// (a diverged training). Nil when w fits vars exactly.
func (w Weights) Check(vars []*Variable) error {
	var errs []string
	known := map[string]bool{}
	for _, v := range vars {
		known[v.Name] = true
		if msg := checkValue(v, w[v.Name]); msg != "" {
			errs = append(errs, fmt.Sprintf("variable %q%s", v.Name, msg))
		}
	}
	for _, name := range w.Names() {
		if !known[name] {
			errs = append(errs, fmt.Sprintf("value %q matches no variable of the network", name))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// checkValue returns what is wrong with t as the value of v, to follow the
// variable's quoted name, or "".
func checkValue(v *Variable, t *tf.Tensor) string {
	want := v.Read.DataType()
	if v.Read.Op == nil {
		want = tf.Float
	}
	switch {
	case t == nil:
		return " has no value"
	case t.DataType() != want:
		return fmt.Sprintf(": value of type %s, want %s", typeName(t.DataType()), typeName(want))
	case !slices.Equal(t.Shape(), v.Shape):
		return fmt.Sprintf(": value of shape %v, want %v", t.Shape(), v.Shape)
	case !Finite(t):
		return " holds NaN or infinite values"
	}
	return ""
}

// typeName names the element types variables have.
func typeName(d tf.DataType) string {
	switch d {
	case tf.Float:
		return "float32"
	case tf.Double:
		return "float64"
	case tf.Int32:
		return "int32"
	case tf.Int64:
		return "int64"
	}
	return fmt.Sprintf("type %d", d)
}

// Finite reports whether t holds only finite values; tensors of other
// types than float32 always do.
func Finite(t *tf.Tensor) bool {
	if t.DataType() != tf.Float {
		return true
	}
	var b bytes.Buffer
	if _, err := t.WriteContentsTo(&b); err != nil {
		return false
	}
	for v := b.Bytes(); len(v) >= 4; v = v[4:] {
		f := float64(math.Float32frombits(binary.NativeEndian.Uint32(v)))
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}
