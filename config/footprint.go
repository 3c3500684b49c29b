package config

import "fmt"

// Footprint is an estimate of the memory a network takes, in bytes of
// float32 values, computed in float64 so that no size overflows.
type Footprint struct {
	Total  float64   // everything below but CacheFile
	Input  float64   // the input batch
	Layers []float64 // per layer: its parameters (and their gradients and optimizer slots) and its outputs (and their gradients)
	Params []float64 // per layer: the number of parameters
	Cache  float64   // cached features of the frozen layers, held in memory (data.in_memory)
	Shapes [][]int   // per layer: the output shape (Network.Shapes)

	// CacheFile is the size of cached features kept in a temporary file
	// (data.in_memory: false): on disk, not in Total.
	CacheFile float64
}

// Footprint estimates the memory of running n (a flat network, validated)
// on batches of batch examples. With slots >= 0 it is training: every
// trainable parameter also has a gradient and slots optimizer values
// (Optimizer.Slots), and every layer output a gradient. With slots < 0 it
// is inference: parameters and outputs only.
func (n Network) Footprint(batch, slots int) (Footprint, error) {
	shapes, err := n.Shapes()
	if err != nil {
		return Footprint{}, err
	}
	b := float64(batch)
	f := Footprint{Input: 4 * b * volume(n.Input), Layers: make([]float64, len(n.Layers)), Params: make([]float64, len(n.Layers)), Shapes: shapes}
	f.Total = f.Input
	in := n.Input
	for i, l := range n.Layers {
		l = l.withDefaults()
		p := l.params(in)
		perParam, perOut := 1.0, 1.0
		if slots >= 0 {
			perOut = 2
			if !l.Frozen {
				perParam = float64(2 + slots)
			}
		}
		f.Params[i] = p
		f.Layers[i] = 4 * (p*perParam + b*volume(shapes[i])*perOut)
		f.Total += f.Layers[i]
		in = shapes[i]
	}
	return f, nil
}

// Slots returns the number of values the optimizer keeps per trainable
// parameter: 2 for adam (two moments), 1 for sgd with momentum, else 0.
func (o Optimizer) Slots() int {
	switch {
	case o.Name == Adam:
		return 2
	case o.Momentum != 0:
		return 1
	}
	return 0
}

// params returns the number of parameters of l (defaults filled) on an
// input of shape in.
func (l Layer) params(in []int) float64 {
	p := 0.0
	for _, w := range l.Weights(in) {
		p += volume(w.Shape)
	}
	return p
}

func volume(shape []int) float64 {
	v := 1.0
	for _, d := range shape {
		v *= float64(d)
	}
	return v
}

// checkFootprint refuses f when its total is over limit, naming the largest
// part (a layer or the input) and what the whole needs; doing says what
// was estimated ("training with batch_size 100").
func (n Network) checkFootprint(f Footprint, limit float64, doing string) error {
	if f.Total <= limit {
		return nil
	}
	whole := fmt.Sprintf("%s needs about %s in all, over the %s cap", doing, sizeText(f.Total), sizeText(limit))
	if f.Cache > 0 {
		whole += fmt.Sprintf(" (%s of it cached features; cache_frozen: false avoids them)", sizeText(f.Cache))
	}
	if f.CacheFile > 0 {
		whole += fmt.Sprintf(" (not counting the cached features, %s, which go to a temporary file)", sizeText(f.CacheFile))
	}
	i := 0
	for k, b := range f.Layers {
		if b > f.Layers[i] {
			i = k
		}
	}
	if len(f.Layers) == 0 || f.Layers[i] < f.Input {
		return fmt.Errorf("input: %v per example takes %s; %s", n.Input, sizeText(f.Input), whole)
	}
	return layerErr(i, n.Layers[i], fmt.Errorf("%.0f parameters and output %v per example take %s; %s",
		f.Params[i], f.Shapes[i], sizeText(f.Layers[i]), whole))
}

// Cacheable returns how many leading layers of n are reused, frozen and
// deterministic (no dropout), so that their outputs can be computed once
// for all images (train.cache_frozen); at least one layer is always left
// to train.
func (n Network) Cacheable() int {
	k := 0
	for _, l := range n.Layers[:max(len(n.Layers)-1, 0)] {
		if !l.Reused || !l.Frozen || kinds[l.Type].random {
			break
		}
		k++
	}
	return k
}
