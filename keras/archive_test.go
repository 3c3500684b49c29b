package keras

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/config"
)

const small = "testdata/small.keras"

// TestReadSmall reads the small test archive (scripts/interop/keras_small.py).
func TestReadSmall(t *testing.T) {
	m, err := Read(small)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := m.Network.YAML()
	if err != nil {
		t.Fatal(err)
	}
	want := `input: [8, 8, 3]
layers:
  - {type: conv2d, name: conv2d, filters: 2, kernel: [3, 3], strides: [1, 1], padding: valid, activation: relu, use_bias: true, kernel_initializer: glorot_uniform, bias_initializer: zeros}
  - {type: batchnorm, name: batch_normalization, momentum: 0.99, epsilon: 0.001}
  - {type: maxpool2d, name: max_pooling2d, pool: [2, 2], strides: [2, 2], padding: valid}
  - {type: flatten, name: flatten}
  - {type: dropout, name: dropout, rate: 0.5}
  - {type: dense, name: dense, units: 3, activation: softmax, use_bias: true, kernel_initializer: glorot_uniform, bias_initializer: zeros}
`
	if string(spec) != want {
		t.Errorf("network:\n%s\nwant:\n%s", spec, want)
	}
	names := []string{"batch_normalization/beta", "batch_normalization/gamma", "batch_normalization/moving_mean", "batch_normalization/moving_variance",
		"conv2d/bias", "conv2d/kernel", "dense/bias", "dense/kernel", "dropout/seed"}
	if got := m.Weights.Names(); !slices.Equal(got, names) {
		t.Errorf("weights %v, want %v", got, names)
	}
	if m.Name != "small" {
		t.Errorf("name %q, want small", m.Name)
	}
}

