package config

// Shapes returns the output shape of every layer of a flat network, without
// the batch dimension ([28 28 8] for a conv2d, [3200] after flatten). It
// fails, naming the layer, when a layer's settings are invalid, a layer
// does not fit its input or a shape shrinks to zero.
func (n Network) Shapes() ([][]int, error) {
	if err := checkFeatureInput(n.Input); err != nil {
		return nil, err
	}
	in := n.Input
	shapes := make([][]int, len(n.Layers))
	for i, l := range n.Layers {
		// The shape rules index and divide by the settings: check them
		// first, so a network that was not validated fails, not panics.
		if err := l.Validate(); err != nil {
			return nil, layerErr(i, l, err)
		}
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
	if f := kinds[l.Type].shape; f != nil {
		return f(l, in)
	}
	return append([]int(nil), in...), nil
}
