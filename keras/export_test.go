package keras

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/cifartest"
	"github.com/tfcifar/tfcifar/internal/pyenv"
	"github.com/tfcifar/tfcifar/internal/tftest"
	"github.com/tfcifar/tfcifar/keras/h5"
	"github.com/tfcifar/tfcifar/savedmodel"
)

// everyLayerNet uses every layer type, a frozen layer, a flat batchnorm, a
// flat normalization and a head without softmax. Its augmentations take
// raw 0-255 pixels, as their default value_range assumes.
func everyLayerNet() config.Network {
	no := false
	return config.Network{Input: []int{32, 32, 3}, Layers: []config.Layer{
		{Type: config.RandomFlip, Mode: config.Horizontal},
		{Type: config.RandomTranslation, HeightFactor: config.Range{0.1}, WidthFactor: config.Range{-0.2, 0.1}, FillMode: config.Constant, FillValue: 3},
		{Type: config.RandomBrightness, Factor: config.Range{0.2}},
		{Type: config.RandomContrast, Factor: config.Range{0.1, 0.3}},
		{Type: config.Rescaling, Scale: 1 / 127.5, Offset: -1},
		{Type: config.Normalization, Mean: config.Values{0.1, -0.2, 0.05}, Variance: config.Values{0.3, 0.25, 0.4}},
		{Type: config.ZeroPadding2D, Pad: config.Size{1, 2}},
		{Type: config.Conv2D, Filters: 4, Kernel: config.Size{3, 3}, Strides: config.Size{2, 2}, Padding: config.Same, UseBias: &no},
		{Type: config.BatchNormalization},
		{Type: config.Activation, Activation: config.Tanh},
		{Type: config.AveragePooling2D, Pool: config.Size{3, 3}, Strides: config.Size{2, 2}, Padding: config.Same},
		{Type: config.Conv2D, Name: "frozen_conv", Filters: 6, Kernel: config.Size{3, 3}, Activation: config.ReLU, Trainable: &no},
		{Type: config.MaxPooling2D, Pool: config.Size{3, 3}, Strides: config.Size{1, 1}},
		{Type: config.GlobalAveragePooling2D},
		{Type: config.Dropout, Rate: 0.3},
		{Type: config.Dense, Units: 8, Activation: config.Sigmoid},
		{Type: config.Normalization, Name: "flat_normalization", Mean: config.Values{0.5}, Variance: config.Values{0.01}},
		{Type: config.BatchNormalization, Momentum: 0.9, Epsilon: 0.01},
		{Type: config.Flatten},
		{Type: config.Dense, Units: 5},
	}}
}

// reusedNet is the reference network with its first two layers frozen as
// a transfer network freezes reused layers: network.yaml does not record
// it, the export's object graph (trainable_variables) does.
func reusedNet() config.Network {
	net := config.Default().Stages[0].Model
	net.Layers = slices.Clone(net.Layers)
	net.Layers[0].Frozen, net.Layers[1].Frozen = true, true
	return net
}

