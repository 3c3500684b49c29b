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
	s := op.NewScope()
	m, err := graph.Build(s, dense(units), graph.Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	sv, err := NewSaver(s, Entries(m.Variables))
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
	for _, name := range want.Names() {
		var a, b bytes.Buffer
		want[name].WriteContentsTo(&a)
		got[name].WriteContentsTo(&b)
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: read values differ from the saved ones", name)
		}
	}
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
