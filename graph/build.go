package graph

import (
	"errors"
	"fmt"
	"strings"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
)

// Options tune Build. Seed seeds every initial value (each variable's
// op-level seed derives from Seed and the variable name) and the dropout
// masks: the same seed gives the same initial weights. Scale, when not 0
// or 1, multiplies the images before the first layer, so that the model
// takes raw 0-255 pixels (a SavedModel's serving graph carries the
// training scale this way); training feeds pixels already scaled.
//
// Serving builds a graph for inference only: a dropout or random
// augmentation layer is an Identity, without the step counter that seeds
// its draws in training
// (Model.LeftOut names those counters), so the graph holds only weights.
// Feeding Training true still switches batch normalisation.
//
// Sharded builds a model that computes one shard of a larger batch (in-graph
// data parallelism, package cluster): Model.Offset is then an int64 scalar
// input (default 0), the index in the whole batch of the fed images' first
// one, and the random draws of dropout and augmentation layers are those
// of the whole batch's draw at the shard's rows, so that shards of a batch
// drop and augment as the whole batch does.
//
// DrawAhead, for a graph a trainer runs (not Sharded), makes each training
// step also draw the next step's dropout masks, beside its other ops, and
// keep them in variables of the graph's own (not model variables, never
// saved): the next step then does not wait for its draw, and drops the
// same values (see nextMasks). Their size is that of the last batch, not
// bounded by the graph, so a graph to export leaves it off.
type Options struct {
	Seed      int64
	Scale     float32
	Serving   bool
	Sharded   bool
	DrawAhead bool
}

// builder holds the state of one Build.
type builder struct {
	s      *op.Scope
	opt    Options
	m      *Model
	images tf.Output
	index  int  // of the layer being built
	below  bool // some variable below it is trainable
	in     []int
}

// Build adds net's forward pass to s and returns the model. net must be a
// flat network (config.Config.Resolve); it is validated before any op is
// added. If graph construction fails, the scope's first error is returned;
// a panic inside tfgo is recovered and returned the same way.
func Build(s *op.Scope, net config.Network, opt Options) (*Model, error) {
	if err := net.Validate(); err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	net = net.Named()
	shapes, err := net.Shapes()
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	if err := s.Err(); err != nil {
		return nil, scopeErr(err)
	}
	b := &builder{s: s, opt: opt, m: &Model{}}
	err = catch(s, func() { b.build(net, shapes) })
	if err != nil {
		return nil, err
	}
	return b.m, nil
}

// build adds the placeholders and the layers in order.
func (b *builder) build(net config.Network, shapes [][]int) {
	batch := append([]int64{-1}, dims(net.Input)...)
	b.images = op.Placeholder(b.s.SubScope("images"), tf.Float, op.PlaceholderShape(tf.MakeShape(batch...)))
	ts := b.s.SubScope("training")
	b.m.Images = b.images
	b.m.Training = op.PlaceholderWithDefault(ts, op.Const(ts.SubScope("default"), false), tf.ScalarShape())
	if b.opt.Sharded {
		os := b.s.SubScope("offset")
		b.m.Offset = op.PlaceholderWithDefault(os, op.Const(os.SubScope("default"), int64(0)), tf.ScalarShape())
	}
	x := b.images
	if sc := b.opt.Scale; sc != 0 && sc != 1 {
		ss := b.s.SubScope("scale")
		x = op.Mul(ss, x, op.Const(ss.SubScope("factor"), sc))
	}
	var logits tf.Output
	in := net.Input
	for i, l := range net.Layers {
		var pre tf.Output
		first := len(b.m.Variables)
		b.index, b.in = i, in
		x, pre = b.layer(b.s.SubScope(l.Name), l, x, in, shapes[i])
		in = shapes[i]
		logits = x
		if l.Activation == config.Softmax {
			logits = pre
		}
		info := LayerInfo{Name: l.Name, Type: l.Type, OutputShape: dims(shapes[i])}
		trained := false // some variable trains (a normalization's statistics do not)
		for _, v := range b.m.Variables[first:] {
			info.Params += v.Size()
			trained = trained || v.Trainable
		}
		info.Trainable = !l.Frozen && (trained || info.Params == 0)
		b.below = b.below || trained
		b.m.Layers = append(b.m.Layers, info)
		b.m.Outputs = append(b.m.Outputs, x)
	}
	last := net.Layers[len(net.Layers)-1]
	b.m.Logits = logits
	if last.Activation == config.Softmax {
		b.m.Probabilities = x
	} else {
		b.m.Probabilities = op.Softmax(b.s.SubScope("probabilities"), logits)
	}
}

// catch runs f, turning a panic (tfgo panics on scope errors) into an error,
// and returns the scope's first error if there is one.
func catch(s *op.Scope, f func()) (err error) {
	defer func() {
		r := recover()
		if e := s.Err(); e != nil {
			err = scopeErr(e)
			return
		}
		if r != nil {
			err = fmt.Errorf("graph: %v", r)
		}
	}()
	f()
	return nil
}

// scopeErr shortens a scope error to its message, without the stack trace
// the op package appends.
func scopeErr(err error) error {
	msg, _, _ := strings.Cut(err.Error(), " (Stacktrace:")
	return fmt.Errorf("graph: %w", errors.New(msg))
}

func dims(s []int) []int64 {
	d := make([]int64, len(s))
	for i, v := range s {
		d[i] = int64(v)
	}
	return d
}

// TrainableVariables returns the variables gradients are taken for, in
// layer order: all but those of frozen layers, batchnorm moving statistics
// and dropout seed counters.
func (m *Model) TrainableVariables() []*Variable {
	var vs []*Variable
	for _, v := range m.Variables {
		if v.Trainable {
			vs = append(vs, v)
		}
	}
	return vs
}

// Size is the number of parameters v holds: the product of its shape, or
// 0 for state that is not a weight (a dropout seed counter).
func (v *Variable) Size() int64 {
	if v.State {
		return 0
	}
	n := int64(1)
	for _, d := range v.Shape {
		n *= d
	}
	return n
}
