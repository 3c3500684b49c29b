package cifar

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestInstalledModes checks that a downloaded or saved dataset is readable
// by other users whatever the umask: directories 0755, files 0644.
func TestInstalledModes(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	want := fakeDataset(12, 4)
	serve(t, tarGz(t, datasetEntries(t, want)), "")
	downloaded, err := Download(context.Background(), filepath.Join(t.TempDir(), "cache"), nil)
	if err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(t.TempDir(), "saved")
	if err := Save(saved, want); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{downloaded, saved} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
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
				t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
