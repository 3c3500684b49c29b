package savedmodel

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/tfcifar/tfcifar/internal/treetest"
)

// TestExportRefusesForeignDirs checks that Export replaces nothing but an
// earlier tfcifar export (or an empty directory), and leaves what it
// refuses exactly as it was.
func TestExportRefusesForeignDirs(t *testing.T) {
	net := smallNet(3)
	values := initialValues(t, net, 1)
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		desc  string
		setup func(t *testing.T, dir string) // makes the target dir
		want  []string
	}{
		{"user dir", func(t *testing.T, dir string) { write(filepath.Join(dir, "notes.txt"), "mine") }, []string{"notes.txt", "not part of a tfcifar export"}},
		{"user file", func(t *testing.T, dir string) { write(dir, "mine") }, []string{"not a directory"}},
		{"symlink to a dir", func(t *testing.T, dir string) {
			other := dir + "-target"
			write(filepath.Join(other, "notes.txt"), "mine")
			if err := os.Symlink(other, dir); err != nil {
				t.Fatal(err)
			}
		}, []string{"symbolic link"}},
		{"other SavedModel", func(t *testing.T, dir string) {
			write(filepath.Join(dir, "saved_model.pb"), "x")
			write(filepath.Join(dir, "variables", "variables.index"), "x")
		}, []string{"no assets/classes.txt"}},
		{"export with a user file added", func(t *testing.T, dir string) {
			if _, err := ExportNetwork(dir, net, values, Options{}); err != nil {
				t.Fatal(err)
			}
			write(filepath.Join(dir, "README"), "mine")
		}, []string{"README"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "m")
			tc.setup(t, dir)
			before := snapshot(t, filepath.Dir(dir))
			_, err := ExportNetwork(dir, net, values, Options{Classes: []string{"x", "y", "z"}})
			wantErr(t, err, append(tc.want, dir)...)
			if after := snapshot(t, filepath.Dir(dir)); !maps.Equal(before, after) {
				t.Errorf("a refused export changed the directory:\nbefore %v\nafter  %v", before, after)
			}
			if CheckTarget(dir) == nil {
				t.Error("CheckTarget accepts the directory Export refused")
			}
		})
	}
	// An empty directory and a missing one are fine.
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{empty, filepath.Join(t.TempDir(), "new", "1")} {
		if _, err := ExportNetwork(dir, net, values, Options{}); err != nil {
			t.Errorf("export to %s: %v", dir, err)
		}
	}
}

// snapshot maps every path under root to its content ("dir" for dirs,
// "-> target" for links).
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(path)
			out[path] = "-> " + l
		case fi.IsDir():
			out[path] = "dir"
		default:
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out[path] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestExportModes checks that an export is readable by other users whatever
// the umask: directories 0755, files 0644.
func TestExportModes(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dir, _ := export(t)
	treetest.CheckModes(t, dir)
}

// TestRemoveLeftovers plays what a kill during an export leaves: a
// temporary directory, and on a filesystem without exchange the old export
// moved aside with nothing in its place.
func TestRemoveLeftovers(t *testing.T) {
	dir, _ := export(t)
	parent := filepath.Dir(dir)
	tmp, err := os.MkdirTemp(parent, tempPrefix(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "saved_model.pb"), []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dir, filepath.Join(parent, ".m.old")); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(parent, "m.tmp-user")
	if err := os.WriteFile(keep, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := RemoveLeftovers(dir); err != nil {
		t.Fatal(err)
	}
	if got, want := entries(t, parent), []string{"m", "m.tmp-user"}; !slices.Equal(got, want) {
		t.Errorf("after RemoveLeftovers %s holds %v, want %v", parent, got, want)
	}
	if _, err := ReadMeta(dir); err != nil {
		t.Errorf("the export moved aside was not put back: %v", err)
	}
}
