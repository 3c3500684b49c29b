package config

import (
	"fmt"
	"math"
	"math/bits"
)

// This file is the one table of layer types: adding a layer type means
// adding its constant, its settings to Layer and its entry to kinds here,
// and its op builder in package graph.

// LayerType names a kind of layer as YAML writes it (type: conv2d).
type LayerType string

// The layer types.
const (
	Conv2D                 LayerType = "conv2d"
	MaxPooling2D           LayerType = "maxpool2d"
	AveragePooling2D       LayerType = "avgpool2d"
	GlobalAveragePooling2D LayerType = "global_avgpool2d"
	Flatten                LayerType = "flatten"
	Dropout                LayerType = "dropout"
	Dense                  LayerType = "dense"
	Activation             LayerType = "activation"
	BatchNormalization     LayerType = "batchnorm"
	ZeroPadding2D          LayerType = "zero_padding2d"
	Rescaling              LayerType = "rescaling"
	Normalization          LayerType = "normalization"
	RandomFlip             LayerType = "random_flip"
	RandomTranslation      LayerType = "random_translation"
	RandomBrightness       LayerType = "random_brightness"
	RandomContrast         LayerType = "random_contrast"
)

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
//	zero_padding2d:   pad [1 1]: pad[0] rows of zeros above and below, pad[1]
//	                  columns left and right; [H W C] -> [H+2*pad[0] W+2*pad[1] C]
//	rescaling:        scale (required), offset 0: x*scale + offset, always
//	normalization:    mean, variance (one value, or one per channel), or
//	                  adapt: true to compute them per channel from the
//	                  stage's training images; (x-mean)/max(sqrt(variance), 1e-7)
//	random_flip:      mode horizontal_and_vertical (both axes at once, as
//	                  Keras 3), horizontal or vertical
//	random_translation: height_factor, width_factor (required): f or
//	                  [lower, upper], fractions of the height and width in
//	                  [-1, 1] (f means [-f, f]); fill_mode reflect (or
//	                  constant, nearest, wrap); fill_value 0 (constant)
//	random_brightness: factor (required): f or [lower, upper] in [-1, 1],
//	                  times the width of value_range [0 255], added per image
//	random_contrast:  factor (required): f or [lower, upper] in [0, 1],
//	                  contrast multiplied by a value in [1-lower, 1+upper]
//
// The random layers (random_*) change their input only in training, each
// image drawn anew every step from the seed; at inference they pass it
// through unchanged. They take [H W C] images; random_brightness and
// random_contrast clip to value_range (default [0, 255]: put them before a
// rescaling, or set value_range to the range their input has).
//
// Name defaults as Keras names layers (conv2d, conv2d_1, max_pooling2d, ...).
// Trainable false freezes the layer. Reused and Frozen are not read from
// YAML: Network.Reuse sets them on the layers a transfer network takes from
// its source.
type Layer struct {
	Type              LayerType      `mapstructure:"type" yaml:"type"`
	Name              string         `mapstructure:"name" yaml:"name,omitempty"`
	Filters           int            `mapstructure:"filters" yaml:"filters,omitempty"`
	Kernel            Size           `mapstructure:"kernel" yaml:"kernel,flow,omitempty"`
	Pool              Size           `mapstructure:"pool" yaml:"pool,flow,omitempty"`
	Strides           Size           `mapstructure:"strides" yaml:"strides,flow,omitempty"`
	Padding           Padding        `mapstructure:"padding" yaml:"padding,omitempty"`
	Units             int            `mapstructure:"units" yaml:"units,omitempty"`
	Activation        ActivationFunc `mapstructure:"activation" yaml:"activation,omitempty"`
	UseBias           *bool          `mapstructure:"use_bias" yaml:"use_bias,omitempty"`
	KernelInitializer Initializer    `mapstructure:"kernel_initializer" yaml:"kernel_initializer,omitempty"`
	BiasInitializer   Initializer    `mapstructure:"bias_initializer" yaml:"bias_initializer,omitempty"`
	Rate              float64        `mapstructure:"rate" yaml:"rate,omitempty"`
	Momentum          float64        `mapstructure:"momentum" yaml:"momentum,omitempty"`
	Epsilon           float64        `mapstructure:"epsilon" yaml:"epsilon,omitempty"`
	Pad               Size           `mapstructure:"pad" yaml:"pad,flow,omitempty"`
	Scale             float64        `mapstructure:"scale" yaml:"scale,omitempty"`
	Offset            float64        `mapstructure:"offset" yaml:"offset,omitempty"`
	Mean              Values         `mapstructure:"mean" yaml:"mean,flow,omitempty"`
	Variance          Values         `mapstructure:"variance" yaml:"variance,flow,omitempty"`
	Adapt             bool           `mapstructure:"adapt" yaml:"adapt,omitempty"`
	Mode              FlipMode       `mapstructure:"mode" yaml:"mode,omitempty"`
	HeightFactor      Range          `mapstructure:"height_factor" yaml:"height_factor,flow,omitempty"`
	WidthFactor       Range          `mapstructure:"width_factor" yaml:"width_factor,flow,omitempty"`
	FillMode          FillMode       `mapstructure:"fill_mode" yaml:"fill_mode,omitempty"`
	FillValue         float64        `mapstructure:"fill_value" yaml:"fill_value,omitempty"`
	Factor            Range          `mapstructure:"factor" yaml:"factor,flow,omitempty"`
	ValueRange        []float64      `mapstructure:"value_range" yaml:"value_range,flow,omitempty"`
	Trainable         *bool          `mapstructure:"trainable" yaml:"trainable,omitempty"`

	Reused bool `mapstructure:"-" yaml:"-"` // taken from the source of a transfer network
	Frozen bool `mapstructure:"-" yaml:"-"` // variables not trainable (reused and frozen, or trainable: false)
}

