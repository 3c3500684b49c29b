package checkpoint

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
)

// Entry is one resource variable a Saver writes and reads.
//
// Name is the variable's name (e.g. "conv2d/kernel") and its checkpoint
// key unless Key is set (e.g. ObjectKey(Name)); Handle is the VarHandleOp
// output (DT_RESOURCE); DType is the variable's element type. Shape, when
// not nil, is checked on restore: a stored tensor of another shape fails
// the restore with an error naming the variable.
type Entry struct {
	Name   string
	Key    string
	Handle tf.Output
	DType  tf.DataType
	Shape  []int64
}

// key is e's checkpoint key.
func (e Entry) key() string {
	if e.Key != "" {
		return e.Key
	}
	return e.Name
}

// Saver saves and restores resource variables with SaveV2 / RestoreV2 in the
// TensorFlow V2 checkpoint format (prefix.index, prefix.data-00000-of-00001).
//
// Its ops live in the graph it was built in under the "save" name scope: a
// string filename tensor (PlaceholderWithDefault, fed with the prefix),
// ReadVariableOp→SaveV2 followed by an Identity of the filename (the save
// tensor), and RestoreV2→AssignVariableOp grouped under a NoOp (the restore
// op). The same names go into the SaverDef of a SavedModel.
type Saver struct {
	filename tf.Output
	save     tf.Output
	restore  *tf.Operation
	names    []string
	checks   map[string]string // EnsureShape op name -> variable name
}

// ObjectGraphKey is the checkpoint key under which TensorFlow 2 stores a
// checkpoint's object graph (a serialized tensorflow.TrackableObjectGraph),
// by which tf.train.Checkpoint and tf.saved_model.load match the stored
// values to objects.
const ObjectGraphKey = "_CHECKPOINTABLE_OBJECT_GRAPH"

// NewSaver adds the save and restore ops for entries to the graph of s. Call
// it before a session runs the graph. Entries are stored sorted by name;
// names must be unique and not empty.
func NewSaver(s *op.Scope, entries []Entry) (*Saver, error) {
	return newSaver(s, entries, nil)
}

// NewObjectSaver is NewSaver whose save op also stores objectGraph, a
// serialized tensorflow.TrackableObjectGraph naming the entries' keys, as
// a string scalar under ObjectGraphKey; the restore op reads only the
// variables.
func NewObjectSaver(s *op.Scope, entries []Entry, objectGraph []byte) (*Saver, error) {
	if objectGraph == nil {
		return nil, errors.New("checkpoint: object saver needs an object graph")
	}
	return newSaver(s, entries, objectGraph)
}

func newSaver(s *op.Scope, entries []Entry, objectGraph []byte) (*Saver, error) {
	sorted, names, err := sortEntries(entries)
	if err != nil {
		return nil, err
	}
	if slices.Contains(names, ObjectGraphKey) {
		return nil, fmt.Errorf("checkpoint: saver variable %q has the name of the object graph key", ObjectGraphKey)
	}
	s = s.SubScope("save")
	filename := s.AddOperation(tf.OpSpec{
		Type:  "PlaceholderWithDefault",
		Name:  "filename",
		Input: []tf.Input{op.Const(s.SubScope("default"), "model")},
		Attrs: map[string]interface{}{"shape": tf.ScalarShape()},
	})
	if s.Err() != nil {
		return nil, fmt.Errorf("checkpoint: build saver: %w", s.Err())
	}
	v := &Saver{filename: filename.Output(0), names: names, checks: map[string]string{}}
	keys := op.Const(s.SubScope("tensor_names"), names)
	specs := op.Const(s.SubScope("shape_and_slices"), make([]string, len(names)))
	v.save = saveOp(s, v.filename, keys, specs, sorted, objectGraph)
	v.restore = v.restoreOp(s, keys, specs, sorted)
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("checkpoint: build saver: %w", err)
	}
	return v, nil
}

// sortEntries returns entries sorted by name and their names, or an error
// for an empty or repeated name.
func sortEntries(entries []Entry) ([]Entry, []string, error) {
	if len(entries) == 0 {
		return nil, nil, errors.New("checkpoint: saver needs at least one variable")
	}
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b Entry) int { return strings.Compare(a.key(), b.key()) })
	names := make([]string, len(sorted))
	for i, e := range sorted {
		if e.Name == "" {
			return nil, nil, fmt.Errorf("checkpoint: saver entry %d has no name", i)
		}
		if i > 0 && e.key() == sorted[i-1].key() {
			return nil, nil, fmt.Errorf("checkpoint: saver key %q listed twice", e.key())
		}
		names[i] = e.key()
	}
	return sorted, names, nil
}

