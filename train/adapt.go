package train

import (
	"fmt"
	"math"
	"slices"

	"github.com/tfcifar/tfcifar/config"
)

// Histogrammer counts, per channel, the pixels of images that take each
// value.
type Histogrammer interface {
	Histogram() ([][256]int64, error)
}

// checkCounts checks that counts are those of one or more whole images of
// shape (channels last).
func checkCounts(counts [][256]int64, shape []int) error {
	c, plane := shape[len(shape)-1], 1
	for _, d := range shape[:len(shape)-1] {
		plane *= d
	}
	if len(counts) != c {
		return fmt.Errorf("adapt: training images of %d channels, want images of shape %v", len(counts), shape)
	}
	var n int64
	for _, v := range counts[0] {
		n += v
	}
	if n == 0 || n%int64(plane) != 0 {
		return fmt.Errorf("adapt: %d pixels per channel of training images, want whole images of shape %v", n, shape)
	}
	return nil
}

// Adapt returns net with the mean and variance of every normalization layer
// with adapt: true computed from the training images, per channel, as
// Keras' Normalization.adapt computes them (the population variance).
// images gives how many pixels of the images (any number, of net.Input's
// shape) take each value per channel (cifar.Set.Histogram); it is read
// only when a layer adapts. The images are fed times scale (data.scale;
// 0 means 1);
// the statistics are those of the values as they reach the layer, through
// the rescaling and normalization layers before it. Random layers are
// skipped, as adapt sees the images unaugmented, and any other layer before
// an adapting normalization is an error naming it. A reused layer keeps its
// source's statistics (its weights) and is left as it is. The adapted layers
// hold their statistics in Mean and Variance, with Adapt false, so the
// network (and an export's network.yaml) records them.
func Adapt(net config.Network, images Histogrammer, scale float64) (config.Network, error) {
	if !slices.ContainsFunc(net.Layers, adapts) {
		return net, nil
	}
	counts, err := images.Histogram()
	if err != nil {
		return net, fmt.Errorf("adapt: %w", err)
	}
	if err := checkCounts(counts, net.Input); err != nil {
		return net, err
	}
	if scale == 0 {
		scale = 1
	}
	// The layers seen so far map a pixel p of channel k to p*a[k] + b[k].
	c := len(counts)
	a, b := slices.Repeat([]float64{scale}, c), make([]float64, c)
	net.Layers = slices.Clone(net.Layers)
	for i, l := range net.Layers {
		if !slices.ContainsFunc(net.Layers[i:], adapts) {
			break
		}
		switch {
		case l.Type == config.Rescaling:
			for k := range a {
				a[k], b[k] = a[k]*l.Scale, b[k]*l.Scale+l.Offset
			}
			continue
		case l.Type == config.Normalization && l.NeedsAdapt() && l.Reused:
			return net, fmt.Errorf("layers[%d] (%s): adapt: the statistics of this reused layer are its source's weights; a later normalization cannot adapt through it", i, l.Name)
		case adapts(l):
			l.Mean, l.Variance = statistics(counts, a, b)
			l.Adapt = false
			net.Layers[i] = l
		case l.Type != config.Normalization && !l.Type.Random():
			return net, fmt.Errorf("layers[%d] (%s): adapt: a normalization that adapts may follow only rescaling, normalization and random layers, not %s", i, l.Name, l.Type)
		}
		if l.Type == config.Normalization {
			for k := range a {
				m, std := perChannel(l.Mean, k), math.Max(math.Sqrt(perChannel(l.Variance, k)), config.NormalizationEpsilon)
				a[k], b[k] = a[k]/std, (b[k]-m)/std
			}
		}
	}
	return net, nil
}

// adapts reports whether l is a normalization layer, not reused, whose
// statistics Adapt computes.
func adapts(l config.Layer) bool { return l.NeedsAdapt() && !l.Reused }

// perChannel returns channel k's value of v (one value is every channel's).
func perChannel(v config.Values, k int) float64 {
	if len(v) == 1 {
		return v[0]
	}
	return v[k]
}

// statistics returns the mean and population variance per channel of the
// values p*a[k] + b[k], with counts[k][p] pixels of value p in channel k.
func statistics(counts [][256]int64, a, b []float64) (mean, variance config.Values) {
	mean, variance = make(config.Values, len(counts)), make(config.Values, len(counts))
	for k, hist := range counts {
		var n, sum float64
		for p, cnt := range hist {
			n += float64(cnt)
			sum += float64(cnt) * (float64(p)*a[k] + b[k])
		}
		mean[k] = sum / n
		for p, cnt := range hist {
			d := float64(p)*a[k] + b[k] - mean[k]
			variance[k] += float64(cnt) * d * d
		}
		variance[k] /= n
	}
	return mean, variance
}