// kind describes one layer type. Every function but defaults gets the layer
// with its defaults filled in; a nil function means the type has nothing to
// do there.
type kind struct {
	keras    string                                 // Keras class name, as the summary shows it
	prefix   string                                 // Keras default name prefix
	fields   []string                               // settings besides type, name, trainable
	defaults func(Layer) Layer                      // fills the unset settings
	check    func(Layer) error                      // checks the settings on their own
	shape    func(l Layer, in []int) ([]int, error) // output shape; nil: the input's
	weights  func(l Layer, in []int) []Weight       // variables holding parameters
	flops    func(l Layer, in, out []int) float64   // forward pass per example; nil: one per input value
	random   bool                                   // draws random numbers in training, so not cacheable
	// front marks a layer whose ops have no gradient in TensorFlow's graph
	// API: it must come before every layer with weights.
	front bool
	// fixed marks weights that no gradient trains (normalization's statistics).
	fixed bool
}

// Settings that several layer types share, by their YAML names.
const (
	activationField = "activation" // also the name of the activation layer type
	kernelField     = "kernel"     // also the name of the kernel weight
	stridesField    = "strides"
	paddingField    = "padding"
	poolField       = "pool"
)

var (
	convFields  = []string{"filters", kernelField, stridesField, paddingField, activationField, "use_bias", "kernel_initializer", "bias_initializer"}
	poolFields  = []string{poolField, stridesField, paddingField}
	denseFields = []string{"units", activationField, "use_bias", "kernel_initializer", "bias_initializer"}
)

