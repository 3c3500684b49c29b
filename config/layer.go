package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Size is a 2-D window (kernel, pool or strides) as [height, width]. In
// YAML it is written as one integer n (meaning [n, n]) or as [h, w].
type Size []int

// Layer is one layer of a network. Type selects what it is; each type
// accepts only its own fields (see Types). Zero values mean "default":
//
//	conv2d:           filters, kernel (required); strides [1 1]; padding valid;
//	                  activation linear; use_bias true; kernel_initializer
//	                  glorot_uniform; bias_initializer zeros
//	maxpool2d,
//	avgpool2d:        pool [2 2]; strides = pool; padding valid
//	global_avgpool2d: no settings; [H W C] -> [C]
//	flatten:          no settings; any shape -> [N]
//	dropout:          rate in (0, 1) (required)
//	dense:            units (required); activation, use_bias, initializers as conv2d
//	activation:       activation (required)
//	batchnorm:        momentum 0.99; epsilon 0.001 (over the last axis)
//
// Name defaults as Keras names layers (conv2d, conv2d_1, max_pooling2d, ...).
// Trainable false freezes the layer. Reused and Frozen are not read from
// YAML: Network.Reuse sets them on the layers a transfer network takes from
// its source.
type Layer struct {
	Type              string  `mapstructure:"type" yaml:"type"`
	Name              string  `mapstructure:"name" yaml:"name,omitempty"`
	Filters           int     `mapstructure:"filters" yaml:"filters,omitempty"`
	Kernel            Size    `mapstructure:"kernel" yaml:"kernel,flow,omitempty"`
	Pool              Size    `mapstructure:"pool" yaml:"pool,flow,omitempty"`
	Strides           Size    `mapstructure:"strides" yaml:"strides,flow,omitempty"`
	Padding           string  `mapstructure:"padding" yaml:"padding,omitempty"`
	Units             int     `mapstructure:"units" yaml:"units,omitempty"`
	Activation        string  `mapstructure:"activation" yaml:"activation,omitempty"`
	UseBias           *bool   `mapstructure:"use_bias" yaml:"use_bias,omitempty"`
	KernelInitializer string  `mapstructure:"kernel_initializer" yaml:"kernel_initializer,omitempty"`
	BiasInitializer   string  `mapstructure:"bias_initializer" yaml:"bias_initializer,omitempty"`
	Rate              float64 `mapstructure:"rate" yaml:"rate,omitempty"`
	Momentum          float64 `mapstructure:"momentum" yaml:"momentum,omitempty"`
	Epsilon           float64 `mapstructure:"epsilon" yaml:"epsilon,omitempty"`
	Trainable         *bool   `mapstructure:"trainable" yaml:"trainable,omitempty"`

	Reused bool `mapstructure:"-" yaml:"-"` // taken from the source of a transfer network
	Frozen bool `mapstructure:"-" yaml:"-"` // variables not trainable (reused and frozen, or trainable: false)
}

// kind describes one layer type.
type kind struct {
	prefix string   // Keras default name prefix
	fields []string // settings the type accepts besides type, name, trainable
}

var (
	convFields  = []string{"filters", "kernel", "strides", "padding", "activation", "use_bias", "kernel_initializer", "bias_initializer"}
	poolFields  = []string{"pool", "strides", "padding"}
	denseFields = []string{"units", "activation", "use_bias", "kernel_initializer", "bias_initializer"}
	kinds       = map[string]kind{
		"conv2d":           {"conv2d", convFields},
		"maxpool2d":        {"max_pooling2d", poolFields},
		"avgpool2d":        {"average_pooling2d", poolFields},
		"global_avgpool2d": {"global_average_pooling2d", nil},
		"flatten":          {"flatten", nil},
		"dropout":          {"dropout", []string{"rate"}},
		"dense":            {"dense", denseFields},
		"activation":       {"activation", []string{"activation"}},
		"batchnorm":        {"batch_normalization", []string{"momentum", "epsilon"}},
	}
	commonFields = []string{"type", "name", "trainable"}

	// activations are the names an activation setting accepts.
	activations = []string{"linear", "relu", "sigmoid", "softmax", "tanh"}
	// initializers are the names kernel_initializer and bias_initializer accept.
	initializers = []string{"glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal", "zeros", "ones"}
	// paddings are the names padding accepts.
	paddings = []string{"valid", "same"}
)

