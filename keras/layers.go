package keras

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/tfcifar/tfcifar/config"
)

// modelConfig is config.json of a Keras 3 archive.
type modelConfig struct {
	ClassName string `json:"class_name"`
	Config    struct {
		Name         string          `json:"name"`
		Layers       []layerJSON     `json:"layers"`
		InputLayers  json.RawMessage `json:"input_layers"`
		OutputLayers json.RawMessage `json:"output_layers"`
	} `json:"config"`
	BuildConfig *buildConfig `json:"build_config"`
}

type buildConfig struct {
	InputShape json.RawMessage `json:"input_shape"`
}

// shape returns the input shape of a build config without the batch
// dimension; nil when it has none or several inputs.
func (b *buildConfig) shape() []int {
	var s []*int
	if b == nil || json.Unmarshal(b.InputShape, &s) != nil || s == nil {
		return nil
	}
	return batchless(s)
}

// layerJSON is one layer of a model's config.
type layerJSON struct {
	ClassName    string          `json:"class_name"`
	Config       json.RawMessage `json:"config"`
	InboundNodes []inboundNode   `json:"inbound_nodes"`
	BuildConfig  *buildConfig    `json:"build_config"`
}

type inboundNode struct {
	Args []json.RawMessage `json:"args"`
}

// source returns the name of the layer whose output a node's only
// argument is; ok is false for a node of several arguments or another kind.
func (n inboundNode) source() (string, bool) {
	if len(n.Args) != 1 {
		return "", false
	}
	var t struct {
		ClassName string `json:"class_name"`
		Config    struct {
			KerasHistory []json.RawMessage `json:"keras_history"`
		} `json:"config"`
	}
	var from string
	if json.Unmarshal(n.Args[0], &t) != nil || t.ClassName != "__keras_tensor__" || len(t.Config.KerasHistory) == 0 ||
		json.Unmarshal(t.Config.KerasHistory[0], &from) != nil {
		return "", false
	}
	return from, true
}

// layerConfig holds the settings of the layer classes tfcifar maps.
type layerConfig struct {
	Name         string          `json:"name"`
	Trainable    *bool           `json:"trainable"`
	DType        json.RawMessage `json:"dtype"`
	BatchShape   []*int          `json:"batch_shape"`
	Filters      int             `json:"filters"`
	KernelSize   ints            `json:"kernel_size"`
	Strides      ints            `json:"strides"`
	PoolSize     ints            `json:"pool_size"`
	Padding      string          `json:"padding"`
	DataFormat   *string         `json:"data_format"`
	Dilation     ints            `json:"dilation_rate"`
	Groups       *int            `json:"groups"`
	Activation   json.RawMessage `json:"activation"`
	UseBias      *bool           `json:"use_bias"`
	Units        int             `json:"units"`
	Rate         float64         `json:"rate"`
	NoiseShape   json.RawMessage `json:"noise_shape"`
	Axis         json.RawMessage `json:"axis"`
	Momentum     float64         `json:"momentum"`
	Epsilon      float64         `json:"epsilon"`
	Center       *bool           `json:"center"`
	Scale        json.RawMessage `json:"scale"` // BatchNormalization: a bool; Rescaling: a number
	Offset       json.RawMessage `json:"offset"`
	Mean         json.RawMessage `json:"mean"`
	Variance     json.RawMessage `json:"variance"`
	Invert       bool            `json:"invert"`
	Mode         string          `json:"mode"`
	HeightFactor json.RawMessage `json:"height_factor"`
	WidthFactor  json.RawMessage `json:"width_factor"`
	Factor       json.RawMessage `json:"factor"`
	FillMode     string          `json:"fill_mode"`
	FillValue    float64         `json:"fill_value"`
	Interp       string          `json:"interpolation"`
	ValueRange   []float64       `json:"value_range"`
	KeepDims     bool            `json:"keepdims"`
	MaxValue     *float64        `json:"max_value"`
	Slope        float64         `json:"negative_slope"`
	Threshold    float64         `json:"threshold"`
	KernelInit   json.RawMessage `json:"kernel_initializer"`
	BiasInit     json.RawMessage `json:"bias_initializer"`
	LoraRank     *int            `json:"lora_rank"`
	Quantization json.RawMessage `json:"quantization_config"`
}

// ints is a Keras size: an integer n (meaning [n n]) or a list.
type ints []int

func (s *ints) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*s = ints{n, n}
		return nil
	}
	var l []int
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("want an integer or a list of integers, got %s", b)
	}
	*s = l
	return nil
}

