package savedmodel

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/capped"
)

// Limits on what Load, ReadVariables and ReadMeta read from an export.
// Files larger than their limit are refused before they are read.
const (
	MaxGraphBytes    = 64 << 20  // saved_model.pb
	MaxAssetBytes    = 1 << 20   // each of assets/classes.txt, network.yaml, scale.txt
	MaxVariableBytes = 4 << 30   // variables/variables.data-* together
	MaxTensorBytes   = 256 << 20 // any tensor the graph declares with a known size
	MaxClasses       = 100000    // names in assets/classes.txt
)

// MaxBatch is the most images tfcifar feeds a loaded export in one run
// (infer's Evaluate and Predict batch by it). The graph check fixes the
// batch dimension of the images input at MaxBatch, so that every tensor's
// size is known and counted.
const MaxBatch = 500

// Meta is what a tfcifar export says about itself in its assets: the class
// names in output order (assets/classes.txt), the network it was built
// from (assets/network.yaml) and the pixel scale it was trained with
// (assets/scale.txt). Scale 0 means the export does not record it (an
// export older than the record): its images input then takes pixels
// already scaled as in training. Otherwise the serving graph applies Scale
// itself and the images input takes raw 0-255 pixels.
type Meta struct {
	Classes []string
	Network config.Network
	Scale   float64
}

// ScaleMatches reports whether the pixel scale f agrees with m.Scale to
// 1e-9 (relative), so that "1/255" and its decimal expansion match. A Scale
// of 0 (not recorded) matches only 0.
func (m Meta) ScaleMatches(f float64) bool {
	return math.Abs(m.Scale-f) <= 1e-9*max(math.Abs(m.Scale), math.Abs(f))
}

// ReadMeta reads the assets of the export in dir without loading the graph.
// It fails with an error naming dir when dir is missing or is not a tfcifar
// export, when an asset is larger than MaxAssetBytes or malformed, and when
// classes.txt does not name every output of the network exactly once.
func ReadMeta(dir string) (Meta, error) {
	if err := isExport(dir); err != nil {
		return Meta{}, err
	}
	if err := noLinks(dir); err != nil {
		return Meta{}, err
	}
	var files [3][]byte // network.yaml, classes.txt, scale.txt
	for i, name := range []string{networkAsset, classesAsset, scaleAsset} {
		var err error
		if files[i], err = readAsset(dir, name, name != scaleAsset); err != nil {
			return Meta{}, err
		}
	}
	m, err := parseMeta(files[0], files[1], files[2])
	if err != nil {
		return Meta{}, fmt.Errorf("savedmodel: %s: %w", dir, err)
	}
	return m, nil
}

// parseMeta parses the assets network.yaml, classes.txt and scale.txt (nil:
// not recorded); errors name the asset.
func parseMeta(network, classes, scale []byte) (Meta, error) {
	net, err := config.ParseNetwork(network)
	if err != nil {
		return Meta{}, fmt.Errorf("assets/%s: %w", networkAsset, err)
	}
	k, err := outputs(net)
	if err != nil {
		return Meta{}, fmt.Errorf("assets/%s: %w", networkAsset, err)
	}
	names, err := parseClasses(classes)
	if err == nil && len(names) != k {
		return Meta{}, fmt.Errorf("assets/%s has %d class names, the network has %d outputs", classesAsset, len(names), k)
	}
	if err == nil {
		err = distinct(names) // after the count, which bounds the names
	}
	if err != nil {
		return Meta{}, fmt.Errorf("assets/%s: %w", classesAsset, err)
	}
	m := Meta{Classes: names, Network: net}
	if scale != nil {
		if m.Scale, err = parseScale(scale); err != nil {
			return Meta{}, fmt.Errorf("assets/%s: %w", scaleAsset, err)
		}
	}
	return m, nil
}

