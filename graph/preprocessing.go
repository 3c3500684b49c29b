package graph

import (
	"fmt"
	"strings"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
)

// The op builders of the preprocessing and augmentation layers. The random
// ones draw per image, from a stateless op seeded by (Options.Seed, layer,
// step) as dropout does, so two runs with one seed draw the same, every
// step draws anew and a resumed run continues the sequence. In inference
// mode they select their input unchanged.

func init() {
	builders[config.Rescaling] = func(b *builder, s *op.Scope, l config.Layer, x tf.Output, _ map[string]*Variable, _ []int) (y, pre tf.Output) {
		y = op.Mul(s, x, op.Const(s.SubScope("scale"), float32(l.Scale)))
		return op.Add(s, y, op.Const(s.SubScope("offset"), float32(l.Offset))), x
	}
	builders[config.Normalization] = func(b *builder, s *op.Scope, l config.Layer, x tf.Output, w map[string]*Variable, _ []int) (y, pre tf.Output) {
		if l.NeedsAdapt() && !l.Reused { // a reused one gets its source's statistics as weights
			s.UpdateErr("Build", fmt.Errorf("layer %q: adapt: mean and variance are not computed yet; adapt the network to its training images first (train.Adapt)", l.Name))
			return x, x
		}
		std := op.Maximum(s, op.Sqrt(s, w["variance"].Read), op.Const(s.SubScope("epsilon"), float32(config.NormalizationEpsilon)))
		return op.RealDiv(s, op.Sub(s, x, w["mean"].Read), std), x
	}
	builders[config.RandomFlip] = func(b *builder, s *op.Scope, l config.Layer, x tf.Output, _ map[string]*Variable, _ []int) (y, pre tf.Output) {
		return b.randomFlip(s, l, x), x
	}
	builders[config.RandomTranslation] = func(b *builder, s *op.Scope, l config.Layer, x tf.Output, _ map[string]*Variable, out []int) (y, pre tf.Output) {
		return b.randomTranslation(s, l, x, out), x
	}
	builders[config.RandomBrightness] = func(b *builder, s *op.Scope, l config.Layer, x tf.Output, _ map[string]*Variable, _ []int) (y, pre tf.Output) {
		u := b.draw(s, l, 1)
		lo, hi := l.Factor.Bounds(true)
		width := l.ValueRange[1] - l.ValueRange[0]
		delta := affine(s.SubScope("delta"), u, float32(lo*width), float32((hi-lo)*width))
		return b.inTraining(s, x, clip(s, l, op.Add(s, x, perImage(s, delta)))), x
	}
	builders[config.RandomContrast] = func(b *builder, s *op.Scope, l config.Layer, x tf.Output, _ map[string]*Variable, _ []int) (y, pre tf.Output) {
		u := b.draw(s, l, 1)
		lo, hi := l.Factor.Bounds(false)
		factor := perImage(s, affine(s.SubScope("factor"), u, float32(1-lo), float32(hi+lo)))
		mean := op.Mean(s, x, op.Const(s.SubScope("axes"), []int32{1, 2}), op.MeanKeepDims(true))
		y = op.Add(s.SubScope("contrast"), op.Mul(s, op.Sub(s, x, mean), factor), mean)
		return b.inTraining(s, x, clip(s, l, y)), x
	}
}

// draw returns k uniform values in [0, 1) per image ([batch, k]), seeded by
// the layer's step counter. The batch size comes from the Images input, as
// dropout's, so the draw does not depend on the weights (it has no gradient).
func (b *builder) draw(s *op.Scope, l config.Layer, k int64) tf.Output {
	seed, advance := b.stepSeed(s, l)
	batch := op.Slice(s, op.Shape(s, b.images, op.ShapeOutType(tf.Int64)), op.Const(s.SubScope("begin"), []int64{0}), op.Const(s.SubScope("size"), []int64{1}))
	if b.opt.Sharded { // the whole batch's draw up to this shard's end
		ss := s.SubScope("shard")
		batch = op.Add(ss, batch, op.Reshape(ss, b.m.Offset, op.Const(ss.SubScope("one"), []int64{1})))
	}
	shape := op.ConcatV2(s, []tf.Output{batch, op.Const(s.SubScope("draws"), []int64{k})}, op.Const(s.SubScope("axis"), int32(0)))
	u := op.StatelessRandomUniform(s, shape, seed)
	advance(u.Op)
	if b.opt.Sharded { // this shard's rows
		ss := s.SubScope("rows")
		begin := op.Pack(ss, []tf.Output{b.m.Offset, op.Const(ss.SubScope("zero"), int64(0))})
		u = op.Slice(ss, u, begin, op.Const(ss.SubScope("size"), []int64{-1, -1}))
	}
	return u
}

