package keras

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	fpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/function_go_proto"
	npb "github.com/galeone/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/checkpoint"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/savedmodel"
)

// A TF2 SavedModel written by Keras (model.export(dir), or
// tf.saved_model.save(model, dir)) stores no layer configs. readSavedModel
// rebuilds the network from the serving function's ops, in order, and the
// captured variables' names (<model>/<layer>/<kernel|bias>); see the package
// documentation for the rules.

// opsIgnored are the ops of a serving function that carry no layer: reads,
// shapes and plumbing.
var opsIgnored = []string{"ReadVariableOp", "Const", "Identity", "NoOp", "Shape", "StridedSlice", "Pack", "Cast", "Squeeze"}

// activationOps maps activation ops to tfcifar's activations.
var activationOps = map[string]config.ActivationFunc{"Relu": config.ReLU, "Sigmoid": config.Sigmoid, "Softmax": config.Softmax, "Tanh": config.Tanh}

// readSavedModel reads the SavedModel in dir; a tfcifar export, which has
// its own reader (savedmodel.ReadVariables), is refused.
func readSavedModel(dir string) (Model, error) {
	if _, err := savedmodel.ReadMeta(dir); err == nil {
		return Model{}, fmt.Errorf("%s is a tfcifar export, not a Keras SavedModel: reuse its layers with from: {savedmodel: %s}", dir, dir)
	}
	mg, err := savedmodel.ReadMetaGraph(dir)
	if err != nil {
		return Model{}, err
	}
	og := mg.GetObjectGraphDef()
	fn, bound, err := servingFunction(mg)
	if err != nil {
		return Model{}, fmt.Errorf("%s: %w", dir, err)
	}
	vars := map[string]int32{} // function argument -> object graph node of its variable
	args := fn.GetSignature().GetInputArg()
	first := len(args) - len(bound)
	if first < 1 {
		return Model{}, fmt.Errorf("%s: serving function %s captures more variables than it has arguments", dir, fn.GetSignature().GetName())
	}
	for i, a := range args[first:] {
		vars[a.GetName()] = bound[i]
	}
	in, err := inputShape(mg)
	if err != nil {
		return Model{}, fmt.Errorf("%s: %w", dir, err)
	}
	p := &opParser{nodes: og.GetNodes(), vars: vars, byName: map[string]*npb.NodeDef{}, keys: map[string]int32{}}
	for _, n := range fn.GetNodeDef() {
		p.byName[n.GetName()] = n
	}
	net := config.Network{Input: in}
	for _, n := range fn.GetNodeDef() {
		if err := p.node(&net, n); err != nil {
			return Model{}, fmt.Errorf("%s: serving function: node %q (%s): %w", dir, n.GetName(), n.GetOp(), err)
		}
	}
	if net, err = validated(net); err != nil {
		return Model{}, fmt.Errorf("%s: %w", dir, err)
	}
	w, err := p.weights(net, objectPaths(og), filepath.Join(dir, "variables", "variables"))
	if err != nil {
		return Model{}, fmt.Errorf("%s: %w", dir, err)
	}
	return Model{Name: p.model, Network: net, Weights: w}, nil
}

// servingFunction returns the function of the SavedModel that computes
// the model (the one holding its Conv2D or MatMul ops) and the object graph
// nodes its captured inputs are bound to.
func servingFunction(mg *pb.MetaGraphDef) (*fpb.FunctionDef, []int32, error) {
	concrete := mg.GetObjectGraphDef().GetConcreteFunctions()
	var names []string
	for _, f := range mg.GetGraphDef().GetLibrary().GetFunction() {
		if _, ok := concrete[f.GetSignature().GetName()]; !ok {
			continue
		}
		if slices.ContainsFunc(f.GetNodeDef(), func(n *npb.NodeDef) bool { return n.GetOp() == opConv2D || n.GetOp() == opMatMul }) {
			names = append(names, f.GetSignature().GetName())
		}
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("no function of saved_model.pb computes a Keras model (no Conv2D or MatMul); want a SavedModel from model.export(dir)")
	}
	slices.Sort(names)
	for _, f := range mg.GetGraphDef().GetLibrary().GetFunction() {
		if f.GetSignature().GetName() == names[0] {
			return f, concrete[names[0]].GetBoundInputs(), nil
		}
	}
	return nil, nil, fmt.Errorf("function %s vanished", names[0])
}

