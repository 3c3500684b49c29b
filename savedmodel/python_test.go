package savedmodel

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/internal/cifartest"
)

// TestPython loads an export with TensorFlow Python (tf.saved_model.load)
// and checks that its serving_default signature gives the Go probabilities
// on real test images, and that saved_model_cli lists the signature. The
// virtualenv comes from scripts/setup-python.sh.
func TestPython(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the TensorFlow Python virtualenv (scripts/setup-python.sh)")
	}
	root := cifartest.ModuleRoot(t)
	setup := exec.Command("bash", filepath.Join(root, "scripts", "setup-python.sh"))
	setup.Stderr = os.Stderr
	out, err := setup.Output()
	if err != nil {
		t.Fatalf("scripts/setup-python.sh: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	python := lines[len(lines)-1]

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
	for name, v := range files {
		var b bytes.Buffer
		if err := binary.Write(&b, binary.LittleEndian, v); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check := exec.Command(python, filepath.Join(root, "scripts", "interop", "check_savedmodel.py"), dir,
		filepath.Join(tmp, "images.f32"), filepath.Join(tmp, "probabilities.f32"), filepath.Join(tmp, "class_ids.i64"))
	check.Env = append(os.Environ(), "TF_CPP_MIN_LOG_LEVEL=2", "CUDA_VISIBLE_DEVICES=")
	res, err := check.CombinedOutput()
	t.Logf("images: %s\n%s", source, res)
	if err != nil {
		t.Fatalf("check_savedmodel.py: %v", err)
	}
}