// affine returns u*width + low.
func affine(s *op.Scope, u tf.Output, low, width float32) tf.Output {
	return op.Add(s, op.Mul(s, u, op.Const(s.SubScope("width"), width)), op.Const(s.SubScope("low"), low))
}

// perImage reshapes one value per image ([batch, 1]) to [batch, 1, 1, 1].
func perImage(s *op.Scope, v tf.Output) tf.Output {
	return op.Reshape(s.SubScope("per_image"), v, op.Const(s.SubScope("per_image_shape"), []int64{-1, 1, 1, 1}))
}

// clip limits x to the layer's value_range.
func clip(s *op.Scope, l config.Layer, x tf.Output) tf.Output {
	s = s.SubScope("clip")
	x = op.Maximum(s, x, op.Const(s.SubScope("low"), float32(l.ValueRange[0])))
	return op.Minimum(s, x, op.Const(s.SubScope("high"), float32(l.ValueRange[1])))
}

// inTraining returns y in training mode and x, unchanged, in inference mode.
func (b *builder) inTraining(s *op.Scope, x, y tf.Output) tf.Output {
	return op.Select(s.SubScope("in_training"), b.m.Training, y, x)
}

// randomFlip flips each image, in training, with probability 1/2: left-right,
// top-bottom, or both at once (a half turn) as l.Mode says, one draw per
// image as in Keras 3.
func (b *builder) randomFlip(s *op.Scope, l config.Layer, x tf.Output) tf.Output {
	u := op.Reshape(s, b.draw(s, l, 1), op.Const(s.SubScope("per_image"), []int64{-1}))
	flip := op.LogicalAnd(s, b.m.Training, op.LessEqual(s, u, op.Const(s.SubScope("half"), float32(0.5))))
	horizontal, vertical := l.Mode.Flips()
	var axes []int32
	if vertical {
		axes = append(axes, 1)
	}
	if horizontal {
		axes = append(axes, 2)
	}
	return op.Select(s, flip, op.ReverseV2(s, x, op.Const(s.SubScope("axes"), axes)), x)
}

// randomTranslation shifts each image, in training, by a fraction of its
// height and width drawn from the layer's factors, with bilinear
// interpolation and fill_mode at the edges, as Keras' RandomTranslation.
func (b *builder) randomTranslation(s *op.Scope, l config.Layer, x tf.Output, shape []int) tf.Output {
	h, w := float64(shape[0]), float64(shape[1])
	hl, hu := l.HeightFactor.Bounds(true)
	wl, wu := l.WidthFactor.Bounds(true)
	u := b.draw(s, l, 2) // [dx, dy] per image
	d := op.Add(s.SubScope("shift"),
		op.Mul(s.SubScope("shift"), u, op.Const(s.SubScope("widths"), []float32{float32((wu - wl) * w), float32((hu - hl) * h)})),
		op.Const(s.SubScope("lows"), []float32{float32(wl * w), float32(hl * h)}))
	// Each image's transform [1 0 -dx 0 1 -dy 0 0] maps an output pixel to
	// the input pixel it samples.
	toTransform := op.Const(s.SubScope("to_transform"), [][]float32{{0, 0, -1, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, -1, 0, 0}})
	transforms := op.Add(s.SubScope("transforms"), op.MatMul(s, d, toTransform), op.Const(s.SubScope("identity"), []float32{1, 0, 0, 0, 1, 0, 0, 0}))
	y := op.ImageProjectiveTransformV3(s, x, transforms,
		op.Const(s.SubScope("output_shape"), []int32{int32(shape[0]), int32(shape[1])}), // shapes are capped far below MaxInt32
		op.Const(s.SubScope("fill_value"), float32(l.FillValue)), "BILINEAR",
		op.ImageProjectiveTransformV3FillMode(strings.ToUpper(string(l.FillMode))))
	return b.inTraining(s, x, y)
}
