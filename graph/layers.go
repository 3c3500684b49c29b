package graph

import (
	"fmt"
	"math"
	"strings"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"
	tg "github.com/galeone/tfgo"

	"github.com/tfcifar/tfcifar/config"
)

// opBuilder adds the ops of one layer type on x and returns the output and,
// for a layer with an activation, the output before it (pre). l has its
// defaults filled, w holds the variables of the layer's config.Weight
// list by name, and out is the layer's output shape without the batch.
type opBuilder func(b *builder, s *op.Scope, l config.Layer, x tf.Output, w map[string]*Variable, out []int) (y, pre tf.Output)

// builders are the op builders of the layer types; config's table of layer
// types holds everything else about them.
var builders = map[config.LayerType]opBuilder{
	config.Conv2D: func(b *builder, s *op.Scope, l config.Layer, x tf.Output, w map[string]*Variable, _ []int) (y, pre tf.Output) {
		return b.conv2d(s, l, x, w)
	},
	config.Dense: func(b *builder, s *op.Scope, l config.Layer, x tf.Output, w map[string]*Variable, _ []int) (y, pre tf.Output) {
		x = tg.NewTensor(s, x).MatMul(w["kernel"].Read).Output
		return activated(s, l, addBias(s, x, w))
	},
	config.MaxPooling2D: func(b *builder, s *op.Scope, l config.Layer, x tf.Output, _ map[string]*Variable, _ []int) (y, pre tf.Output) {
		return op.MaxPool(s, x, window(l.Pool), window(l.Strides), padding(l.Padding)), x
	},
	config.AveragePooling2D: func(b *builder, s *op.Scope, l config.Layer, x tf.Output, _ map[string]*Variable, _ []int) (y, pre tf.Output) {
		return op.AvgPool(s, x, window(l.Pool), window(l.Strides), padding(l.Padding)), x
	},
	config.GlobalAveragePooling2D: func(b *builder, s *op.Scope, l config.Layer, x tf.Output, _ map[string]*Variable, _ []int) (y, pre tf.Output) {
		return op.Mean(s, x, op.Const(s.SubScope("axes"), []int32{1, 2})), x
	},
	config.Flatten: func(b *builder, s *op.Scope, l config.Layer, x tf.Output, _ map[string]*Variable, out []int) (y, pre tf.Output) {
		return op.Reshape(s, x, op.Const(s.SubScope("shape"), []int64{-1, int64(out[0])})), x
	},
	config.Dropout: func(b *builder, s *op.Scope, l config.Layer, x tf.Output, _ map[string]*Variable, out []int) (y, pre tf.Output) {
		return b.dropout(s, l, x, out), x
	},
	config.Activation: func(b *builder, s *op.Scope, l config.Layer, x tf.Output, _ map[string]*Variable, _ []int) (y, pre tf.Output) {
		return activate(s, l.Activation, x), x
	},
	config.BatchNormalization: func(b *builder, s *op.Scope, l config.Layer, x tf.Output, w map[string]*Variable, out []int) (y, pre tf.Output) {
		return b.batchnorm(s, l, x, w, out), x
	},
	config.ZeroPadding2D: func(b *builder, s *op.Scope, l config.Layer, x tf.Output, _ map[string]*Variable, _ []int) (y, pre tf.Output) {
		h, w := int32(l.Pad[0]), int32(l.Pad[1]) // Validate caps pad at MaxInt32; int32, as the gradient of Pad slices with int32 indices
		return op.Pad(s, x, op.Const(s.SubScope("paddings"), [][]int32{{0, 0}, {h, h}, {w, w}, {0, 0}})), x
	},
}

// layer adds one layer (defaults filled) on x, whose shape is in, with its
// variables, and returns its output and the output before the activation
// (pre).
func (b *builder) layer(s *op.Scope, l config.Layer, x tf.Output, in, out []int) (y, pre tf.Output) {
	build, ok := builders[l.Type]
	if !ok {
		s.UpdateErr("Build", fmt.Errorf("layer %q: unknown type %q", l.Name, l.Type))
		return x, x
	}
	if b.opt.Serving && l.Type.Random() {
		// Inference needs neither the draws nor their step counter.
		b.m.LeftOut = append(b.m.LeftOut, l.Name+"/"+seedParam)
		return op.Identity(s, x), x
	}
	w := map[string]*Variable{}
	for _, v := range l.Weights(in) {
		w[v.Name] = b.variable(s, l, v)
	}
	return build(b, s, l, x, w, out)
}

