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
// layer shape, so it does not depend on the weights. With
// Options.DrawAhead each step also draws the next step's mask (nextMasks).
func (b *builder) dropout(s *op.Scope, l config.Layer, x tf.Output, shape []int) tf.Output {
	key, step, advance := b.stepCounter(s, l)
	batch := op.Slice(s, op.Shape(s, b.images, op.ShapeOutType(tf.Int64)), op.Const(s.SubScope("begin"), []int64{0}), op.Const(s.SubScope("size"), []int64{1}))
	dims := op.ConcatV2(s, []tf.Output{batch, op.Const(s.SubScope("dims"), dimsOf(shape))}, op.Const(s.SubScope("axis"), int32(0)))
	inference, training := b.branches(s)
	ts := s.SubScope("training").WithControlDependencies(training)
	var mask tf.Output
	if b.opt.DrawAhead && !b.opt.Sharded {
		var draws []*tf.Operation
		mask, draws = b.nextMasks(ts, l, key, step, batch, dims, shape)
		advance(draws...)
	} else {
		first := op.Const(ts.SubScope("first"), []int64{0})
		if b.opt.Sharded { // the whole batch's draw up to this shard's end
			ss := ts.SubScope("shard")
			first = op.Mul(ss, op.Reshape(ss, b.m.Offset, op.Const(ss.SubScope("one"), []int64{1})), op.Const(ss.SubScope("per_image"), []int64{int64(sizeOf(shape))}))
		}
		mask = dropoutMask(ts, l.Rate, op.Pack(ts, []tf.Output{key, step}), first, dims)
		advance(mask.Op)
	}
	is := s.SubScope("inference").WithControlDependencies(inference)
	ones := op.Fill(is, dims, op.Const(is.SubScope("one"), float32(1)))
	mask, _ = op.Merge(s.SubScope("mask"), []tf.Output{mask, ones})
	return op.Mul(s, x, mask)
}

// dropoutMask draws the mask of shape dims (int64 [rank]) seeded by seed
// (int64 [2]): values first (int64 [1]) to first+size(dims) of the 16-bit
// stream, kept (1/(1-rate)) or dropped (0). The stream is counter based,
// so a draw of more values than another with the same seed and first
// begins with the same values.
func dropoutMask(s *op.Scope, rate float64, seed, first, dims tf.Output) tf.Output {
	n := op.Prod(s, dims, op.Const(s.SubScope("all"), []int32{0}), op.ProdKeepDims(true))
	drawn := op.Add(s.SubScope("drawn"), first, n)
	words := op.FloorDiv(s, op.Add(s, drawn, op.Const(s.SubScope("three"), []int64{3})), op.Const(s.SubScope("four"), []int64{4}))
	bits := op.StatelessRandomUniformFullInt(s, words, seed, op.StatelessRandomUniformFullIntDtype(tf.Uint64))
	u := op.Reshape(s, op.Bitcast(s, bits, tf.Uint16), op.Const(s.SubScope("flat"), []int64{-1}))
	u = op.Reshape(s.SubScope("shaped"), op.Slice(s.SubScope("values"), u, first, n), dims)
	threshold := min(math.Ceil(rate*65536), 65535)
	keep := op.Cast(s, op.GreaterEqual(s, u, op.Const(s.SubScope("threshold"), uint16(threshold))), tf.Float)
	return op.Mul(s.SubScope("mask"), keep, op.Const(s.SubScope("inverse"), float32(1/(1-rate))))
}

