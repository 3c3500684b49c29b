package savedmodel_test

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/savedmodel"
	"github.com/tfcifar/tfcifar/train"
)

// TestExportBuilt trains a model built by the test itself (graph.Build in
// a scope it owns, no stage involved) for one step, exports a serving build
// of the same network with the trained weights, and loads it back.
func TestExportBuilt(t *testing.T) {
	net := config.Network{Input: []int{32, 32, 3}, Layers: []config.Layer{
		{Type: "conv2d", Filters: 2, Kernel: config.Size{3, 3}, Activation: "relu"},
		{Type: "maxpool2d", Pool: config.Size{4, 4}},
		{Type: "flatten"},
		{Type: "dense", Units: 2, Activation: "softmax"},
	}}.Named()
	const scale = 1.0 / 255
	set := &cifar.Set{Images: make([]byte, 8*cifar.ImageSize), Labels: []uint8{0, 1, 0, 1, 0, 1, 0, 1}, Classes: []string{"cat", "dog"}}
	for i := range set.Images {
		set.Images[i] = byte(i * 7 % 251)
	}

	g := tf.NewGraph()
	m, err := graph.Build(op.NewScopeWithGraph(g), net, graph.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultTrain()
	cfg.Epochs, cfg.BatchSize, cfg.Seed = 1, 8, 1
	tr, err := train.New(g, m, cfg, train.Options{Run: config.Run{IntraOpThreads: 1, InterOpThreads: 1, Progress: "off"}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	before, err := tr.Values()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Fit(context.Background(), set.Source(scale), set.Source(scale)); err != nil {
		t.Fatal(err)
	}
	trained, err := tr.Values()
	if err != nil {
		t.Fatal(err)
	}
	if same(before["dense/kernel"], trained["dense/kernel"]) {
		t.Fatal("dense/kernel did not change in the training step")
	}

	serving := op.NewScope()
	sm, err := graph.Build(serving, net, graph.Options{Seed: 1, Scale: scale})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := savedmodel.Export(filepath.Join(t.TempDir(), "m"),
		savedmodel.Built{Scope: serving, Model: sm, Network: net, Weights: trained},
		savedmodel.Options{Classes: set.Classes, Scale: scale})
	if err != nil {
		t.Fatal(err)
	}

	read, err := savedmodel.ReadVariables(dir, savedmodel.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := read.Weights.Check(sm.Variables); err != nil {
		t.Fatal(err)
	}
	for _, name := range trained.Names() {
		if !same(read.Weights[name], trained[name]) {
			t.Errorf("%s: exported value differs from the trained one", name)
		}
	}
	if read.Scale != scale || len(read.Classes) != 2 || read.Classes[1] != "dog" {
		t.Errorf("read scale %g, classes %v; want %g, [cat dog]", read.Scale, read.Classes, scale)
	}

	model, err := savedmodel.Load(context.Background(), dir, savedmodel.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	pixels := make([]float32, 2*cifar.ImageSize)
	for i := range pixels {
		pixels[i] = float32(set.Images[i])
	}
	probs, ids, err := model.Predict(pixels, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		p := probs[2*i : 2*i+2]
		if math.Abs(float64(p[0]+p[1])-1) > 1e-5 || (p[1] > p[0]) != (ids[i] == 1) {
			t.Errorf("image %d: probabilities %v, class %d", i, p, ids[i])
		}
	}
}

// same reports whether a and b hold the same type, shape and bytes.
func same(a, b *tf.Tensor) bool {
	var x, y bytes.Buffer
	if a == nil || b == nil || a.DataType() != b.DataType() {
		return false
	}
	if _, err := a.WriteContentsTo(&x); err != nil {
		return false
	}
	if _, err := b.WriteContentsTo(&y); err != nil {
		return false
	}
	return bytes.Equal(x.Bytes(), y.Bytes())
}

// flatDense builds a flatten and dense network in a new scope, with zero
// weights; hostile adds a WriteFile op to its graph.
func flatDense(t *testing.T, hostile bool) savedmodel.Built {
	t.Helper()
	net := config.Network{Input: []int{32, 32, 3}, Layers: []config.Layer{{Type: "flatten"}, {Type: "dense", Units: 2}}}.Named()
	s := op.NewScope()
	m, err := graph.Build(s, net, graph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if hostile {
		op.WriteFile(s.SubScope("evil"), op.Const(s.SubScope("name"), "/tmp/x"), op.Const(s.SubScope("text"), "x"))
	}
	k := make([][]float32, 3072)
	for i := range k {
		k[i] = make([]float32, 2)
	}
	kernel, err := tf.NewTensor(k)
	if err != nil {
		t.Fatal(err)
	}
	bias, err := tf.NewTensor([]float32{0, 0})
	if err != nil {
		t.Fatal(err)
	}
	return savedmodel.Built{Scope: s, Model: m, Network: net, Weights: graph.Weights{"dense/kernel": kernel, "dense/bias": bias}}
}

func TestExportBuiltErrors(t *testing.T) {
	for _, c := range []struct {
		desc    string
		change  func(*savedmodel.Built)
		hostile bool
		want    string
	}{
		{"no scope", func(b *savedmodel.Built) { b.Scope = nil }, false, "a built model needs its scope and model"},
		{"no weights", func(b *savedmodel.Built) { b.Weights = nil }, false, `variable "dense/kernel" has no value`},
		{"another network", func(b *savedmodel.Built) { b.Network.Input = []int{16, 16, 3} }, false, "the network spec takes inputs [16 16 3], the built model images [32 32 3]"},
		{"ops a loader refuses", func(*savedmodel.Built) {}, true, "the serving graph would be refused on load"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			b := flatDense(t, c.hostile)
			c.change(&b)
			parent := t.TempDir()
			_, err := savedmodel.Export(filepath.Join(parent, "m"), b, savedmodel.Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Export error = %v, want one containing %q", err, c.want)
			}
			if left, _ := filepath.Glob(filepath.Join(parent, "*")); len(left) > 0 {
				t.Errorf("failed export left %v", left)
			}
		})
	}
}
