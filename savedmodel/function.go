package savedmodel

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	attrpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	fnpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/function_go_proto"
	graphpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	nodepb "github.com/galeone/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	opdefpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/op_def_go_proto"
	rhpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/resource_handle_go_proto"
	shapepb "github.com/galeone/tensorflow/tensorflow/go/core/framework/tensor_shape_go_proto"
	typespb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"

	"github.com/tfcifar/tfcifar/graph"
)

// funcOutput is one output of a function: its name and the graph tensor
// ("node:index") it returns.
type funcOutput struct {
	name   string
	tensor string
	dtype  typespb.DataType
}

// servingFunction returns the FunctionDef named servingFunctionName that
// computes outputs from the graph g: its inputs are the images placeholder
// (node images, shape imageShape) and the resource handles of vars, in
// order, as the signature's captured inputs; its body is every node the
// outputs depend on, the placeholder and the variables' VarHandleOp nodes
// excepted, with inputs renamed as a function body names them
// (node:output_arg:index). Outputs are sorted by name, as TensorFlow
// flattens a signature's dict of outputs.
func servingFunction(g *graphpb.GraphDef, images string, imageShape []int64, vars []*graph.Variable, outputs []funcOutput) (*fnpb.FunctionDef, error) {
	ops, err := registered()
	if err != nil {
		return nil, err
	}
	b := &funcBuilder{g: g, ops: ops, nodes: map[string]*nodepb.NodeDef{}, args: map[string]string{}}
	for _, n := range g.GetNode() {
		b.nodes[n.GetName()] = n
	}
	fd := &fnpb.FunctionDef{
		Signature: &opdefpb.OpDef{Name: servingFunctionName, IsStateful: true},
		Attr:      map[string]*attrpb.AttrValue{},
		ArgAttr:   map[uint32]*fnpb.FunctionDef_ArgAttrs{},
		Ret:       map[string]string{},
	}
	shapes := []*shapepb.TensorShapeProto{shapeProto(imageShape...)}
	b.addArg(fd, images, InputImages, typespb.DataType_DT_FLOAT, nil)
	fd.ArgAttr[0] = &fnpb.FunctionDef_ArgAttrs{Attr: map[string]*attrpb.AttrValue{
		"_user_specified_name": {Value: &attrpb.AttrValue_S{S: []byte(InputImages)}},
		"_output_shapes": {Value: &attrpb.AttrValue_List{List: &attrpb.AttrValue_ListValue{
			Shape: []*shapepb.TensorShapeProto{shapeProto(imageShape...)},
		}}},
	}}
	for _, v := range vars {
		handle := &rhpb.ResourceHandleProto_DtypeAndShape{Dtype: variableType(v), Shape: shapeProto(v.Shape...)}
		b.addArg(fd, v.Handle.Op.Name(), argName(v.Handle.Op.Name()), typespb.DataType_DT_RESOURCE, handle)
		shapes = append(shapes, shapeProto())
	}
	fd.Attr["_input_shapes"] = &attrpb.AttrValue{Value: &attrpb.AttrValue_List{List: &attrpb.AttrValue_ListValue{Shape: shapes}}}
	outputs = slices.Clone(outputs)
	slices.SortFunc(outputs, func(x, y funcOutput) int { return strings.Compare(x.name, y.name) })
	var roots []string
	for _, o := range outputs {
		roots = append(roots, o.tensor)
	}
	body, err := b.body(roots)
	if err != nil {
		return nil, err
	}
	for _, n := range body {
		nd, err := b.rename(n)
		if err != nil {
			return nil, fmt.Errorf("serving function: node %q: %w", n.GetName(), err)
		}
		fd.NodeDef = append(fd.NodeDef, nd)
	}
	for _, o := range outputs {
		t, err := b.input(o.tensor)
		if err != nil {
			return nil, fmt.Errorf("serving function: output %s: %w", o.name, err)
		}
		fd.Signature.OutputArg = append(fd.Signature.OutputArg, &opdefpb.OpDef_ArgDef{Name: o.name, Type: o.dtype})
		fd.Ret[o.name] = t
	}
	return fd, nil
}

// funcBuilder turns graph nodes into the body of a FunctionDef.
type funcBuilder struct {
	g     *graphpb.GraphDef
	ops   map[string]*opdefpb.OpDef
	nodes map[string]*nodepb.NodeDef
	args  map[string]string // graph node -> argument name
}

