package profile

import (
	"strconv"
	"strings"

	npb "github.com/galeone/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	spb "github.com/galeone/tensorflow/tensorflow/go/core/framework/step_stats_go_proto"
)

// Shapes are the output shapes of a traced step's nodes, by node name and
// output slot.
type Shapes map[string][][]int64

// shapes returns the output shapes the trace recorded.
func shapes(stats *spb.StepStats) Shapes {
	sh := Shapes{}
	for _, dev := range stats.DevStats {
		for _, ns := range dev.NodeStats {
			for _, o := range ns.Output {
				d := o.GetTensorDescription().GetShape()
				if d == nil || d.UnknownRank || o.Slot < 0 || o.Slot > 1<<10 {
					continue
				}
				dims := make([]int64, len(d.Dim))
				for i, x := range d.Dim {
					dims[i] = x.Size
				}
				outs := sh[ns.NodeName]
				for len(outs) <= int(o.Slot) {
					outs = append(outs, nil)
				}
				outs[o.Slot] = dims
				sh[ns.NodeName] = outs
			}
		}
	}
	return sh
}

// input returns the shape of input i of def (nil if unknown).
func (sh Shapes) input(def *npb.NodeDef, i int) []int64 {
	if def == nil || i >= len(def.Input) || strings.HasPrefix(def.Input[i], "^") {
		return nil
	}
	name, slot := def.Input[i], 0
	if j := strings.LastIndexByte(name, ':'); j >= 0 {
		s, err := strconv.Atoi(name[j+1:])
		if err != nil {
			return nil
		}
		name, slot = name[:j], s
	}
	return sh.output(name, slot)
}

// output returns the shape of output slot of node name (nil if unknown).
func (sh Shapes) output(name string, slot int) []int64 {
	outs := sh[name]
	if slot >= len(outs) {
		return nil
	}
	return outs[slot]
}

// Counted reports whether FLOPs counts the operations of nodes of op
// type: convolutions (forward, and the gradients with respect to their
// input and filter) and matrix products, in their plain, fused and oneDNN
// forms (Conv2D, _FusedConv2D, _MklNativeFusedConv2D,
// _MklNativeConv2DBackpropFilterWithBias, MatMul, _MklMatMul,
// _MklNativeFusedMatMul, ...).
func Counted(op string) bool { return kind(op) != "" }

// kind returns the family of op: filter, input (the convolution's
// gradients), conv, matmul or "".
func kind(op string) string {
	switch {
	case strings.Contains(op, "Conv2DBackpropFilter"):
		return "filter"
	case strings.Contains(op, "Conv2DBackpropInput"):
		return "input"
	case strings.Contains(op, "Conv2D") && !strings.Contains(op, "Depthwise"):
		return "conv"
	case strings.Contains(op, "MatMul") && !strings.Contains(op, "BatchMatMul"):
		return "matmul"
	}
	return ""
}

// FLOPs returns the floating-point operations (a multiply-add counts 2)
// of one run of def, of op type op, from the shapes of its inputs and
// outputs in sh; 0 for ops Counted does not count or whose shapes are
// unknown. A convolution with filter [kh, kw, cin, cout] does
// 2*kh*kw*cin multiply-adds per value of its output (forward) or of its
// output's gradient (both gradients); a product [m, k] x [k, n], 2*m*k*n
// (plus nothing for fused bias additions and activations).
func FLOPs(def *npb.NodeDef, op string, sh Shapes) float64 {
	if def == nil {
		return 0
	}
	var filter, per []int64
	switch kind(op) {
	case "conv":
		filter, per = sh.input(def, 1), sh.output(def.Name, 0)
	case "input":
		filter, per = sh.input(def, 1), sh.input(def, 2)
	case "filter":
		filter, per = sh.output(def.Name, 0), sh.input(def, 2)
	case "matmul":
		return matmulFLOPs(def, sh)
	default:
		return 0
	}
	if len(filter) != 4 || len(per) == 0 {
		return 0
	}
	return 2 * float64(filter[0]*filter[1]*filter[2]) * float64(product(per))
}

// matmulFLOPs returns 2*m*k*n for a product with output [m, n] whose
// first input is [m, k] ([k, m] when transpose_a).
func matmulFLOPs(def *npb.NodeDef, sh Shapes) float64 {
	a, out := sh.input(def, 0), sh.output(def.Name, 0)
	if len(a) != 2 || len(out) != 2 {
		return 0
	}
	k := a[1]
	if def.Attr["transpose_a"].GetB() {
		k = a[0]
	}
	return 2 * float64(k) * float64(product(out))
}

// product returns the number of values of a shape.
func product(s []int64) int64 {
	n := int64(1)
	for _, d := range s {
		n *= d
	}
	return n
}
