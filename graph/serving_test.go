package graph

import (
	"slices"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tftest"
	"github.com/tfcifar/tfcifar/internal/tolerance"
)

// TestServingBuild checks that a Serving build leaves out the dropout step
// counters, names them in LeftOut, and predicts what a training build
// predicts in inference mode.
func TestServingBuild(t *testing.T) {
	net := config.Network{Input: []int{8, 8, 3}, Layers: []config.Layer{
		{Type: config.Conv2D, Filters: 2, Kernel: config.Size{3, 3}, Activation: config.ReLU},
		{Type: config.Dropout, Rate: 0.5},
		{Type: config.Flatten},
		{Type: config.Dropout, Name: "late", Rate: 0.2},
		{Type: config.Dense, Units: 3, Activation: config.Softmax},
	}}
	images := make([]float32, 2*8*8*3)
	for i := range images {
		images[i] = float32(i%17) / 17
	}
	predict := func(opt Options) (*Model, []float32) {
		s := op.NewScope()
		m, err := Build(s, net, opt)
		if err != nil {
			t.Fatal(err)
		}
		sess := tftest.Session(t, s)
		var inits []*tf.Operation
		for _, v := range m.Variables {
			inits = append(inits, v.Init)
		}
		if _, err := sess.Run(nil, nil, inits); err != nil {
			t.Fatal(err)
		}
		x := tftest.Tensor(t, images)
		if err := x.Reshape([]int64{2, 8, 8, 3}); err != nil {
			t.Fatal(err)
		}
		out, err := sess.Run(map[tf.Output]*tf.Tensor{m.Images: x}, []tf.Output{m.Probabilities}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m, slices.Concat(out[0].Value().([][]float32)...)
	}
	train, want := predict(Options{Seed: 4})
	serve, got := predict(Options{Seed: 4, Serving: true})
	var trainNames, serveNames []string
	for _, v := range train.Variables {
		if !v.State {
			trainNames = append(trainNames, v.Name)
		}
	}
	for _, v := range serve.Variables {
		if v.State {
			t.Errorf("serving build has state variable %s", v.Name)
		}
		serveNames = append(serveNames, v.Name)
	}
	if !slices.Equal(serveNames, trainNames) {
		t.Errorf("serving variables %v, want the training build's weights %v", serveNames, trainNames)
	}
	if want := []string{"dropout/seed", "late/seed"}; !slices.Equal(serve.LeftOut, want) {
		t.Errorf("LeftOut %v, want %v", serve.LeftOut, want)
	}
	if len(train.LeftOut) != 0 {
		t.Errorf("training build leaves out %v", train.LeftOut)
	}
	for i := range want {
		if !tolerance.EqualWithinAbs(float64(got[i]), float64(want[i]), 1e-7) {
			t.Fatalf("probability %d: serving %v, training build in inference %v", i, got[i], want[i])
		}
	}
}
