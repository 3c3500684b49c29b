package keras

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	tf "github.com/galeone/tensorflow/tensorflow/go"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/atomicfile"
	"github.com/tfcifar/tfcifar/keras/h5"
	"github.com/tfcifar/tfcifar/savedmodel"
)

// ExportVersion is the Keras version the archives Export writes claim in
// metadata.json: their config.json follows its layer configs.
const ExportVersion = "3.15.1"

// The files of a .keras archive.
const (
	metadataFile = "metadata.json"
	configFile   = "config.json"
	weightsFile  = "model.weights.h5"
)

// Export writes the network and weights of a tfcifar export (as
// savedmodel.ReadVariables reads them) to path as a Keras 3 archive, so
// that keras.models.load_model predicts what the export's serving
// signature does. The file is replaced atomically: path holds the old file
// or the complete new one at every instant.
func Export(path string, v savedmodel.Variables) error {
	if err := atomicfile.Write(path, func(w io.Writer) error { return ExportArchive(w, v, time.Now()) }); err != nil {
		return fmt.Errorf("keras: export %s: %w", filepath.Clean(path), err)
	}
	return nil
}

// ExportArchive writes the Keras 3 archive of v to w, dated saved in its
// metadata.json:
//
//	metadata.json      {"keras_version", "date_saved"}
//	config.json        a Sequential model: InputLayer, then a Rescaling
//	                   layer when the export's pixel scale is not 1, then
//	                   one Keras layer per layer of the network, and a
//	                   softmax Activation when the network's last layer
//	                   does not apply softmax (the export serves
//	                   probabilities); a normalization's mean and
//	                   variance are in its config, as Keras keeps
//	                   given statistics
//	model.weights.h5   layers/<name>/vars/<i>: each layer's weights in
//	                   Keras order (kernel, bias; gamma, beta,
//	                   moving_mean, moving_variance)
//
// Layers keep their names and trainable flags (a frozen layer gets
// trainable false). A layer type Keras has no counterpart for, or
// normalization statistics Keras cannot hold, is an error naming the
// layer. State that is not a weight (the step counters that seed dropout
// masks and augmentations in training) is left out: Keras draws its own,
// the layers' seeds being null.
func ExportArchive(w io.Writer, v savedmodel.Variables, saved time.Time) error {
	m, err := sequential(v)
	if err != nil {
		return err
	}
	weights, err := m.weightsFile(v)
	if err != nil {
		return err
	}
	cfg, err := json.Marshal(m.config)
	if err != nil {
		return err
	}
	meta, err := json.Marshal(map[string]string{
		"keras_version": ExportVersion,
		"date_saved":    saved.UTC().Format("2006-01-02@15:04:05"),
	})
	if err != nil {
		return err
	}
	z := zip.NewWriter(w)
	for _, f := range []struct {
		name string
		data []byte
	}{{metadataFile, meta}, {configFile, cfg}, {weightsFile, weights}} {
		fw, err := z.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: saved})
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.data); err != nil {
			return err
		}
	}
	return z.Close()
}

// model is a network translated to Keras: its config.json and, per Keras
// layer, the tfcifar layer whose weights it holds.
type model struct {
	config any
	layers []kerasLayer
}

// kerasLayer is one layer of the Sequential model: its name, the group
// of model.weights.h5 that holds its weights, and those weights (none for
// layers without parameters).
type kerasLayer struct {
	name, path string
	weights    []weightRef
}

// weightRef names a variable of the export and its shape.
type weightRef struct {
	variable string
	shape    []int
}

