package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tfcifar/tfcifar/configs"
	"github.com/tfcifar/tfcifar/internal/golden"
)

func TestDefaultIsTransferYAML(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		a, _ := c.YAML()
		b, _ := Default().YAML()
		t.Errorf("configs/transfer.yaml and Default() differ:\n%s\nvs\n%s", a, b)
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
}

func TestResolvedGolden(t *testing.T) {
	c, err := Load(filepath.Join("..", "configs", "transfer.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "transfer.golden.yml"), b)

	// The resolved config loads back to the same config.
	path := filepath.Join(t.TempDir(), "resolved.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path, nil)
	if err != nil {
		t.Fatalf("resolved config does not load: %v", err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Error("resolved config loads back to a different config")
	}
}

func TestReferenceYAML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reference.yaml")
	if err := os.WriteFile(path, configs.Reference(), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, nil)
	if err != nil {
		t.Fatalf("configs/reference.yaml: %v", err)
	}
	// It documents every layer type, every layer setting and every section field.
	text := string(configs.Reference())
	for _, typ := range Types() {
		if !strings.Contains(text, "type: "+string(typ)) {
			t.Errorf("reference.yaml has no layer of type %s", typ)
		}
	}
	var keys []string
	leaves("", toMap(c), &keys)
	for _, f := range append(keys, convFields...) {
		parts := strings.Split(f, ".")
		last := parts[len(parts)-1]
		if !strings.Contains(text, last+":") {
			t.Errorf("reference.yaml does not document %s", f)
		}
	}
	for _, f := range []string{"pool:", "rate:", "momentum:", "epsilon:", "trainable:", "savedmodel:", "layers:", "learning_rate:", "up_to:"} {
		if !strings.Contains(text, f) {
			t.Errorf("reference.yaml does not document %s", f)
		}
	}
}

func TestResolveTransfer(t *testing.T) {
	c := Default()
	n, err := c.Resolve(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"conv2d", "conv2d_1", "max_pooling2d", "conv2d_2", "flatten", "dropout", "dense", "activation", "dense_1", "activation_1"}
	if got := layerNames(n); !reflect.DeepEqual(got, want) {
		t.Fatalf("names = %v, want %v", got, want)
	}
	for i, l := range n.Layers {
		if reused := i < 6; l.Reused != reused || l.Frozen != reused {
			t.Errorf("layers[%d] %s: Reused %v Frozen %v, want both %v", i, l.Name, l.Reused, l.Frozen, reused)
		}
	}
	shapes, err := n.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	wantShapes := [][]int{{28, 28, 8}, {24, 24, 16}, {12, 12, 16}, {10, 10, 32}, {3200}, {3200}, {128}, {128}, {5}, {5}}
	if !reflect.DeepEqual(shapes, wantShapes) {
		t.Errorf("shapes = %v, want %v", shapes, wantShapes)
	}
}

func layerNames(n Network) []string {
	var s []string
	for _, l := range n.Layers {
		s = append(s, l.Name)
	}
	return s
}

func TestResolveSavedModel(t *testing.T) {
	base, err := Default().Resolve(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := base.YAML()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load("", []string{"stages.transfer.model.from={savedmodel: exports/base, layers: [conv2d, conv2d_1, max_pooling2d, conv2d_2, flatten], frozen: false, learning_rate: 0.0001}"})
	if err != nil {
		t.Fatal(err)
	}
	var asked string
	load := func(from Reuse) (Network, error) { asked = from.SavedModel; return ParseNetwork(spec) }
	n, err := c.Resolve(1, load)
	if err != nil {
		t.Fatal(err)
	}
	if asked != "exports/base" {
		t.Errorf("loader asked for %q, want exports/base", asked)
	}
	want := []string{"conv2d", "conv2d_1", "max_pooling2d", "conv2d_2", "flatten", "dense", "activation", "dense_1", "activation_1"}
	if got := layerNames(n); !reflect.DeepEqual(got, want) {
		t.Errorf("names = %v, want %v", got, want)
	}
	if !n.Layers[0].Reused || n.Layers[0].Frozen {
		t.Errorf("fine-tuned reused layer: Reused %v Frozen %v, want true false", n.Layers[0].Reused, n.Layers[0].Frozen)
	}
	if _, err := c.Resolve(1, nil); err == nil {
		t.Error("Resolve of a savedmodel source without a loader succeeded")
	}
}

func TestResolveKeras(t *testing.T) {
	base, err := Default().Resolve(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load("", []string{"stages.transfer.model.from={keras: models/base.keras, up_to: flatten}"})
	if err != nil {
		t.Fatal(err)
	}
	var asked Reuse
	load := func(from Reuse) (Network, error) { asked = from; return base, nil }
	n, err := c.Resolve(1, load)
	if err != nil {
		t.Fatal(err)
	}
	if asked.Keras != "models/base.keras" || asked.SavedModel != "" {
		t.Errorf("loader asked for keras %q savedmodel %q, want keras models/base.keras", asked.Keras, asked.SavedModel)
	}
	want := []string{"conv2d", "conv2d_1", "max_pooling2d", "conv2d_2", "flatten", "dense", "activation", "dense_1", "activation_1"}
	if got := layerNames(n); !reflect.DeepEqual(got, want) {
		t.Errorf("names = %v, want %v", got, want)
	}
	if !n.Layers[4].Reused || !n.Layers[4].Frozen || n.Layers[5].Reused {
		t.Errorf("flatten Reused %v Frozen %v, dense Reused %v; want true true false", n.Layers[4].Reused, n.Layers[4].Frozen, n.Layers[5].Reused)
	}
	_, err = c.Resolve(1, nil)
	if err == nil || !strings.Contains(err.Error(), "model.from.keras") {
		t.Errorf("Resolve of a keras source without a loader: %v, want an error naming model.from.keras", err)
	}
	_, err = c.Resolve(1, func(Reuse) (Network, error) { return Network{}, errors.New("bad archive") })
	if err == nil || !strings.Contains(err.Error(), "model.from.keras: bad archive") {
		t.Errorf("failing loader: %v, want model.from.keras: bad archive", err)
	}
}

func TestParseNetworkRoundTrip(t *testing.T) {
	n := Network{Input: []int{8, 8, 1}, Layers: []Layer{
		{Type: "conv2d", Filters: 4, Kernel: Size{3, 3}, Padding: "same", Strides: Size{2, 1}},
		{Type: "batchnorm", Trainable: new(bool)},
		{Type: "global_avgpool2d"},
		{Type: "dense", Units: 2, Activation: "sigmoid"},
	}}.Named()
	b, err := n.YAML()
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, n, b)
	if got, _ := ParseNetwork(b); !got.Layers[1].Frozen {
		t.Error("trainable: false layer is not Frozen")
	}
}

func TestParseNetworkPreprocessing(t *testing.T) {
	// One-number factors read as [f]; the layers round-trip through YAML.
	b := []byte(`input: [8, 8, 3]
layers:
  - {type: rescaling, scale: 0.00392156862745098, offset: -0.5}
  - {type: normalization, mean: [0.1, 0.2, 0.3], variance: 2}
  - {type: random_flip, mode: horizontal}
  - {type: random_translation, height_factor: 0.1, width_factor: [-0.2, 0.1], fill_mode: constant, fill_value: 3}
  - {type: random_brightness, factor: 0.2, value_range: [-1, 1]}
  - {type: random_contrast, factor: [0.1, 0.3]}
  - {type: flatten}
  - {type: dense, units: 2}
`)
	n, err := ParseNetwork(b)
	if err != nil {
		t.Fatal(err)
	}
	ls := n.Layers
	if ls[0].Scale != 1.0/255 || ls[0].Offset != -0.5 || !reflect.DeepEqual(ls[1].Variance, Values{2}) || ls[2].Mode != Horizontal ||
		!reflect.DeepEqual(ls[3].HeightFactor, Range{0.1}) || !reflect.DeepEqual(ls[3].WidthFactor, Range{-0.2, 0.1}) || ls[3].FillMode != Constant ||
		ls[3].FillValue != 3 || !reflect.DeepEqual(ls[4].ValueRange, []float64{-1, 1}) || !reflect.DeepEqual(ls[5].Factor, Range{0.1, 0.3}) {
		t.Errorf("parsed %+v", ls)
	}
	out, err := n.YAML()
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, n, out)
}

// roundTrip checks that b, n's YAML, parses back to n.
func roundTrip(t *testing.T, n Network, b []byte) {
	t.Helper()
	got, err := ParseNetwork(b)
	if err != nil {
		t.Fatalf("ParseNetwork: %v\n%s", err, b)
	}
	n = n.frozen()
	if !reflect.DeepEqual(got, n) {
		t.Errorf("round trip changed the network:\n got %+v\nwant %+v", got, n)
	}
}

func TestOverrides(t *testing.T) {
	tests := []struct {
		desc  string
		env   map[string]string
		sets  []string
		check func(*Config) bool
	}{
		{"set run.out", nil, []string{"run.out=elsewhere"}, func(c *Config) bool { return c.Run.Out == "elsewhere" }},
		{"env run.out", map[string]string{"TFCIFAR_RUN_OUT": "from-env"}, nil, func(c *Config) bool { return c.Run.Out == "from-env" }},
		{"env data.dir", map[string]string{"TFCIFAR_DATA_DIR": "/data"}, nil, func(c *Config) bool { return c.Data.Dir == "/data" }},
		{"env data.cache_dir", map[string]string{"TFCIFAR_DATA_CACHE_DIR": "/c"}, nil, func(c *Config) bool { return c.Data.CacheDir == "/c" }},
		{"env number", map[string]string{"TFCIFAR_RUN_SEED": "7"}, nil, func(c *Config) bool { return c.Run.Seed == 7 }},
		{"env gpu settings", map[string]string{"TFCIFAR_RUN_GPU_MEMORY_GROWTH": "true", "TFCIFAR_RUN_DEVICE": "gpu:1", "TFCIFAR_RUN_XLA": "true"}, nil, func(c *Config) bool {
			return c.Run.GPU.MemoryGrowth && c.Run.Device == "gpu:1" && c.Run.XLA
		}},
		{"set beats env", map[string]string{"TFCIFAR_RUN_OUT": "env"}, []string{"run.out=set"}, func(c *Config) bool { return c.Run.Out == "set" }},
		{"env stage by index", map[string]string{"TFCIFAR_STAGES_1_TRAIN_EPOCHS": "2"}, nil, func(c *Config) bool { return c.Stages[1].Train.Epochs == 2 }},
		{"callback defaults", nil, []string{"stages.base.train.callbacks.early_stopping.patience=3", "stages.base.train.callbacks.reduce_lr_on_plateau.min_lr=1e-5"}, func(c *Config) bool {
			cb := c.Stages[0].Train.Callbacks
			return reflect.DeepEqual(cb.EarlyStopping, &EarlyStopping{Monitor: "val_loss", Mode: "auto", Patience: 3}) &&
				reflect.DeepEqual(cb.ReduceLROnPlateau, &ReduceLROnPlateau{Monitor: "val_loss", Mode: "auto", Factor: 0.1, Patience: 10, MinDelta: 1e-4, MinLR: 1e-5}) &&
				cb.BestEpoch == nil && c.Stages[1].Train.Callbacks.EarlyStopping == nil
		}},
		{"callback as a section", nil, []string{"stages.base.train.callbacks.best_epoch={monitor: val_accuracy}"}, func(c *Config) bool {
			return reflect.DeepEqual(c.Stages[0].Train.Callbacks.BestEpoch, &BestEpoch{Monitor: "val_accuracy", Mode: "auto"})
		}},
		{"env callback", map[string]string{"TFCIFAR_STAGES_0_TRAIN_CALLBACKS_EARLY_STOPPING_PATIENCE": "4"}, nil, func(c *Config) bool {
			return c.Stages[0].Train.Callbacks.EarlyStopping != nil && c.Stages[0].Train.Callbacks.EarlyStopping.Patience == 4
		}},
		{"cached features in a temporary file are not memory", nil, []string{"stages.0.model.layers.0={type: conv2d, filters: 4096, kernel: 1}", "stages.1.model.from.up_to=conv2d", "stages.1.model.layers=[{type: flatten}, {type: dense, units: 5}]"}, func(c *Config) bool {
			return !c.DataOf(1).InMemory && c.Stages[1].Train.CacheFrozen
		}},
		{"tensorboard off", nil, []string{"run.tensorboard=false", "run.tensorboard_update_freq=50"}, func(c *Config) bool { return !c.Run.TensorBoard && c.Run.TensorBoardUpdateFreq == 50 }},
		{"tensorboard on by default", nil, nil, func(c *Config) bool { return c.Run.TensorBoard && c.Run.TensorBoardUpdateFreq == 0 }},
		{"set stage by name", nil, []string{"stages.base.train.epochs=1"}, func(c *Config) bool { return c.Stages[0].Train.Epochs == 1 && c.Stages[1].Train.Epochs == 5 }},
		{"set stage by capitalised name", nil, []string{"stages.0.name=Base", "stages.1.model.from.stage=Base", "stages.Base.train.epochs=2"}, func(c *Config) bool { return c.Stages[0].Train.Epochs == 2 && c.Stages[1].Train.Epochs == 5 }},
		{"set list value", nil, []string{"stages.0.classes=[9, 8]", "stages.0.model.layers.8.units=2"}, func(c *Config) bool { return reflect.DeepEqual(c.Stages[0].Classes, []int{9, 8}) }},
		{"set kernel pair", nil, []string{"stages.0.model.layers.0.kernel=[5, 3]"}, func(c *Config) bool { return reflect.DeepEqual(c.Stages[0].Model.Layers[0].Kernel, Size{5, 3}) }},
		{"set float", nil, []string{"stages.0.train.optimizer.learning_rate=1e-2"}, func(c *Config) bool { return c.Stages[0].Train.Optimizer.LearningRate == 0.01 }},
		{"set sgd", nil, []string{"stages.0.train.optimizer={name: sgd, momentum: 0.9, nesterov: true}"}, func(c *Config) bool {
			o := c.Stages[0].Train.Optimizer
			return o.Name == "sgd" && o.Momentum == 0.9 && o.Nesterov && o.LearningRate == 0.001
		}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := Load("", tt.sets)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				b, _ := c.YAML()
				t.Errorf("override not applied:\n%s", b)
			}
		})
	}
}

// minimal is a config with one stage and every optional field left out.
const minimal = `
stages:
  - name: only
    classes: [3, 5]
    model:
      input: [32, 32, 3]
      layers:
        - {type: conv2d, filters: 4, kernel: 3, padding: same, strides: 2}
        - {type: batchnorm}
        - {type: avgpool2d}
        - {type: global_avgpool2d}
        - {type: dense, units: 2, activation: softmax, use_bias: false}
`

func TestValidConfigs(t *testing.T) {
	tests := []struct {
		desc string
		yaml string
		sets []string
	}{
		{"minimal with defaults", minimal, nil},
		{"no padding shrink with same", minimal, []string{"stages.0.model.layers.0.kernel=31"}},
		{"explicit names", minimal, []string{"stages.0.model.layers.1.name=bn", "stages.0.model.layers.4.name=head"}},
		{"frozen layer", minimal, []string{"stages.0.model.layers.0.trainable=false"}},
		{"step schedule", minimal, []string{"stages.0.train.schedule={name: step, step_epochs: 2, gamma: 0.5}"}},
		{"versioned export", minimal, []string{"stages.0.export.version=3"}},
		{"gpu device", minimal, []string{"run.device=/device:GPU:1"}},
		{"short gpu device", minimal, []string{"run.device=gpu:1"}},
		{"auto device with gpu settings", minimal, []string{"run.device=auto", "run.gpu.memory_growth=true", "run.xla=true"}},
		{"float16", minimal, []string{"run.precision=mixed_float16"}},
		{"float16 on a gpu", minimal, []string{"run.precision=mixed_float16", "run.device=gpu"}},
		{"standard split", minimal, []string{"data.split=standard", "data.validation_fraction=0"}},
		{"reuse by layer list", "", []string{"stages.1.model.from={stage: base, layers: [conv2d, conv2d_1]}", "stages.1.model.layers=[{type: flatten}, {type: dense, units: 5}]"}},
		{"fine tune with own rate", "", []string{"stages.1.model.from.frozen=false", "stages.1.model.from.learning_rate=0.0001"}},
		{"savedmodel source", "", []string{"stages.1.model.from={savedmodel: /models/base, up_to: flatten}"}},
		{"transfer with no new layers", "", []string{"stages.1.model.from.up_to=activation_1", "stages.1.model.layers=[]"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			path := ""
			if tt.yaml != "" {
				path = writeFile(t, tt.yaml)
			}
			c, err := Load(path, tt.sets)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("Validate after Load: %v", err)
			}
		})
	}
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMain clears TFCIFAR_* overrides from the environment so the tests see
// the configs as written; tests set the ones they need.
func TestMain(m *testing.M) {
	for _, e := range os.Environ() {
		if k, _, _ := strings.Cut(e, "="); strings.HasPrefix(k, EnvPrefix) {
			os.Unsetenv(k)
		}
	}
	os.Exit(m.Run())
}

func TestParseDevice(t *testing.T) {
	for _, c := range []struct {
		device, kind string
		index        int
	}{
		{"", "cpu", -1}, {"cpu", "cpu", -1}, {"GPU", "gpu", -1}, {"/device:GPU:1", "gpu", 1},
		{"/gpu:0", "gpu", 0}, {"/device:CPU:0", "cpu", 0}, {"/cpu", "cpu", -1},
		{"auto", "auto", -1}, {"AUTO", "auto", -1}, {"gpu:0", "gpu", 0}, {"GPU:12", "gpu", 12},
	} {
		kind, index, err := ParseDevice(c.device)
		if err != nil || kind != c.kind || index != c.index {
			t.Errorf("ParseDevice(%q) = %q, %d, %v; want %q, %d", c.device, kind, index, err, c.kind, c.index)
		}
	}
}

func TestEnvOverrides(t *testing.T) {
	tests := []struct {
		desc  string
		env   map[string]string
		check func(*Config) bool
	}{
		{"whole list of layers", map[string]string{"TFCIFAR_STAGES_0_MODEL_LAYERS": "[{type: flatten}, {type: dense, units: 5}, {type: dropout, rate: 0.5}]",
			"TFCIFAR_STAGES_1_MODEL_FROM_UP_TO": "dense"}, func(c *Config) bool {
			return len(c.Stages[0].Model.Layers) == 3 && c.Stages[0].Model.Layers[1].Units == 5
		}},
		{"list then one of its items", map[string]string{"TFCIFAR_STAGES_0_CLASSES": "[1, 2, 3, 4, 5]", "TFCIFAR_STAGES_0_MODEL_LAYERS_8_UNITS": "5"},
			func(c *Config) bool { return c.Stages[0].Classes[0] == 1 }},
		{"whole section", map[string]string{"TFCIFAR_STAGES_0_TRAIN_OPTIMIZER": "{name: sgd, momentum: 0.5}"},
			func(c *Config) bool {
				return c.Stages[0].Train.Optimizer.Name == "sgd" && c.Stages[0].Train.Optimizer.LearningRate == 0.001
			}},
		{"stage by name", map[string]string{"TFCIFAR_STAGES_TRANSFER_TRAIN_EPOCHS": "3"}, func(c *Config) bool { return c.Stages[1].Train.Epochs == 3 }},
		{"key with underscores", map[string]string{"TFCIFAR_STAGES_0_TRAIN_CACHE_FROZEN": "false", "TFCIFAR_RUN_INTRA_OP_THREADS": "2"},
			func(c *Config) bool { return !c.Stages[0].Train.CacheFrozen && c.Run.IntraOpThreads == 2 }},
		{"precision", map[string]string{"TFCIFAR_RUN_PRECISION": "mixed_float16"},
			func(c *Config) bool { return c.Run.Precision == MixedFloat16 }},
		{"optional key not in the file", map[string]string{"TFCIFAR_STAGES_0_MODEL_LAYERS_0_PADDING": "same"},
			func(c *Config) bool { return c.Stages[0].Model.Layers[0].Padding == "same" }},
		{"variables that are not config keys", map[string]string{"TFCIFAR_DATA": "/elsewhere", "TFCIFAR_VENV": "/v", "TFCIFAR_LIBTENSORFLOW": "/l", "TFCIFAR_REFERENCE_EPOCHS": "5", "TFCIFAR_TF_LOG": "1"},
			func(c *Config) bool { return c.Data.Dir == "" }},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			done := make(chan struct{})
			var c *Config
			var err error
			go func() { c, err = Load("", nil); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Load did not return within 10s")
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				b, _ := c.YAML()
				t.Errorf("override not applied:\n%s", b)
			}
		})
	}
}

