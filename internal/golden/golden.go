package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Want returns the contents of the golden file at path, first rewriting it
// with got (creating its directory) when the tests run with -update. A
// missing file fails the test with a hint to run with -update.
func Want(t testing.TB, path string, got []byte) []byte {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	return want
}

// Check fails the test unless got equals the golden file at path byte for
// byte; under -update it rewrites the file first. got is printed in the
// failure message, so Check suits text; compare binary files through Want.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if want := Want(t, path, got); !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update after checking it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