// inputLayer is the Keras class of a model's input.
const inputLayer = "InputLayer"

// sequential is the Keras class of a plain stack of layers.
const sequentialClass = "Sequential"

// Supported lists the Keras layer classes tfcifar maps, for errors and docs.
var Supported = []string{inputLayer, opConv2D, "Dense", "Rescaling", config.Normalization.Keras(),
	config.RandomFlip.Keras(), config.RandomTranslation.Keras(), config.RandomBrightness.Keras(), config.RandomContrast.Keras(), "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
	"Flatten", "Dropout", "BatchNormalization", "Activation", "ReLU"}

// poolTypes maps the Keras pooling classes to tfcifar's layer types.
var poolTypes = map[string]config.LayerType{"MaxPooling2D": config.MaxPooling2D, "AveragePooling2D": config.AveragePooling2D}

// initializers maps Keras initializer classes to tfcifar's; others are
// left out (they only matter for training from scratch).
var initializers = map[string]config.Initializer{
	"GlorotUniform": config.GlorotUniform, "GlorotNormal": config.GlorotNormal,
	"HeUniform": config.HeUniform, "HeNormal": config.HeNormal,
	"LecunUniform": config.LecunUniform, "LecunNormal": config.LecunNormal,
	"Zeros": config.Zeros, "Ones": config.Ones,
}

var activations = []config.ActivationFunc{config.Linear, config.ReLU, config.Sigmoid, config.Softmax, config.Tanh}

// parseNetwork maps config.json of a Keras model to a tfcifar network: the
// input shape from its InputLayer (or build config) and one layer per
// Keras layer. keys are where the weights file keeps each layer's
// variables: Keras saves a model's layers under the snake case of their
// class, numbered from the second of a class on (conv2d, conv2d_1, ...),
// whatever the layers' names. Errors name the layer by index, name and
// class.
func parseNetwork(b []byte) (net config.Network, keys []string, name string, err error) {
	var mc modelConfig
	if err := json.Unmarshal(b, &mc); err != nil {
		return config.Network{}, nil, "", fmt.Errorf("config.json: %w", err)
	}
	switch mc.ClassName {
	case sequentialClass:
	case "Functional", "Model":
		if err := checkChain(mc.Config.Layers, mc.Config.OutputLayers); err != nil {
			return config.Network{}, nil, "", fmt.Errorf("config.json: %s model %q: %w", mc.ClassName, mc.Config.Name, err)
		}
	default:
		return config.Network{}, nil, "", fmt.Errorf("config.json: model class %q is not supported; want Sequential or a Functional chain of layers", mc.ClassName)
	}
	if len(mc.Config.Layers) > config.MaxLayers+1 {
		return config.Network{}, nil, "", fmt.Errorf("config.json: %d layers, over the cap of %d", len(mc.Config.Layers), config.MaxLayers)
	}
	net.Input = mc.BuildConfig.shape()
	count := map[string]int{}
	for i, kl := range mc.Config.Layers {
		var lc layerConfig
		if err := json.Unmarshal(kl.Config, &lc); err != nil {
			return config.Network{}, nil, "", fmt.Errorf("config.json: layers[%d] (%s): %w", i, kl.ClassName, err)
		}
		if kl.ClassName == inputLayer {
			if i != 0 {
				return config.Network{}, nil, "", fmt.Errorf("config.json: layers[%d] %q: an InputLayer must come first", i, lc.Name)
			}
			net.Input = batchless(lc.BatchShape)
			continue
		}
		if net.Input == nil {
			net.Input = kl.BuildConfig.shape()
		}
		l, err := mapLayer(kl.ClassName, lc)
		if err != nil {
			return config.Network{}, nil, "", fmt.Errorf("config.json: layers[%d] %q (%s): %w", i, lc.Name, kl.ClassName, err)
		}
		net.Layers = append(net.Layers, l)
		key := snake(kl.ClassName)
		if n := count[key]; n > 0 {
			keys = append(keys, fmt.Sprintf("%s_%d", key, n))
		} else {
			keys = append(keys, key)
		}
		count[key]++
	}
	if net.Input == nil {
		return config.Network{}, nil, "", fmt.Errorf("config.json: the model has no input shape (no InputLayer or build config); build it on an input before saving")
	}
	return net, keys, mc.Config.Name, nil
}

var (
	nonWord   = regexp.MustCompile(`\W+`)
	wordStart = regexp.MustCompile(`(.)([A-Z][a-z]+)`)
	lowUpper  = regexp.MustCompile(`([a-z])([A-Z])`)
)