// rezip returns the entries of the small archive, changed by change, as a
// new archive.
func rezip(t *testing.T, change func(w *zip.Writer, name string, body []byte) bool) []byte {
	t.Helper()
	z, err := zip.OpenReader(small)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range z.File {
		r, err := e.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if change(w, e.Name, body) {
			continue
		}
		fw, err := w.Create(e.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// raw adds an entry whose header declares size bytes and whose stored
// data are body.
func raw(t *testing.T, w *zip.Writer, name string, size uint64, body []byte) {
	t.Helper()
	fw, err := w.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Store, UncompressedSize64: size, CompressedSize64: uint64(len(body))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(body); err != nil {
		t.Fatal(err)
	}
}

// TestHostileArchives checks that damaged and hostile archives are refused
// with errors saying why.
func TestHostileArchives(t *testing.T) {
	good, err := os.ReadFile(small)
	if err != nil {
		t.Fatal(err)
	}
	replace := func(target string, with func(w *zip.Writer, body []byte)) func(w *zip.Writer, name string, body []byte) bool {
		return func(w *zip.Writer, name string, body []byte) bool {
			if name != target {
				return false
			}
			with(w, body)
			return true
		}
	}
	tests := []struct {
		desc string
		file []byte
		want []string
	}{
		{"truncated archive", good[:len(good)/2], []string{"not a .keras archive"}},
		{"no weights", rezip(t, func(_ *zip.Writer, name string, _ []byte) bool { return name == weightsEntry }), []string{"no model.weights.h5"}},
		{"entry declaring a huge size", rezip(t, replace(weightsEntry, func(w *zip.Writer, body []byte) {
			raw(t, w, weightsEntry, 50<<30, body)
		})), []string{weightsEntry, "over the cap"}},
		{"zip bomb ratio", rezip(t, replace(weightsEntry, func(w *zip.Writer, body []byte) {
			fw, err := w.CreateHeader(&zip.FileHeader{Name: weightsEntry, Method: zip.Deflate})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fw.Write(make([]byte, 64<<20)); err != nil {
				t.Fatal(err)
			}
		})), []string{"zip bomb"}},
		{"entry holding more than it declares", rezip(t, replace(configEntry, func(w *zip.Writer, body []byte) {
			raw(t, w, configEntry, 10, body)
		})), []string{configEntry}},
		{"config that is not JSON", rezip(t, replace(configEntry, func(w *zip.Writer, _ []byte) {
			fw, _ := w.Create(configEntry)
			_, _ = fw.Write([]byte("{not json"))
		})), []string{"config.json"}},
		{"truncated weights file", rezip(t, replace(weightsEntry, func(w *zip.Writer, body []byte) {
			fw, _ := w.Create(weightsEntry)
			_, _ = fw.Write(body[:len(body)*2/3])
		})), []string{"beyond the end of the file"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.keras")
			if err := os.WriteFile(path, tt.file, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Read(path)
			if err == nil {
				t.Fatal("Read succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestMapErrors checks config.json layers tfcifar cannot map.
func TestMapErrors(t *testing.T) {
	layer := func(class, cfg string) string {
		return `{"class_name": "Sequential", "config": {"name": "m", "layers": [
			{"class_name": "InputLayer", "config": {"name": "input_layer", "batch_shape": [null, 8, 8, 3]}},
			{"class_name": "` + class + `", "config": ` + cfg + `}]}}`
	}
	tests := []struct{ desc, json, want string }{
		{"dilated conv", layer("Conv2D", `{"name": "c", "filters": 2, "kernel_size": [3, 3], "dilation_rate": [2, 2]}`), `layers[1] "c" (Conv2D): dilation_rate [2 2] is not supported`},
		{"channels first", layer("MaxPooling2D", `{"name": "p", "pool_size": [2, 2], "data_format": "channels_first"}`), `"p" (MaxPooling2D): data_format "channels_first"`},
		{"float16", layer("Dense", `{"name": "d", "units": 2, "dtype": {"class_name": "DTypePolicy", "config": {"name": "mixed_float16"}}}`), `dtype "mixed_float16"`},
		{"gelu", layer("Activation", `{"name": "a", "activation": "gelu"}`), `activation "gelu" is not supported`},
		{"leaky ReLU layer", layer("ReLU", `{"name": "r", "negative_slope": 0.1}`), `"r" (ReLU): max_value, negative_slope and threshold`},
		{"batchnorm without scale", layer("BatchNormalization", `{"name": "b", "axis": -1, "scale": false}`), "center or scale false"},
		{"nested model", layer("Sequential", `{"name": "inner"}`), `"inner" (Sequential): nested models`},
		{"unknown class", layer("LSTM", `{"name": "lstm"}`), `"lstm" (LSTM): layer class not supported; want one of InputLayer, Conv2D`},
		{"output before the last layer", `{"class_name": "Functional", "config": {"output_layers": [["i", 0, 0]], "layers": [
			{"class_name": "InputLayer", "config": {"name": "i", "batch_shape": [null, 4, 4, 1]}},
			{"class_name": "Flatten", "config": {"name": "f"}, "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["i", 0, 0]}}]}]}]}}`,
			`output_layers [["i", 0, 0]]: want the last layer "f"`},
		{"subclassed model", `{"class_name": "MyModel", "config": {}}`, `model class "MyModel"`},
		{"no input shape", `{"class_name": "Sequential", "config": {"layers": [{"class_name": "Flatten", "config": {"name": "f"}}]}}`, "no input shape"},
		{"normalization over rows", layer("Normalization", `{"name": "n", "axis": 1, "mean": 0, "variance": 1}`), `"n" (Normalization): axis 1 is not supported`},
		{"inverted normalization", layer("Normalization", `{"name": "n", "invert": true, "mean": 0, "variance": 1}`), "invert true"},
		{"mean without variance", layer("Normalization", `{"name": "n", "mean": [1, 2, 3]}`), "want both or neither"},
		{"nearest translation", layer("RandomTranslation", `{"name": "t", "height_factor": 0.1, "width_factor": 0.1, "interpolation": "nearest"}`), `interpolation "nearest"`},
		{"three-number factor", layer("RandomContrast", `{"name": "c", "factor": [0.1, 0.2, 0.3]}`), "want a number or [lower, upper]"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, _, _, err := parseNetwork([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseNetwork: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

func TestSnake(t *testing.T) {
	for class, want := range map[string]string{"Conv2D": "conv2d", "MaxPooling2D": "max_pooling2d", "ReLU": "re_lu",
		"BatchNormalization": "batch_normalization", "GlobalAveragePooling2D": "global_average_pooling2d", "Dense": "dense"} {
		if got := snake(class); got != want {
			t.Errorf("snake(%q) = %q, want %q", class, got, want)
		}
	}
}

// FuzzParseNetwork feeds config.json contents to the mapping: whatever
// they hold, it returns without a panic, and what it accepts validates.
func FuzzParseNetwork(f *testing.F) {
	z, err := zip.OpenReader(small)
	if err != nil {
		f.Fatal(err)
	}
	entries, err := checkEntries(&z.Reader)
	if err != nil {
		f.Fatal(err)
	}
	cfg, err := readEntry(entries, configEntry, maxConfigBytes)
	_ = z.Close()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(cfg)
	f.Add([]byte(`{"class_name": "Functional", "config": {"layers": [{"class_name": "InputLayer", "config": {"name": "i", "batch_shape": [null, 4, 4, 1]}},
		{"class_name": "Flatten", "config": {"name": "f"}, "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["i", 0, 0]}}]}]}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		net, keys, _, err := parseNetwork(b)
		if err != nil {
			return
		}
		if len(keys) != len(net.Layers) {
			t.Fatalf("%d weight keys for %d layers", len(keys), len(net.Layers))
		}
		_, _ = validated(net)
	})
}

// TestMapPreprocessing checks the settings the preprocessing layers map to:
// a factor of one number reads as Keras reads it.
func TestMapPreprocessing(t *testing.T) {
	net, _, _, err := parseNetwork([]byte(`{"class_name": "Sequential", "config": {"name": "m", "layers": [
		{"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [null, 8, 8, 3]}},
		{"class_name": "RandomFlip", "config": {"name": "f", "mode": "vertical"}},
		{"class_name": "RandomTranslation", "config": {"name": "t", "height_factor": 0.1, "width_factor": [0.2, -0.3], "fill_mode": "constant", "fill_value": 7}},
		{"class_name": "RandomBrightness", "config": {"name": "b", "factor": 0.2, "value_range": [0, 1]}},
		{"class_name": "RandomContrast", "config": {"name": "c", "factor": 0.3}},
		{"class_name": "Normalization", "config": {"name": "n", "axis": -1, "mean": [1, 2, 3], "variance": 4}}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	l := net.Layers
	checks := []struct {
		desc      string
		got, want any
	}{
		{"flip mode", l[0].Mode, config.Vertical},
		{"height factor", l[1].HeightFactor, config.Range{-0.1, 0.1}},
		{"width factor", l[1].WidthFactor, config.Range{-0.3, 0.2}},
		{"fill", []any{l[1].FillMode, l[1].FillValue}, []any{config.Constant, 7.0}},
		{"brightness", []any{l[2].Factor, l[2].ValueRange}, []any{config.Range{-0.2, 0.2}, []float64{0, 1}}},
		{"contrast", l[3].Factor, config.Range{0, 0.3}},
		{"normalization", []any{l[4].Mean, l[4].Variance}, []any{config.Values{1, 2, 3}, config.Values{4}}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.desc, c.got, c.want)
		}
	}
}
