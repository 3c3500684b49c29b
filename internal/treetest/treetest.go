// Package treetest checks directory trees in tests.
package treetest

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// CheckModes reports every directory under root (root included) whose
// permissions are not 0755 and every file whose are not 0644: the modes
// tfcifar gives what it installs, whatever the umask.
func CheckModes(tb testing.TB, root string) {
	tb.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o644)
		if d.IsDir() {
			want = 0o755
		}
		if fi.Mode().Perm() != want {
			tb.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}