// nextMasks returns this step's dropout mask of shape dims and the ops
// that draw masks, and stores the mask of the next step (counter step+1,
// as many rows as this batch) in a variable of the graph's own. The next
// step uses the stored mask when it was drawn for its counter and at
// least as many rows (its first rows: the same values as a draw of its
// own), and draws its own otherwise (the first step, a batch larger than
// the previous one, a counter restored from a checkpoint). So the draw,
// which every op after the dropout waits for, runs beside the previous
// step's other ops instead, and the masks are those of a draw in each
// step. The variables (the mask, and the counter it was drawn for, set
// after it) are not model variables: they are initialised by their first
// assignment and never saved. batch is dims' first value, as [1].
func (b *builder) nextMasks(s *op.Scope, l config.Layer, key, step, batch, dims tf.Output, shape []int) (mask tf.Output, draws []*tf.Operation) {
	s = s.SubScope("next")
	rate, name := l.Rate, "tfcifar.graph/"+l.Name+"/next_"
	zero := op.Const(s.SubScope("first"), []int64{0})
	stored := op.VarHandleOp(s.SubScope("mask"), tf.Float, tf.MakeShape(append([]int64{-1}, dimsOf(shape)...)...), op.VarHandleOpSharedName(name+"mask"))
	drawnFor := op.VarHandleOp(s.SubScope("drawn_for"), tf.Int64, tf.ScalarShape(), op.VarHandleOpSharedName(name+"drawn_for"))

	// valid: drawnFor is set (and so is stored), to this step, and stored
	// has at least this batch's rows.
	is := s.SubScope("is_set")
	set := op.VarIsInitializedOp(is, drawnFor)
	unset, isSet := op.Switch(is, set, set)
	ss := is.SubScope("read").WithControlDependencies(op.Identity(is.SubScope("set"), isSet).Op)
	rows := op.Slice(ss, op.VariableShape(ss, stored, op.VariableShapeOutType(tf.Int64)), zero, op.Const(ss.SubScope("one"), []int64{1}))
	fits := op.LogicalAnd(ss, op.Equal(ss, op.ReadVariableOp(ss, drawnFor, tf.Int64), step), op.All(ss, op.GreaterEqual(ss, rows, batch), zero))
	us := is.SubScope("unset").WithControlDependencies(op.Identity(is.SubScope("unset"), unset).Op)
	valid, _ := op.Merge(is, []tf.Output{fits, op.Const(us, false)})

	redraw, reuse := op.Switch(s, valid, valid)
	rs := s.SubScope("reuse").WithControlDependencies(op.Identity(s.SubScope("reuse"), reuse).Op)
	old := op.Slice(rs, op.ReadVariableOp(rs, stored, tf.Float), op.Const(rs.SubScope("begin"), make([]int64, len(shape)+1)), dims)
	ds := s.SubScope("now").WithControlDependencies(op.Identity(s.SubScope("now"), redraw).Op)
	now := dropoutMask(ds.SubScope("draw"), rate, op.Pack(ds, []tf.Output{key, step}), zero, dims)
	mask, _ = op.Merge(s, []tf.Output{old, now})

	ns := s.SubScope("draw_next")
	following := op.Add(ns, step, op.Const(ns.SubScope("one"), int64(1)))
	next := dropoutMask(ns.SubScope("draw"), rate, op.Pack(ns, []tf.Output{key, following}), zero, dims)
	as := s.SubScope("store").WithControlDependencies(mask.Op) // after this step's mask is read
	store := op.AssignVariableOp(as, stored, next)
	fs := as.SubScope("drawn_for").WithControlDependencies(store) // drawnFor set: stored is too
	b.m.Updates = append(b.m.Updates, store, op.AssignVariableOp(fs, drawnFor, following))
	return mask, []*tf.Operation{mask.Op, next.Op}
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

// stepSeed adds the step counter of a layer that draws random numbers
// (see stepCounter) and returns the seed of this step's draws,
// (Options.Seed ^ hash(layer), step), and advance.
func (b *builder) stepSeed(s *op.Scope, l config.Layer) (seed tf.Output, advance func(draws ...*tf.Operation)) {
	key, step, advance := b.stepCounter(s, l)
	return op.Pack(s, []tf.Output{key, step}), advance
}

// stepCounter adds the step counter of a layer that draws random numbers
// in training (a float32 variable "<layer>/seed", State) and returns the
// key of the layer's draws (Options.Seed ^ hash(layer)), the counter's
// value as an int64 scalar, and advance, which adds to Model.Updates the
// op that counts the step once the draws (the ops given) are done.
func (b *builder) stepCounter(s *op.Scope, l config.Layer) (key, step tf.Output, advance func(draws ...*tf.Operation)) {
	v := b.variable(s, l, config.Weight{Name: seedParam, Shape: []int{}, Init: config.Zeros})
	v.State = true
	key = op.Const(s.SubScope("key"), b.opt.Seed^hash(l.Name))
	step = op.Cast(s.SubScope("step"), v.Read, tf.Int64)
	return key, step, func(draws ...*tf.Operation) {
		as := s.SubScope("advance").WithControlDependencies(draws...)
		b.m.Updates = append(b.m.Updates, op.AssignAddVariableOp(as, v.Handle, op.Const(as.SubScope("one"), float32(1))))
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
