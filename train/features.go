package train

import (
	"fmt"
	"runtime"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
)

// featureBatch is how many images Features runs through the network at once.
const featureBatch = 500

// Features runs net, in inference mode, over every image of each set (in
// order) with its variables set to values (by Variable.Name; every variable
// needs one) and returns the outputs of its last layer with the sets' labels
// and classes. It is meant for a network's frozen, deterministic first
// layers: their outputs, computed once, stand in for the images while the
// layers after them train. Pixels are scaled as in training (scale 0: 1);
// run gives the session's threads and device.
func Features(run config.Run, net config.Network, values map[string]*tf.Tensor, scale float32, sets ...*cifar.Set) ([]*cifar.Features, error) {
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
	assigns, err := assignOps(s.SubScope("init"), m.Variables, values)
	if err != nil {
		return nil, err
	}
	shape, err := net.OutputShape()
	if err != nil {
		return nil, err
	}
	g, err := s.Finalize()
	if err != nil {
		return nil, fmt.Errorf("train: features: build graph: %w", err)
	}
	conf, _, err := sessionConfig(run)
	if err != nil {
		return nil, err
	}
	ownThreadPools()
	sess, err := tf.NewSession(g, &tf.SessionOptions{Config: conf})
	if err != nil {
		return nil, fmt.Errorf("train: features: open session: %w", err)
	}
	defer sess.Close()
	if err := runAssigns(sess, assigns, values); err != nil {
		return nil, err
	}
	out := m.Outputs[len(m.Outputs)-1]
	in, err := newBuffer(tf.Float, append([]int64{featureBatch}, dims(net.Input)...)...)
	if err != nil {
		return nil, err
	}
	result := make([]*cifar.Features, len(sets))
	batches := 0
	for i, set := range sets {
		f := &cifar.Features{Shape: shape, Labels: set.Labels, Classes: set.Classes}
		f.Values = make([]float32, 0, set.Len()*f.Width())
		for b := range set.Batcher(featureBatch, scale, 0).Epoch(0, false) {
			feed := in.t
			if b.N < featureBatch {
				if feed, err = tf.NewTensor(b.Images); err == nil {
					err = feed.Reshape(append([]int64{int64(b.N)}, dims(net.Input)...))
				}
				if err != nil {
					return nil, fmt.Errorf("train: features: %w", err)
				}
			} else {
				in.setFloats(b.Images)
			}
			res, err := sess.Run(map[tf.Output]*tf.Tensor{m.Images: feed}, []tf.Output{out}, nil)
			if err != nil {
				return nil, fmt.Errorf("train: features: %w", err)
			}
			n := len(f.Values)
			f.Values = f.Values[:n+b.N*f.Width()]
			if err := readFloats(res[0], f.Values[n:]); err != nil {
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

// dims converts a shape to int64.
func dims(shape []int) []int64 {
	out := make([]int64, len(shape))
	for i, d := range shape {
		out[i] = int64(d)
	}
	return out
}
