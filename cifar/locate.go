package cifar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotFound is returned (wrapped) by Locate when no dataset is available
// and downloading is disabled.
var ErrNotFound = errors.New("CIFAR-10 not found")

// localHint tells the user how to point tfcifar at a local copy.
const localHint = "point tfcifar at a local copy of " + DirName +
	" with the flag -data DIR (make run DATA=DIR), the environment variable TFCIFAR_DATA_DIR=DIR or data.dir in the config"

// DefaultCacheDir returns the default cache directory, os.UserCacheDir()/tfcifar.
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cifar: cache dir: %w", err)
	}
	return filepath.Join(dir, "tfcifar"), nil
}

// Locate returns a directory holding a checked CIFAR-10 binary dataset.
// If dataDir is set it must hold the dataset (checked with Check) and is
// returned as is. Otherwise it looks in cacheDir/cifar-10-batches-bin
// (cacheDir defaults to DefaultCacheDir) and, if the data is not there and
// download is true, downloads it there (see Download). When the data can be
// neither found nor downloaded the error says how to point tfcifar at a
// local copy; without download it wraps ErrNotFound.
func Locate(ctx context.Context, dataDir, cacheDir string, download bool, progress io.Writer) (dir string, err error) {
	return official.Locate(ctx, dataDir, cacheDir, download, progress)
}

// Locate is the package's Locate, downloading from s.
func (s Archive) Locate(ctx context.Context, dataDir, cacheDir string, download bool, progress io.Writer) (dir string, err error) {
	if dataDir != "" {
		if err := Check(dataDir); err != nil {
			return "", err // names the file inside dataDir
		}
		return dataDir, nil
	}
	if cacheDir == "" {
		if cacheDir, err = DefaultCacheDir(); err != nil {
			return "", err
		}
	}
	dir = filepath.Join(cacheDir, DirName)
	cerr := Check(dir)
	if cerr == nil {
		return dir, nil
	}
	if !download {
		why := ""
		if _, err := os.Stat(dir); err == nil {
			why = " (" + strings.TrimPrefix(cerr.Error(), "cifar: ") + ")"
		}
		return "", fmt.Errorf("cifar: %w in %s%s and download is disabled; %s", ErrNotFound, dir, why, localHint)
	}
	dir, err = s.Download(ctx, cacheDir, progress)
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		return "", fmt.Errorf("%w; instead, download %s by hand (MD5 %s), extract it with tar xzf and %s",
			err, s.URL, s.MD5, localHint)
	}
	return dir, nil
}