// Types returns the layer types, sorted.
func Types() []string {
	var ts []string
	for t := range kinds {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

// allowed reports whether field may be set on a layer of type typ.
func allowed(typ, field string) bool {
	return slices.Contains(commonFields, field) || slices.Contains(kinds[typ].fields, field)
}

// setFields lists the settings that hold a non-zero value.
func (l Layer) setFields() []string {
	var fs []string
	add := func(set bool, name string) {
		if set {
			fs = append(fs, name)
		}
	}
	add(l.Filters != 0, "filters")
	add(l.Kernel != nil, "kernel")
	add(l.Pool != nil, "pool")
	add(l.Strides != nil, "strides")
	add(l.Padding != "", "padding")
	add(l.Units != 0, "units")
	add(l.Activation != "", "activation")
	add(l.UseBias != nil, "use_bias")
	add(l.KernelInitializer != "", "kernel_initializer")
	add(l.BiasInitializer != "", "bias_initializer")
	add(l.Rate != 0, "rate")
	add(l.Momentum != 0, "momentum")
	add(l.Epsilon != 0, "epsilon")
	return fs
}

// HasBias reports whether a conv2d or dense layer adds a bias (default true).
func (l Layer) HasBias() bool { return l.UseBias == nil || *l.UseBias }

// withDefaults returns l with every default setting filled in, except Name.
func (l Layer) withDefaults() Layer {
	switch l.Type {
	case "conv2d", "dense":
		if l.Type == "conv2d" && l.Strides == nil {
			l.Strides = Size{1, 1}
		}
		if l.Type == "conv2d" && l.Padding == "" {
			l.Padding = "valid"
		}
		if l.Activation == "" {
			l.Activation = "linear"
		}
		if l.UseBias == nil {
			b := true
			l.UseBias = &b
		}
		if l.KernelInitializer == "" {
			l.KernelInitializer = "glorot_uniform"
		}
		if l.BiasInitializer == "" {
			l.BiasInitializer = "zeros"
		}
	case "maxpool2d", "avgpool2d":
		if l.Pool == nil {
			l.Pool = Size{2, 2}
		}
		if l.Strides == nil {
			l.Strides = l.Pool
		}
		if l.Padding == "" {
			l.Padding = "valid"
		}
	case "batchnorm":
		if l.Momentum == 0 {
			l.Momentum = 0.99
		}
		if l.Epsilon == 0 {
			l.Epsilon = 0.001
		}
	}
	return l
}

// Validate checks the settings of one layer on its own (not its shape).
// The error names the field and what was expected.
func (l Layer) Validate() error {
	k, ok := kinds[l.Type]
	if !ok {
		return fmt.Errorf("type: unknown layer type %q%s, want one of %s", l.Type, didYouMean(l.Type, Types()), strings.Join(Types(), ", "))
	}
	for _, f := range l.setFields() {
		if !allowed(l.Type, f) {
			return notSetting(f, l.Type, k)
		}
	}
	l = l.withDefaults()
	switch l.Type {
	case "conv2d":
		if l.Filters <= 0 {
			return fmt.Errorf("filters: want a positive number of filters, got %d", l.Filters)
		}
		if err := checkSize("kernel", l.Kernel, true); err != nil {
			return err
		}
		if err := checkSize("strides", l.Strides, false); err != nil {
			return err
		}
	case "maxpool2d", "avgpool2d":
		if err := checkSize("pool", l.Pool, false); err != nil {
			return err
		}
		if err := checkSize("strides", l.Strides, false); err != nil {
			return err
		}
	case "dense":
		if l.Units <= 0 {
			return fmt.Errorf("units: want a positive number of units, got %d", l.Units)
		}
	case "dropout":
		if err := checkFloat("rate", "fraction", l.Rate, unitOpen); err != nil {
			return err
		}
	case "activation":
		if l.Activation == "" {
			return fmt.Errorf("activation: required, one of %s", strings.Join(activations, ", "))
		}
	case "batchnorm":
		if err := checkFloat("momentum", plainValue, l.Momentum, unitOpen); err != nil {
			return err
		}
		if err := checkFloat("epsilon", plainValue, l.Epsilon, positive); err != nil {
			return err
		}
	}
	if err := oneOf("padding", l.Padding, paddings); err != nil {
		return err
	}
	if err := oneOf("activation", l.Activation, activations); err != nil {
		return err
	}
	if err := oneOf("kernel_initializer", l.KernelInitializer, initializers); err != nil {
		return err
	}
	return oneOf("bias_initializer", l.BiasInitializer, initializers)
}

// notSetting reports field f, set on a layer of type typ that does not take it.
func notSetting(f, typ string, k kind) error {
	msg := fmt.Sprintf("%s: not a setting of %s layers (they take %s)", f, typ, settings(k))
	if s := didYouMean(f, slices.Concat(k.fields, commonFields)); s != "" {
		msg += "; " + strings.TrimSuffix(strings.TrimPrefix(s, " ("), ")")
	}
	return errors.New(msg)
}

// didYouMean returns " (did you mean X?)" for the name X closest to s, or "".
func didYouMean(s string, names []string) string {
	if c := closest(s, names, func(n string) string { return n }); c != "" {
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
func oneOf(field, v string, names []string) error {
	if v == "" || slices.Contains(names, v) {
		return nil
	}
	return fmt.Errorf("%s: unknown value %q%s, want one of %s", field, v, didYouMean(v, names), strings.Join(names, ", "))
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