// kinds is the table of layer types.
var kinds = map[LayerType]kind{
	Conv2D: {keras: "Conv2D", prefix: "conv2d", fields: convFields,
		defaults: func(l Layer) Layer {
			defSize(&l.Strides, Size{1, 1})
			def(&l.Padding, Valid)
			return denseDefaults(l)
		},
		check: func(l Layer) error {
			if l.Filters <= 0 {
				return fmt.Errorf("filters: want a positive number of filters, got %d", l.Filters)
			}
			return firstErr(checkSize(kernelField, l.Kernel, true), checkSize(stridesField, l.Strides, false))
		},
		shape: func(l Layer, in []int) ([]int, error) { return windowShape(l, kernelField, l.Kernel, l.Filters, in) },
		weights: func(l Layer, in []int) []Weight {
			return l.withBias(Weight{Name: kernelField, Shape: []int{l.Kernel[0], l.Kernel[1], last(in), l.Filters}, Init: l.KernelInitializer, Trainable: true})
		},
		flops: func(l Layer, in, out []int) float64 {
			return volume(out) * (2*float64(l.Kernel[0]*l.Kernel[1]*last(in)) + 1)
		},
	},
	MaxPooling2D:     poolKind("MaxPooling2D", "max_pooling2d"),
	AveragePooling2D: poolKind("AveragePooling2D", "average_pooling2d"),
	GlobalAveragePooling2D: {keras: "GlobalAveragePooling2D", prefix: "global_average_pooling2d",
		shape: func(l Layer, in []int) ([]int, error) {
			if len(in) != 3 {
				return nil, fmt.Errorf("input: global_avgpool2d wants an [height, width, channels] input, got %v", in)
			}
			return []int{in[2]}, nil
		},
	},
	Flatten: {keras: "Flatten", prefix: "flatten",
		shape: func(l Layer, in []int) ([]int, error) {
			p := 1
			for _, d := range in {
				hi, lo := bits.Mul64(uint64(p), uint64(d))
				if hi != 0 || lo > math.MaxInt {
					return nil, fmt.Errorf("input: %v has more values than an int holds", in)
				}
				p = int(lo)
			}
			return []int{p}, nil
		},
		flops: func(Layer, []int, []int) float64 { return 0 },
	},
	Dropout: {keras: "Dropout", prefix: "dropout", fields: []string{"rate"}, random: true,
		check: func(l Layer) error { return checkFloat("rate", "fraction", l.Rate, unitOpen) },
	},
	Dense: {keras: "Dense", prefix: "dense", fields: denseFields,
		defaults: denseDefaults,
		check: func(l Layer) error {
			if l.Units <= 0 {
				return fmt.Errorf("units: want a positive number of units, got %d", l.Units)
			}
			return nil
		},
		shape: func(l Layer, in []int) ([]int, error) {
			if len(in) != 1 {
				return nil, fmt.Errorf("input: dense wants a flat input, got %v; add a flatten layer before it", in)
			}
			return []int{l.Units}, nil
		},
		weights: func(l Layer, in []int) []Weight {
			return l.withBias(Weight{Name: kernelField, Shape: []int{last(in), l.Units}, Init: l.KernelInitializer, Trainable: true})
		},
		flops: func(l Layer, in, out []int) float64 { return volume(out) * (2*volume(in) + 1) },
	},
	Activation: {keras: "Activation", prefix: "activation", fields: []string{activationField},
		check: func(l Layer) error {
			if l.Activation == "" {
				return fmt.Errorf("activation: required, one of %s", list(activations))
			}
			return nil
		},
	},
	BatchNormalization: {keras: "BatchNormalization", prefix: "batch_normalization", fields: []string{"momentum", "epsilon"},
		defaults: func(l Layer) Layer {
			def(&l.Momentum, 0.99)
			def(&l.Epsilon, 0.001)
			return l
		},
		check: func(l Layer) error {
			return firstErr(checkFloat("momentum", "value", l.Momentum, unitOpen), checkFloat("epsilon", "value", l.Epsilon, positive))
		},
		shape: func(l Layer, in []int) ([]int, error) {
			if len(in) != 1 && len(in) != 3 {
				return nil, fmt.Errorf("input: batchnorm wants a flat or [height, width, channels] input, got %v", in)
			}
			return append([]int(nil), in...), nil
		},
		weights: func(l Layer, in []int) []Weight {
			c := []int{last(in)}
			return []Weight{{Name: "gamma", Shape: c, Init: Ones, Trainable: true}, {Name: "beta", Shape: c, Init: Zeros, Trainable: true},
				{Name: "moving_mean", Shape: c, Init: Zeros}, {Name: "moving_variance", Shape: c, Init: Ones}}
		},
	},
	ZeroPadding2D: {keras: "ZeroPadding2D", prefix: "zero_padding2d", fields: []string{"pad"},
		defaults: func(l Layer) Layer { defSize(&l.Pad, Size{1, 1}); return l },
		check: func(l Layer) error {
			if len(l.Pad) != 2 {
				return fmt.Errorf("pad: want an integer n or [rows, columns], got %v", []int(l.Pad))
			}
			if min(l.Pad[0], l.Pad[1]) < 0 || max(l.Pad[0], l.Pad[1]) > math.MaxInt32 {
				return fmt.Errorf("pad: want sizes from 0 to %d, got %v", math.MaxInt32, []int(l.Pad))
			}
			return nil
		},
		shape: func(l Layer, in []int) ([]int, error) {
			if err := imageInput(l, in); err != nil {
				return nil, err
			}
			if l.Pad[0] > (math.MaxInt-in[0])/2 || l.Pad[1] > (math.MaxInt-in[1])/2 {
				return nil, fmt.Errorf("pad: %v on input %v makes more rows or columns than an int holds", []int(l.Pad), in)
			}
			return []int{in[0] + 2*l.Pad[0], in[1] + 2*l.Pad[1], in[2]}, nil
		},
	},
	Rescaling:     rescalingKind,
	Normalization: normalizationKind,
	RandomFlip: {keras: "RandomFlip", prefix: "random_flip", fields: []string{"mode"}, random: true,
		defaults: func(l Layer) Layer { def(&l.Mode, HorizontalAndVertical); return l },
		check:    func(l Layer) error { return oneOf("mode", l.Mode, flipModes) },
		shape:    sameImage,
	},
	RandomTranslation: {keras: "RandomTranslation", prefix: "random_translation", random: true, front: true,
		fields:   []string{"height_factor", "width_factor", "fill_mode", "fill_value"},
		defaults: func(l Layer) Layer { def(&l.FillMode, Reflect); return l },
		check: func(l Layer) error {
			return firstErr(l.HeightFactor.check("height_factor", -1, true), l.WidthFactor.check("width_factor", -1, true),
				oneOf("fill_mode", l.FillMode, fillModes), checkFloat("fill_value", "value", l.FillValue, finite))
		},
		shape: sameImage,
	},
	RandomBrightness: {keras: "RandomBrightness", prefix: "random_brightness", random: true,
		fields:   []string{"factor", "value_range"},
		defaults: valueRangeDefault,
		check: func(l Layer) error {
			return firstErr(l.Factor.check("factor", -1, true), checkValueRange(l.ValueRange))
		},
		shape: sameImage,
	},
	RandomContrast: {keras: "RandomContrast", prefix: "random_contrast", random: true,
		fields:   []string{"factor", "value_range"},
		defaults: valueRangeDefault,
		check: func(l Layer) error {
			return firstErr(l.Factor.check("factor", 0, false), checkValueRange(l.ValueRange))
		},
		shape: sameImage,
	},
}