// seededWeights builds net with seed and returns its initial variable
// values, with batchnorm statistics moved away from 0 and 1 so that the
// test sees them used.
func seededWeights(t *testing.T, net config.Network, seed int64) graph.Weights {
	t.Helper()
	s := op.NewScope()
	m, err := graph.Build(s, net, graph.Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	var reads []tf.Output
	var inits []*tf.Operation
	for _, v := range m.Variables {
		r := v.Read
		switch {
		case strings.HasSuffix(v.Name, "/moving_mean"), strings.HasSuffix(v.Name, "/beta"):
			r = op.Sin(s.SubScope("shift"), op.Add(s.SubScope("shift"), r, op.Cast(s.SubScope("shift"), op.Range(s.SubScope("shift"),
				op.Const(s.SubScope("shift"), int32(0)), op.Const(s.SubScope("shift"), int32(v.Shape[0])), op.Const(s.SubScope("shift"), int32(1))), tf.Float)))
		case strings.HasSuffix(v.Name, "/moving_variance"), strings.HasSuffix(v.Name, "/gamma"):
			r = op.Add(s.SubScope("spread"), r, op.Const(s.SubScope("spread"), float32(0.5)))
		}
		reads = append(reads, r)
		inits = append(inits, v.Init)
	}
	sess := tftest.Session(t, s)
	if _, err := sess.Run(nil, nil, inits); err != nil {
		t.Fatal(err)
	}
	out, err := sess.Run(nil, reads, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := graph.Weights{}
	for i, v := range m.Variables {
		w[v.Name] = out[i]
	}
	return w
}

// testImages writes the first n CIFAR-10 test images as raw little-endian
// float32 pixels into dir and returns the file.
func testImages(t *testing.T, dir string, n int) string {
	t.Helper()
	f, err := os.Open(filepath.Join(cifartest.RealDir(t), "test_batch.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n*cifar.RecordSize)
	if _, err := io.ReadFull(f, b); err != nil {
		t.Fatal(err)
	}
	set, err := cifar.ReadRecords("test_batch.bin", b)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, len(set.Images))
	for i, p := range set.Images {
		x[i] = float32(p)
	}
	var raw bytes.Buffer
	if err := binary.Write(&raw, binary.LittleEndian, x); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "images.f32")
	if err := os.WriteFile(name, raw.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestReadRefusesTfcifarExport checks that Read, given a tfcifar export
// (which has a TF2 object graph as Keras' exports do), says what it is and
// how to reuse it.
func TestReadRefusesTfcifarExport(t *testing.T) {
	net := config.Default().Stages[0].Model
	dir, err := savedmodel.ExportNetwork(filepath.Join(t.TempDir(), "model"), net, seededWeights(t, net, 3), savedmodel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Read(dir)
	if err == nil || !strings.Contains(err.Error(), "is a tfcifar export, not a Keras SavedModel") ||
		!strings.Contains(err.Error(), "from: {savedmodel: "+dir+"}") {
		t.Errorf("Read of a tfcifar export: %v, want it named a tfcifar export to reuse with from: savedmodel", err)
	}
}

// TestExportKeras writes tfcifar exports as .keras archives and checks
// with Keras (scripts/interop/check_keras.py) that load_model opens them
// and predicts what the SavedModel serves on real CIFAR-10 test images.
func TestExportKeras(t *testing.T) {
	cases := []struct {
		desc   string
		net    config.Network
		scale  float64
		frozen []string
	}{
		{"reference network with reused frozen layers, pixels scaled by 1/255", reusedNet(), 1.0 / 255, []string{"conv2d", "conv2d_1"}},
		{"every layer type, a frozen layer, raw pixels", everyLayerNet(), 1, []string{"frozen_conv"}},
	}
	tmp := t.TempDir()
	images := testImages(t, tmp, 64)
	args := []string{images}
	for i, c := range cases {
		dir, err := savedmodel.ExportNetwork(filepath.Join(tmp, fmt.Sprint("model", i)), c.net, seededWeights(t, c.net, 7), savedmodel.Options{Scale: c.scale, Seed: 7})
		if err != nil {
			t.Fatalf("%s: %v", c.desc, err)
		}
		v, err := savedmodel.ReadVariables(dir, savedmodel.LoadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", c.desc, err)
		}
		out := dir + ".keras"
		if err := Export(out, v); err != nil {
			t.Fatalf("%s: %v", c.desc, err)
		}
		frozen := "-"
		if len(c.frozen) > 0 {
			frozen = strings.Join(c.frozen, ",")
		}
		args = append(args, "--model", dir, out, frozen)
	}
	// One run of Python for all cases: TensorFlow and Keras take seconds to start.
	res := pyenv.Run(t, filepath.Join("interop", "check_keras.py"), args...)
	t.Log(res)
	if !strings.Contains(res, "\nOK\n") {
		t.Errorf("check_keras.py did not report OK:\n%s", res)
	}
}

// TestExportArchiveLayout checks the files of an archive and the layers
// of its config: a Rescaling layer for a scaled export, a softmax
// Activation after a head without softmax, and no dropout seed weight.
func TestExportArchiveLayout(t *testing.T) {
	net := everyLayerNet()
	w := seededWeights(t, net, 3)
	var b bytes.Buffer
	saved := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := ExportArchive(&b, savedmodel.Variables{Meta: savedmodel.Meta{Network: net, Scale: 0.5}, Weights: w}, saved); err != nil {
		t.Fatal(err)
	}
	z, err := zip.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	files := map[string][]byte{}
	for _, f := range z.File {
		names = append(names, f.Name)
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], err = io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
	}
	if got, want := strings.Join(names, " "), "metadata.json config.json model.weights.h5"; got != want {
		t.Errorf("archive files %q, want %q", got, want)
	}
	if got, want := string(files[metadataFile]), `{"date_saved":"2026-01-02@03:04:05","keras_version":"`+ExportVersion+`"}`; got != want {
		t.Errorf("metadata.json %s, want %s", got, want)
	}
	var cfg struct {
		Config struct {
			Layers []struct {
				ClassName string         `json:"class_name"`
				Config    map[string]any `json:"config"`
			} `json:"layers"`
		} `json:"config"`
	}
	if err := json.Unmarshal(files[configFile], &cfg); err != nil {
		t.Fatal(err)
	}
	var classes []string
	for _, l := range cfg.Config.Layers {
		classes = append(classes, l.ClassName)
	}
	want := "InputLayer Rescaling RandomFlip RandomTranslation RandomBrightness RandomContrast Rescaling Normalization " +
		"ZeroPadding2D Conv2D BatchNormalization Activation AveragePooling2D Conv2D MaxPooling2D " +
		"GlobalAveragePooling2D Dropout Dense Normalization BatchNormalization Flatten Dense Activation"
	if got := strings.Join(classes, " "); got != want {
		t.Fatalf("layers\n%s\nwant\n%s", got, want)
	}
	// The preprocessing layers' settings as Keras writes them: factors as
	// [lower, upper], statistics per channel in the config, no seed.
	settings := []struct {
		layer int
		key   string
		want  string
	}{
		{2, "mode", `"horizontal"`},
		{2, "seed", `null`},
		{3, "height_factor", `[-0.1,0.1]`},
		{3, "width_factor", `[-0.2,0.1]`},
		{3, "fill_mode", `"constant"`},
		{3, "fill_value", `3`},
		{3, "interpolation", `"bilinear"`},
		{4, "factor", `[-0.2,0.2]`},
		{4, "value_range", `[0,255]`},
		{5, "factor", `[0.1,0.3]`},
		{1, "name", `"rescaling_1"`}, // the export's scale, after the network's own name
		{6, "name", `"rescaling"`},
		{6, "offset", `-1`},
		{7, "axis", `[-1]`},
		{7, "mean", `[0.10000000149011612,-0.20000000298023224,0.05000000074505806]`},
		{7, "variance", `[0.30000001192092896,0.25,0.4000000059604645]`},
		{18, "mean", `[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]`},
		{18, "trainable", `true`},
	}
	for _, c := range settings {
		got, err := json.Marshal(cfg.Config.Layers[c.layer].Config[c.key])
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("%s %s: %s, want %s", classes[c.layer], c.key, got, c.want)
		}
	}
	if got := cfg.Config.Layers[6].Config["scale"]; got != 1/127.5 {
		t.Errorf("rescaling scale %v, want %v", got, 1/127.5)
	}
	// Statistics given in the config are no weights: Keras would refuse
	// an archive holding them.
	h, err := h5.NewReader(weightsFile, bytes.NewReader(files[weightsFile]), int64(len(files[weightsFile])))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, group := range []string{"normalization", "normalization_1", "random_flip", "random_translation", "random_brightness", "random_contrast", "rescaling_1"} {
		members, err := h.Members("layers/" + group + "/vars")
		if err != nil || len(members) != 0 {
			t.Errorf("layers/%s/vars: members %v (%v), want an empty group", group, members, err)
		}
	}
	if got := cfg.Config.Layers[1].Config["scale"]; got != 0.5 {
		t.Errorf("Rescaling scale %v, want 0.5", got)
	}
	if got := cfg.Config.Layers[len(classes)-1].Config["activation"]; got != "softmax" {
		t.Errorf("last layer's activation %v, want softmax", got)
	}
	if bytes.Contains(files[weightsFile], []byte("seed")) {
		t.Error("model.weights.h5 holds a dropout seed")
	}
}

// TestExportErrors checks that what Keras cannot hold is refused, naming
// the layer or variable.
func TestExportErrors(t *testing.T) {
	net := everyLayerNet()
	w := seededWeights(t, net, 3)
	missing := w.Clone()
	delete(missing, "dense/kernel")
	reshaped := w.Clone()
	reshaped["dense/bias"] = tftest.Tensor(t, []float32{1, 2})
	noMean := w.Clone()
	delete(noMean, "normalization/mean")
	nanVariance := w.Clone()
	nanVariance["flat_normalization/variance"] = tftest.Tensor(t, []float32{1, 1, float32(math.NaN()), 1, 1, 1, 1, 1})
	negVariance := w.Clone()
	negVariance["normalization/variance"] = tftest.Tensor(t, []float32{1, -1, 1})
	cases := []struct {
		desc string
		v    savedmodel.Variables
		want string
	}{
		{"missing variable", savedmodel.Variables{Meta: savedmodel.Meta{Network: net}, Weights: missing}, `layer "dense": the export has no variable dense/kernel`},
		{"wrong shape", savedmodel.Variables{Meta: savedmodel.Meta{Network: net}, Weights: reshaped}, `layer "dense": variable dense/bias: want a float32 tensor of shape [8]`},
		{"missing statistic", savedmodel.Variables{Meta: savedmodel.Meta{Network: net}, Weights: noMean}, `layer "normalization": the export has no variable normalization/mean`},
		{"NaN variance", savedmodel.Variables{Meta: savedmodel.Meta{Network: net}, Weights: nanVariance}, `layer "flat_normalization": variable flat_normalization/variance: value 2 is NaN`},
		{"negative variance", savedmodel.Variables{Meta: savedmodel.Meta{Network: net}, Weights: negVariance}, `layer "normalization": variable normalization/variance: value 1 is -1`},
		{"invalid network", savedmodel.Variables{Meta: savedmodel.Meta{Network: config.Network{Input: []int{32, 32, 3}}}}, "layers"},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			err := ExportArchive(io.Discard, c.v, time.Now())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	if _, err := layerSettings(config.Layer{Type: "capsule", Name: "caps"}); err == nil || !strings.Contains(err.Error(), `layer "caps": type "capsule" has no Keras layer`) {
		t.Errorf("unknown layer type: got %v", err)
	}
}

// TestWeightsPath checks the groups Keras keeps layer weights in, as
// keras.src.utils.naming.to_snake_case and saving_lib number them.
func TestWeightsPath(t *testing.T) {
	used := map[string]int{}
	var got []string
	for _, class := range []string{"Rescaling", "ZeroPadding2D", "Conv2D", "MaxPooling2D", "Conv2D", "AveragePooling2D",
		"GlobalAveragePooling2D", "BatchNormalization", "Conv2D", "Dense", "InputLayer"} {
		got = append(got, weightsPath(class, used))
	}
	want := "rescaling zero_padding2d conv2d max_pooling2d conv2d_1 average_pooling2d global_average_pooling2d batch_normalization conv2d_2 dense input_layer"
	if strings.Join(got, " ") != want {
		t.Errorf("paths\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
}

// TestFactorBounds checks that a single-number factor is written as the
// range tfcifar draws from: [-f, f] for translation and brightness, [f, f]
// for contrast (which Keras would read as [0, f]).
func TestFactorBounds(t *testing.T) {
	cases := []struct {
		l         config.Layer
		key, want string
	}{
		{config.Layer{Type: config.RandomContrast, Factor: config.Range{0.2}, ValueRange: []float64{0, 1}}, "factor", "[0.2,0.2]"},
		{config.Layer{Type: config.RandomContrast, Factor: config.Range{0, 0.5}, ValueRange: []float64{0, 1}}, "factor", "[0,0.5]"},
		{config.Layer{Type: config.RandomBrightness, Factor: config.Range{0.3}, ValueRange: []float64{0, 1}}, "factor", "[-0.3,0.3]"},
		{config.Layer{Type: config.RandomBrightness, Factor: config.Range{0.3}, ValueRange: []float64{0, 1}}, "value_range", "[0,1]"},
		{config.Layer{Type: config.RandomTranslation, HeightFactor: config.Range{0.25}, WidthFactor: config.Range{0, 0.5}}, "height_factor", "[-0.25,0.25]"},
		{config.Layer{Type: config.RandomTranslation, HeightFactor: config.Range{0.25}, WidthFactor: config.Range{0, 0.5}}, "width_factor", "[0,0.5]"},
	}
	for _, c := range cases {
		s, err := layerSettings(c.l)
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(s[c.key])
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("%s %s: %s, want %s", c.l.Type, c.key, got, c.want)
		}
	}
}
