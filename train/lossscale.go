package train

import (
	"fmt"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/checkpoint"
	"github.com/tfcifar/tfcifar/config"
)

// Dynamic loss scaling, as Keras' LossScaleOptimizer does it for
// mixed_float16: the gradients are those of the loss times the scale,
// divided by the scale again, so that small gradients do not underflow in
// float16. When any scaled gradient is NaN or infinite the step is skipped
// (no variable, slot or optimizer iteration changes) and the scale halves;
// after growthSteps finite steps in a row it doubles.

// lossScaling holds the settings of dynamic loss scaling.
type lossScaling struct {
	initial     float32 // the scale of the first step
	growthSteps int64   // finite steps in a row after which the scale doubles
}

// kerasLossScaling are the defaults of Keras' LossScaleOptimizer.
var kerasLossScaling = lossScaling{initial: 1 << 15, growthSteps: 2000}

// The checkpoint names of the loss scaling variables: the scale, the
// finite steps since it last changed (Keras' step_counter) and the steps
// applied (Keras' iterations, Adam's step; train/step counts skipped
// steps too).
const (
	lossScaleName     = "train/loss_scale"
	lossScaleCounter  = "train/loss_scale_counter"
	optimizerStepName = "train/optimizer_step"
)

// lossScaler holds the loss scaling ops of a training graph.
type lossScaler struct {
	// Handles of the variables: the scale, the finite steps since it
	// last changed and the optimizer steps applied.
	scaleVar, counterVar, stepVar tf.Output
	// Their values at the start of the step.
	scale, counter, step tf.Output
	growth               tf.Output     // int64 scalar: growthSteps
	applied              tf.Output     // bool scalar: whether this step's gradients are finite
	update               *tf.Operation // sets the scale and counter from applied
	inc                  *tf.Operation // advances step when the step is applied
}

// lossScaleOps adds the loss scaling variables under s, recording their
// initialisers in b and their checkpoint entries.
func lossScaleOps(s *op.Scope, set lossScaling, b *built, entries *[]checkpoint.Entry) *lossScaler {
	ls := &lossScaler{growth: op.Const(s.SubScope("growth_steps"), set.growthSteps)}
	for _, v := range []struct {
		name         string
		dt           tf.DataType
		init         any
		handle, read *tf.Output
	}{
		{lossScaleName, tf.Float, set.initial, &ls.scaleVar, &ls.scale},
		{lossScaleCounter, tf.Int64, int64(0), &ls.counterVar, &ls.counter},
		{optimizerStepName, tf.Int64, int64(0), &ls.stepVar, &ls.step},
	} {
		vs := s.SubScope("v")
		h, init := variable(vs, v.name, v.dt, nil, op.Const(vs, v.init))
		b.inits = append(b.inits, init)
		*entries = append(*entries, checkpoint.Entry{Name: v.name, Handle: h, DType: v.dt, Shape: []int64{}})
		*v.handle, *v.read = h, op.ReadVariableOp(vs, h, v.dt)
	}
	return ls
}

// scaleLoss returns loss times the scale.
func (ls *lossScaler) scaleLoss(s *op.Scope, loss tf.Output) tf.Output {
	return op.Mul(s.SubScope("scaled_loss"), loss, ls.scale)
}

// unscale returns grads, gradients of the scaled loss, divided by the
// scale and passed on only when all of grads are finite: when one is not,
// the ops using the returned gradients do not run. It also adds the update
// of the scale and its counter, which runs either way.
func (ls *lossScaler) unscale(s *op.Scope, grads []tf.Output) []tf.Output {
	fs := s.SubScope("finite")
	all := op.Const(fs.SubScope("all"), []int32{-1})
	axis := op.Const(fs.SubScope("axis"), int32(0))
	flags := make([]tf.Output, len(grads))
	for i, g := range grads {
		gs := fs.SubScope("g")
		flags[i] = op.All(gs, op.IsFinite(gs, op.Reshape(gs, g, all)), axis)
	}
	ls.applied = op.All(fs, op.Pack(fs, flags), axis)
	us := s.SubScope("unscaled")
	out := make([]tf.Output, len(grads))
	for i, g := range grads {
		gs := us.SubScope("g")
		_, out[i] = op.Switch(gs, op.Div(gs, g, ls.scale), ls.applied)
	}
	ls.update = ls.updateOps(s.SubScope("update"))
	return out
}

// updateOps adds the update of the scale and its counter as Keras makes
// it: on a finite step the counter advances, or, when it reaches
// growthSteps-1, restarts with the scale doubled; on a skipped step the
// counter restarts and the scale halves.
func (ls *lossScaler) updateOps(s *op.Scope) *tf.Operation {
	f32 := func(name string, v float32) tf.Output { return op.Const(s.SubScope(name), v) }
	zero := op.Const(s.SubScope("zero"), int64(0))
	next := op.Add(s.SubScope("next"), ls.counter, op.Const(s.SubScope("one"), int64(1)))
	grow := op.GreaterEqual(s.SubScope("grow"), next, ls.growth)
	gs := s.SubScope("finite_scale")
	finiteScale := op.Select(gs, grow, op.Mul(gs, ls.scale, f32("two", 2)), ls.scale)
	cs := s.SubScope("finite_counter")
	finiteCounter := op.Select(cs, grow, zero, next)
	ss := s.SubScope("scale")
	scale := op.Select(ss, ls.applied, finiteScale, op.Mul(ss, ls.scale, f32("half", 0.5)))
	counter := op.Select(s.SubScope("counter"), ls.applied, finiteCounter, zero)
	return op.NoOp(s.WithControlDependencies(
		op.AssignVariableOp(s.SubScope("set_scale"), ls.scaleVar, scale),
		op.AssignVariableOp(s.SubScope("set_counter"), ls.counterVar, counter)))
}

// advance adds the increment of the optimizer step after apply, the
// optimizer's updates: like them, it runs only on applied steps.
func (ls *lossScaler) advance(s *op.Scope, apply []*tf.Operation) {
	is := s.SubScope("optimizer_step")
	ls.inc = op.AssignAddVariableOp(is.WithControlDependencies(apply...), ls.stepVar, op.Const(is, int64(1)))
}

// lossScalingOf returns the loss scaling of checkpoints made with
// precision: "dynamic" for mixed_float16, else "" (none).
func lossScalingOf(precision string) string {
	if precision == config.MixedFloat16 {
		return "dynamic"
	}
	return ""
}

// lossScaleState is the loss scale's state in a session.
type lossScaleState struct {
	Scale   float32
	Counter int64 // finite steps since the scale last changed
	Steps   int64 // optimizer steps applied
}

// lossScale reads the loss scaling state; ok is false without loss
// scaling (precisions other than mixed_float16).
func (t *Trainer) lossScale() (st lossScaleState, ok bool, err error) {
	ls := t.scaler
	if ls == nil {
		return st, false, nil
	}
	out, err := t.sess.Run(nil, []tf.Output{ls.scale, ls.counter, ls.step}, nil)
	if err != nil {
		return st, true, fmt.Errorf("train: read the loss scale: %w", err)
	}
	st.Scale, _ = out[0].Value().(float32)
	st.Counter, st.Steps = scalarInt(out[1]), scalarInt(out[2])
	return st, true, nil
}