// readAsset reads dir/assets/name, at most MaxAssetBytes. A missing file is
// an error when required, and nil otherwise.
func readAsset(dir, name string, required bool) ([]byte, error) {
	b, err := capped.ReadFile(filepath.Join(dir, assetsDir, name), MaxAssetBytes)
	switch {
	case errors.Is(err, os.ErrNotExist) && required:
		return nil, fmt.Errorf("savedmodel: %s is not a tfcifar export: no assets/%s", dir, name)
	case errors.Is(err, os.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("savedmodel: %w", err)
	}
	return b, nil
}

// parseClasses reads class names, one a line, each line ended by a line
// feed (the last one may lack it). Empty names (an extra blank line
// included), carriage returns, invalid UTF-8 and more than MaxClasses lines
// are errors; distinct checks for repeated names.
func parseClasses(b []byte) ([]string, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("not UTF-8 text")
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil, errors.New("no class names")
	}
	if n := strings.Count(s, "\n") + 1; n > MaxClasses {
		return nil, fmt.Errorf("%d lines, want at most %d class names", n, MaxClasses)
	}
	names := strings.Split(s, "\n")
	for i, n := range names {
		if err := checkClassName(n); err != nil {
			return nil, fmt.Errorf("line %d %w", i+1, err)
		}
	}
	return names, nil
}

// The files and directories of an export.
const (
	graphFile    = "saved_model.pb"
	variablesDir = "variables"
	assetsDir    = "assets"
)

// MaxClassName is the longest class name, in bytes.
const MaxClassName = 256

// checkClassName refuses a name that is empty or blank, longer than
// MaxClassName, or holds a control character (a line break, a carriage
// return, a tab, an escape that would drive the terminal it is printed on);
// its errors continue a sentence naming the line or the name.
func checkClassName(n string) error {
	switch {
	case n == "":
		return errors.New("is empty; want one class name a line")
	case strings.TrimSpace(n) == "":
		return fmt.Errorf("is blank (%q); want one class name a line", n)
	case len(n) > MaxClassName:
		return fmt.Errorf("is %d bytes long, want at most %d", len(n), MaxClassName)
	}
	for _, r := range n {
		switch {
		case r == '\r':
			return errors.New("has a carriage return")
		case unicode.IsControl(r):
			return fmt.Errorf("holds the control character %U", r)
		}
	}
	return nil
}

// noLinks refuses an export in dir whose saved_model.pb, variables or
// assets (the directories or the files in them) are symbolic links: an
// export tfcifar wrote holds none, and a link could make a downloaded model
// read files from elsewhere.
func noLinks(dir string) error {
	paths := []string{filepath.Join(dir, graphFile)}
	for _, sub := range []string{variablesDir, assetsDir} {
		paths = append(paths, filepath.Join(dir, sub))
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("savedmodel: %w", err)
		}
		for _, e := range entries {
			paths = append(paths, filepath.Join(dir, sub, e.Name()))
		}
	}
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("savedmodel: %w", err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("savedmodel: %s is a symbolic link; a model is read only from its own files", p)
		}
	}
	return nil
}

// distinct refuses a class name given twice, naming its second line.
func distinct(names []string) error {
	seen := make(map[string]struct{}, len(names))
	for i, n := range names {
		if _, ok := seen[n]; ok {
			return fmt.Errorf("line %d repeats class %q", i+1, n)
		}
		seen[n] = struct{}{}
	}
	return nil
}

// parseScale reads the pixel scale an export records: one positive finite
// number.
func parseScale(b []byte) (float64, error) {
	s := strings.TrimSpace(string(b))
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is not a positive pixel scale", s)
	}
	return f, nil
}

// formatScale is how an export records its pixel scale.
func formatScale(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) + "\n" }

// outputs returns the number of classes net outputs: the size of its last
// layer's 1-D output.
func outputs(net config.Network) (int, error) {
	shapes, err := net.Shapes()
	if err != nil {
		return 0, err
	}
	if len(shapes) == 0 {
		return 0, errors.New("the network has no layers")
	}
	last := shapes[len(shapes)-1]
	if len(last) != 1 {
		return 0, fmt.Errorf("the network's output %v is not one score per class", last)
	}
	return last[0], nil
}

// isExport checks that dir exists and holds a saved_model.pb.
func isExport(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("savedmodel: %s does not exist", dir)
	case err != nil:
		return fmt.Errorf("savedmodel: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("savedmodel: %s is not a directory", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, graphFile)); err != nil {
		return fmt.Errorf("savedmodel: %s is not a SavedModel: no saved_model.pb", dir)
	}
	return nil
}