// addArg makes the output 0 of node an input argument of fd, named name
// or, when a node or another argument has that name, name_1, name_2, ...
func (b *funcBuilder) addArg(fd *fnpb.FunctionDef, node, name string, dtype typespb.DataType, handle *rhpb.ResourceHandleProto_DtypeAndShape) {
	taken := func(s string) bool {
		return b.nodes[s] != nil || slices.ContainsFunc(fd.Signature.InputArg, func(a *opdefpb.OpDef_ArgDef) bool { return a.Name == s })
	}
	for base, i := name, 1; taken(name); i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	a := &opdefpb.OpDef_ArgDef{Name: name, Type: dtype}
	if handle != nil {
		a.HandleData = []*rhpb.ResourceHandleProto_DtypeAndShape{handle}
	}
	fd.Signature.InputArg = append(fd.Signature.InputArg, a)
	b.args[node] = name
}

// body returns the nodes the tensors roots depend on, arguments excepted,
// in the graph's order. A Placeholder among them is an error: the function
// would have an input the signature does not feed.
func (b *funcBuilder) body(roots []string) ([]*nodepb.NodeDef, error) {
	seen := map[string]bool{}
	for len(roots) > 0 {
		name := nodeName(roots[len(roots)-1])
		roots = roots[:len(roots)-1]
		if seen[name] || b.args[name] != "" {
			continue
		}
		n := b.nodes[name]
		if n == nil {
			return nil, fmt.Errorf("serving function: node %q is not in the graph", name)
		}
		if n.GetOp() == "Placeholder" {
			return nil, fmt.Errorf("serving function: node %q is a Placeholder the signature does not feed", name)
		}
		seen[name] = true
		roots = append(roots, n.GetInput()...)
	}
	var body []*nodepb.NodeDef
	for _, n := range b.g.GetNode() {
		if seen[n.GetName()] {
			body = append(body, n)
		}
	}
	return body, nil
}

// rename returns a copy of n with its inputs named as in a function body.
func (b *funcBuilder) rename(n *nodepb.NodeDef) (*nodepb.NodeDef, error) {
	c, ok := proto.Clone(n).(*nodepb.NodeDef)
	if !ok {
		return nil, errors.New("cloning the node failed")
	}
	delete(c.Attr, "_class") // colocation with nodes the body may not hold
	for i, in := range c.Input {
		r, err := b.input(in)
		if err != nil {
			return nil, err
		}
		c.Input[i] = r
	}
	return c, nil
}

// input renames a graph input ("x", "x:1", "^x") as a function body names
// it: an argument by its name, an output of a body node as
// node:output_arg:index, a control input unchanged.
func (b *funcBuilder) input(in string) (string, error) {
	if strings.HasPrefix(in, "^") {
		if b.args[in[1:]] != "" {
			return "", fmt.Errorf("control input %q on a function argument", in)
		}
		return in, nil
	}
	name, idx := in, 0
	if i := strings.LastIndexByte(in, ':'); i >= 0 {
		var err error
		if name = in[:i]; name == "" {
			return "", fmt.Errorf("bad input %q", in)
		}
		if idx, err = strconv.Atoi(in[i+1:]); err != nil || idx < 0 {
			return "", fmt.Errorf("bad input %q", in)
		}
	}
	if a := b.args[name]; a != "" {
		if idx != 0 {
			return "", fmt.Errorf("input %q: argument nodes have one output", in)
		}
		return a, nil
	}
	n := b.nodes[name]
	if n == nil {
		return "", fmt.Errorf("input %q is not in the graph", in)
	}
	def := b.ops[n.GetOp()]
	if def == nil {
		return "", fmt.Errorf("input %q: op %s is not registered", in, n.GetOp())
	}
	arg, j, err := outputArg(n, def, idx)
	if err != nil {
		return "", fmt.Errorf("input %q: %w", in, err)
	}
	return fmt.Sprintf("%s:%s:%d", name, arg, j), nil
}

// outputArg returns the output argument of n (op def) holding its output
// idx and the index within that argument.
func outputArg(n *nodepb.NodeDef, def *opdefpb.OpDef, idx int) (string, int, error) {
	for _, a := range def.GetOutputArg() {
		k := 1
		switch {
		case a.GetNumberAttr() != "":
			k = int(n.GetAttr()[a.GetNumberAttr()].GetI())
		case a.GetTypeListAttr() != "":
			k = len(n.GetAttr()[a.GetTypeListAttr()].GetList().GetType())
		}
		if idx < k {
			return a.GetName(), idx, nil
		}
		idx -= k
	}
	return "", 0, fmt.Errorf("op %s has no output %d", n.GetOp(), idx)
}

// shapeProto is the shape dims; none is a scalar, -1 an unknown size.
func shapeProto(dims ...int64) *shapepb.TensorShapeProto {
	s := &shapepb.TensorShapeProto{}
	for _, d := range dims {
		s.Dim = append(s.Dim, &shapepb.TensorShapeProto_Dim{Size: d})
	}
	return s
}
