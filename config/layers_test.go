package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLayerTable(t *testing.T) {
	// Per type on input [6 6 4] (flat [4] for dense): Keras class, output
	// shape, weights (name and shape), forward FLOPs per example, and
	// whether gradients train it or its output is random.
	tests := []struct {
		layer   Layer
		in      []int
		keras   string
		out     []int
		weights map[string][]int
		flops   float64
		trained bool
		random  bool
	}{
		{Layer{Type: Conv2D, Filters: 2, Kernel: Size{3, 3}}, []int{6, 6, 4}, "Conv2D", []int{4, 4, 2},
			map[string][]int{"kernel": {3, 3, 4, 2}, "bias": {2}}, 32 * (2*36 + 1), true, false},
		{Layer{Type: Conv2D, Filters: 2, Kernel: Size{3, 3}, UseBias: new(bool)}, []int{6, 6, 4}, "Conv2D", []int{4, 4, 2},
			map[string][]int{"kernel": {3, 3, 4, 2}}, 32 * (2*36 + 1), true, false},
		{Layer{Type: MaxPooling2D}, []int{6, 6, 4}, "MaxPooling2D", []int{3, 3, 4}, nil, 144, false, false},
		{Layer{Type: AveragePooling2D, Pool: Size{3, 3}}, []int{6, 6, 4}, "AveragePooling2D", []int{2, 2, 4}, nil, 144, false, false},
		{Layer{Type: GlobalAveragePooling2D}, []int{6, 6, 4}, "GlobalAveragePooling2D", []int{4}, nil, 144, false, false},
		{Layer{Type: Flatten}, []int{6, 6, 4}, "Flatten", []int{144}, nil, 0, false, false},
		{Layer{Type: Dropout, Rate: 0.5}, []int{6, 6, 4}, "Dropout", []int{6, 6, 4}, nil, 144, false, true},
		{Layer{Type: Dense, Units: 3}, []int{4}, "Dense", []int{3},
			map[string][]int{"kernel": {4, 3}, "bias": {3}}, 3 * (2*4 + 1), true, false},
		{Layer{Type: Activation, Activation: ReLU}, []int{6, 6, 4}, "Activation", []int{6, 6, 4}, nil, 144, false, false},
		{Layer{Type: BatchNormalization}, []int{6, 6, 4}, "BatchNormalization", []int{6, 6, 4},
			map[string][]int{"gamma": {4}, "beta": {4}, "moving_mean": {4}, "moving_variance": {4}}, 144, true, false},
		{Layer{Type: ZeroPadding2D}, []int{6, 6, 4}, "ZeroPadding2D", []int{8, 8, 4}, nil, 144, false, false},
		{Layer{Type: ZeroPadding2D, Pad: Size{2, 0}}, []int{6, 6, 4}, "ZeroPadding2D", []int{10, 6, 4}, nil, 144, false, false},
		{Layer{Type: Rescaling, Scale: 0.5, Offset: -1}, []int{6, 6, 4}, "Rescaling", []int{6, 6, 4}, nil, 288, false, false},
		{Layer{Type: Normalization, Mean: []float64{1}, Variance: []float64{1, 2, 3, 4}}, []int{6, 6, 4}, "Normalization", []int{6, 6, 4},
			map[string][]int{"mean": {4}, "variance": {4}}, 288, false, false},
		{Layer{Type: RandomFlip}, []int{6, 6, 4}, "RandomFlip", []int{6, 6, 4}, nil, 144, false, true},
		{Layer{Type: RandomTranslation, HeightFactor: Range{0.1}, WidthFactor: Range{-0.2, 0.3}}, []int{6, 6, 4}, "RandomTranslation", []int{6, 6, 4}, nil, 144, false, true},
		{Layer{Type: RandomBrightness, Factor: Range{0.2}}, []int{6, 6, 4}, "RandomBrightness", []int{6, 6, 4}, nil, 144, false, true},
		{Layer{Type: RandomContrast, Factor: Range{0.2}}, []int{6, 6, 4}, "RandomContrast", []int{6, 6, 4}, nil, 144, false, true},
	}
	seen := map[LayerType]bool{}
	for _, tt := range tests {
		seen[tt.layer.Type] = true
		t.Run(string(tt.layer.Type), func(t *testing.T) {
			if err := tt.layer.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := tt.layer.Type.Keras(); got != tt.keras {
				t.Errorf("Keras() = %q, want %q", got, tt.keras)
			}
			out, err := tt.layer.withDefaults().shape(tt.in)
			if err != nil || !reflect.DeepEqual(out, tt.out) {
				t.Errorf("shape = %v, %v; want %v", out, err, tt.out)
			}
			ws := map[string][]int{}
			for _, w := range tt.layer.Weights(tt.in) {
				ws[w.Name] = w.Shape
			}
			if len(ws) == 0 {
				ws = nil
			}
			if !reflect.DeepEqual(ws, tt.weights) {
				t.Errorf("Weights = %v, want %v", ws, tt.weights)
			}
			var p float64
			for _, s := range tt.weights {
				p += volume(s)
			}
			if got := tt.layer.withDefaults().params(tt.in); got != p {
				t.Errorf("params = %v, want %v", got, p)
			}
			if got := tt.layer.FLOPs(tt.in, tt.out); got != tt.flops {
				t.Errorf("FLOPs = %v, want %v", got, tt.flops)
			}
			if got := tt.layer.HasWeights(); got != tt.trained {
				t.Errorf("HasWeights = %v, want %v", got, tt.trained)
			}
			if got := kinds[tt.layer.Type].random; got != tt.random {
				t.Errorf("random = %v, want %v", got, tt.random)
			}
		})
	}
	for _, typ := range Types() {
		if !seen[typ] {
			t.Errorf("layer type %s has no case", typ)
		}
	}
}

