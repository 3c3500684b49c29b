package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// tree makes dir holding one file, name, with content.
func tree(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestReplaceDirAlwaysPresent replaces a directory many times while another
// goroutine checks that its file is there at every look.
func TestReplaceDirAlwaysPresent(t *testing.T) {
	parent := t.TempDir()
	final := filepath.Join(parent, "model")
	tree(t, final, "saved_model.pb", "0")
	var missing atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := os.Stat(filepath.Join(final, "saved_model.pb")); err != nil {
				missing.Add(1)
			}
		}
	})
	for i := range 200 {
		tmp := filepath.Join(parent, ".model.tmp")
		tree(t, tmp, "saved_model.pb", string(rune('a'+i%26)))
		if err := ReplaceDir(tmp, final); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if n := missing.Load(); n > 0 {
		t.Errorf("the directory was missing at %d looks during replacements", n)
	}
	if got := names(t, parent); !slices.Equal(got, []string{"model"}) {
		t.Errorf("after the replacements the parent holds %v, want only model", got)
	}
	if b, _ := os.ReadFile(filepath.Join(final, "saved_model.pb")); string(b) != string(rune('a'+199%26)) {
		t.Errorf("final holds %q, want the last replacement", b)
	}
}

// TestReplaceDirFallback acts as a filesystem without exchange: the
// replacement goes through .final.old, and RestoreDir puts the old
// directory back after a kill between the two renames.
func TestReplaceDirFallback(t *testing.T) {
	exchange = func(a, b string) error { return &os.LinkError{Op: "renameat2", Old: a, New: b, Err: unix.EINVAL} }
	defer func() {
		exchange = func(a, b string) error {
			return unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
		}
	}()
	parent := t.TempDir()
	final := filepath.Join(parent, "model")
	tmp := filepath.Join(parent, ".model.tmp")
	tree(t, final, "f", "old")
	tree(t, tmp, "f", "new")
	if err := ReplaceDir(tmp, final); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(final, "f")); string(b) != "new" {
		t.Errorf("final holds %q, want new", b)
	}
	if got := names(t, parent); !slices.Equal(got, []string{"model"}) {
		t.Errorf("parent holds %v, want only model", got)
	}

	// A kill after the first rename: only model.old is left.
	if err := os.Rename(final, oldDir(final)); err != nil {
		t.Fatal(err)
	}
	if err := RestoreDir(final); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(final, "f")); string(b) != "new" {
		t.Errorf("restored final holds %q, want the directory that was moved aside", b)
	}
	// A kill after the second rename: .model.old is garbage.
	tree(t, oldDir(final), "f", "older")
	if err := RestoreDir(final); err != nil {
		t.Fatal(err)
	}
	if got := names(t, parent); !slices.Equal(got, []string{"model"}) {
		t.Errorf("parent holds %v, want only model", got)
	}
}

func TestReplaceDirMissingFinal(t *testing.T) {
	parent := t.TempDir()
	tmp := filepath.Join(parent, ".tmp")
	tree(t, tmp, "f", "new")
	if err := ReplaceDir(tmp, filepath.Join(parent, "model")); err != nil {
		t.Fatal(err)
	}
	if got := names(t, parent); !slices.Equal(got, []string{"model"}) {
		t.Errorf("parent holds %v, want only model", got)
	}
}

func TestSetModes(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dir, err := os.MkdirTemp(t.TempDir(), "x-") // 0700
	if err != nil {
		t.Fatal(err)
	}
	tree(t, filepath.Join(dir, "sub"), "f", "x") // 0700 and 0600 under this umask
	if err := SetModes(dir); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o755, filepath.Join(dir, "sub"): 0o755, filepath.Join(dir, "sub", "f"): 0o644} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode().Perm(), err, want)
		}
	}
}

func TestRemoveTemp(t *testing.T) {
	dir := t.TempDir()
	tree(t, filepath.Join(dir, ".model.tmp-1"), "f", "killed")
	tree(t, filepath.Join(dir, ".model.tmp-2"), "f", "in use")
	tree(t, dir, ".report.json.123", "half")
	tree(t, dir, "report.json", "{}")
	tree(t, dir, ".model.keep", "user file")
	unlock, err := LockDir(filepath.Join(dir, ".model.tmp-2"))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := LockDir(filepath.Join(dir, ".model.tmp-2")); err == nil {
		t.Error("a second LockDir of a locked directory succeeded")
	}
	if err := RemoveTemp(dir, ".model.tmp-"); err != nil {
		t.Fatal(err)
	}
	if err := RemoveLeftovers(filepath.Join(dir, "report.json")); err != nil {
		t.Fatal(err)
	}
	if got, want := names(t, dir), []string{".model.keep", ".model.tmp-2", "report.json"}; !slices.Equal(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}
	if err := RemoveTemp(filepath.Join(dir, "missing"), "x"); err != nil {
		t.Errorf("RemoveTemp of a missing dir: %v", err)
	}
}

func TestBuildDir(t *testing.T) {
	t.Run("installs what fill wrote", func(t *testing.T) {
		final := filepath.Join(t.TempDir(), "out")
		err := BuildDir(final, ".build-", func(tmp string) error {
			return os.WriteFile(filepath.Join(tmp, "a"), []byte("x"), 0o600)
		}, os.Rename)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(final, "a"))
		if err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("got %v, %v; want a file of mode 0644", fi, err)
		}
	})
	t.Run("fill fails", func(t *testing.T) {
		parent := t.TempDir()
		final := filepath.Join(parent, "out")
		boom := errors.New("boom")
		if err := BuildDir(final, ".build-", func(string) error { return boom }, os.Rename); !errors.Is(err, boom) {
			t.Errorf("got %v, want %v", err, boom)
		}
		if entries, _ := os.ReadDir(parent); len(entries) != 0 {
			t.Errorf("left %v behind", entries)
		}
	})
	t.Run("install fails", func(t *testing.T) {
		parent := t.TempDir()
		final := filepath.Join(parent, "out")
		if err := os.MkdirAll(filepath.Join(final, "full"), 0o755); err != nil {
			t.Fatal(err)
		}
		err := BuildDir(final, ".build-", func(tmp string) error {
			return os.WriteFile(filepath.Join(tmp, "a"), nil, 0o644)
		}, os.Rename)
		if err == nil {
			t.Fatal("got no error renaming onto a full directory")
		}
		if entries, _ := os.ReadDir(parent); len(entries) != 1 {
			t.Errorf("got %v, want only the old out", entries)
		}
	})
}
