package savedmodel

import (
	"path/filepath"
	"testing"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/pyenv"
)

// preprocessedNet takes raw 0-255 pixels: augmentation, then rescaling to
// [0, 1] and a per-channel normalization, then a small classifier.
func preprocessedNet() config.Network {
	return config.Network{Input: []int{32, 32, 3}, Layers: []config.Layer{
		{Type: config.RandomFlip},
		{Type: config.RandomTranslation, HeightFactor: config.Range{0.1}, WidthFactor: config.Range{0.1}},
		{Type: config.RandomContrast, Factor: config.Range{0.2}},
		{Type: config.Rescaling, Scale: 1.0 / 255},
		{Type: config.Normalization, Mean: config.Values{0.49, 0.48, 0.45}, Variance: config.Values{0.06, 0.059, 0.068}},
		{Type: "conv2d", Filters: 4, Kernel: config.Size{3, 3}, Activation: "relu"},
		{Type: "maxpool2d", Pool: config.Size{4, 4}},
		{Type: "flatten"},
		{Type: "dense", Units: 5, Activation: "softmax"},
	}}
}

// TestPythonPreprocessing loads the export of a network with augmentation,
// rescaling and normalization with TensorFlow Python and checks that it
// gives the probabilities tfcifar computes on the same raw 0-255 pixels,
// to 1e-5: the export carries its preprocessing, and its random layers
// are the identity.
func TestPythonPreprocessing(t *testing.T) {
	const n = 20
	images, source := testImages(t, n)
	net := preprocessedNet().Named()
	values := initialValues(t, net, 5)
	probs, ids := predictInProcess(t, net, values, images, n)
	tmp := t.TempDir()
	dir, err := ExportNetwork(filepath.Join(tmp, "model"), net, values, Options{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(t.Context(), dir, LoadOptions{})
	if err != nil {
		t.Fatalf("Load (allow-list) of an export with preprocessing layers: %v", err)
	}
	m.Close()
	files := map[string]any{"images.f32": images, "probabilities.f32": probs, "class_ids.i64": ids}
	pyenv.WriteFiles(t, tmp, files)
	res := pyenv.Run(t, filepath.Join("interop", "check_savedmodel.py"), dir,
		filepath.Join(tmp, "images.f32"), filepath.Join(tmp, "probabilities.f32"), filepath.Join(tmp, "class_ids.i64"))
	t.Logf("images: %s\n%s", source, res)
}
