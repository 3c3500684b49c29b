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
var ErrNotFound = errors.New("not found")

// hint tells the user how to point tfcifar at a local copy.
func (lay layout) hint() string {
	return "point tfcifar at a local copy of " + lay.dir +
		" with the flag -data DIR (make run DATA=DIR), the environment variable TFCIFAR_DATA_DIR=DIR or data.dir in the config"
}

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

// Locate100 is Locate for CIFAR-100: dataDir, else
// cacheDir/cifar-100-binary, downloaded there from Official100 when missing
// and download is true.
func Locate100(ctx context.Context, dataDir, cacheDir string, download bool, progress io.Writer) (dir string, err error) {
	return official100.Locate(ctx, dataDir, cacheDir, download, progress)
}

// official100 is the source of Locate100; tests point it at a local server.
var official100 = Official100()

// Locate is the package's Locate, downloading from s (checking with
// Check100 and using cifar-100-binary for a CIFAR-100 archive).
func (s Archive) Locate(ctx context.Context, dataDir, cacheDir string, download bool, progress io.Writer) (dir string, err error) {
	lay := s.layout()
	if dataDir != "" {
		if err := lay.check(dataDir); err != nil {
			return "", err // names the file inside dataDir
		}
		return dataDir, nil
	}
	if cacheDir == "" {
		if cacheDir, err = DefaultCacheDir(); err != nil {
			return "", err
		}
	}
	dir = filepath.Join(cacheDir, lay.dir)
	cerr := lay.check(dir)
	if cerr == nil {
		return dir, nil
	}
	if !download {
		why := ""
		if _, err := os.Stat(dir); err == nil {
			why = " (" + strings.TrimPrefix(cerr.Error(), "cifar: ") + ")"
		}
		return "", fmt.Errorf("cifar: %s %w in %s%s and download is disabled; %s", lay.title, ErrNotFound, dir, why, lay.hint())
	}
	dir, err = s.Download(ctx, cacheDir, progress)
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		return "", fmt.Errorf("%w; instead, download %s by hand (MD5 %s), extract it with tar xzf and %s",
			err, s.URL, s.MD5, lay.hint())
	}
	return dir, nil
}