// snake is Keras' to_snake_case of a class name (MaxPooling2D:
// max_pooling2d, ReLU: re_lu).
func snake(class string) string {
	s := nonWord.ReplaceAllString(class, "")
	s = wordStart.ReplaceAllString(s, "${1}_${2}")
	return strings.ToLower(lowUpper.ReplaceAllString(s, "${1}_${2}"))
}

// batchless drops the batch dimension of a Keras shape; a shape with
// another unknown dimension gives [0 ...], which validation refuses.
func batchless(s []*int) []int {
	if len(s) < 2 {
		return []int{}
	}
	out := make([]int, len(s)-1)
	for i, d := range s[1:] {
		if d != nil {
			out[i] = *d
		}
	}
	return out
}

// checkChain checks that the layers of a Functional model form one chain:
// each layer after the first takes exactly one tensor, the output of the
// layer before it, and the last layer is the model's one output.
func checkChain(layers []layerJSON, outputs json.RawMessage) error {
	if err := checkChainNodes(layers); err != nil {
		return err
	}
	var out []any
	if err := json.Unmarshal(outputs, &out); err != nil {
		return fmt.Errorf("output_layers: %w", err)
	}
	if len(out) == 1 { // [[name, 0, 0]]
		if inner, ok := out[0].([]any); ok {
			out = inner
		}
	}
	var lc layerConfig
	_ = json.Unmarshal(layers[len(layers)-1].Config, &lc)
	if len(out) == 0 || out[0] != lc.Name {
		return fmt.Errorf("output_layers %s: want the last layer %q as the one output; only Sequential models and Functional chains are supported", outputs, lc.Name)
	}
	return nil
}

// checkChainNodes checks the inbound nodes of a Functional model's layers.
func checkChainNodes(layers []layerJSON) error {
	if len(layers) == 0 {
		return errors.New("no layers")
	}
	prev := ""
	for i, kl := range layers {
		var lc layerConfig
		_ = json.Unmarshal(kl.Config, &lc)
		if i == 0 {
			if kl.ClassName != inputLayer {
				return fmt.Errorf("layers[0] %q (%s): want an InputLayer first", lc.Name, kl.ClassName)
			}
			prev = lc.Name
			continue
		}
		notChain := fmt.Errorf("layers[%d] %q (%s): the model is not a plain stack of layers (each taking the output of the one before); only Sequential models and Functional chains are supported", i, lc.Name, kl.ClassName)
		if len(kl.InboundNodes) != 1 {
			return notChain
		}
		if from, ok := kl.InboundNodes[0].source(); !ok || from != prev {
			return notChain
		}
		prev = lc.Name
	}
	return nil
}

// mapLayer maps one Keras layer to a tfcifar layer.
func mapLayer(class string, c layerConfig) (config.Layer, error) {
	l := config.Layer{Name: c.Name}
	if c.Trainable != nil && !*c.Trainable {
		f := false
		l.Trainable = &f
	}
	if err := firstErr(checkDType(c.DType), checkFormat(c.DataFormat)); err != nil {
		return l, err
	}
	if c.LoraRank != nil && *c.LoraRank != 0 || !isNull(c.Quantization) {
		return l, errors.New("LoRA or quantized layers are not supported")
	}
	var err error
	switch class {
	case opConv2D:
		l.Type, l.Filters, l.Kernel, l.Padding, l.UseBias = config.Conv2D, c.Filters, config.Size(c.KernelSize), config.Padding(c.Padding), c.UseBias
		l.Strides = config.Size(c.Strides)
		if len(c.Dilation) > 0 && slices.ContainsFunc(c.Dilation, func(d int) bool { return d != 1 }) {
			return l, fmt.Errorf("dilation_rate %v is not supported; want 1", []int(c.Dilation))
		}
		if c.Groups != nil && *c.Groups != 1 {
			return l, fmt.Errorf("groups %d is not supported; want 1", *c.Groups)
		}
		l.Activation, err = activation(c.Activation)
		l.KernelInitializer, l.BiasInitializer = initializer(c.KernelInit), initializer(c.BiasInit)
	case "Dense":
		l.Type, l.Units, l.UseBias = config.Dense, c.Units, c.UseBias
		l.Activation, err = activation(c.Activation)
		l.KernelInitializer, l.BiasInitializer = initializer(c.KernelInit), initializer(c.BiasInit)
	case "GlobalAveragePooling2D":
		l.Type = config.GlobalAveragePooling2D
		if c.KeepDims {
			err = errors.New("keepdims true is not supported; want false")
		}
	case "Flatten":
		l.Type = config.Flatten
	case "Dropout":
		l.Type, l.Rate = config.Dropout, c.Rate
		if !isNull(c.NoiseShape) {
			err = errors.New("noise_shape is not supported; want null")
		}
	case "BatchNormalization":
		l.Type, l.Momentum, l.Epsilon = config.BatchNormalization, c.Momentum, c.Epsilon
		err = checkBatchNorm(c)
	case "Activation":
		l.Type = config.Activation
		l.Activation, err = activation(c.Activation)
	case "ReLU":
		l.Type, l.Activation = config.Activation, config.ReLU
		if c.MaxValue != nil || c.Slope != 0 || c.Threshold != 0 {
			err = errors.New("max_value, negative_slope and threshold are not supported; want a plain ReLU")
		}
	case "Rescaling":
		l.Type = config.Rescaling
		if l.Scale, err = number("scale", c.Scale, 1); err == nil {
			l.Offset, err = number("offset", c.Offset, 0)
		}
	case sequentialClass, "Functional", "Model":
		err = errors.New("nested models are not supported; save the model as one flat stack of layers")
	default:
		if t, ok := preprocessingTypes[class]; ok {
			l.Type = t
			return l, mapPreprocessing(c, &l)
		}
		t, ok := poolTypes[class]
		if !ok {
			return l, fmt.Errorf("layer class not supported; want one of %s", strings.Join(Supported, ", "))
		}
		l.Type, l.Pool, l.Strides, l.Padding = t, config.Size(c.PoolSize), config.Size(c.Strides), config.Padding(c.Padding)
	}
	return l, err
}