// inputShape is the shape of the serving signature's one input, without
// the batch dimension.
func inputShape(mg *pb.MetaGraphDef) ([]int, error) {
	sig := mg.GetSignatureDef()["serving_default"]
	if sig == nil || len(sig.GetInputs()) != 1 {
		return nil, fmt.Errorf("want a serving_default signature with one input")
	}
	for _, t := range sig.GetInputs() {
		dims := t.GetTensorShape().GetDim()
		if len(dims) < 2 {
			return nil, fmt.Errorf("input %s: want a batch of images, got %d dimensions", t.GetName(), len(dims))
		}
		var in []int
		for _, d := range dims[1:] {
			if d.GetSize() <= 0 || d.GetSize() > 1<<20 {
				return nil, fmt.Errorf("input %s: want known sizes, got %d", t.GetName(), d.GetSize())
			}
			in = append(in, int(d.GetSize()))
		}
		return in, nil
	}
	return nil, nil
}

// opParser turns the ops of a serving function into layers.
type opParser struct {
	nodes   []*pb.SavedObject
	vars    map[string]int32 // function argument -> variable node
	byName  map[string]*npb.NodeDef
	model   string
	keys    map[string]int32 // "<layer>/<weight>" -> object graph node of the variable
	last    *config.Layer    // the conv2d or dense layer an activation may fold into
	biased  bool
	bnScope string // name scope of the batch normalization being read
}

// variable follows input (through reads, reshapes, squeezes and casts) to
// the captured variable it reads and returns its model, layer and weight
// names and node id.
func (p *opParser) variable(input string) (model, layer, weight string, id int32, err error) {
	for range 16 {
		name, _, _ := strings.Cut(input, ":")
		if id, ok := p.vars[name]; ok {
			if int(id) >= len(p.nodes) || p.nodes[id].GetVariable() == nil {
				return "", "", "", 0, fmt.Errorf("argument %s is not bound to a variable", name)
			}
			parts := strings.Split(p.nodes[id].GetVariable().GetName(), "/")
			if len(parts) < 2 {
				return "", "", "", 0, fmt.Errorf("variable %q: want a name <model>/<layer>/<weight>", p.nodes[id].GetVariable().GetName())
			}
			if len(parts) == 2 {
				return "", parts[0], parts[1], id, nil
			}
			return parts[len(parts)-3], parts[len(parts)-2], parts[len(parts)-1], id, nil
		}
		n := p.byName[name]
		if n == nil || len(n.GetInput()) == 0 {
			break
		}
		input = n.GetInput()[0]
	}
	return "", "", "", 0, fmt.Errorf("input %s does not read a captured variable", input)
}

// window reads the 4-element strides or ksize attribute of n as [h w].
func window(n *npb.NodeDef, attr string) (config.Size, error) {
	v := n.GetAttr()[attr].GetList().GetI()
	if len(v) != 4 || v[0] != 1 || v[3] != 1 || v[1] < 1 || v[2] < 1 || v[1] > 1<<16 || v[2] > 1<<16 {
		return nil, fmt.Errorf("%s %v: want [1 h w 1]", attr, v)
	}
	return config.Size{int(v[1]), int(v[2])}, nil
}

func padding(n *npb.NodeDef) (config.Padding, error) {
	switch p := string(n.GetAttr()["padding"].GetS()); p {
	case "VALID":
		return config.Valid, nil
	case "SAME":
		return config.Same, nil
	default:
		return "", fmt.Errorf("padding %q is not supported; want VALID or SAME", p)
	}
}

// Ops that start a layer with weights.
const (
	opConv2D = "Conv2D"
	opMatMul = "MatMul"
)

// node adds what n means to net.
func (p *opParser) node(net *config.Network, n *npb.NodeDef) error {
	if f := string(n.GetAttr()["data_format"].GetS()); f != "" && f != "NHWC" {
		return fmt.Errorf("data_format %s is not supported; want NHWC", f)
	}
	add := func(l config.Layer) {
		net.Layers = append(net.Layers, l)
		p.last, p.biased = nil, false
	}
	if scope, _, ok := strings.Cut(n.GetName(), "/batchnorm/"); ok && slices.Contains(batchNormOps, n.GetOp()) {
		return p.batchNorm(net, scope, n)
	}
	switch op := n.GetOp(); {
	case slices.Contains(opsIgnored, op):
	case op == opConv2D || op == opMatMul:
		l, err := p.kernelLayer(n)
		if err != nil {
			return err
		}
		net.Layers = append(net.Layers, l)
		p.last, p.biased = &net.Layers[len(net.Layers)-1], false
	case op == "BiasAdd":
		return p.bias(n)
	case activationOps[op] != "":
		if p.last != nil && p.last.Activation == config.Linear && sameScope(n.GetName(), p.last.Name) {
			p.last.Activation = activationOps[op]
			p.last = nil
			return nil
		}
		add(config.Layer{Type: config.Activation, Activation: activationOps[op]})
	case op == "MaxPool" || op == "AvgPool":
		l, err := poolLayer(n)
		if err != nil {
			return err
		}
		add(l)
	case op == "Mean":
		if n.GetAttr()["keep_dims"].GetB() {
			return fmt.Errorf("keep_dims true is not supported")
		}
		add(config.Layer{Type: config.GlobalAveragePooling2D})
	case op == "Reshape":
		if len(n.GetInput()) > 0 {
			if _, _, _, _, err := p.variable(n.GetInput()[0]); err == nil {
				return nil // reshapes a bias
			}
		}
		add(config.Layer{Type: config.Flatten})
	default:
		return fmt.Errorf("op not supported in a Keras SavedModel; want the ops of Conv2D, Dense, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten and activations (for other layers, import the .keras archive)")
	}
	return nil
}