// weightsFile returns model.weights.h5 holding m's weights from v.
func (m *model) weightsFile(v savedmodel.Variables) ([]byte, error) {
	f := h5.NewWriter()
	top, err := f.Root().Group("vars")
	if err == nil {
		err = top.SetString(keyName, sequentialName)
	}
	if err != nil {
		return nil, err
	}
	layers, err := f.Root().Group("layers")
	if err != nil {
		return nil, err
	}
	for _, l := range m.layers {
		g, err := layers.Group(l.path)
		if err != nil {
			return nil, err
		}
		vars, err := g.Group("vars")
		if err == nil {
			err = vars.SetString(keyName, l.name)
		}
		if err != nil {
			return nil, err
		}
		for i, ref := range l.weights {
			t, ok := v.Weights[ref.variable]
			if !ok {
				return nil, fmt.Errorf("layer %q: the export has no variable %s", l.name, ref.variable)
			}
			values, err := float32s(t, ref.shape)
			if err != nil {
				return nil, fmt.Errorf("layer %q: variable %s: %w", l.name, ref.variable, err)
			}
			if err := vars.Float32(fmt.Sprint(i), ref.shape, values); err != nil {
				return nil, fmt.Errorf("layer %q: variable %s: %w", l.name, ref.variable, err)
			}
		}
	}
	var b bytes.Buffer
	if _, err := f.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// float32s returns the values of t, a float32 tensor of the given shape,
// in row-major order.
func float32s(t *tf.Tensor, shape []int) ([]float32, error) {
	dims := t.Shape()
	if t.DataType() != tf.Float || len(dims) != len(shape) {
		return nil, fmt.Errorf("want a float32 tensor of shape %v, got %v %v", shape, t.DataType(), dims)
	}
	for i, d := range dims {
		if d != int64(shape[i]) {
			return nil, fmt.Errorf("want a float32 tensor of shape %v, got shape %v", shape, dims)
		}
	}
	var raw bytes.Buffer
	if _, err := t.WriteContentsTo(&raw); err != nil {
		return nil, err
	}
	b := raw.Bytes()
	values := make([]float32, len(b)/4)
	for i := range values {
		values[i] = math.Float32frombits(binary.NativeEndian.Uint32(b[4*i:]))
	}
	return values, nil
}

// Keys of Keras configs that several configs share.
const (
	keyName       = "name"
	keyDtype      = "dtype"
	keyActivation = "activation"
	keyDataFormat = "data_format"
	keySeed       = "seed"
	float32Dtype  = "float32"
)

// sequentialName names the Sequential model in config.json.
const sequentialName = "sequential"

// sequential translates the network of v, whose images the export
// multiplies by v.Scale, into a Keras Sequential model.
func sequential(v savedmodel.Variables) (*model, error) {
	net, scale := v.Network, v.Scale
	if err := net.Validate(); err != nil {
		return nil, err
	}
	net = net.Named()
	shapes, err := net.Shapes()
	if err != nil {
		return nil, err
	}
	taken := map[string]bool{}
	for _, l := range net.Layers {
		taken[l.Name] = true
	}
	batchShape := func(s []int) []any {
		out := []any{nil}
		for _, d := range s {
			out = append(out, d)
		}
		return out
	}
	layers := []any{classConfig("keras.layers", "InputLayer", map[string]any{
		"batch_shape": batchShape(net.Input), keyDtype: float32Dtype, "sparse": false, "ragged": false,
		keyName: freeName("input_layer", taken), "optional": false,
	})}
	m := &model{}
	paths := map[string]int{}
	add := func(class, name string, trainable bool, in []int, settings map[string]any) *kerasLayer {
		layers = append(layers, kerasLayerConfig(class, name, trainable, in, settings))
		m.layers = append(m.layers, kerasLayer{name: name, path: weightsPath(class, paths)})
		return &m.layers[len(m.layers)-1]
	}
	in := net.Input
	if scale != 0 && scale != 1 {
		add("Rescaling", freeName("rescaling", taken), true, in, rescaling(scale, 0))
	}
	for i, l := range net.Layers {
		c, err := layerSettings(l)
		if err != nil {
			return nil, err
		}
		if l.Type == config.Normalization {
			// Keras keeps given statistics in the config, not as weights.
			if err := setStatistics(c, l, in, v.Weights); err != nil {
				return nil, err
			}
		}
		kl := add(l.Type.Keras(), l.Name, layerTrainable(l, in, v.Trainable), in, c)
		if l.Type != config.Normalization {
			for _, w := range l.Weights(in) {
				kl.weights = append(kl.weights, weightRef{variable: l.Name + "/" + w.Name, shape: w.Shape})
			}
		}
		in = shapes[i]
	}
	if net.Layers[len(net.Layers)-1].Activation != config.Softmax {
		add("Activation", freeName("activation", taken), true, in, map[string]any{keyActivation: string(config.Softmax)})
	}
	m.config = map[string]any{
		"module": "keras", "class_name": sequentialClass, "registered_name": nil,
		"config": map[string]any{
			keyName: sequentialName, "trainable": true, keyDtype: dtypePolicy(),
			"layers": layers, "build_input_shape": batchShape(net.Input),
		},
		"build_config":   map[string]any{"input_shape": batchShape(net.Input)},
		"compile_config": nil,
	}
	return m, nil
}

// weightsPath returns the group under layers/ where Keras keeps the
// weights of the next layer of class: not the layer's name but the class
// in snake case, numbered from the second layer of a class on (conv2d,
// conv2d_1, ...), with used counting the layers of each class so far.
func weightsPath(class string, used map[string]int) string {
	path := snakeCase(class)
	n, ok := used[path]
	if ok {
		n++
	}
	used[path] = n
	if n == 0 {
		return path
	}
	return fmt.Sprintf("%s_%d", path, n)
}

// snakeCase turns a Keras class name into its snake case as Keras does
// (Conv2D: conv2d, MaxPooling2D: max_pooling2d, BatchNormalization:
// batch_normalization).
func snakeCase(class string) string {
	var b strings.Builder
	r := []rune(class)
	for i, c := range r {
		upper := unicode.IsUpper(c)
		// An underscore before a capital that starts a word ("Pooling"
		// after "Max") or follows a lower-case letter.
		if i > 0 && upper && (unicode.IsLower(r[i-1]) || i+1 < len(r) && unicode.IsLower(r[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// layerTrainable reports whether l is trainable in Keras: not frozen in
// the spec and, when the export lists its trainable variables
// (trainable), with a weight among them (a reused layer is frozen by the
// network that reused it, which network.yaml does not record).
func layerTrainable(l config.Layer, in []int, trainable map[string]bool) bool {
	if l.Frozen || l.Trainable != nil && !*l.Trainable {
		return false
	}
	var ws []string
	for _, w := range l.Weights(in) {
		if w.Trainable {
			ws = append(ws, l.Name+"/"+w.Name)
		}
	}
	if trainable == nil || len(ws) == 0 {
		return true
	}
	for _, w := range ws {
		if trainable[w] {
			return true
		}
	}
	return false
}

// freeName returns the first of prefix, prefix_1, ... not in taken, and
// takes it.
func freeName(prefix string, taken map[string]bool) string {
	name := prefix
	for i := 1; taken[name]; i++ {
		name = fmt.Sprintf("%s_%d", prefix, i)
	}
	taken[name] = true
	return name
}

// classConfig is Keras's serialized form of an object.
func classConfig(module, class string, cfg map[string]any) map[string]any {
	return map[string]any{"module": module, "class_name": class, "config": cfg, "registered_name": nil}
}

// dtypePolicy is the float32 dtype policy every layer has.
func dtypePolicy() map[string]any {
	return classConfig("keras", "DTypePolicy", map[string]any{keyName: float32Dtype})
}

// kerasLayerConfig is the config of a Keras layer of class class built on
// inputs of shape in (without the batch dimension), with its own settings.
func kerasLayerConfig(class, name string, trainable bool, in []int, settings map[string]any) map[string]any {
	cfg := map[string]any{keyName: name, "trainable": trainable, keyDtype: dtypePolicy()}
	for k, v := range settings {
		cfg[k] = v
	}
	c := classConfig("keras.layers", class, cfg)
	shape := []any{nil}
	for _, d := range in {
		shape = append(shape, d)
	}
	c["build_config"] = map[string]any{"input_shape": shape}
	return c
}

// layerSettings returns the Keras settings of l (with its defaults filled
// in), or an error naming l when Keras has no such layer.
func layerSettings(l config.Layer) (map[string]any, error) {
	const channelsLast = "channels_last"
	pair := func(s config.Size) []int { return []int{s[0], s[1]} }
	switch l.Type {
	case config.Conv2D:
		s := denseSettings(l)
		s["filters"], s["kernel_size"], s["strides"] = l.Filters, pair(l.Kernel), pair(l.Strides)
		s["padding"], s[keyDataFormat] = string(l.Padding), channelsLast
		s["dilation_rate"], s["groups"] = []int{1, 1}, 1
		s["activity_regularizer"] = nil
		delete(s, "quantization_config")
		delete(s, "units")
		return s, nil
	case config.Dense:
		return denseSettings(l), nil
	case config.MaxPooling2D, config.AveragePooling2D:
		return map[string]any{"pool_size": pair(l.Pool), "strides": pair(l.Strides), "padding": string(l.Padding), keyDataFormat: channelsLast}, nil
	case config.GlobalAveragePooling2D:
		return map[string]any{keyDataFormat: channelsLast, "keepdims": false}, nil
	case config.Flatten:
		return map[string]any{keyDataFormat: channelsLast}, nil
	case config.Dropout:
		return map[string]any{"rate": l.Rate, keySeed: nil, "noise_shape": nil}, nil
	case config.Activation:
		return map[string]any{keyActivation: string(l.Activation)}, nil
	case config.ZeroPadding2D:
		return map[string]any{"padding": [][]int{{l.Pad[0], l.Pad[0]}, {l.Pad[1], l.Pad[1]}}, keyDataFormat: channelsLast}, nil
	case config.Rescaling:
		return rescaling(l.Scale, l.Offset), nil
	case config.Normalization:
		return map[string]any{"axis": []int{-1}, "invert": false}, nil
	case config.RandomFlip:
		return map[string]any{keyDataFormat: channelsLast, keySeed: nil, "mode": string(l.Mode)}, nil
	case config.RandomTranslation:
		return map[string]any{
			keyDataFormat: channelsLast, keySeed: nil, "height_factor": bounds(l.HeightFactor, true), "width_factor": bounds(l.WidthFactor, true),
			"fill_mode": string(l.FillMode), "fill_value": l.FillValue, "interpolation": "bilinear",
		}, nil
	case config.RandomBrightness:
		return map[string]any{keyDataFormat: channelsLast, keySeed: nil, "factor": bounds(l.Factor, true), "value_range": l.ValueRange}, nil
	case config.RandomContrast:
		return map[string]any{keyDataFormat: channelsLast, keySeed: nil, "factor": bounds(l.Factor, false), "value_range": l.ValueRange}, nil
	case config.BatchNormalization:
		return map[string]any{
			"axis": -1, "momentum": l.Momentum, "epsilon": l.Epsilon, "center": true, "scale": true,
			"beta_initializer": kerasInitializer(config.Zeros), "gamma_initializer": kerasInitializer(config.Ones),
			"moving_mean_initializer": kerasInitializer(config.Zeros), "moving_variance_initializer": kerasInitializer(config.Ones),
			"beta_regularizer": nil, "gamma_regularizer": nil, "beta_constraint": nil, "gamma_constraint": nil,
			"synchronized": false, "renorm": false, "renorm_clipping": nil, "renorm_momentum": 0.99,
		}, nil
	}
	return nil, fmt.Errorf("layer %q: type %q has no Keras layer to export to", l.Name, l.Type)
}

// rescaling is the config of a Rescaling layer: x*scale + offset.
func rescaling(scale, offset float64) map[string]any {
	return map[string]any{"scale": scale, "offset": offset}
}

// bounds is a factor of a random layer as [lower, upper], which Keras
// reads as tfcifar does (a single number it would read its own way:
// RandomContrast takes f as [0, f]); mirror as for config.Range.Bounds.
func bounds(r config.Range, mirror bool) []float64 {
	lower, upper := r.Bounds(mirror)
	return []float64{lower, upper}
}

// setStatistics puts the mean and variance of the normalization layer l,
// built on inputs of shape in, from the export's weights into its Keras
// settings, one value per channel, as Keras writes given statistics. They
// must be finite (JSON holds no other numbers), the variance not negative.
func setStatistics(settings map[string]any, l config.Layer, in []int, weights graph.Weights) error {
	for _, w := range l.Weights(in) {
		name := l.Name + "/" + w.Name
		t, ok := weights[name]
		if !ok {
			return fmt.Errorf("layer %q: the export has no variable %s", l.Name, name)
		}
		values, err := float32s(t, w.Shape)
		if err != nil {
			return fmt.Errorf("layer %q: variable %s: %w", l.Name, name, err)
		}
		stats := make([]float64, len(values))
		for i, x := range values {
			f := float64(x)
			if math.IsNaN(f) || math.IsInf(f, 0) || w.Name == "variance" && f < 0 {
				return fmt.Errorf("layer %q: variable %s: value %d is %g; Keras takes finite statistics, the variance not negative", l.Name, name, i, f)
			}
			stats[i] = f
		}
		settings[w.Name] = stats
	}
	return nil
}

// denseSettings are the settings dense shares with conv2d.
func denseSettings(l config.Layer) map[string]any {
	return map[string]any{
		"units": l.Units, keyActivation: string(l.Activation), "use_bias": l.HasBias(),
		"kernel_initializer": kerasInitializer(l.KernelInitializer), "bias_initializer": kerasInitializer(l.BiasInitializer),
		"kernel_regularizer": nil, "bias_regularizer": nil, "kernel_constraint": nil, "bias_constraint": nil,
		"quantization_config": nil,
	}
}

// initializerClasses are the Keras classes of the initializers.
var initializerClasses = map[config.Initializer]string{
	config.GlorotUniform: "GlorotUniform", config.GlorotNormal: "GlorotNormal",
	config.HeUniform: "HeUniform", config.HeNormal: "HeNormal",
	config.LecunUniform: "LecunUniform", config.LecunNormal: "LecunNormal",
	config.Zeros: "Zeros", config.Ones: "Ones",
}

// kerasInitializer is the Keras config of an initializer.
func kerasInitializer(i config.Initializer) map[string]any {
	cfg := map[string]any{}
	if i != config.Zeros && i != config.Ones {
		cfg["seed"], cfg["input_axes"], cfg["output_axes"] = nil, nil, nil
	}
	return classConfig("keras.initializers", initializerClasses[i], cfg)
}
