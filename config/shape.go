package config

import (
	"fmt"
	"math"
	"math/bits"
)

// Shapes returns the output shape of every layer of a flat network, without
// the batch dimension ([28 28 8] for a conv2d, [3200] after flatten). It
// fails, naming the layer, when a layer does not fit its input or a shape
// shrinks to zero.
func (n Network) Shapes() ([][]int, error) {
	if err := checkFeatureInput(n.Input); err != nil {
		return nil, err
	}
	in := n.Input
	shapes := make([][]int, len(n.Layers))
	for i, l := range n.Layers {
		out, err := l.withDefaults().shape(in)
		if err != nil {
			return nil, layerErr(i, l, err)
		}
		shapes[i] = out
		in = out
	}
	return shapes, nil
}

// OutputShape returns the shape the network outputs for one image.
func (n Network) OutputShape() ([]int, error) {
	s, err := n.Shapes()
	if err != nil {
		return nil, err
	}
	if len(s) == 0 {
		return n.Input, nil
	}
	return s[len(s)-1], nil
}

// shape computes the output shape of l (defaults filled) for input in.
func (l Layer) shape(in []int) ([]int, error) {
	switch l.Type {
	case "conv2d", "maxpool2d", "avgpool2d":
		if len(in) != 3 {
			return nil, fmt.Errorf("input: %s wants an [height, width, channels] input, got %v", l.Type, in)
		}
		win, field := l.Pool, "pool"
		if l.Type == "conv2d" {
			win, field = l.Kernel, "kernel"
		}
		h, w := window(in[0], win[0], l.Strides[0], l.Padding), window(in[1], win[1], l.Strides[1], l.Padding)
		if h <= 0 || w <= 0 {
			return nil, fmt.Errorf("%s: %v with strides %v and %s padding shrinks input %v to %dx%d; want a smaller %s or padding: same",
				field, []int(win), []int(l.Strides), l.Padding, in, h, w, field)
		}
		c := in[2]
		if l.Type == "conv2d" {
			c = l.Filters
		}
		return []int{h, w, c}, nil
	case "global_avgpool2d":
		if len(in) != 3 {
			return nil, fmt.Errorf("input: global_avgpool2d wants an [height, width, channels] input, got %v", in)
		}
		return []int{in[2]}, nil
	case "flatten":
		p := 1
		for _, d := range in {
			hi, lo := bits.Mul64(uint64(p), uint64(d))
			if hi != 0 || lo > math.MaxInt {
				return nil, fmt.Errorf("input: %v has more values than an int holds", in)
			}
			p = int(lo)
		}
		return []int{p}, nil
	case "dense":
		if len(in) != 1 {
			return nil, fmt.Errorf("input: dense wants a flat input, got %v; add a flatten layer before it", in)
		}
		return []int{l.Units}, nil
	case "batchnorm":
		if len(in) != 1 && len(in) != 3 {
			return nil, fmt.Errorf("input: batchnorm wants a flat or [height, width, channels] input, got %v", in)
		}
	}
	return append([]int(nil), in...), nil
}

// window is the output length of a sliding window of size k and stride s
// over n positions, as TensorFlow computes it.
func window(n, k, s int, padding string) int {
	if padding == "same" {
		return (n-1)/s + 1 // ceil(n/s) for n > 0, without overflow
	}
	if n < k {
		return 0
	}
	return (n-k)/s + 1
}