func TestBatchnormMovingStatisticsNotTrained(t *testing.T) {
	for _, w := range (Layer{Type: BatchNormalization}).Weights([]int{3}) {
		want := w.Name == "gamma" || w.Name == "beta"
		if w.Trainable != want {
			t.Errorf("%s: Trainable = %v, want %v", w.Name, w.Trainable, want)
		}
	}
}

func TestCacheableStopsAtRandomLayer(t *testing.T) {
	frozen := func(typ LayerType) Layer { return Layer{Type: typ, Rate: 0.5, Reused: true, Frozen: true} }
	n := Network{Layers: []Layer{frozen(Flatten), frozen(Dropout), frozen(Flatten), {Type: Dense, Units: 2}}}
	if got := n.Cacheable(); got != 1 {
		t.Errorf("Cacheable = %d, want 1 (stops at dropout)", got)
	}
}

func TestNormalizationWeightsCarryStatistics(t *testing.T) {
	ws := (Layer{Type: Normalization, Mean: []float64{5}, Variance: []float64{1, 2, 3}}).Weights([]int{4, 4, 3})
	want := map[string][]float64{"mean": {5, 5, 5}, "variance": {1, 2, 3}}
	for _, w := range ws {
		if w.Trainable || !reflect.DeepEqual(w.Value, want[w.Name]) {
			t.Errorf("%s: Trainable %v, Value %v; want not trainable, %v", w.Name, w.Trainable, w.Value, want[w.Name])
		}
	}
}

func TestRangeBounds(t *testing.T) {
	tests := []struct {
		r      Range
		mirror bool
		lo, hi float64
	}{
		{Range{0.2}, true, -0.2, 0.2},
		{Range{0.2}, false, 0.2, 0.2},
		{Range{-0.1, 0.3}, true, -0.1, 0.3},
		{Range{0.1, 0.3}, false, 0.1, 0.3},
	}
	for _, tt := range tests {
		if lo, hi := tt.r.Bounds(tt.mirror); lo != tt.lo || hi != tt.hi {
			t.Errorf("%v.Bounds(%v) = %g, %g; want %g, %g", tt.r, tt.mirror, lo, hi, tt.lo, tt.hi)
		}
	}
}

func TestCacheableStopsAtAugmentation(t *testing.T) {
	frozen := func(l Layer) Layer { l.Reused, l.Frozen = true, true; return l }
	n := Network{Layers: []Layer{frozen(Layer{Type: Rescaling, Scale: 2}), frozen(Layer{Type: RandomFlip}), frozen(Layer{Type: Flatten}), {Type: Dense, Units: 2}}}
	if got := n.Cacheable(); got != 1 {
		t.Errorf("Cacheable = %d, want 1 (stops at random_flip)", got)
	}
}

// TestAugmentedYAML checks configs/augmented.yaml: the reference workflow
// with a base network that augments, whose transfer stage then caches no
// frozen layer.
func TestAugmentedYAML(t *testing.T) {
	c, err := Load(filepath.Join("..", "configs", "augmented.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	base := c.Stages[0].Model.Layers
	if base[0].Type != RandomFlip || base[1].Type != RandomTranslation || c.Stages[0].Train.Epochs != 15 {
		t.Errorf("base stage: layers %s, %s and %d epochs; want random_flip, random_translation and 15", base[0].Type, base[1].Type, c.Stages[0].Train.Epochs)
	}
	net, err := c.Resolve(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if k := net.Cacheable(); k != 0 {
		t.Errorf("transfer stage caches %d layers, want 0 (random_flip first)", k)
	}
}

// TestPreprocessingOverrides sets augmentation layers with -set and the
// environment, whose values are YAML: one-number factors read as [f].
func TestPreprocessingOverrides(t *testing.T) {
	t.Setenv("TFCIFAR_STAGES_BASE_MODEL_LAYERS_1", "{type: random_translation, height_factor: 0.1, width_factor: [-0.2, 0.2], fill_mode: nearest}")
	c, err := Load("", []string{"stages.base.model.layers.0={type: random_contrast, factor: 0.3}"})
	if err != nil {
		t.Fatal(err)
	}
	ls := c.Stages[0].Model.Layers
	if ls[0].Type != RandomContrast || !reflect.DeepEqual(ls[0].Factor, Range{0.3}) {
		t.Errorf("-set layer 0 = %+v, want random_contrast with factor [0.3]", ls[0])
	}
	if ls[1].Type != RandomTranslation || !reflect.DeepEqual(ls[1].HeightFactor, Range{0.1}) ||
		!reflect.DeepEqual(ls[1].WidthFactor, Range{-0.2, 0.2}) || ls[1].FillMode != Nearest {
		t.Errorf("env layer 1 = %+v, want random_translation with factors [0.1] and [-0.2 0.2], fill_mode nearest", ls[1])
	}
	_, err = Load("", []string{"stages.base.model.layers.0={type: random_flip, mode: diagonal}"})
	if err == nil || !strings.Contains(err.Error(), `layers[0] (random_flip): mode: unknown value "diagonal"`) {
		t.Errorf("bad mode: err = %v, want one naming the layer and mode", err)
	}
}
