package pyenv

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tfcifar/tfcifar/internal/cifartest"
)

var (
	once   sync.Once
	python string
	setErr error
	setOut []byte
)

// Python returns the virtualenv's interpreter, creating the virtualenv on
// first use. Under -short it skips tb: the checks need the virtualenv,
// which make test always builds.
func Python(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs the Python virtualenv (scripts/setup-python.sh)")
	}
	root := cifartest.ModuleRoot(tb)
	once.Do(func() {
		setup := exec.Command("bash", filepath.Join(root, "scripts", "setup-python.sh"))
		setup.Stderr = os.Stderr
		setOut, setErr = setup.Output()
		lines := strings.Split(strings.TrimSpace(string(setOut)), "\n")
		python = lines[len(lines)-1]
	})
	if setErr != nil {
		tb.Fatalf("scripts/setup-python.sh: %v\n%s", setErr, setOut)
	}
	return python
}

// Run runs the script scripts/<script> of the module with args in the
// virtualenv, quiet about TensorFlow's start-up and without GPUs, and
// returns its combined output; a failing script fails tb with that output.
func Run(tb testing.TB, script string, args ...string) string {
	tb.Helper()
	py := Python(tb)
	cmd := exec.Command(py, append([]string{filepath.Join(cifartest.ModuleRoot(tb), "scripts", script)}, args...)...)
	cmd.Env = append(os.Environ(), "TF_CPP_MIN_LOG_LEVEL=2", "CUDA_VISIBLE_DEVICES=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("%s: %v\n%s", script, err, out)
	}
	return string(out)
}

// WriteFiles writes each value of files (a slice of fixed-size numbers) to
// dir/<name> as raw little-endian bytes, for a script to read with numpy's
// fromfile; a failure fails tb.
func WriteFiles(tb testing.TB, dir string, files map[string]any) {
	tb.Helper()
	for name, v := range files {
		var b bytes.Buffer
		if err := binary.Write(&b, binary.LittleEndian, v); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}