// kernelLayer returns the conv2d (Conv2D) or dense (MatMul) layer whose
// kernel n reads, its sizes taken from the kernel's shape.
func (p *opParser) kernelLayer(n *npb.NodeDef) (config.Layer, error) {
	if len(n.GetInput()) < 2 {
		return config.Layer{}, fmt.Errorf("want two inputs")
	}
	model, layer, weight, id, err := p.variable(n.GetInput()[1])
	if err != nil {
		return config.Layer{}, err
	}
	if weight != "kernel" {
		return config.Layer{}, fmt.Errorf("reads variable %s/%s, want a kernel", layer, weight)
	}
	p.model = model
	var shape []int
	for _, d := range p.nodes[id].GetVariable().GetShape().GetDim() {
		if d.GetSize() <= 0 || d.GetSize() > 1<<24 {
			return config.Layer{}, fmt.Errorf("kernel %s has shape dimension %d", layer, d.GetSize())
		}
		shape = append(shape, int(d.GetSize()))
	}
	var l config.Layer
	if n.GetOp() == opConv2D {
		if len(shape) != 4 {
			return config.Layer{}, fmt.Errorf("kernel %s has shape %v, want [height width in out]", layer, shape)
		}
		if d := n.GetAttr()["dilations"].GetList().GetI(); slices.ContainsFunc(d, func(x int64) bool { return x != 1 }) {
			return config.Layer{}, fmt.Errorf("dilations %v are not supported", d)
		}
		strides, err := window(n, "strides")
		if err != nil {
			return config.Layer{}, err
		}
		pad, err := padding(n)
		if err != nil {
			return config.Layer{}, err
		}
		l = config.Layer{Type: config.Conv2D, Filters: shape[3], Kernel: config.Size(shape[:2]), Strides: strides, Padding: pad}
	} else {
		if len(shape) != 2 {
			return config.Layer{}, fmt.Errorf("kernel %s has shape %v, want [in out]", layer, shape)
		}
		if n.GetAttr()["transpose_a"].GetB() || n.GetAttr()["transpose_b"].GetB() {
			return config.Layer{}, fmt.Errorf("transposed MatMul is not supported")
		}
		l = config.Layer{Type: config.Dense, Units: shape[1]}
	}
	l.Name, l.UseBias, l.Activation = layer, new(bool), config.Linear
	p.keys[layer+"/kernel"] = id
	return l, nil
}

// bias records the bias a BiasAdd adds to the last conv2d or dense layer.
func (p *opParser) bias(n *npb.NodeDef) error {
	if p.last == nil || p.biased || len(n.GetInput()) < 2 {
		return fmt.Errorf("a bias that follows no Conv2D or MatMul")
	}
	_, layer, weight, id, err := p.variable(n.GetInput()[1])
	if err != nil {
		return err
	}
	if layer != p.last.Name || weight != "bias" {
		return fmt.Errorf("reads variable %s/%s, want the bias of %q", layer, weight, p.last.Name)
	}
	p.keys[layer+"/bias"] = id
	*p.last.UseBias, p.biased = true, true
	return nil
}

// poolLayer returns the maxpool2d or avgpool2d layer of a MaxPool or
// AvgPool op.
func poolLayer(n *npb.NodeDef) (config.Layer, error) {
	pool, err := window(n, "ksize")
	if err != nil {
		return config.Layer{}, err
	}
	strides, err := window(n, "strides")
	if err != nil {
		return config.Layer{}, err
	}
	pad, err := padding(n)
	if err != nil {
		return config.Layer{}, err
	}
	t := config.MaxPooling2D
	if n.GetOp() == "AvgPool" {
		t = config.AveragePooling2D
	}
	return config.Layer{Type: t, Pool: pool, Strides: strides, Padding: pad}, nil
}

