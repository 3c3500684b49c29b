package savedmodel

import (
	"path/filepath"
	"testing"

	"github.com/tfcifar/tfcifar/internal/pyenv"
)

// TestPython loads an export with TensorFlow Python (tf.saved_model.load)
// and checks that its serving_default signature gives the Go probabilities
// on real test images, and that saved_model_cli lists the signature. The
// virtualenv comes from scripts/setup-python.sh.
func TestPython(t *testing.T) {
	const n = 50
	images, source := testImages(t, n)
	net := referenceNet()
	values := initialValues(t, net, 11)
	probs, ids := predictInProcess(t, net, values, images, n)
	tmp := t.TempDir()
	dir, err := ExportNetwork(filepath.Join(tmp, "base", "1"), net, values, Options{
		Classes: []string{"airplane", "automobile", "bird", "cat", "deer"}, Seed: 11,
	})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]any{"images.f32": images, "probabilities.f32": probs, "class_ids.i64": ids}
	pyenv.WriteFiles(t, tmp, files)
	res := pyenv.Run(t, filepath.Join("interop", "check_savedmodel.py"), dir,
		filepath.Join(tmp, "images.f32"), filepath.Join(tmp, "probabilities.f32"), filepath.Join(tmp, "class_ids.i64"))
	t.Logf("images: %s\n%s", source, res)
}
