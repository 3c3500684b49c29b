package savedmodel

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tfcifar/tfcifar/internal/atomicfile"
	"github.com/tfcifar/tfcifar/internal/closer"
)

// exportFiles are the entries of an export directory as Export writes it.
var exportFiles = map[string]bool{graphFile: true, fingerprintFile: true, variablesDir: true, assetsDir: true}

// CheckTarget reports whether Export may write to dir: it may when dir does
// not exist, is an empty directory or holds a tfcifar export
// (saved_model.pb, variables/, assets/classes.txt and assets/network.yaml,
// nothing else). Anything else is refused with an error naming dir and what
// is in the way, so that an export never replaces files it did not write.
func CheckTarget(dir string) error {
	if err := checkTarget(dir); err != nil {
		return fmt.Errorf("savedmodel: export %s: %w", dir, err)
	}
	return nil
}

func checkTarget(dir string) error {
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return errors.New("is a symbolic link; an export replaces only a directory holding an earlier tfcifar export")
	case !fi.IsDir():
		return errors.New("exists and is not a directory; an export replaces only an earlier tfcifar export")
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer closer.Discard(f)
	entries, err := f.ReadDir(len(exportFiles) + 1) // a few are enough to judge
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	for _, e := range entries {
		if !exportFiles[e.Name()] {
			return fmt.Errorf("holds %s, which is not part of a tfcifar export; refusing to replace it (remove it or choose another export.dir)", e.Name())
		}
	}
	for _, name := range []string{graphFile, filepath.Join(assetsDir, classesAsset), filepath.Join(assetsDir, networkAsset)} {
		if fi, err := os.Lstat(filepath.Join(dir, name)); err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("is not a tfcifar export (no %s); refusing to replace it (remove it or choose another export.dir)", name)
		}
	}
	return nil
}

// tempPrefix is the name prefix of Export's temporary directories for dir.
func tempPrefix(dir string) string { return "." + filepath.Base(dir) + ".tmp-" }

// RemoveLeftovers cleans what exports to dir cut short by a kill left next
// to it: temporary directories no running export holds, and the old export
// moved aside on filesystems without atomic exchange (put back when dir is
// missing).
func RemoveLeftovers(dir string) error {
	dir = filepath.Clean(dir)
	if err := atomicfile.RestoreDir(dir); err != nil {
		return fmt.Errorf("savedmodel: %w", err)
	}
	if err := atomicfile.RemoveTemp(filepath.Dir(dir), tempPrefix(dir)); err != nil {
		return fmt.Errorf("savedmodel: %w", err)
	}
	return nil
}