// saveOp adds ReadVariableOp→SaveV2 for entries, and the object graph
// when not nil, and returns the save tensor: an Identity of the prefix
// that runs after SaveV2.
func saveOp(s *op.Scope, prefix, keys, specs tf.Output, entries []Entry, objectGraph []byte) tf.Output {
	reads := make([]tf.Output, len(entries))
	for i, e := range entries {
		reads[i] = op.ReadVariableOp(s.SubScope("read"), e.Handle, e.DType)
	}
	if objectGraph != nil {
		names := make([]string, len(entries), len(entries)+1)
		for i, e := range entries {
			names[i] = e.key()
		}
		keys = op.Const(s.SubScope("save_tensor_names"), append(names, ObjectGraphKey))
		specs = op.Const(s.SubScope("save_shape_and_slices"), make([]string, len(names)+1))
		reads = append(reads, op.Const(s.SubScope("object_graph"), string(objectGraph)))
	}
	save := op.SaveV2(s, prefix, keys, specs, reads)
	return s.WithControlDependencies(save).AddOperation(tf.OpSpec{
		Type:  "Identity",
		Name:  "control_dependency",
		Input: []tf.Input{prefix},
	}).Output(0)
}

// restoreOp adds RestoreV2→EnsureShape→AssignVariableOp for entries,
// grouped under a NoOp it returns, and records the shape checks.
func (v *Saver) restoreOp(s *op.Scope, keys, specs tf.Output, entries []Entry) *tf.Operation {
	dtypes := make([]tf.DataType, len(entries))
	for i, e := range entries {
		dtypes[i] = e.DType
	}
	restored := op.RestoreV2(s, v.filename, keys, specs, dtypes)
	assigns := make([]*tf.Operation, len(entries))
	for i, e := range entries {
		if s.Err() != nil {
			break
		}
		val := restored[i]
		if e.Shape != nil {
			val = s.AddOperation(tf.OpSpec{
				Type:  "EnsureShape",
				Name:  "shape/" + e.Name,
				Input: []tf.Input{val},
				Attrs: map[string]interface{}{"shape": tf.MakeShape(e.Shape...)},
			}).Output(0)
			if s.Err() == nil {
				v.checks[val.Op.Name()] = e.Name
			}
		}
		assigns[i] = op.AssignVariableOp(s.SubScope("assign"), e.Handle, val)
	}
	return s.WithControlDependencies(assigns...).AddOperation(tf.OpSpec{Type: "NoOp", Name: "restore_all"})
}

// Names returns the checkpoint keys of the saver, sorted.
func (v *Saver) Names() []string { return slices.Clone(v.names) }

// Save writes the variables to the checkpoint at prefix (prefix.index and
// prefix.data-00000-of-00001). The directory of prefix must exist.
func (v *Saver) Save(sess *tf.Session, prefix string) error {
	if err := v.run(sess, prefix, []tf.Output{v.save}, nil); err != nil {
		return fmt.Errorf("checkpoint: save checkpoint %s: %w", prefix, err)
	}
	return nil
}

// Restore assigns the values stored at prefix to the variables. A variable
// missing from the checkpoint or stored with another shape fails the restore
// with an error naming it; variables may then be partly assigned.
func (v *Saver) Restore(sess *tf.Session, prefix string) error {
	if err := v.restoreFrom(sess, prefix); err != nil {
		return fmt.Errorf("checkpoint: restore checkpoint %s: %w", prefix, err)
	}
	return nil
}

// restoreFrom runs the restore op; a failed shape check is reported with
// the name of its variable.
func (v *Saver) restoreFrom(sess *tf.Session, prefix string) error {
	err := v.run(sess, prefix, nil, []*tf.Operation{v.restore})
	if err == nil {
		return nil
	}
	for node, name := range v.checks {
		if strings.Contains(err.Error(), "{{node "+node+"}}") {
			return fmt.Errorf("variable %q: %w", name, err)
		}
	}
	return err
}

func (v *Saver) run(sess *tf.Session, prefix string, fetch []tf.Output, targets []*tf.Operation) error {
	p, err := tf.NewTensor(prefix)
	if err != nil {
		return err
	}
	_, err = sess.Run(map[tf.Output]*tf.Tensor{v.filename: p}, fetch, targets)
	return err
}

// Def returns the SaverDef that lets TensorFlow loaders restore the
// variables: the filename tensor to feed, the save tensor and the restore op.
func (v *Saver) Def() *pb.SaverDef {
	return &pb.SaverDef{
		FilenameTensorName:        v.filename.Op.Name() + ":0",
		SaveTensorName:            v.save.Op.Name() + ":0",
		RestoreOpName:             v.restore.Name(),
		MaxToKeep:                 5,
		Sharded:                   false,
		KeepCheckpointEveryNHours: 10000,
		Version:                   pb.SaverDef_V2,
	}
}
