package savedmodel

import (
	"fmt"
	"os"
	"path/filepath"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
)

// ReadVariables reads the assets (Meta) and the variable values (keyed by
// graph.Variable.Name, float32 tensors owned by the caller) of the export in
// dir. Its saved_model.pb goes through the same checks as Load's (opt.Trust
// skips the graph's), though only the stored network.yaml is built: its
// variables are restored from the checkpoint, so a variable missing from
// the checkpoint or stored with another shape is an error naming it and
// dir.
func ReadVariables(dir string, opt LoadOptions) (Meta, map[string]*tf.Tensor, error) {
	meta, _, err := readChecked(dir, opt)
	if err != nil {
		return Meta{}, nil, err
	}
	prefix := filepath.Join(dir, variablesPrefix)
	if _, err := os.Stat(prefix + ".index"); err != nil {
		return Meta{}, nil, fmt.Errorf("savedmodel: %s has no variables: %w", dir, err)
	}
	values, err := restore(meta.Network, prefix)
	if err != nil {
		return Meta{}, nil, fmt.Errorf("savedmodel: read variables of %s: %w", dir, err)
	}
	return meta, values, nil
}

// restore builds net, restores its variables from the checkpoint at prefix
// and returns their values.
func restore(net config.Network, prefix string) (map[string]*tf.Tensor, error) {
	s := op.NewScope()
	m, err := build(s, net, graph.Options{})
	if err != nil {
		return nil, err
	}
	saver, err := NewSaver(s, Entries(m.Variables))
	if err != nil {
		return nil, err
	}
	g, err := s.Finalize()
	if err != nil {
		return nil, err
	}
	sess, err := tf.NewSession(g, nil)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	if err := saver.restoreFrom(sess, prefix); err != nil {
		return nil, err
	}
	reads := make([]tf.Output, len(m.Variables))
	for i, v := range m.Variables {
		reads[i] = v.Read
	}
	out, err := sess.Run(nil, reads, nil)
	if err != nil {
		return nil, err
	}
	values := make(map[string]*tf.Tensor, len(out))
	for i, v := range m.Variables {
		values[v.Name] = out[i]
	}
	return values, nil
}
