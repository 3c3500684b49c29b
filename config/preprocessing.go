package config

import (
	"fmt"
	"math"
	"slices"
)

// The settings and entries of the preprocessing and augmentation layer
// types (rescaling, normalization, random_*), as Keras defines them.

// FlipMode names the axes random_flip flips.
type FlipMode string

// The flip modes.
const (
	Horizontal            FlipMode = "horizontal"
	Vertical              FlipMode = "vertical"
	HorizontalAndVertical FlipMode = "horizontal_and_vertical"
)

// Flips reports which axes m flips: left-right, and top-bottom.
func (m FlipMode) Flips() (horizontal, vertical bool) {
	return m == Horizontal || m == HorizontalAndVertical, m == Vertical || m == HorizontalAndVertical
}

// FillMode names how random_translation fills the pixels it shifts in.
type FillMode string

// The fill modes, as TensorFlow's image transforms define them.
const (
	Reflect  FillMode = "reflect"  // mirror the edge: d c b a | a b c d | d c b a
	Constant FillMode = "constant" // fill_value
	Nearest  FillMode = "nearest"  // repeat the edge pixel
	Wrap     FillMode = "wrap"     // tile the image
)

var (
	flipModes = []FlipMode{Horizontal, Vertical, HorizontalAndVertical}
	fillModes = []FillMode{Reflect, Constant, Nearest, Wrap}
	finite    = span{"a finite %s", func(float32) bool { return true }}
)

// NormalizationEpsilon is the smallest standard deviation normalization
// divides by, Keras' epsilon.
const NormalizationEpsilon = 1e-7

// Values are per-channel values (a normalization's mean): in YAML one
// number (for every channel) or a list.
type Values []float64

// Range is a factor of a random layer: in YAML one number f or [lower,
// upper].
type Range []float64

// Bounds returns the range as [lower, upper]. One number f means [-f, f]
// for mirror (random_translation, random_brightness) and [f, f] otherwise
// (random_contrast), as Keras reads it.
func (r Range) Bounds(mirror bool) (lower, upper float64) {
	if len(r) == 1 {
		if mirror {
			return -r[0], r[0]
		}
		return r[0], r[0]
	}
	return r[0], r[1]
}

// check checks a required factor: values in [low, 1], lower <= upper, and
// for mirror one number f not negative.
func (r Range) check(field string, low float64, mirror bool) error {
	want := fmt.Sprintf("a number or [lower, upper] in [%g, 1]", low)
	switch {
	case r == nil:
		return fmt.Errorf("%s: required, %s", field, want)
	case len(r) > 2:
		return fmt.Errorf("%s: want %s, got %v", field, want, []float64(r))
	}
	for _, v := range r {
		if math.IsNaN(v) || v < low || v > 1 {
			return fmt.Errorf("%s: want %s, got %v", field, want, []float64(r))
		}
	}
	if len(r) == 1 && mirror && r[0] < 0 {
		return fmt.Errorf("%s: want one number in [0, 1] (meaning [-f, f]) or [lower, upper], got %v", field, r[0])
	}
	if len(r) == 2 && r[0] > r[1] {
		return fmt.Errorf("%s: want lower <= upper, got %v", field, []float64(r))
	}
	return nil
}

// valueRangeDefault fills random_brightness' and random_contrast's value_range.
func valueRangeDefault(l Layer) Layer {
	if l.ValueRange == nil {
		l.ValueRange = []float64{0, 255}
	}
	return l
}

func checkValueRange(r []float64) error {
	if len(r) != 2 || !isFinite32(r[0]) || !isFinite32(r[1]) || r[0] >= r[1] {
		return fmt.Errorf("value_range: want [low, high] with low < high, finite, got %v", r)
	}
	return nil
}

func isFinite32(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(float64(float32(v)), 0)
}

var rescalingKind = kind{keras: "Rescaling", prefix: "rescaling", fields: []string{"scale", "offset"},
	check: func(l Layer) error {
		if l.Scale == 0 {
			return fmt.Errorf("scale: required, a finite non-zero factor (e.g. 0.00392156862745098 for 1/255)")
		}
		return firstErr(checkFloat("scale", "factor", l.Scale, finite), checkFloat("offset", "value", l.Offset, finite))
	},
	flops: func(_ Layer, in, _ []int) float64 { return 2 * volume(in) },
}

// The settings of normalization, also the names of its weights.
const (
	meanField     = "mean"
	varianceField = "variance"
)

var normalizationKind = kind{keras: "Normalization", prefix: "normalization", fields: []string{meanField, varianceField, "adapt"}, fixed: true,
	check: func(l Layer) error {
		switch {
		case l.Adapt && (l.Mean != nil || l.Variance != nil):
			return fmt.Errorf("adapt: computes mean and variance from the training images; set either adapt or mean and variance")
		case l.Adapt:
			return nil
		case l.Mean == nil || l.Variance == nil:
			return fmt.Errorf("mean, variance: required (one value, or one per channel), or adapt: true")
		}
		for i, m := range l.Mean {
			if err := checkFloat(fmt.Sprintf("mean[%d]", i), "value", m, finite); err != nil {
				return err
			}
		}
		for i, v := range l.Variance {
			if err := checkFloat(fmt.Sprintf("variance[%d]", i), "value", v, nonNeg); err != nil {
				return err
			}
		}
		return nil
	},
	shape: func(l Layer, in []int) ([]int, error) {
		for _, f := range []struct {
			name string
			v    []float64
		}{{meanField, l.Mean}, {varianceField, l.Variance}} {
			if n := len(f.v); n > 1 && n != last(in) {
				return nil, fmt.Errorf("%s: %d values for %d channels (input %v); want one value or one per channel", f.name, n, last(in), in)
			}
		}
		return append([]int(nil), in...), nil
	},
	weights: func(l Layer, in []int) []Weight {
		c := last(in)
		return []Weight{{Name: meanField, Shape: []int{c}, Init: Zeros, Value: perChannel(l.Mean, c)},
			{Name: varianceField, Shape: []int{c}, Init: Ones, Value: perChannel(l.Variance, c)}}
	},
	flops: func(_ Layer, in, _ []int) float64 { return 2 * volume(in) },
}

// perChannel returns v with one value per channel (one value is repeated),
// or nil for nil.
func perChannel(v []float64, c int) []float64 {
	if len(v) == 1 {
		return slices.Repeat(v, c)
	}
	return slices.Clone(v)
}

// NeedsAdapt reports whether l is a normalization layer whose statistics
// are still to be computed from the training images.
func (l Layer) NeedsAdapt() bool { return l.Type == Normalization && l.Adapt }

// checkFront checks that no layer without a gradient (random_translation)
// comes after a layer with weights, which gradients would have to cross.
func (n Network) checkFront(first int) error {
	weighted := -1
	for i, l := range n.Layers {
		if kinds[l.Type].front && weighted >= 0 {
			return layerErr(first+i, l, fmt.Errorf("type: %s must come before every layer with weights (it has no gradient), but follows layers[%d] (%s); put preprocessing at the network's front",
				l.Type, first+weighted, n.Layers[weighted].Name))
		}
		if l.HasWeights() && weighted < 0 {
			weighted = i
		}
	}
	return nil
}

// Random reports whether layers of type t draw random numbers in training
// (dropout and the random_* augmentations).
func (t LayerType) Random() bool { return kinds[t].random }