// addBias adds the layer's bias when it has one.
func addBias(s *op.Scope, x tf.Output, w map[string]*Variable) tf.Output {
	if v, ok := w["bias"]; ok {
		return op.BiasAdd(s, x, v.Read)
	}
	return x
}

// activated applies l's activation to pre and returns both.
func activated(s *op.Scope, l config.Layer, pre tf.Output) (y, _ tf.Output) {
	return activate(s, l.Activation, pre), pre
}

func window(w config.Size) []int64 { return []int64{1, int64(w[0]), int64(w[1]), 1} }

func padding(p config.Padding) string { return strings.ToUpper(string(p)) }

// activate applies a named activation (linear: none).
func activate(s *op.Scope, name config.ActivationFunc, x tf.Output) tf.Output {
	switch name {
	case config.ReLU:
		return op.Relu(s, x)
	case config.Sigmoid:
		return op.Sigmoid(s, x)
	case config.Tanh:
		return op.Tanh(s, x)
	case config.Softmax:
		return op.Softmax(s, x)
	}
	return x
}

// dropout keeps each value in training mode with probability 1-rate and
// scales kept values by 1/(1-rate); in inference mode it passes x through
// and draws nothing: the mask's ops sit in the training branch of a switch
// on Training, so an inference run never executes them.
// The mask is drawn by a stateless op seeded by (Options.Seed, layer) and a
// step counter variable that Model.Updates advances, so every training step
// draws a new mask, reproducibly, and a restored checkpoint continues the
// sequence. Each value gets 16 random bits (64-bit words split in four,
// four times fewer generator calls than a float per value) and is kept when
// they reach round_up(rate*65536), so the drop probability is rate to within
// 1/65536. The mask's shape comes from the Images batch size and the static
// layer shape, so it does not depend on the weights.
func (b *builder) dropout(s *op.Scope, l config.Layer, x tf.Output, shape []int) tf.Output {
	seed, advance := b.stepSeed(s, l)
	batch := op.Slice(s, op.Shape(s, b.images, op.ShapeOutType(tf.Int64)), op.Const(s.SubScope("begin"), []int64{0}), op.Const(s.SubScope("size"), []int64{1}))
	dims := op.ConcatV2(s, []tf.Output{batch, op.Const(s.SubScope("dims"), dimsOf(shape))}, op.Const(s.SubScope("axis"), int32(0)))
	inference, training := b.branches(s)
	ts := s.SubScope("training").WithControlDependencies(training)
	n := op.Prod(ts, dims, op.Const(ts.SubScope("all"), []int32{0}), op.ProdKeepDims(true))
	drawn, first := n, op.Const(ts.SubScope("first"), []int64{0})
	if b.opt.Sharded { // the whole batch's draw up to this shard's end
		ss := ts.SubScope("shard")
		first = op.Mul(ss, op.Reshape(ss, b.m.Offset, op.Const(ss.SubScope("one"), []int64{1})), op.Const(ss.SubScope("per_image"), []int64{int64(sizeOf(shape))}))
		drawn = op.Add(ss, first, n)
	}
	words := op.FloorDiv(ts, op.Add(ts, drawn, op.Const(ts.SubScope("three"), []int64{3})), op.Const(ts.SubScope("four"), []int64{4}))
	bits := op.StatelessRandomUniformFullInt(ts, words, seed, op.StatelessRandomUniformFullIntDtype(tf.Uint64))
	u := op.Reshape(ts, op.Bitcast(ts, bits, tf.Uint16), op.Const(ts.SubScope("flat"), []int64{-1}))
	u = op.Reshape(ts.SubScope("shaped"), op.Slice(ts.SubScope("values"), u, first, n), dims)
	threshold := min(math.Ceil(l.Rate*65536), 65535)
	keep := op.Cast(ts, op.GreaterEqual(ts, u, op.Const(ts.SubScope("threshold"), uint16(threshold))), tf.Float)
	mask := op.Mul(ts.SubScope("mask"), keep, op.Const(ts.SubScope("inverse"), float32(1/(1-l.Rate))))
	advance(bits.Op)
	is := s.SubScope("inference").WithControlDependencies(inference)
	ones := op.Fill(is, dims, op.Const(is.SubScope("one"), float32(1)))
	mask, _ = op.Merge(s.SubScope("mask"), []tf.Output{mask, ones})
	return op.Mul(s, x, mask)
}

