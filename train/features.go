package train

import (
	"context"
	"fmt"
	"runtime"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/session"
)

// featureBatch is how many images Features runs through the network at once.
const featureBatch = 500

// Features runs net, in inference mode, over every image of each set (in
// order) with its variables set to values (by Variable.Name; every variable
// needs one) and returns the outputs of its last layer with the sets' labels
// and classes. It is meant for a network's frozen, deterministic first
// layers: their outputs, computed once, stand in for the images while the
// layers after them train. Pixels are scaled as in training (scale 0: 1);
// run gives the session's threads and device. It stops with ctx's error
// between batches when ctx is done.
func Features(ctx context.Context, run config.Run, net config.Network, values graph.Weights, scale float32, sets ...*cifar.Set) ([]*cifar.Features, error) {
	s := op.NewScope()
	m, err := graph.Build(s, net, graph.Options{})
	if err != nil {
		return nil, err
	}
	for _, v := range m.Variables {
		if values[v.Name] == nil {
			return nil, fmt.Errorf("train: features: no value for variable %s", v.Name)
		}
	}
	assign, err := session.NewAssign(s.SubScope("init"), m.Variables, values)
	if err != nil {
		return nil, fmt.Errorf("train: features: %w", err)
	}
	shape, err := net.OutputShape()
	if err != nil {
		return nil, err
	}
	g, err := s.Finalize()
	if err != nil {
		return nil, fmt.Errorf("train: features: build graph: %w", err)
	}
	sess, err := session.Open(g, run)
	if err != nil {
		return nil, fmt.Errorf("train: features: %w", err)
	}
	defer sess.Close()
	if err := assign.Run(sess, values); err != nil {
		return nil, fmt.Errorf("train: features: %w", err)
	}
	out := m.Outputs[len(m.Outputs)-1]
	var image []int64 // shape of one input example
	for i := 1; i < m.Images.Shape().NumDimensions(); i++ {
		image = append(image, m.Images.Shape().Size(i))
	}
	inputs := map[int]*buffer{} // by batch size: the full one and the last
	result := make([]*cifar.Features, len(sets))
	batches := 0
	for i, set := range sets {
		f := &cifar.Features{Shape: shape, Labels: set.Labels, Classes: set.Classes}
		f.Values = make([]float32, set.Len()*f.Width())
		b := set.Batcher(featureBatch, scale, 0)
		labels := make([]float32, featureBatch*b.Classes()) // FillTo's one-hot labels, unused
		order := b.Order(0, false)
		for start := 0; start < len(order); start += featureBatch {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("train: features: %w", err)
			}
			idx := order[start:min(start+featureBatch, len(order))]
			in, ok := inputs[len(idx)]
			if !ok {
				if in, err = newBuffer(tf.Float, append([]int64{int64(len(idx))}, image...)...); err != nil {
					return nil, err
				}
				inputs[len(idx)] = in
			}
			b.FillTo(idx, in.floats(), labels)
			res, err := sess.Run(map[tf.Output]*tf.Tensor{m.Images: in.t}, []tf.Output{out}, nil)
			if err != nil {
				return nil, fmt.Errorf("train: features: %w", err)
			}
			if err := readFloats(res[0], f.Values[start*f.Width():(start+len(idx))*f.Width()]); err != nil {
				return nil, fmt.Errorf("train: features: %w", err)
			}
			// Fetched tensors live in C memory, freed by finalizers when the
			// Go heap is collected; collect now and then so they do not pile
			// up (each holds a whole batch of features).
			if batches++; batches%16 == 0 {
				runtime.GC()
			}
		}
		result[i] = f
	}
	return result, nil
}
