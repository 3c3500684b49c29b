package checkpoint

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/session"
	"github.com/tfcifar/tfcifar/internal/tftest"
)

// saved builds a dense network with units outputs, initialises it with
// seed, saves it at prefix and returns its values.
func saved(t *testing.T, prefix string, units int, seed int64) graph.Weights {
	t.Helper()
	return savedBy(t, prefix, units, seed, NewSaver)
}

// savedBy is saved with the saver made by newSaver from the network's
// entries.
func savedBy(t *testing.T, prefix string, units int, seed int64, newSaver func(*op.Scope, []Entry) (*Saver, error)) graph.Weights {
	t.Helper()
	s := op.NewScope()
	m, err := graph.Build(s, dense(units), graph.Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	sv, err := newSaver(s, Entries(m.Variables))
	if err != nil {
		t.Fatal(err)
	}
	sess := tftest.Session(t, s)
	for _, v := range m.Variables {
		if _, err := sess.Run(nil, nil, []*tf.Operation{v.Init}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sv.Save(sess, prefix); err != nil {
		t.Fatal(err)
	}
	w, err := session.Read(sess, m.Variables)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func dense(units int) config.Network {
	return config.Network{Input: []int{4}, Layers: []config.Layer{{Type: "dense", Units: units}}}.Named()
}

func TestRead(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "ckpt")
	want := saved(t, prefix, 3, 5)
	s := op.NewScope()
	m, err := graph.Build(s, dense(3), graph.Options{Seed: 6})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Read(s, m.Variables, prefix, config.Run{})
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Check(m.Variables); err != nil {
		t.Fatal(err)
	}
	sameValues(t, want, got)
}

func TestReadShapeMismatch(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "ckpt")
	saved(t, prefix, 3, 5)
	s := op.NewScope()
	m, err := graph.Build(s, dense(2), graph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Read(s, m.Variables, prefix, config.Run{})
	if err == nil || !strings.Contains(err.Error(), `variable "dense/`) {
		t.Errorf("Read error = %v, want one naming a dense variable", err)
	}
}

// TestObjectSaver saves a network as TensorFlow 2 does: each variable
// under its object key, with the object graph. ReadKeyed reads it back,
// Read (by names) does not find the variables, and the object graph is
// stored as given.
func TestObjectSaver(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "ckpt")
	objects := []byte("\x0a\x00 an object graph")
	want := savedBy(t, prefix, 3, 5, func(s *op.Scope, entries []Entry) (*Saver, error) {
		for i := range entries {
			entries[i].Key = ObjectKey(entries[i].Name)
		}
		return NewObjectSaver(s, entries, objects)
	})

	read := func(units int, key func(string) string) (graph.Weights, error) {
		s := op.NewScope()
		m, err := graph.Build(s, dense(units), graph.Options{Seed: 6})
		if err != nil {
			t.Fatal(err)
		}
		if key == nil {
			return Read(s, m.Variables, prefix, config.Run{})
		}
		return ReadKeyed(s, m.Variables, prefix, config.Run{}, key)
	}
	got, err := read(3, ObjectKey)
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, want, got)
	if _, err := read(3, nil); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("Read by names of a bundle keyed by objects: %v, want a key not found", err)
	}
	if _, err := read(2, ObjectKey); err == nil || !strings.Contains(err.Error(), `variable "dense/`) {
		t.Errorf("ReadKeyed of another shape: %v, want an error naming a dense variable", err)
	}

	rs := op.NewScope()
	stored := op.RestoreV2(rs, op.Const(rs, prefix), op.Const(rs.SubScope("keys"), []string{ObjectGraphKey}),
		op.Const(rs.SubScope("slices"), []string{""}), []tf.DataType{tf.String})
	out, err := tftest.Session(t, rs).Run(nil, stored, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := out[0].Value().(string); !ok || g != string(objects) {
		t.Errorf("stored object graph %q, want %q", out[0].Value(), objects)
	}
}

func TestNewObjectSaverErrors(t *testing.T) {
	s := op.NewScope()
	m, err := graph.Build(s, dense(3), graph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewObjectSaver(s, Entries(m.Variables), nil); err == nil || !strings.Contains(err.Error(), "needs an object graph") {
		t.Errorf("NewObjectSaver without an object graph: %v", err)
	}
	entries := Entries(m.Variables)
	entries[0].Key = ObjectGraphKey
	if _, err := NewObjectSaver(s, entries, []byte{}); err == nil || !strings.Contains(err.Error(), "name of the object graph key") {
		t.Errorf("NewObjectSaver with a variable under the object graph key: %v", err)
	}
}

// sameValues checks that got holds every value of want, byte for byte.
func sameValues(t *testing.T, want, got graph.Weights) {
	t.Helper()
	for _, name := range want.Names() {
		var a, b bytes.Buffer
		want[name].WriteContentsTo(&a)
		got[name].WriteContentsTo(&b)
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: read values differ from the saved ones", name)
		}
	}
}
