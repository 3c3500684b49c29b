package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// exchange swaps the directories a and b in one step; a variable so tests
// can act as a filesystem that refuses it.
var exchange = func(a, b string) error {
	return unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
}

// ReplaceDir puts the complete directory tmp in place of final, which may
// be missing, and removes the old final. Where the filesystem can, the two
// are exchanged in one step, so that final names the old or the new
// directory at every instant. Elsewhere the old final is first moved aside
// to "."+base+".old" next to it (see RestoreDir) and put back if the second
// rename fails.
func ReplaceDir(tmp, final string) error {
	if _, err := os.Lstat(final); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(tmp, final)
	} else if err != nil {
		return err
	}
	err := exchange(tmp, final)
	if err == nil {
		return os.RemoveAll(tmp) // now the old directory
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("replace %s: %w", final, err)
	}
	old := oldDir(final)
	if err := os.RemoveAll(old); err != nil {
		return err
	}
	if err := os.Rename(final, old); err != nil {
		return fmt.Errorf("move %s aside: %w", final, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		if rerr := os.Rename(old, final); rerr != nil {
			return fmt.Errorf("%w (old directory kept at %s: %w)", err, old, rerr)
		}
		return err
	}
	return os.RemoveAll(old)
}

// RestoreDir undoes a ReplaceDir cut short between its two renames on a
// filesystem without exchange: when final is missing and the old directory
// moved aside exists, it is put back; when both exist, the old one is
// removed.
func RestoreDir(final string) error {
	old := oldDir(final)
	if _, err := os.Lstat(old); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := os.Lstat(final); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(old, final)
	}
	return os.RemoveAll(old)
}

// oldDir is where ReplaceDir moves final aside.
func oldDir(final string) string {
	return filepath.Join(filepath.Dir(final), "."+filepath.Base(final)+".old")
}

// SetModes gives the directories under root (root included) mode 0755 and
// the regular files mode 0644, whatever the umask or os.MkdirTemp chose,
// so that a directory about to be renamed into place is readable by other
// users like any other output.
func SetModes(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.Chmod(path, 0o755)
		case d.Type().IsRegular():
			return os.Chmod(path, 0o644)
		}
		return nil
	})
}

// RemoveLeftovers removes the temporary files that Write leaves next to
// path when its process is killed ("."+base+".*").
func RemoveLeftovers(path string) error {
	return RemoveTemp(filepath.Dir(path), "."+filepath.Base(path)+".")
}

// RemoveTemp removes the entries of dir whose names start with prefix: the
// temporary files and directories a killed process left. Directories that
// a live process holds with LockDir are kept. A missing dir has none.
func RemoveTemp(dir, prefix string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			unlock, err := LockDir(p)
			if err != nil {
				continue // in use, or gone meanwhile
			}
			errs = append(errs, os.RemoveAll(p))
			unlock()
			continue
		}
		errs = append(errs, os.Remove(p))
	}
	return errors.Join(errs...)
}

// LockDir takes an exclusive lock on the directory dir (flock), without
// waiting: it fails when another process holds it. unlock releases it; a
// killed process releases it too.
func LockDir(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close() // the lock error is the one to report
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { _ = f.Close() }, nil // closing releases the lock
}

// BuildDir builds the directory final out of sight: it makes a temporary
// directory next to final (named prefix followed by random characters),
// has fill write into it, gives it the modes of SetModes and hands it to
// install (os.Rename, which fails when final exists, or ReplaceDir). The
// temporary directory is removed whatever happens, a no-op once installed.
func BuildDir(final, prefix string, fill func(tmp string) error, install func(tmp, final string) error) error {
	tmp, err := os.MkdirTemp(filepath.Dir(final), prefix+"*")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }() // best effort; gone once installed
	if err := fill(tmp); err != nil {
		return err
	}
	if err := SetModes(tmp); err != nil {
		return err
	}
	return install(tmp, final)
}
