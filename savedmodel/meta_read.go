package savedmodel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tfcifar/tfcifar/config"
)

// Meta is what a tfcifar export says about itself in its assets: the class
// names in output order (assets/classes.txt) and the network it was built
// from (assets/network.yaml).
type Meta struct {
	Classes []string
	Network config.Network
}

// ReadMeta reads the assets of the export in dir without loading the graph.
// It fails with an error naming dir when dir is missing or is not a tfcifar
// export.
func ReadMeta(dir string) (Meta, error) {
	if err := isExport(dir); err != nil {
		return Meta{}, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "assets", networkAsset))
	if errors.Is(err, os.ErrNotExist) {
		return Meta{}, fmt.Errorf("savedmodel: %s is not a tfcifar export: no assets/%s", dir, networkAsset)
	} else if err != nil {
		return Meta{}, fmt.Errorf("savedmodel: %w", err)
	}
	net, err := config.ParseNetwork(b)
	if err != nil {
		return Meta{}, fmt.Errorf("savedmodel: %s: assets/%s: %w", dir, networkAsset, err)
	}
	b, err = os.ReadFile(filepath.Join(dir, "assets", classesAsset))
	if errors.Is(err, os.ErrNotExist) {
		return Meta{}, fmt.Errorf("savedmodel: %s is not a tfcifar export: no assets/%s", dir, classesAsset)
	} else if err != nil {
		return Meta{}, fmt.Errorf("savedmodel: %w", err)
	}
	classes := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return Meta{Classes: classes, Network: net}, nil
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
	if _, err := os.Stat(filepath.Join(dir, "saved_model.pb")); err != nil {
		return fmt.Errorf("savedmodel: %s is not a SavedModel: no saved_model.pb", dir)
	}
	return nil
}
