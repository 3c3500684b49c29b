package session

import (
	"fmt"
	"slices"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/graph"
)

// Assign writes values to variables: a placeholder and an
// AssignVariableOp for each, added to a graph before its session opens.
type Assign struct {
	names []string // sorted
	ins   []tf.Output
	ops   []*tf.Operation
}

// NewAssign adds to the graph of s an assignment for every variable of
// vars named in w, fed at Run. A value of w without a variable, nil, or
// of another type or shape than its variable's is an error naming it
// ("value for %q: ..."); variables without a value are left out.
func NewAssign(s *op.Scope, vars []*graph.Variable, w graph.Weights) (*Assign, error) {
	byName := make(map[string]*graph.Variable, len(vars))
	for _, v := range vars {
		byName[v.Name] = v
	}
	a := &Assign{}
	for _, name := range w.Names() {
		v, ok := byName[name]
		val := w[name]
		switch {
		case !ok:
			return nil, fmt.Errorf("value for %q: the model has no such variable", name)
		case val == nil:
			return nil, fmt.Errorf("value for %s is nil", name)
		case val.DataType() != v.Read.DataType():
			return nil, fmt.Errorf("value for %s: type %v, want %v", name, val.DataType(), v.Read.DataType())
		case !slices.Equal(val.Shape(), v.Shape):
			return nil, fmt.Errorf("value for %s: shape %v, want %v", name, val.Shape(), v.Shape)
		}
		vs := s.SubScope("assign")
		in := op.Placeholder(vs, v.Read.DataType(), op.PlaceholderShape(tf.MakeShape(v.Shape...)))
		a.names = append(a.names, name)
		a.ins = append(a.ins, in)
		a.ops = append(a.ops, op.AssignVariableOp(vs, v.Handle, in))
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("assign values: %w", err)
	}
	return a, nil
}

// Run assigns the values of w to the variables NewAssign was given them
// for; w must hold a value for each.
func (a *Assign) Run(sess *tf.Session, w graph.Weights) error {
	if len(a.ops) == 0 {
		return nil
	}
	feeds := make(map[tf.Output]*tf.Tensor, len(a.ins))
	for i, name := range a.names {
		if w[name] == nil {
			return fmt.Errorf("assign values: no value for %s", name)
		}
		feeds[a.ins[i]] = w[name]
	}
	if _, err := sess.Run(feeds, nil, a.ops); err != nil {
		return fmt.Errorf("assign values: %w", err)
	}
	return nil
}

// Read returns the current values of vars: snapshots that later runs of
// sess do not change.
func Read(sess *tf.Session, vars []*graph.Variable) (graph.Weights, error) {
	fetch := make([]tf.Output, len(vars))
	for i, v := range vars {
		fetch[i] = v.Read
	}
	out, err := sess.Run(nil, fetch, nil)
	if err != nil {
		return nil, fmt.Errorf("read variables: %w", err)
	}
	w := make(graph.Weights, len(out))
	for i, v := range vars {
		w[v.Name] = out[i]
	}
	return w, nil
}