// Weight is one variable of a layer that holds parameters: its name within
// the layer (kernel, bias, gamma, ...), shape, initial value, and whether
// gradients train it (a batchnorm's moving statistics are updated otherwise).
// Value, when set, is the initial value instead of Init's (a
// normalization's mean and variance from its settings).
type Weight struct {
	Name      string
	Shape     []int
	Init      Initializer
	Trainable bool
	Value     []float64
}

// poolKind is maxpool2d or avgpool2d.
func poolKind(keras, prefix string) kind {
	return kind{keras: keras, prefix: prefix, fields: poolFields,
		defaults: func(l Layer) Layer {
			defSize(&l.Pool, Size{2, 2})
			defSize(&l.Strides, l.Pool)
			def(&l.Padding, Valid)
			return l
		},
		check: func(l Layer) error {
			return firstErr(checkSize(poolField, l.Pool, false), checkSize(stridesField, l.Strides, false))
		},
		shape: func(l Layer, in []int) ([]int, error) { return windowShape(l, poolField, l.Pool, 0, in) },
	}
}

// denseDefaults fills the settings dense shares with conv2d.
func denseDefaults(l Layer) Layer {
	def(&l.Activation, Linear)
	if l.UseBias == nil {
		b := true
		l.UseBias = &b
	}
	def(&l.KernelInitializer, GlorotUniform)
	def(&l.BiasInitializer, Zeros)
	return l
}

// withBias returns the kernel and, when l has one, its bias.
func (l Layer) withBias(kernel Weight) []Weight {
	if !l.HasBias() {
		return []Weight{kernel}
	}
	return []Weight{kernel, {Name: "bias", Shape: []int{last(kernel.Shape)}, Init: l.BiasInitializer, Trainable: true}}
}

// windowShape is the output shape of a conv2d or pooling layer sliding a
// window win (setting field) over in; filters 0 keeps the channels.
func windowShape(l Layer, field string, win Size, filters int, in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("input: %s wants an [height, width, channels] input, got %v", l.Type, in)
	}
	h, w := window(in[0], win[0], l.Strides[0], l.Padding), window(in[1], win[1], l.Strides[1], l.Padding)
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("%s: %v with strides %v and %s padding shrinks input %v to %dx%d; want a smaller %s or padding: same",
			field, []int(win), []int(l.Strides), l.Padding, in, h, w, field)
	}
	if filters == 0 {
		filters = in[2]
	}
	return []int{h, w, filters}, nil
}

// window is the output length of a sliding window of size k and stride s
// over n positions, as TensorFlow computes it.
func window(n, k, s int, padding Padding) int {
	if padding == Same {
		return (n-1)/s + 1 // ceil(n/s) for n > 0, without overflow
	}
	if n < k {
		return 0
	}
	return (n-k)/s + 1
}

// sameImage is the shape of a layer that keeps its [H W C] input's.
func sameImage(l Layer, in []int) ([]int, error) {
	if err := imageInput(l, in); err != nil {
		return nil, err
	}
	return append([]int(nil), in...), nil
}

// imageInput checks that a layer that works on images gets one.
func imageInput(l Layer, in []int) error {
	if len(in) != 3 {
		return fmt.Errorf("input: %s wants an [height, width, channels] input, got %v", l.Type, in)
	}
	return nil
}

func last(shape []int) int { return shape[len(shape)-1] }

// def sets *v to d when it holds the zero value.
func def[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// defSize sets *v to d when it is not set.
func defSize(v *Size, d Size) {
	if *v == nil {
		*v = d
	}
}
