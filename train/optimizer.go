package train

import (
	"fmt"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
)

// slot is an optimizer variable kept per trainable variable (Adam's m and
// v, the momentum accumulator); it is saved in checkpoints under Name.
type slot struct {
	Name   string
	Handle tf.Output
	Init   *tf.Operation
	Shape  []int64
}

// applyOps adds the update of each trainable variable by its gradient and
// returns the update ops and the slots they use. lrs holds each variable's
// float32 scalar learning rate; step is the int64 number of steps already
// taken.
//
// Adam follows Keras: with t = step+1, m += (g-m)(1-beta1),
// v += (g²-v)(1-beta2), w -= lr·sqrt(1-beta2^t)/(1-beta1^t)·m/(sqrt(v)+eps),
// through ResourceApplyAdam. SGD is w -= lr·g (ResourceApplyGradientDescent)
// or, with momentum, Keras' velocity = momentum·velocity - lr·g,
// w += velocity (Nesterov: w += momentum·velocity - lr·g) through
// ResourceApplyKerasMomentum.
func applyOps(s *op.Scope, o config.Optimizer, vars []*graph.Variable, grads, lrs []tf.Output, step tf.Output) ([]*tf.Operation, []slot, error) {
	var (
		apply []*tf.Operation
		slots []slot
	)
	f32 := func(name string, v float64) tf.Output { return op.Const(s.SubScope(name), float32(v)) }
	switch {
	case o.Name == "adam":
		ts := s.SubScope("t")
		t := op.Cast(ts, op.Add(ts, step, op.Const(ts, int64(1))), tf.Float)
		b1, b2 := f32("beta1", o.Beta1), f32("beta2", o.Beta2)
		b1p, b2p := op.Pow(s.SubScope("beta1_power"), b1, t), op.Pow(s.SubScope("beta2_power"), b2, t)
		eps := f32("epsilon", o.Epsilon)
		for i, v := range vars {
			vs := s.SubScope(v.Name)
			m, vv := newSlot(vs, v, "m"), newSlot(vs, v, "v")
			slots = append(slots, m, vv)
			apply = append(apply, op.ResourceApplyAdam(vs, v.Handle, m.Handle, vv.Handle, b1p, b2p, lrs[i], b1, b2, eps, grads[i]))
		}
	case o.Name == "sgd" && o.Momentum == 0:
		for i, v := range vars {
			apply = append(apply, op.ResourceApplyGradientDescent(s.SubScope(v.Name), v.Handle, lrs[i], grads[i]))
		}
	case o.Name == "sgd":
		mom := f32("momentum", o.Momentum)
		for i, v := range vars {
			vs := s.SubScope(v.Name)
			a := newSlot(vs, v, "momentum")
			slots = append(slots, a)
			apply = append(apply, op.ResourceApplyKerasMomentum(vs, v.Handle, a.Handle, lrs[i], grads[i], mom,
				op.ResourceApplyKerasMomentumUseNesterov(o.Nesterov)))
		}
	default:
		return nil, nil, fmt.Errorf("train.optimizer.name: want adam or sgd, got %q", o.Name)
	}
	return apply, slots, nil
}

// rates returns each variable's learning rate: lr, or lr scaled by
// layerRates[layer]/base for the variables of the layers layerRates names,
// so those layers follow the same schedule from their own starting rate.
func rates(s *op.Scope, vars []*graph.Variable, lr tf.Output, base float64, layerRates map[string]float64) []tf.Output {
	out := make([]tf.Output, len(vars))
	scaled := map[string]tf.Output{}
	for i, v := range vars {
		r, ok := layerRates[v.Layer]
		if !ok || base <= 0 {
			out[i] = lr
			continue
		}
		if _, done := scaled[v.Layer]; !done {
			ls := s.SubScope(v.Layer)
			scaled[v.Layer] = op.Mul(ls, lr, op.Const(ls.SubScope("factor"), float32(r/base)))
		}
		out[i] = scaled[v.Layer]
	}
	return out
}

// newSlot adds a float32 resource variable shaped like v, initialised to
// zeros, saved as "optimizer/<v.Name>/<kind>".
func newSlot(s *op.Scope, v *graph.Variable, kind string) slot {
	name := "optimizer/" + v.Name + "/" + kind
	s = s.SubScope(kind)
	zeros := op.Fill(s, op.Const(s.SubScope("shape"), v.Shape), op.Const(s.SubScope("zero"), float32(0)))
	h, init := variable(s, name, tf.Float, v.Shape, zeros)
	return slot{Name: name, Handle: h, Init: init, Shape: v.Shape}
}

// variable adds to s (one scope per variable) a resource variable with a
// shared name unique to the trainer and the op that assigns it init.
func variable(s *op.Scope, name string, dt tf.DataType, shape []int64, init tf.Output) (tf.Output, *tf.Operation) {
	h := op.VarHandleOp(s, dt, tf.MakeShape(shape...), op.VarHandleOpSharedName("tfcifar.train/"+name))
	return h, op.AssignVariableOp(s, h, init)
}