// batchNormOps are the ops of Keras' batch normalization in inference:
// (x * rsqrt(moving_variance + epsilon) * gamma) + (beta - moving_mean * ...).
var batchNormOps = []string{"AddV2", "Add", "Rsqrt", "Mul", "Sub"}

// batchNorm adds a batchnorm layer for the first op of the name scope
// <scope>/batchnorm/ and records the variables each of its ops reads; its
// epsilon is the constant the moving variance is added to.
func (p *opParser) batchNorm(net *config.Network, scope string, n *npb.NodeDef) error {
	if p.bnScope != scope {
		net.Layers = append(net.Layers, config.Layer{Type: config.BatchNormalization})
		p.bnScope, p.last, p.biased = scope, nil, false
	}
	l := &net.Layers[len(net.Layers)-1]
	for _, in := range n.GetInput() {
		_, layer, weight, id, err := p.variable(in)
		if err != nil {
			if eps, ok := p.constant(in); ok && n.GetOp() != "Mul" {
				l.Epsilon = eps
			}
			continue
		}
		if !slices.Contains([]string{"gamma", "beta", "moving_mean", "moving_variance"}, weight) {
			return fmt.Errorf("reads variable %s/%s, want a batch normalization's gamma, beta, moving_mean or moving_variance", layer, weight)
		}
		if l.Name != "" && l.Name != layer {
			return fmt.Errorf("reads variables of layers %q and %q", l.Name, layer)
		}
		l.Name = layer
		p.keys[layer+"/"+weight] = id
	}
	return nil
}

// constant returns the float32 scalar of the Const node input names.
func (p *opParser) constant(input string) (float64, bool) {
	name, _, _ := strings.Cut(input, ":")
	n := p.byName[name]
	if n == nil || n.GetOp() != "Const" {
		return 0, false
	}
	t := n.GetAttr()["value"].GetTensor()
	var f float32
	switch v, b := t.GetFloatVal(), t.GetTensorContent(); {
	case len(v) == 1:
		f = v[0]
	case len(b) == 4:
		f = math.Float32frombits(binary.LittleEndian.Uint32(b))
	default:
		return 0, false
	}
	// The float64 Keras configured, as far as float32 keeps it: 0.01, not 0.009999999776.
	d, err := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return d, err == nil
}

// sameScope reports whether node name lies in the name scope of layer (an
// activation of the layer itself, not a separate Activation layer): Keras
// export scopes ops as <model>_1/<layer>_<n>/<op>.
func sameScope(name, layer string) bool {
	parts := strings.Split(name, "/")
	if len(parts) < 2 {
		return false
	}
	scope := parts[len(parts)-2]
	if scope == layer {
		return true
	}
	n, ok := strings.CutPrefix(scope, layer+"_")
	return ok && n != "" && strings.Trim(n, "0123456789") == ""
}

// objectPaths returns the path of every object graph node from the root
// (variables/3), the first found breadth first.
func objectPaths(og *pb.SavedObjectGraph) map[int32]string {
	paths := map[int32]string{0: ""}
	queue := []int32{0}
	nodes := og.GetNodes()
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if int(id) >= len(nodes) {
			continue
		}
		for _, c := range nodes[id].GetChildren() {
			if _, seen := paths[c.GetNodeId()]; seen {
				continue
			}
			p := c.GetLocalName()
			if paths[id] != "" {
				p = paths[id] + "/" + p
			}
			paths[c.GetNodeId()] = p
			queue = append(queue, c.GetNodeId())
		}
	}
	return paths
}

// weights restores the variables of net from the checkpoint at prefix
// with TensorFlow's RestoreV2, each from the key of the object graph node
// the serving function reads it from (<path>/.ATTRIBUTES/VARIABLE_VALUE).
func (p *opParser) weights(net config.Network, paths map[int32]string, prefix string) (graph.Weights, error) {
	if _, err := os.Stat(prefix + ".index"); err != nil {
		return nil, fmt.Errorf("no variables: %w", err)
	}
	s := op.NewScope()
	m, err := graph.Build(s, net, graph.Options{})
	if err != nil {
		return nil, err
	}
	keys := map[string]string{}
	for _, v := range m.Variables {
		n, ok := p.keys[v.Name]
		if !ok {
			return nil, fmt.Errorf("variable %s: the serving function reads no such variable", v.Name)
		}
		path, ok := paths[n]
		if !ok || path == "" {
			return nil, fmt.Errorf("variable %s: object graph node %d is not reachable from the root", v.Name, n)
		}
		keys[v.Name] = checkpoint.ObjectKey(path)
	}
	return checkpoint.ReadKeyed(s, m.Variables, prefix, config.Run{}, func(name string) string { return keys[name] })
}
