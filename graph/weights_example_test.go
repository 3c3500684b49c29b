package graph_test

import (
	"fmt"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
)

// ExampleWeights checks values against a built model and picks those of
// one layer.
func ExampleWeights() {
	net := config.Network{Input: []int{4}, Layers: []config.Layer{
		{Type: "dense", Units: 3},
		{Type: "dense", Units: 2},
	}}.Named()
	m, err := graph.Build(op.NewScope(), net, graph.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	bias, _ := tf.NewTensor([]float32{0, 0, 0})
	w := graph.Weights{"dense/bias": bias}
	fmt.Println(w.Check(m.Variables))
	fmt.Println(w.Of(m.Variables, "dense").Names(), w.Of(m.Variables, "dense_1").Names())
	// Output:
	// variable "dense/kernel" has no value; variable "dense_1/kernel" has no value; variable "dense_1/bias" has no value
	// [dense/bias] []
}
