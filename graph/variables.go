package graph

import (
	"hash/fnv"
	"math"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
)

// variable adds the resource variable <layer>/<param> of w's shape, its
// Init op (w.Value, or the initializer's value) and its Read output. The
// VarHandleOp node is named <layer>/<param> itself, as TensorFlow Python
// names variables, so that loaders show the variable as conv2d/kernel:0;
// its other ops go under that name (conv2d/kernel/ReadVariableOp).
func (b *builder) variable(ls *op.Scope, l config.Layer, w config.Weight) *Variable {
	name := l.Name + "/" + w.Name
	s := ls.SubScope(w.Name)
	shape := dims(w.Shape)
	h := ls.AddOperation(tf.OpSpec{
		Type:  "VarHandleOp",
		Name:  w.Name,
		Attrs: map[string]interface{}{"dtype": tf.Float, "shape": tf.MakeShape(shape...), "shared_name": name},
	}).Output(0)
	var initial tf.Output
	if w.Value != nil {
		initial = op.Reshape(s.SubScope("initial"), op.Const(s.SubScope("value"), float32s(w.Value)), op.Const(s.SubScope("shape"), shape))
	} else {
		initial = b.initial(s.SubScope("initial"), name, shape, w.Init)
	}
	v := &Variable{
		Name:      name,
		Layer:     l.Name,
		Shape:     shape,
		Handle:    h,
		Init:      op.AssignVariableOp(s, h, initial),
		Read:      op.ReadVariableOp(s, h, tf.Float),
		Trainable: w.Trainable && !l.Frozen,
	}
	b.m.Variables = append(b.m.Variables, v)
	return v
}

func float32s(v []float64) []float32 {
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return f
}

// initial returns the initial value of variable name: zeros, ones, or a
// Keras variance-scaling draw from a stateless random op seeded by
// (Options.Seed, hash of name).
func (b *builder) initial(s *op.Scope, name string, shape []int64, init config.Initializer) tf.Output {
	switch init {
	case config.Zeros, config.Ones:
		v := float32(0)
		if init == config.Ones {
			v = 1
		}
		return op.Fill(s, op.Const(s.SubScope("shape"), shape), op.Const(s.SubScope("value"), v))
	}
	fanIn, fanOut := fans(shape)
	scale, n := 1.0, fanIn
	switch init {
	case config.GlorotUniform, config.GlorotNormal:
		n = (fanIn + fanOut) / 2
	case config.HeUniform, config.HeNormal:
		scale = 2
	}
	shapeOut := op.Const(s.SubScope("shape"), shape)
	seed := op.Const(s.SubScope("seed"), []int64{b.opt.Seed, hash(name)})
	switch init {
	case config.GlorotUniform, config.HeUniform, config.LecunUniform:
		limit := float32(math.Sqrt(3 * scale / n))
		u := op.StatelessRandomUniform(s, shapeOut, seed) // [0, 1)
		return op.Sub(s, op.Mul(s, u, op.Const(s.SubScope("width"), 2*limit)), op.Const(s.SubScope("limit"), limit))
	default: // truncated normal, stddev corrected for the truncation as Keras does
		std := float32(math.Sqrt(scale/n) / .87962566103423978)
		return op.Mul(s, op.StatelessTruncatedNormal(s, shapeOut, seed), op.Const(s.SubScope("stddev"), std))
	}
}

// fans returns Keras' fan-in and fan-out of a weight shape: [in out] for a
// dense kernel, [kh kw in out] for a conv kernel (times the receptive field).
func fans(shape []int64) (in, out float64) {
	switch len(shape) {
	case 0:
		return 1, 1
	case 1:
		return float64(shape[0]), float64(shape[0])
	}
	rf := 1.0
	for _, d := range shape[:len(shape)-2] {
		rf *= float64(d)
	}
	return float64(shape[len(shape)-2]) * rf, float64(shape[len(shape)-1]) * rf
}

// hash maps a variable name to the second half of its op-level seed.
func hash(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64() >> 1)
}
