package keras

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/cifartest"
	"github.com/tfcifar/tfcifar/internal/pyenv"
	"github.com/tfcifar/tfcifar/internal/session"
	"github.com/tfcifar/tfcifar/internal/tftest"
	"github.com/tfcifar/tfcifar/internal/tolerance"
)

var (
	modelsOnce sync.Once
	modelsDir  string
)

// models writes the Keras models of scripts/interop/keras_model.py once
// per test binary and returns their directory.
func models(t *testing.T) string {
	t.Helper()
	pyenv.Python(t)
	data := cifartest.RealDir(t)
	modelsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keras-models")
		if err != nil {
			t.Fatal(err)
		}
		pyenv.Run(t, "interop/keras_model.py", "--data", data, "--out", dir)
		modelsDir = dir
	})
	if modelsDir == "" {
		t.Fatal("keras_model.py did not write its models")
	}
	return modelsDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if modelsDir != "" {
		_ = os.RemoveAll(modelsDir)
	}
	os.Exit(code)
}

// readFloats reads raw little-endian float32 values.
func readFloats(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	if err := binary.Read(bytes.NewReader(b), binary.LittleEndian, v); err != nil {
		t.Fatal(err)
	}
	return v
}

// forward runs m's network with its weights on images [n 32 32 3] and
// returns the probabilities, flat.
func forward(t *testing.T, m Model, images []float32) []float32 {
	t.Helper()
	s := op.NewScope()
	g, err := graph.Build(s, m.Network, graph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	assign, err := session.NewAssign(s.SubScope("assign"), g.Variables, m.Weights)
	if err != nil {
		t.Fatal(err)
	}
	sess := tftest.Session(t, s)
	if err := assign.Run(sess, m.Weights); err != nil {
		t.Fatal(err)
	}
	in := m.Network.Input
	x, err := tensor(images, append([]int{len(images) / (in[0] * in[1] * in[2])}, in...))
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.Run(map[tf.Output]*tf.Tensor{g.Images: x}, []tf.Output{g.Probabilities}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := out[0].WriteContentsTo(&buf); err != nil {
		t.Fatal(err)
	}
	v := make([]float32, buf.Len()/4)
	if err := binary.Read(&buf, binary.LittleEndian, v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestForwardMatchesKeras checks that the tfcifar network read from a
// .keras archive predicts what Keras predicts on real CIFAR-10 test
// images, to 1e-5, and that its weights are Keras' bit for bit.
func TestForwardMatchesKeras(t *testing.T) {
	dir := models(t)
	tests := []struct{ desc, model, images, probs string }{
		{"reference conv net", "base.keras", "images.f32", "probabilities.f32"},
		{"reference conv net, model.export", "export", "images.f32", "probabilities.f32"},
		{"reference conv net, tf.saved_model.save", "tfsave", "images.f32", "probabilities.f32"},
		{"functional chain with batchnorm and ReLU", "bn.keras", "bn_images.f32", "bn_probabilities.f32"},
		{"functional chain with batchnorm and ReLU, model.export", "bn_export", "bn_images.f32", "bn_probabilities.f32"},
		{"rescaling of raw pixels", "rescaled.keras", "images.f32", "rescaled_probabilities.f32"},
		{"augmentation and normalization layers", "augmented.keras", "images.f32", "augmented_probabilities.f32"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			m, err := Read(filepath.Join(dir, tt.model))
			if err != nil {
				t.Fatal(err)
			}
			got := forward(t, m, readFloats(t, filepath.Join(dir, tt.images)))
			want := readFloats(t, filepath.Join(dir, tt.probs))
			if len(got) != len(want) || len(want) == 0 {
				t.Fatalf("%d probabilities, want %d", len(got), len(want))
			}
			for i := range want {
				if !tolerance.EqualWithinAbs(float64(got[i]), float64(want[i]), 1e-5) {
					t.Fatalf("probability %d = %g, Keras %g (tolerance 1e-5)", i, got[i], want[i])
				}
			}
		})
	}

	for _, model := range []string{"base.keras", "export", "tfsave"} {
		m, err := Read(filepath.Join(dir, model))
		if err != nil {
			t.Fatal(err)
		}
		sameWeights(t, m, dir)
	}
}

// sameWeights checks that the weights of m are those Keras wrote to
// dir/weights, bit for bit.
func sameWeights(t *testing.T, m Model, dir string) {
	t.Helper()
	params := map[string]string{"0": "kernel", "1": "bias"}
	files, err := filepath.Glob(filepath.Join(dir, "weights", "*.f32"))
	if err != nil || len(files) != 10 {
		t.Fatalf("%d weight files (%v), want 10", len(files), err)
	}
	for _, f := range files {
		layer, k, _ := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".f32"), ".")
		name := layer + "/" + params[k]
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if _, err := m.Weights[name].WriteContentsTo(&got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s differs from Keras' get_weights()", name)
		}
	}
}

// TestReadErrors checks that models tfcifar cannot take are refused with
// an error naming the layer or dataset and what is wanted.
func TestReadErrors(t *testing.T) {
	dir := models(t)
	tests := []struct {
		desc, model string
		want        []string
	}{
		{"unsupported layer", "lstm.keras", []string{`"lstm" (LSTM)`, "not supported", "Conv2D"}},
		{"functional graph that is not a chain", "branch.keras", []string{`"add" (Add)`, "not a plain stack"}},
		{"dataset of the wrong dtype", "float64.keras", []string{`layer "conv2d" (Conv2D) kernel`, "float64", "want float32"}},
		{"dataset of the wrong shape", "shape.keras", []string{`layer "dense" (Dense) bias`, "shape [7], want [128]"}},
		{"SavedModel with an LSTM", "lstm_export", []string{"serving function: node", "op not supported in a Keras SavedModel", ".keras archive"}},
		{"a directory that is not a SavedModel", "export/variables", []string{"saved_model.pb"}},
	}
	damaged := func(desc string, change func(dir string) error, want ...string) {
		t.Helper()
		copied := filepath.Join(t.TempDir(), "export")
		if err := os.CopyFS(copied, os.DirFS(filepath.Join(dir, "export"))); err != nil {
			t.Fatal(err)
		}
		if err := change(copied); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct {
			desc, model string
			want        []string
		}{desc, copied, want})
	}
	damaged("SavedModel without variables", func(d string) error { return os.Remove(filepath.Join(d, "variables", "variables.index")) },
		"no variables", "variables.index")
	damaged("SavedModel with truncated variables", func(d string) error {
		return os.Truncate(filepath.Join(d, "variables", "variables.data-00000-of-00001"), 100)
	}, "export")
	damaged("corrupt saved_model.pb", func(d string) error {
		return os.WriteFile(filepath.Join(d, "saved_model.pb"), []byte("\x0a\xff\xff"), 0o600)
	},
		"saved_model.pb is corrupt")
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			path := tt.model
			if !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
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
