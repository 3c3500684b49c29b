package config

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tfcifar/tfcifar/internal/suggest"
)

// Size is a 2-D window (kernel, pool or strides) as [height, width]. In
// YAML it is written as one integer n (meaning [n, n]) or as [h, w].
type Size []int

// ActivationFunc names an activation function, as YAML writes it.
type ActivationFunc string

// The activation functions.
const (
	Linear  ActivationFunc = "linear"
	ReLU    ActivationFunc = "relu"
	Sigmoid ActivationFunc = "sigmoid"
	Softmax ActivationFunc = "softmax"
	Tanh    ActivationFunc = "tanh"
)

// Padding names how a sliding window treats the edges: valid (only whole
// windows) or same (zeros around, ceil(n/strides) outputs).
type Padding string

// The paddings.
const (
	Valid Padding = "valid"
	Same  Padding = "same"
)

// Initializer names how a variable's initial value is drawn.
type Initializer string

// The initializers, as Keras defines them.
const (
	GlorotUniform Initializer = "glorot_uniform"
	GlorotNormal  Initializer = "glorot_normal"
	HeUniform     Initializer = "he_uniform"
	HeNormal      Initializer = "he_normal"
	LecunUniform  Initializer = "lecun_uniform"
	LecunNormal   Initializer = "lecun_normal"
	Zeros         Initializer = "zeros"
	Ones          Initializer = "ones"
)

var (
	commonFields = []string{"type", "name", "trainable"}
	activations  = []ActivationFunc{Linear, ReLU, Sigmoid, Softmax, Tanh}
	initializers = []Initializer{GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Zeros, Ones}
	paddings     = []Padding{Valid, Same}
)

// Types returns the layer types, sorted.
func Types() []LayerType {
	ts := slices.Collect(maps.Keys(kinds))
	slices.Sort(ts)
	return ts
}

// Keras returns the Keras class name of a layer type (Conv2D), or "" for
// an unknown type.
func (t LayerType) Keras() string { return kinds[t].keras }

// allowed reports whether field may be set on a layer of type typ.
func allowed(typ LayerType, field string) bool {
	return slices.Contains(commonFields, field) || slices.Contains(kinds[typ].fields, field)
}

// setting is one setting of Layer: its YAML name and field index.
type setting struct {
	name  string
	index int
}

// layerSettings are the settings of Layer besides type, name and trainable, in
// the order Layer declares them.
var layerSettings = func() []setting {
	var fs []setting
	t := reflect.TypeFor[Layer]()
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("mapstructure")
		if tag != "-" && !slices.Contains(commonFields, tag) {
			fs = append(fs, setting{tag, i})
		}
	}
	return fs
}()

// setFields lists the settings (besides type, name and trainable) that
// hold a non-zero value, in the order Layer declares them.
func (l Layer) setFields() []string {
	var fs []string
	v := reflect.ValueOf(&l).Elem()
	for _, f := range layerSettings {
		if !v.Field(f.index).IsZero() {
			fs = append(fs, f.name)
		}
	}
	return fs
}

// HasBias reports whether a conv2d or dense layer adds a bias (default true).
func (l Layer) HasBias() bool { return l.UseBias == nil || *l.UseBias }

// withDefaults returns l with every default setting filled in, except Name.
func (l Layer) withDefaults() Layer {
	if d := kinds[l.Type].defaults; d != nil {
		return d(l)
	}
	return l
}

// Weights returns the variables holding l's parameters on an input of
// shape in, in the order the graph creates them (none for a layer without
// parameters).
func (l Layer) Weights(in []int) []Weight {
	l = l.withDefaults()
	if f := kinds[l.Type].weights; f != nil {
		return f(l, in)
	}
	return nil
}

// HasWeights reports whether l has parameters that gradients train (a
// conv2d, dense or batchnorm layer; not a normalization's statistics).
func (l Layer) HasWeights() bool {
	k := kinds[l.Type]
	return k.weights != nil && !k.fixed
}

// FLOPs returns the floating-point operations of l's forward pass for one
// example with input shape in and output shape out, counting a
// multiply-add as two: convolutions and dense layers (with their bias)
// by their products, flatten none, the other layers one operation per
// value they read.
func (l Layer) FLOPs(in, out []int) float64 {
	l = l.withDefaults()
	if f := kinds[l.Type].flops; f != nil {
		return f(l, in, out)
	}
	return volume(in)
}

// Validate checks the settings of one layer on its own (not its shape).
// The error names the field and what was expected.
func (l Layer) Validate() error {
	k, ok := kinds[l.Type]
	if !ok {
		names := strs(Types())
		return fmt.Errorf("type: unknown layer type %q%s, want one of %s", l.Type, didYouMean(string(l.Type), names), strings.Join(names, ", "))
	}
	for _, f := range l.setFields() {
		if !allowed(l.Type, f) {
			return notSetting(f, l.Type, k)
		}
	}
	l = l.withDefaults()
	if k.check != nil {
		if err := k.check(l); err != nil {
			return err
		}
	}
	return firstErr(
		oneOf(paddingField, l.Padding, paddings),
		oneOf(activationField, l.Activation, activations),
		oneOf("kernel_initializer", l.KernelInitializer, initializers),
		oneOf("bias_initializer", l.BiasInitializer, initializers))
}

// notSetting reports field f, set on a layer of type typ that does not take it.
func notSetting(f string, typ LayerType, k kind) error {
	msg := fmt.Sprintf("%s: not a setting of %s layers (they take %s)", f, typ, settings(k))
	if s := didYouMean(f, slices.Concat(k.fields, commonFields)); s != "" {
		msg += "; " + strings.TrimSuffix(strings.TrimPrefix(s, " ("), ")")
	}
	return errors.New(msg)
}

// didYouMean returns " (did you mean X?)" for the name X closest to s, or "".
func didYouMean(s string, names []string) string {
	if c := suggest.Closest(s, names, nil); c != "" {
		return fmt.Sprintf(" (did you mean %s?)", c)
	}
	return ""
}

func settings(k kind) string {
	if len(k.fields) == 0 {
		return "no settings"
	}
	return strings.Join(k.fields, ", ")
}

// oneOf checks that a set value is one of the names.
func oneOf[T ~string](field string, v T, names []T) error {
	if v == "" || slices.Contains(names, v) {
		return nil
	}
	return fmt.Errorf("%s: unknown value %q%s, want one of %s", field, v, didYouMean(string(v), strs(names)), list(names))
}

// strs converts a list of names to strings.
func strs[T ~string](names []T) []string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = string(n)
	}
	return s
}

// list lists names separated by commas.
func list[T ~string](names []T) string { return strings.Join(strs(names), ", ") }

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func checkSize(field string, s Size, required bool) error {
	if s == nil {
		if required {
			return fmt.Errorf("%s: required, an integer n or [height, width]", field)
		}
		return nil
	}
	if len(s) != 2 {
		return fmt.Errorf("%s: want an integer n or [height, width], got %v", field, []int(s))
	}
	if s[0] <= 0 || s[1] <= 0 {
		return fmt.Errorf("%s: want positive sizes, got %v", field, []int(s))
	}
	return nil
}

// MarshalYAML writes a layer as one flow mapping, {type: dense, units: 5}.
func (l Layer) MarshalYAML() (any, error) {
	type plain Layer
	var n yaml.Node
	if err := n.Encode(plain(l)); err != nil {
		return nil, err
	}
	n.Style = yaml.FlowStyle
	return &n, nil
}
