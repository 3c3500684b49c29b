package workflow

import (
	"github.com/tfcifar/tfcifar/config"
)

// trainFLOPs estimates the operations of a fit from each layer's
// config.Layer.FLOPs: per training image a forward pass through every
// layer after the first cached one, and a backward pass (twice the forward
// cost) through the layers from the first one with trainable weights on;
// per validation image, a forward pass per epoch; plus one forward pass
// over all images through the first cached layers.
func trainFLOPs(net config.Network, epochs, trainN, valN, cached int) (float64, error) {
	shapes, err := net.Shapes()
	if err != nil {
		return 0, err
	}
	in := net.Input
	var prefix, fwd, bwd float64
	firstTrainable := len(net.Layers)
	for i, l := range net.Layers {
		if !l.Frozen && l.HasWeights() {
			firstTrainable = min(firstTrainable, i)
		}
	}
	for i, l := range net.Layers {
		f := l.FLOPs(in, shapes[i])
		in = shapes[i]
		if i < cached {
			prefix += f
			continue
		}
		fwd += f
		if i >= firstTrainable {
			bwd += 2 * f
		}
	}
	e := float64(epochs)
	return prefix*float64(trainN+valN) + e*float64(trainN)*(fwd+bwd) + e*float64(valN)*fwd, nil
}