// number reads a Rescaling setting: one number (def when absent).
// Per-channel lists are refused.
func number(key string, raw json.RawMessage, def float64) (float64, error) {
	if isNull(raw) {
		return def, nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, fmt.Errorf("%s %s is not supported; want one number", key, raw)
	}
	return v, nil
}

// isFalse reports whether raw is the JSON false.
func isFalse(raw json.RawMessage) bool {
	var b bool
	return json.Unmarshal(raw, &b) == nil && !b
}

func checkBatchNorm(c layerConfig) error {
	var axis any
	if len(c.Axis) > 0 {
		if err := json.Unmarshal(c.Axis, &axis); err != nil {
			return fmt.Errorf("axis: %w", err)
		}
	}
	switch a := axis.(type) {
	case nil:
	case float64:
		if a != -1 && a != 3 && a != 1 {
			return fmt.Errorf("axis %v is not supported; want -1 (the channels)", a)
		}
	case []any:
		if len(a) != 1 {
			return fmt.Errorf("axis %v is not supported; want -1 (the channels)", a)
		}
	}
	if c.Center != nil && !*c.Center || isFalse(c.Scale) {
		return errors.New("center or scale false is not supported; want both true")
	}
	return nil
}

// checkDType refuses layers computing in another type than float32.
func checkDType(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var name string
	if json.Unmarshal(raw, &name) != nil {
		var policy struct {
			Config struct {
				Name string `json:"name"`
			} `json:"config"`
		}
		if err := json.Unmarshal(raw, &policy); err != nil {
			return fmt.Errorf("dtype: %w", err)
		}
		name = policy.Config.Name
	}
	if name != "float32" {
		return fmt.Errorf("dtype %q is not supported; want float32", name)
	}
	return nil
}

func checkFormat(f *string) error {
	if f != nil && *f != "channels_last" {
		return fmt.Errorf("data_format %q is not supported; want channels_last (NHWC)", *f)
	}
	return nil
}

// activation maps a Keras activation (a name, or a serialized function
// naming one) to tfcifar's.
func activation(raw json.RawMessage) (config.ActivationFunc, error) {
	if isNull(raw) {
		return config.Linear, nil
	}
	var name string
	if json.Unmarshal(raw, &name) != nil {
		var fn struct {
			Config string `json:"config"`
		}
		if err := json.Unmarshal(raw, &fn); err != nil {
			return "", fmt.Errorf("activation: want a name, got %s", raw)
		}
		name = fn.Config
	}
	a := config.ActivationFunc(name)
	if !slices.Contains(activations, a) {
		return "", fmt.Errorf("activation %q is not supported; want one of %v", name, activations)
	}
	return a, nil
}

func initializer(raw json.RawMessage) config.Initializer {
	var in struct {
		ClassName string `json:"class_name"`
	}
	if json.Unmarshal(raw, &in) != nil {
		return ""
	}
	return initializers[in.ClassName]
}

// isNull reports whether a setting is absent or null.
func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