// branches returns two ops of which only one runs: inference when
// Training is false, training when it is true. An op given one of them as
// a control dependency runs only in that mode (TensorFlow's dead branches
// of a switch), so work a mode does not need is never done.
func (b *builder) branches(s *op.Scope) (inference, training *tf.Operation) {
	s = s.SubScope("mode")
	f, t := op.Switch(s, b.m.Training, b.m.Training)
	return op.Identity(s.SubScope("inference"), f).Op, op.Identity(s.SubScope("training"), t).Op
}

// seedParam names the step counter of a layer that draws random numbers
// in training (dropout/seed, random_flip/seed).
const seedParam = "seed"

// stepSeed adds the step counter of a layer that draws random numbers in
// training (a float32 variable "<layer>/seed", State) and returns the seed
// of this step's draws, (Options.Seed ^ hash(layer), step), and advance,
// which adds to Model.Updates the op that counts the step once the draws
// (the ops given) are done.
func (b *builder) stepSeed(s *op.Scope, l config.Layer) (seed tf.Output, advance func(draws ...*tf.Operation)) {
	step := b.variable(s, l, config.Weight{Name: seedParam, Shape: []int{}, Init: config.Zeros})
	step.State = true
	seed = op.Pack(s, []tf.Output{op.Const(s.SubScope("key"), b.opt.Seed^hash(l.Name)), op.Cast(s.SubScope("step"), step.Read, tf.Int64)})
	return seed, func(draws ...*tf.Operation) {
		as := s.SubScope("advance").WithControlDependencies(draws...)
		b.m.Updates = append(b.m.Updates, op.AssignAddVariableOp(as, step.Handle, op.Const(as.SubScope("one"), float32(1))))
	}
}

func dimsOf(shape []int) []int64 { return dims(shape) }

// sizeOf returns the number of values of one example of shape.
func sizeOf(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// batchnorm normalises x over its last axis: with the batch statistics in
// training mode (and Model.Updates moving the moving statistics towards
// them by 1-momentum), with the moving statistics in inference mode. A
// frozen batchnorm always runs in inference mode, as in Keras.
func (b *builder) batchnorm(s *op.Scope, l config.Layer, x tf.Output, w map[string]*Variable, shape []int) tf.Output {
	c := int64(shape[len(shape)-1])
	gamma, beta, mean, variance := w["gamma"], w["beta"], w["moving_mean"], w["moving_variance"]
	flat := len(shape) == 1
	if flat { // FusedBatchNormV3 wants NHWC
		x = op.Reshape(s, x, op.Const(s.SubScope("to4d"), []int64{-1, 1, 1, c}))
	}
	eps := op.FusedBatchNormV3Epsilon(float32(l.Epsilon))
	y, _, _, _, _, _ := op.FusedBatchNormV3(s.SubScope("inference"), x, gamma.Read, beta.Read, mean.Read, variance.Read, eps, op.FusedBatchNormV3IsTraining(false))
	if !l.Frozen {
		yt, bm, bv, _, _, _ := op.FusedBatchNormV3(s.SubScope("training"), x, gamma.Read, beta.Read, mean.Read, variance.Read, eps, op.FusedBatchNormV3IsTraining(true))
		y = op.Select(s, b.m.Training, yt, y)
		m := op.Const(s.SubScope("momentum"), float32(l.Momentum))
		b.m.Updates = append(b.m.Updates, b.moving(s, mean, bm, m), b.moving(s, variance, bv, m))
	}
	if flat {
		y = op.Reshape(s.SubScope("flat"), y, op.Const(s.SubScope("to2d"), []int64{-1, c}))
	}
	return y
}

// moving assigns v = v*momentum + batch*(1-momentum), read after the batch
// statistic is computed.
func (b *builder) moving(s *op.Scope, v *Variable, batch, momentum tf.Output) *tf.Operation {
	s = s.SubScope("update_" + v.Name[strings.LastIndex(v.Name, "/")+1:])
	delta := op.Mul(s, op.Sub(s.SubScope("diff"), v.Read, batch), op.Sub(s.SubScope("rate"), op.Const(s.SubScope("one"), float32(1)), momentum))
	return op.AssignSubVariableOp(s, v.Handle, delta)
}
