package cifar

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/tfcifar/tfcifar/internal/treetest"
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
		treetest.CheckModes(t, dir)
	}
}
