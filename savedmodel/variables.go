package savedmodel

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/checkpoint"
	"github.com/tfcifar/tfcifar/graph"
)

// Variables is what ReadVariables reads from an export: its assets and the
// values of its variables (float32 tensors owned by the caller).
type Variables struct {
	Meta
	Weights graph.Weights
}

// ReadVariables reads the assets and the variable values of the export in
// dir. Its saved_model.pb goes through the same checks as Load's (opt.Trust
// skips the graph's), though only the stored network.yaml is built: its
// variables are restored from the checkpoint in a session configured from
// opt.Run, so a variable missing from the checkpoint or stored with another
// shape is an error naming it and dir.
func ReadVariables(dir string, opt LoadOptions) (Variables, error) {
	meta, _, err := readChecked(dir, opt)
	if err != nil {
		return Variables{}, err
	}
	prefix := filepath.Join(dir, variablesPrefix)
	if _, err := os.Stat(prefix + ".index"); err != nil {
		return Variables{}, fmt.Errorf("savedmodel: %s has no variables: %w", dir, err)
	}
	s := op.NewScope()
	m, err := graph.Build(s, meta.Network, graph.Options{})
	if err == nil {
		var w graph.Weights
		if w, err = checkpoint.Read(s, m.Variables, prefix, opt.Run); err == nil {
			return Variables{Meta: meta, Weights: w}, nil
		}
	}
	return Variables{}, fmt.Errorf("savedmodel: read variables of %s: %w", dir, err)
}
