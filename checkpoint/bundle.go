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

// Read restores vars, built in s, from the bundle at prefix and returns
// their values. It adds a Saver to s, finalizes it (s is no longer usable)
// and runs a session configured from run. A variable missing from the
// bundle or stored with another shape is an error naming it.
func Read(s *op.Scope, vars []*graph.Variable, prefix string, run config.Run) (_ graph.Weights, err error) {
	saver, err := NewSaver(s, Entries(vars))
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
