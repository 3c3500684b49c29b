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

// ReadVariables reads the network, the variable values (keyed by
// graph.Variable.Name, float32 tensors owned by the caller) and the class
// names of the export in dir. It rebuilds the graph from the stored
// network.yaml and restores its variables from the checkpoint, so a
// variable missing from the checkpoint or stored with another shape is an
// error naming it and dir.
func ReadVariables(dir string) (config.Network, map[string]*tf.Tensor, []string, error) {
	meta, err := ReadMeta(dir)
	if err != nil {
		return config.Network{}, nil, nil, err
	}
	prefix := filepath.Join(dir, variablesPrefix)
	if _, err := os.Stat(prefix + ".index"); err != nil {
		return config.Network{}, nil, nil, fmt.Errorf("savedmodel: %s has no variables: %w", dir, err)
	}
	values, err := restore(meta.Network, prefix)
	if err != nil {
		return config.Network{}, nil, nil, fmt.Errorf("savedmodel: read variables of %s: %w", dir, err)
	}
	return meta.Network, values, meta.Classes, nil
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
