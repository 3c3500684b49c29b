package graph

import (
	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
)

// InputGrad is a conv2d layer whose input gradient Gradients computes as a
// forward convolution that packs pack neighbouring columns of the input
// gradient into its channels, instead of TensorFlow's
// Conv2DBackpropInput: with few input channels, the backprop kernels leave
// most vector lanes empty, while the packed convolution has pack times as
// many output channels (same values, bit for bit on CPU).
type InputGrad struct {
	Layer int       // index of the layer in Model.Layers
	Input tf.Output // the convolution's input [-1 H W C]
	Conv  tf.Output // the convolution's output before bias and activation, packed (packedConv) or not
	// Grad adds the gradient with respect to Input given dy, the gradient
	// with respect to Conv.
	Grad func(s *op.Scope, dy tf.Output) tf.Output
}

const (
	// pack is the number of input columns one packed output position holds.
	pack = 2
	// maxPackedChannels bounds the input channels of a packed layer: with
	// at most 8, the packed gradient has at most 16 channels, one AVX-512
	// vector of float32. Wider inputs already fill the vectors, and packing
	// would only add its cost: kw+1 kernel columns instead of kw, the extra
	// one zeros (20 % more multiply-adds for a 5x5 kernel).
	maxPackedChannels = 8
)

// packs tells whether conv2d layer l, whose input shape is in [H W C],
// gets a packed input gradient: stride 1, valid padding, at most
// maxPackedChannels input channels and an input width divisible by pack.
// config's conv2d has no dilation (always 1).
func packs(l config.Layer, in []int) bool {
	return l.Type == config.Conv2D && len(in) == 3 && len(l.Strides) == 2 &&
		l.Strides[0] == 1 && l.Strides[1] == 1 && l.Padding == config.Valid &&
		in[2] <= maxPackedChannels && in[1]%pack == 0
}

// packedGrad returns the InputGrad.Grad of a valid, stride-1 convolution
// with kernel [kh kw C O] (kernel is its Read) on inputs of shape in [H W C].
// With Wf[a,b,o,c] = W[kh-1-a,kw-1-b,c,o] (the full convolution's kernel),
// K[a,b',o,(s,c)] = Wf[a,b'-s,o,c] (zero outside 0..kw-1) for the shifts
// s < pack, and dy padded by kh-1 rows and kw-1 columns on each side, the
// convolution of dy with K at column stride pack gives at column j and
// channel (s,c) the input gradient at column pack*j+s, channel c: a
// reshape, free in NHWC, unpacks it.
func packedGrad(kernel tf.Output, k config.Size, in []int) func(s *op.Scope, dy tf.Output) tf.Output {
	kh, kw := int64(k[0]), int64(k[1])
	h, w, c := int64(in[0]), int64(in[1]), int64(in[2])
	return func(s *op.Scope, dy tf.Output) tf.Output {
		s = s.SubScope("packed_input_grad")
		flipped := op.ReverseV2(s, kernel, op.Const(s.SubScope("flip"), []int32{0, 1}))
		// [kh kw C O] -> [kh kw O C] by unpacking and packing the channels:
		// oneDNN's Transpose costs about a millisecond even on a kernel this small.
		wf := op.Pack(s, op.Unpack(s, flipped, c, op.UnpackAxis(2)), op.PackAxis(3))
		packed := op.ConcatV2(s, shifts(s, wf), op.Const(s.SubScope("axis"), int32(3)))
		// The packed output's last window starts at column w-pack of the
		// padded dy and spans kw+pack-1 columns.
		need := (w/pack-1)*pack + kw + pack - 1
		right := need - w // the padded dy is w-kw+1 + kw-1 + right wide
		paddings := []int64{0, 0, kh - 1, kh - 1, kw - 1, right, 0, 0}
		dx := op.Conv2D(s, dy, packed, []int64{1, 1, pack, 1}, "EXPLICIT", op.Conv2DExplicitPaddings(paddings))
		return op.Reshape(s, dx, op.Const(s.SubScope("shape"), []int64{-1, h, w, c}))
	}
}

// shifts returns the kernel k [kh kw ...] widened to kw+pack-1 columns
// pack times, its columns moved right by 0, 1, ..., pack-1 (zeros
// around them): the kernels of the pack positions a packed convolution
// computes at once.
func shifts(s *op.Scope, k tf.Output) []tf.Output {
	shifted := make([]tf.Output, pack)
	for i := range shifted {
		ps := s.SubScope("shift")
		pad := [][]int32{{0, 0}, {int32(i), int32(pack - 1 - i)}, {0, 0}, {0, 0}}
		shifted[i] = op.Pad(ps, k, op.Const(ps.SubScope("paddings"), pad))
	}
	return shifted
}

