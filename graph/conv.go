package graph

import (
	"slices"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
)

// maxPackedFilters bounds the filters of a conv2d layer whose forward
// convolution is packed: with at most 8, the packed convolution has at
// most 16 output channels, one AVX-512 vector of float32.
const maxPackedFilters = 8

// packsOutput tells whether conv2d layer l, whose input shape is in
// [H W C], runs as a packed convolution (packedConv) in training graphs:
// stride 1, valid padding, at most maxPackedFilters filters, an even input
// width and an odd kernel width of at least 3 (the packed kernel has one
// column more, at most a third more multiply-adds).
func packsOutput(l config.Layer, in []int) bool {
	return l.Type == config.Conv2D && len(in) == 3 && len(l.Strides) == 2 &&
		l.Strides[0] == 1 && l.Strides[1] == 1 && l.Padding == config.Valid &&
		l.Filters <= maxPackedFilters && l.Kernel[1] >= 3 && l.Kernel[1]%2 == 1 &&
		in[1]%pack == 0
}

// packedConv adds the convolution of x [-1 H W C] with kernel [kh kw C O]
// (kernel is its Read) computed pack output columns at a time, and returns
// its output [-1 H-kh+1 (W-kw+1)/pack pack*O] and unpack, which reshapes
// that layout back to [-1 H-kh+1 W-kw+1 O]. x reshaped to
// [-1 H W/pack pack*C] (free in NHWC) and convolved with
// K[a,b,(t,c),(s,o)] = W[a,pack*b+t-s,c,o] (zero outside 0..kw-1) gives
// at column j and channel (s,o) the output at column pack*j+s: the same
// sums, bit for bit on CPU, in a convolution whose output fills the
// vector lanes that O filters leave mostly empty.
func packedConv(s *op.Scope, x, kernel tf.Output, k config.Size, filters int, in []int) (conv tf.Output, unpack func(*op.Scope, tf.Output) tf.Output) {
	kh, kw := int64(k[0]), int64(k[1])
	h, w, c, o := int64(in[0]), int64(in[1]), int64(in[2]), int64(filters)
	ps := s.SubScope("packed")
	// [kh kw+pack-1 C pack O], its second axis split as (b, t): the
	// layout of K.
	stacked := op.Pack(ps, shifts(ps, kernel), op.PackAxis(3))
	packed := op.Reshape(ps, stacked, op.Const(ps.SubScope("kernel_shape"), []int64{kh, (kw + pack - 1) / pack, pack * c, pack * o}))
	xs := op.Reshape(ps.SubScope("input"), x, op.Const(ps.SubScope("input_shape"), []int64{-1, h, w / pack, pack * c}))
	conv = op.Conv2D(ps, xs, packed, []int64{1, 1, 1, 1}, "VALID")
	shape := []int64{-1, h - kh + 1, w - kw + 1, o}
	return conv, func(s *op.Scope, y tf.Output) tf.Output {
		return op.Reshape(s, y, op.Const(s.SubScope("shape"), shape))
	}
}

// conv2d adds conv2d layer l on x (its variables in w) and returns its
// output and the output before the activation. In training graphs a layer
// that packsOutput runs as packedConv, its bias and an element-wise
// activation on the packed layout (a softmax, over the filters, on the
// unpacked one); a layer that packs its input gradient is added to
// Model.InputGrads.
func (b *builder) conv2d(s *op.Scope, l config.Layer, x tf.Output, w map[string]*Variable) (y, pre tf.Output) {
	kernel := w["kernel"].Read
	grads := b.below && packs(l, b.in)
	if b.opt.Serving || !packsOutput(l, b.in) {
		conv := op.Conv2D(s, x, kernel, window(l.Strides), padding(l.Padding))
		if grads {
			b.m.InputGrads = append(b.m.InputGrads, InputGrad{Layer: b.index, Input: x, Conv: conv, Grad: packedGrad(kernel, l.Kernel, b.in)})
		}
		return activated(s, l, addBias(s, conv, w))
	}
	conv, unpack := packedConv(s, x, kernel, l.Kernel, l.Filters, b.in)
	if grads {
		grad := packedGrad(kernel, l.Kernel, b.in)
		b.m.InputGrads = append(b.m.InputGrads, InputGrad{Layer: b.index, Input: x, Conv: conv, Grad: func(s *op.Scope, dy tf.Output) tf.Output {
			return grad(s, unpack(s.SubScope("unpack_grad"), dy))
		}})
	}
	biased := conv
	if v, ok := w["bias"]; ok {
		// The bias of channel (s,o) is that of o; ConcatV2 rather than
		// Tile, which an export's op allowlist does not need otherwise.
		bias := op.ConcatV2(s.SubScope("packed_bias"), slices.Repeat([]tf.Output{v.Read}, pack), op.Const(s.SubScope("axis"), int32(0)))
		biased = op.BiasAdd(s, conv, bias)
	}
	if l.Activation == config.Softmax { // over the filters: on the unpacked layout
		return activated(s, l, unpack(s.SubScope("unpack"), biased))
	}
	y = activate(s, l.Activation, biased) // element-wise
	return unpack(s.SubScope("unpack"), y), unpack(s.SubScope("unpack_pre"), biased)
}
