package savedmodel

import (
	"os"
	"path/filepath"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/cifartest"
	"github.com/tfcifar/tfcifar/internal/tftest"
)

// referenceNet is the base network of the reference workflow.
func referenceNet() config.Network { return config.Default().Stages[0].Model }

// smallNet is a quick network with a dropout, a batchnorm and a softmax head.
func smallNet(units int) config.Network {
	return config.Network{Input: []int{32, 32, 3}, Layers: []config.Layer{
		{Type: "conv2d", Filters: 4, Kernel: config.Size{3, 3}, Activation: "relu"},
		{Type: "maxpool2d", Pool: config.Size{4, 4}},
		{Type: "batchnorm"},
		{Type: "flatten"},
		{Type: "dropout", Rate: 0.5},
		{Type: "dense", Units: units, Activation: "softmax"},
	}}
}

// initialValues builds net with seed and returns its initial variable
// values, with the first kernel divided by 255 so that raw pixels give
// probabilities away from 0 and 1.
func initialValues(t testing.TB, net config.Network, seed int64) map[string]*tf.Tensor {
	t.Helper()
	s := op.NewScope()
	m, err := graph.Build(s, net, graph.Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	scaled := op.Div(s.SubScope("scaled"), m.Variables[0].Read, op.Const(s.SubScope("by"), float32(255)))
	sess := tftest.Session(t, s)
	var inits []*tf.Operation
	reads := []tf.Output{scaled}
	for _, v := range m.Variables {
		inits = append(inits, v.Init)
		reads = append(reads, v.Read)
	}
	if _, err := sess.Run(nil, nil, inits); err != nil {
		t.Fatal(err)
	}
	out, err := sess.Run(nil, reads, nil)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]*tf.Tensor{}
	for i, v := range m.Variables {
		values[v.Name] = out[i+1]
	}
	values[m.Variables[0].Name] = out[0]
	return values
}

// predictInProcess runs net with values on images in a fresh graph and
// session, as training does, and returns the probabilities and argmax ids.
func predictInProcess(t testing.TB, net config.Network, values map[string]*tf.Tensor, images []float32, n int) ([]float32, []int64) {
	t.Helper()
	s := op.NewScope()
	m, err := graph.Build(s, net, graph.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ids := op.ArgMax(s.SubScope("ids"), m.Probabilities, op.Const(s.SubScope("axis"), int32(1)), op.ArgMaxOutputType(tf.Int64))
	feeds := map[tf.Output]*tf.Tensor{}
	var assigns []*tf.Operation
	for _, v := range m.Variables {
		vs := s.SubScope("set")
		p := op.Placeholder(vs, tf.Float)
		assigns = append(assigns, op.AssignVariableOp(vs, v.Handle, p))
		feeds[p] = values[v.Name]
	}
	sess := tftest.Session(t, s)
	if _, err := sess.Run(feeds, nil, assigns); err != nil {
		t.Fatal(err)
	}
	x, err := tf.NewTensor(images)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Reshape([]int64{int64(n), 32, 32, 3}); err != nil {
		t.Fatal(err)
	}
	out, err := sess.Run(map[tf.Output]*tf.Tensor{m.Images: x}, []tf.Output{m.Probabilities, ids}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var probs []float32
	for _, r := range out[0].Value().([][]float32) {
		probs = append(probs, r...)
	}
	return probs, out[1].Value().([]int64)
}

// testImages returns n real CIFAR-10 test images as float32 NHWC pixels
// (0-255), found through TFCIFAR_DATA or ../shared/data next to the
// module. Without the data the test fails, or under -short uses
// deterministic synthetic images.
func testImages(t testing.TB, n int) ([]float32, string) {
	t.Helper()
	dir := cifartest.RealDir(t)
	b, err := readPrefix(filepath.Join(dir, "test_batch.bin"), n*cifar.RecordSize)
	if err != nil {
		if !testing.Short() {
			t.Fatalf("CIFAR-10 test images needed (set TFCIFAR_DATA or run with -short): %v", err)
		}
		x := make([]float32, n*cifar.ImageSize)
		for i := range x {
			x[i] = float32((i*7919 + i/97) % 256)
		}
		return x, "synthetic"
	}
	set, err := cifar.ReadRecords("test_batch.bin", b)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, len(set.Images))
	for i, p := range set.Images {
		x[i] = float32(p)
	}
	return x, "CIFAR-10 test_batch.bin"
}

func readPrefix(name string, n int) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, err
	}
	return b, nil
}