func TestEnvErrors(t *testing.T) {
	tests := []struct {
		desc string
		env  map[string]string
		want string
	}{
		{"misspelt key", map[string]string{"TFCIFAR_RUN_OUTT": "x"}, "env TFCIFAR_RUN_OUTT: not a config key nor one of TFCIFAR_DATA, TFCIFAR_VENV"},
		{"suggestion keeps the index", map[string]string{"TFCIFAR_STAGES_1_TRAIN_EPOCH": "2"}, "(did you mean TFCIFAR_STAGES_1_TRAIN_EPOCHS?)"},
		{"suggestion in a layer", map[string]string{"TFCIFAR_STAGES_0_MODEL_LAYERS_3_FILTER": "2"}, "(did you mean TFCIFAR_STAGES_0_MODEL_LAYERS_3_FILTERS?)"},
		{"misspelt other variable", map[string]string{"TFCIFAR_DAT": "/d"}, "(did you mean TFCIFAR_DATA?)"},
		{"unknown stage name", map[string]string{"TFCIFAR_STAGES_NOPE_TRAIN_EPOCHS": "2"}, "env TFCIFAR_STAGES_NOPE_TRAIN_EPOCHS: not a config key"},
		{"item past the end", map[string]string{"TFCIFAR_STAGES_5_TRAIN_EPOCHS": "2"}, "env TFCIFAR_STAGES_5_TRAIN_EPOCHS: stages.5: no item"},
		{"bad value", map[string]string{"TFCIFAR_STAGES_0_MODEL_LAYERS": "[{type: flatten}"}, "env TFCIFAR_STAGES_0_MODEL_LAYERS: value"},
		{"layer setting of another type", map[string]string{"TFCIFAR_STAGES_0_MODEL_LAYERS_2_UNITS": "3"}, "layers[2] (maxpool2d): units: not a setting of maxpool2d layers"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := Load("", nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// leaves lists the dotted paths of the scalar and list-of-scalar values of
// m, with list indices as path elements.
func leaves(prefix string, v any, out *[]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			leaves(join(prefix, k), e, out)
		}
	case []any:
		if len(t) > 0 {
			if _, ok := t[0].(map[string]any); ok {
				for i, e := range t {
					leaves(join(prefix, strconv.Itoa(i)), e, out)
				}
				return
			}
		}
		*out = append(*out, prefix)
	default:
		*out = append(*out, prefix)
	}
}

// TestPrecedence checks the layers of Load from lowest to highest:
// defaults, file, environment, -set.
func TestPrecedence(t *testing.T) {
	path := writeFile(t, "run: {seed: 3, device: gpu}\n"+minimal)
	tests := []struct {
		desc string
		env  map[string]string
		sets []string
		want func(*Config) bool
	}{
		{"default under the file", nil, nil, func(c *Config) bool { return c.Run.Out == DefaultRun().Out && c.Run.Seed == 3 }},
		{"env over the file", map[string]string{"TFCIFAR_RUN_SEED": "4"}, nil, func(c *Config) bool { return c.Run.Seed == 4 && c.Run.Device == "gpu" }},
		{"set over env", map[string]string{"TFCIFAR_RUN_SEED": "4"}, []string{"run.seed=5"}, func(c *Config) bool { return c.Run.Seed == 5 }},
		{"env over a default", map[string]string{"TFCIFAR_RUN_PROGRESS": "off"}, nil, func(c *Config) bool { return c.Run.Progress == "off" }},
		{"whole section from env", map[string]string{"TFCIFAR_RUN": "{seed: 6}"}, nil, func(c *Config) bool { return c.Run.Seed == 6 }},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := Load(path, tt.sets)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(c) {
				t.Errorf("got run %+v", c.Run)
			}
		})
	}
}
