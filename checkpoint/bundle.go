package checkpoint

import (
	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/closer"
	"github.com/tfcifar/tfcifar/internal/session"
)

// Entries returns the saver entries of graph variables, with their types
// and shapes, so that a restore checks the shapes.
func Entries(vs []*graph.Variable) []Entry {
	es := make([]Entry, len(vs))
	for i, v := range vs {
		dtype := tf.Float
		if v.Read.Op != nil {
			dtype = v.Read.DataType()
		}
		es[i] = Entry{Name: v.Name, Handle: v.Handle, DType: dtype, Shape: v.Shape}
	}
	return es
}

// ObjectKey is the checkpoint key under which TensorFlow 2 stores the value
// of the variable at the object path path (conv2d/kernel, variables/0):
// path/.ATTRIBUTES/VARIABLE_VALUE.
func ObjectKey(path string) string { return path + "/.ATTRIBUTES/VARIABLE_VALUE" }

// ReadKeyed is Read for a bundle that stores each variable under
// key(its name); the weights it returns are keyed by the variables' names,
// and errors name the variables.
func ReadKeyed(s *op.Scope, vars []*graph.Variable, prefix string, run config.Run, key func(name string) string) (graph.Weights, error) {
	entries := Entries(vars)
	for i := range entries {
		entries[i].Key = key(entries[i].Name)
	}
	return read(s, vars, entries, prefix, run)
}

// Read restores vars, built in s, from the bundle at prefix and returns
// their values. It adds a Saver to s, finalizes it (s is no longer usable)
// and runs a session configured from run. A variable missing from the
// bundle or stored with another shape is an error naming it.
func Read(s *op.Scope, vars []*graph.Variable, prefix string, run config.Run) (graph.Weights, error) {
	return read(s, vars, Entries(vars), prefix, run)
}

// read restores vars through a saver of entries, theirs.
func read(s *op.Scope, vars []*graph.Variable, entries []Entry, prefix string, run config.Run) (_ graph.Weights, err error) {
	saver, err := NewSaver(s, entries)
	if err != nil {
		return nil, err
	}
	g, err := s.Finalize()
	if err != nil {
		return nil, err
	}
	sess, err := session.Open(g, run)
	if err != nil {
		return nil, err
	}
	defer closer.Join(&err, sess)
	if err := saver.restoreFrom(sess, prefix); err != nil {
		return nil, err
	}
	return session.Read(sess, vars)
}
