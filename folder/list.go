package folder

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Limits that bound what Load accepts.
const (
	// MaxClasses is the most class folders a dataset may have (labels
	// are bytes).
	MaxClasses = 256
	// MaxFiles is the most image files a folder may hold.
	MaxFiles = 1 << 20
	// MaxSetBytes caps the memory of the decoded images (files x height x
	// width x 3).
	MaxSetBytes = 8 << 30
)

// extensions are the file name endings Load reads, as Keras' ALLOWLIST_FORMATS.
var extensions = []string{".bmp", ".gif", ".jpeg", ".jpg", ".png"}

// File is one image file of a folder.
type File struct {
	Path    string // relative to the folder, with "/" separators
	Label   uint8  // index into the folder's classes
	Size    int64
	ModTime time.Time
}

// List returns the class names of the folder dir (its subfolders, sorted)
// and its image files, class by class, each class's files in sorted path
// order. It fails, naming the folder, when dir has fewer than two class
// folders or more than MaxClasses, when a class folder holds no image
// file, or when there are more than MaxFiles files.
func List(dir string) (classes []string, files []File, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("folder: %w", err)
	}
	for _, e := range entries {
		if isDir(dir, e) {
			classes = append(classes, e.Name())
		}
	}
	slices.Sort(classes)
	switch {
	case len(classes) < 2:
		return nil, nil, fmt.Errorf("folder: %s has %d class folders, want at least 2 (one folder per class, images inside: %s/<class>/<image>)", dir, len(classes), dir)
	case len(classes) > MaxClasses:
		return nil, nil, fmt.Errorf("folder: %s has %d class folders, over the cap of %d", dir, len(classes), MaxClasses)
	}
	for label, class := range classes {
		n := len(files)
		files, err = walkClass(dir, class, uint8(label), files)
		if err != nil {
			return nil, nil, err
		}
		if len(files) == n {
			return nil, nil, fmt.Errorf("folder: class folder %s holds no image files (want %s)", filepath.Join(dir, class), strings.Join(extensions, ", "))
		}
	}
	return classes, files, nil
}

// isDir reports whether the entry e of dir is a folder (or a link to one).
func isDir(dir string, e fs.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, e.Name()))
	return err == nil && fi.IsDir()
}

// walkClass appends the image files under dir/class, in sorted path
// order, to files. Links to files are followed, links to folders are not.
func walkClass(dir, class string, label uint8, files []File) ([]File, error) {
	root := filepath.Join(dir, class)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !slices.Contains(extensions, strings.ToLower(filepath.Ext(path))) {
			return nil
		}
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil // a link to a folder, a pipe, a device
		}
		if len(files) >= MaxFiles {
			return fmt.Errorf("more than %d image files", MaxFiles)
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files = append(files, File{Path: filepath.ToSlash(rel), Label: label, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("folder: %s: %w", root, err)
	}
	return files, nil
}
