package workflow

import (
	"github.com/tfcifar/tfcifar/config"
)

// layerFLOPs returns the floating-point operations of one layer's forward
// pass for one image, counting a multiply-add as two: convolutions and
// dense layers (with their bias), pooling and element-wise layers at one
// operation per value they read.
func layerFLOPs(l config.Layer, in, out []int) float64 {
	size := func(s []int) float64 {
		n := 1.0
		for _, d := range s {
			n *= float64(d)
		}
		return n
	}
	switch l.Type {
	case "conv2d":
		k := float64(l.Kernel[0] * l.Kernel[1] * in[len(in)-1])
		return size(out) * (2*k + 1)
	case "dense":
		return size(out) * (2*size(in) + 1)
	case "flatten":
		return 0
	default:
		return size(in)
	}
}

// trainFLOPs estimates the operations of a fit: per training image a
// forward pass through every layer after the first cached one, and a
// backward pass (twice the forward cost) through the layers from the first
// trainable one on; per validation image, a forward pass per epoch; plus
// one forward pass over all images through the first cached layers.
func trainFLOPs(net config.Network, epochs, trainN, valN, cached int) (float64, error) {
	shapes, err := net.Shapes()
	if err != nil {
		return 0, err
	}
	in := net.Input
	var prefix, fwd, bwd float64
	firstTrainable := len(net.Layers)
	for i, l := range net.Layers {
		if !l.Frozen && l.Type != "flatten" && l.Type != "dropout" && l.Type != "activation" && l.Type != "maxpool2d" && l.Type != "avgpool2d" && l.Type != "global_avgpool2d" {
			firstTrainable = min(firstTrainable, i)
		}
	}
	for i, l := range net.Layers {
		f := layerFLOPs(l, in, shapes[i])
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