// Gradients adds the gradients of loss with respect to xs, the Read
// outputs of m's variables, like op.Gradients(s, {loss}, xs), and returns
// them in the order of xs (an Output without Op where loss does not depend
// on an x). Below each layer of m.InputGrads that has some x under it, the
// gradient continues from the layer's packed input gradient: op.Gradients
// runs in segments, from loss to the top-most such layer's Conv (and the
// xs of it and the layers above), then from its Input, fed the packed
// gradient, to the next one's Conv, and so on down. A layer is a cut only
// when loss depends on the xs below it through its Input alone (always in
// a sequential network), so that every x gets its whole gradient from one
// segment. With no cut, or an x that is not a variable's Read, it is
// exactly op.Gradients. Errors go to s, as with op.Gradients.
func Gradients(s *op.Scope, m *Model, loss tf.Output, xs []tf.Output) []tf.Output {
	layerOf := make([]int, len(xs))
	byRead := map[string]string{} // Read op name -> layer name
	for _, v := range m.Variables {
		byRead[v.Read.Op.Name()] = v.Layer
	}
	index := map[string]int{}
	for i, l := range m.Layers {
		index[l.Name] = i
	}
	for i, x := range xs {
		if x.Op == nil {
			return op.Gradients(s, []tf.Output{loss}, xs)
		}
		name, ok := byRead[x.Op.Name()]
		if !ok {
			return op.Gradients(s, []tf.Output{loss}, xs)
		}
		layerOf[i] = index[name]
	}
	cuts := m.cuts(loss, xs, layerOf)
	if len(cuts) == 0 {
		return op.Gradients(s, []tf.Output{loss}, xs)
	}
	grads := make([]tf.Output, len(xs))
	ys, dys := []tf.Output{loss}, []tf.Output(nil)
	top := len(m.Layers)
	for seg := 0; seg <= len(cuts); seg++ {
		bottom := 0
		if seg < len(cuts) {
			bottom = cuts[seg].Layer
		}
		var want []int // indices into xs of this segment's reads
		var wantX []tf.Output
		for i, x := range xs {
			if layerOf[i] >= bottom && layerOf[i] < top {
				want = append(want, i)
				wantX = append(wantX, x)
			}
		}
		if seg < len(cuts) {
			wantX = append(wantX, cuts[seg].Conv)
		}
		out := op.Gradients(s.SubScope("gradients"), ys, wantX, dys...)
		if len(out) != len(wantX) { // an error, now in s
			return grads
		}
		for j, i := range want {
			grads[i] = out[j]
		}
		if seg == len(cuts) {
			break
		}
		dy := out[len(out)-1]
		if dy.Op == nil { // loss does not depend on the layer
			break
		}
		c := cuts[seg]
		ys, dys, top = []tf.Output{c.Input}, []tf.Output{c.Grad(s, dy)}, bottom
	}
	return grads
}

// cuts returns, top-most first, the layers of m.InputGrads with some of xs
// (in layers layerOf) below them through whose Input alone loss depends
// on those xs.
func (m *Model) cuts(loss tf.Output, xs []tf.Output, layerOf []int) []InputGrad {
	var cuts []InputGrad
	for i := len(m.InputGrads) - 1; i >= 0; i-- {
		c := m.InputGrads[i]
		var below []tf.Output
		for j, x := range xs {
			if layerOf[j] < c.Layer {
				below = append(below, x)
			}
		}
		if len(below) > 0 && !reachesAround(below, loss.Op.Name(), c.Conv.Op.Name()) {
			cuts = append(cuts, c)
		}
	}
	return cuts
}

// reachesAround tells whether the op named target consumes, directly or
// not, one of from other than through input 0 of the op named conv. Ops
// are compared by name: the binding makes a new *Operation per lookup.
func reachesAround(from []tf.Output, target, conv string) bool {
	seen := map[string]bool{}
	var stack []*tf.Operation
	for _, x := range from {
		stack = append(stack, x.Op)
	}
	for len(stack) > 0 {
		o := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		name := o.Name()
		if name == target {
			return true
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		for i := range o.NumOutputs() {
			for _, c := range o.Output(i).Consumers() {
				if c.Index == 0 && c.Op.Name() == conv {
					continue
				}
				stack = append(stack, c.Op)
			}
		}
	}
	return false
}
