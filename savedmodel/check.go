package savedmodel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	attrpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	fnpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/function_go_proto"
	graphpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	nodepb "github.com/galeone/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	tensorpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/tensor_go_proto"
	shapepb "github.com/galeone/tensorflow/tensorflow/go/core/framework/tensor_shape_go_proto"
	typespb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"

	"github.com/tfcifar/tfcifar/internal/capped"
)

// readGraph reads dir/saved_model.pb (at most MaxGraphBytes) and returns its
// MetaGraphDef tagged serve.
func readGraph(dir string) (*pb.MetaGraphDef, error) {
	name := filepath.Join(dir, graphFile)
	b, err := capped.ReadFile(name, MaxGraphBytes)
	if err != nil {
		return nil, fmt.Errorf("savedmodel: %w", err)
	}
	mg, err := parseGraph(b)
	if err != nil {
		return nil, fmt.Errorf("savedmodel: %s %w", name, err)
	}
	return mg, nil
}

// parseGraph parses saved_model.pb bytes and returns the MetaGraphDef
// tagged serve; errors continue a sentence starting with the file name.
func parseGraph(b []byte) (*pb.MetaGraphDef, error) {
	var sm pb.SavedModel
	if err := proto.Unmarshal(b, &sm); err != nil {
		return nil, fmt.Errorf("is corrupt: %w", err)
	}
	for _, mg := range sm.MetaGraphs {
		if slices.Contains(mg.GetMetaInfoDef().GetTags(), Tag) {
			return mg, nil
		}
	}
	return nil, fmt.Errorf("has no graph tagged %q", Tag)
}

// Names under which a MetaGraphDef names the op TensorFlow's loader runs
// after restoring the variables.
var (
	initCollections = []string{"saved_model_main_op", "legacy_init_op"}
	initSignature   = "__saved_model_init_op"
)

// checkGraph refuses a graph that loading or predicting could make do more
// than compute: every node of the graph and of every function of its
// library must be an allowed op (allowlist.go); no attribute may be a
// function, but the function a (Stateful)PartitionedCall calls, which must
// be in the library, and no function may call itself, directly or not; no
// attribute may declare a tensor or shape larger than MaxTensorBytes; the
// shape of every op in allocates that is a constant must be as bounded
// (in a function the graph calls, it must be a constant, as must the sizes
// of the ops in sized: checkShapes does not see inside functions, and a
// session runs no other function); no function may hold SaveV2 or
// RestoreV2; and among the
// nodes that the loader (restore and init ops) and the signature run, no
// SaveV2 and no RestoreV2 reading another file than the one the loader
// feeds. Errors name the function, the node and the op type.
func checkGraph(mg *pb.MetaGraphDef) error {
	gd := mg.GetGraphDef()
	if gd == nil {
		return errors.New("has no graph")
	}
	lib, err := library(gd)
	if err != nil {
		return err
	}
	nodes := make(map[string]*nodepb.NodeDef, len(gd.Node))
	var total int64
	for _, n := range gd.Node {
		if err := checkNode(n, lib, &total); err != nil {
			return fmt.Errorf("node %q: %w", n.Name, err)
		}
		if nodes[n.Name] != nil {
			return fmt.Errorf("node %q: the name is used twice", n.Name)
		}
		nodes[n.Name] = n
	}
	if err := checkRecursion(gd.GetLibrary().GetFunction(), lib); err != nil {
		return err
	}
	run := reachable(gd.Node, lib)
	for _, f := range gd.GetLibrary().GetFunction() {
		if err := checkFunction(f, lib, run[f.GetSignature().GetName()], &total); err != nil {
			return fmt.Errorf("function %q: %w", f.GetSignature().GetName(), err)
		}
	}
	for _, n := range gd.Node {
		if err := checkAllocation(n, nodes, false); err != nil {
			return fmt.Errorf("node %q: %w", n.Name, err)
		}
	}
	return checkRuns(mg, nodes)
}

// library indexes the functions of gd's library by name; a name defined
// twice is an error.
func library(gd *graphpb.GraphDef) (map[string]*fnpb.FunctionDef, error) {
	lib := map[string]*fnpb.FunctionDef{}
	for _, f := range gd.GetLibrary().GetFunction() {
		name := f.GetSignature().GetName()
		if lib[name] != nil {
			return nil, fmt.Errorf("function %q is defined twice", name)
		}
		lib[name] = f
	}
	return lib, nil
}

// The saver's ops, which checkGraph watches.
const (
	opSaveV2    = "SaveV2"
	opRestoreV2 = "RestoreV2"
)

// inFunctions are the ops a function may not hold though a graph may:
// a function's nodes are not among those checkRuns follows.
var inFunctions = map[string]string{
	opSaveV2:    "writes files",
	opRestoreV2: "reads files",
}

// reachable returns the functions of lib that the graph's nodes call,
// directly or through other functions: the only ones a session can run.
func reachable(graph []*nodepb.NodeDef, lib map[string]*fnpb.FunctionDef) map[string]bool {
	run := map[string]bool{}
	var queue []string
	for _, n := range graph {
		if c := called(n); c != "" {
			queue = append(queue, c)
		}
	}
	for len(queue) > 0 {
		name := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if run[name] {
			continue
		}
		run[name] = true
		for _, n := range lib[name].GetNodeDef() {
			if c := called(n); c != "" {
				queue = append(queue, c)
			}
		}
	}
	return run
}

// checkFunction checks the nodes of f; when the graph calls it (run), the
// shape inputs of its allocating and sized ops too.
func checkFunction(f *fnpb.FunctionDef, lib map[string]*fnpb.FunctionDef, run bool, total *int64) error {
	nodes := make(map[string]*nodepb.NodeDef, len(f.GetNodeDef()))
	for _, n := range f.GetNodeDef() {
		if err := checkNode(n, lib, total); err != nil {
			return fmt.Errorf("node %q: %w", n.GetName(), err)
		}
		if what, ok := inFunctions[n.GetOp()]; ok {
			return fmt.Errorf("node %q: op %s %s and is not allowed in a function", n.GetName(), n.GetOp(), what)
		}
		nodes[n.GetName()] = n
	}
	for _, n := range f.GetNodeDef() {
		if err := checkAllocation(n, nodes, run); err != nil {
			return fmt.Errorf("node %q: %w", n.GetName(), err)
		}
	}
	return nil
}

// callOps are the ops that call a function of the library, named by their
// attribute f.
var callOps = map[string]bool{"PartitionedCall": true, "StatefulPartitionedCall": true}

// called returns the function n calls, "" if n is no call.
func called(n *nodepb.NodeDef) string {
	if !callOps[n.GetOp()] {
		return ""
	}
	return n.GetAttr()["f"].GetFunc().GetName()
}

// maxCallDepth bounds how deeply functions may call each other
// (TensorFlow's own exports nest a few levels).
const maxCallDepth = 64

// checkRecursion refuses a function that calls itself, directly or through
// others, and calls nested deeper than maxCallDepth.
func checkRecursion(fns []*fnpb.FunctionDef, lib map[string]*fnpb.FunctionDef) error {
	const visiting = -1
	depth := map[string]int{} // levels of calls below a function, once known
	var visit func(name string, path []string) (int, error)
	visit = func(name string, path []string) (int, error) {
		d, known := depth[name]
		switch {
		case d == visiting:
			return 0, fmt.Errorf("function %q calls itself (%s)", name, strings.Join(append(path, name), " -> "))
		case known:
			return d, nil
		case len(path) > maxCallDepth: // stops the descent, whatever the chain's length
			return 0, fmt.Errorf("function %q: calls are nested more than %d deep", path[0], maxCallDepth)
		}
		depth[name] = visiting
		d = 0
		for _, n := range lib[name].GetNodeDef() {
			if c := called(n); c != "" {
				below, err := visit(c, append(path, name))
				if err != nil {
					return 0, err
				}
				d = max(d, below+1)
			}
		}
		if d > maxCallDepth {
			return 0, fmt.Errorf("function %q: calls are nested more than %d deep", name, maxCallDepth)
		}
		depth[name] = d
		return d, nil
	}
	for _, f := range fns {
		if _, err := visit(f.GetSignature().GetName(), nil); err != nil {
			return err
		}
	}
	return nil
}

// checkNode checks n's op type and attributes, and that a call's function
// is in lib; total accumulates the bytes of the tensors the attributes
// declare.
func checkNode(n *nodepb.NodeDef, lib map[string]*fnpb.FunctionDef, total *int64) error {
	if !allowed[n.Op] {
		return fmt.Errorf("op %s is not allowed in a model loaded without trust", n.Op)
	}
	for _, k := range sortedKeys(n.Attr) {
		if callOps[n.Op] && k == "f" {
			if err := checkCall(n.Attr[k], lib); err != nil {
				return fmt.Errorf("op %s: %w", n.Op, err)
			}
			continue
		}
		if err := checkAttr(n.Attr[k], total); err != nil {
			return fmt.Errorf("op %s: attribute %s: %w", n.Op, k, err)
		}
	}
	return nil
}

// checkCall checks the function attribute of a call: a function of lib,
// given without attributes.
func checkCall(a *attrpb.AttrValue, lib map[string]*fnpb.FunctionDef) error {
	f := a.GetFunc()
	switch {
	case f == nil:
		return errors.New("attribute f is not a function")
	case lib[f.GetName()] == nil:
		return fmt.Errorf("calls function %q, which is not in the graph's library", f.GetName())
	case len(f.GetAttr()) > 0:
		return fmt.Errorf("calls function %q with attributes", f.GetName())
	}
	return nil
}

func checkAttr(a *attrpb.AttrValue, total *int64) error {
	var shapes []*shapepb.TensorShapeProto
	switch v := a.GetValue().(type) {
	case *attrpb.AttrValue_Func:
		return errors.New("a function is not allowed")
	case *attrpb.AttrValue_Placeholder:
		return errors.New("a function placeholder is not allowed")
	case *attrpb.AttrValue_Shape:
		shapes = append(shapes, v.Shape)
	case *attrpb.AttrValue_Tensor:
		if err := checkTensor(v.Tensor.GetDtype(), v.Tensor.GetTensorShape(), total); err != nil {
			return err
		}
	case *attrpb.AttrValue_List:
		if len(v.List.Func) > 0 {
			return errors.New("a function is not allowed")
		}
		shapes = append(shapes, v.List.Shape...)
		for _, t := range v.List.Tensor {
			if err := checkTensor(t.GetDtype(), t.GetTensorShape(), total); err != nil {
				return err
			}
		}
	}
	for _, s := range shapes {
		if _, err := shapeBytes(s, 8); err != nil {
			return err
		}
	}
	return nil
}

// checkTensor checks the size a tensor attribute declares, alone and with
// the ones before it.
func checkTensor(dt typespb.DataType, s *shapepb.TensorShapeProto, total *int64) error {
	n, err := shapeBytes(s, elemBytes(dt))
	if err != nil {
		return err
	}
	if *total += n; *total > 4*MaxTensorBytes {
		return fmt.Errorf("the graph's constants declare more than %s", capped.Size(4*MaxTensorBytes))
	}
	return nil
}

// shapeBytes returns the bytes of a tensor of shape s with elements of
// size elem, unknown dimensions (-1) counting as 1, or an error when it
// exceeds MaxTensorBytes or a dimension is invalid.
func shapeBytes(s *shapepb.TensorShapeProto, elem int64) (int64, error) {
	n := elem
	for _, d := range s.GetDim() {
		switch {
		case d.Size < -1:
			return 0, fmt.Errorf("dimension %d in shape %s", d.Size, shapeString(s))
		case d.Size == -1:
			continue
		case d.Size > 0 && n > MaxTensorBytes/d.Size:
			return 0, fmt.Errorf("shape %s is larger than the %s limit", shapeString(s), capped.Size(MaxTensorBytes))
		}
		n *= d.Size
	}
	return n, nil
}

func shapeString(s *shapepb.TensorShapeProto) string {
	if s.GetUnknownRank() {
		return "<unknown rank>"
	}
	d := make([]string, len(s.GetDim()))
	for i, x := range s.GetDim() {
		d[i] = fmt.Sprint(x.Size)
	}
	return "[" + strings.Join(d, ",") + "]"
}

// elemBytes is the memory of one element of dt; strings count as 32 bytes.
func elemBytes(dt typespb.DataType) int64 {
	switch dt {
	case typespb.DataType_DT_BOOL, typespb.DataType_DT_INT8, typespb.DataType_DT_UINT8,
		typespb.DataType_DT_QINT8, typespb.DataType_DT_QUINT8:
		return 1
	case typespb.DataType_DT_INT16, typespb.DataType_DT_UINT16, typespb.DataType_DT_HALF,
		typespb.DataType_DT_BFLOAT16:
		return 2
	case typespb.DataType_DT_FLOAT, typespb.DataType_DT_INT32, typespb.DataType_DT_UINT32:
		return 4
	case typespb.DataType_DT_STRING, typespb.DataType_DT_COMPLEX128:
		return 32
	}
	return 8
}

// allocates maps the ops that allocate a tensor of the shape given by one
// of their inputs to that input's index.
var allocates = map[string]int{
	"Fill": 0, "StatelessRandomUniform": 0, "StatelessTruncatedNormal": 0,
	"StatelessRandomUniformFullInt": 0,
}

// sized maps the ops whose output size one of their inputs sets (with the
// size of their other inputs) to that input's index: in a function, that
// input must be a constant, as checkShapes bounds them only in the graph.
var sized = map[string]int{"Pad": 1, "ImageProjectiveTransformV3": 2}

// checkAllocation checks the shape input of an op that allocates when it
// is a constant; checkShapes counts the others, computed with the batch
// fixed at MaxBatch. In a function the graph calls (fn), which checkShapes
// does not see, the shape input of these ops and of the sized ones must be
// a constant.
func checkAllocation(n *nodepb.NodeDef, nodes map[string]*nodepb.NodeDef, fn bool) error {
	i, ok := allocates[n.Op]
	if j, isSized := sized[n.Op]; fn && isSized {
		i, ok = j, true
	}
	if !ok {
		return nil
	}
	if i >= len(n.Input) {
		return fmt.Errorf("op %s has %d inputs, want more than %d", n.Op, len(n.Input), i)
	}
	c := nodes[nodeName(n.Input[i])]
	if c == nil || c.Op != "Const" {
		if fn {
			return fmt.Errorf("op %s: input %d (%s) is not a constant, as a function's sizes must be", n.Op, i, n.Input[i])
		}
		return nil
	}
	if _, isSized := sized[n.Op]; isSized {
		return checkSizes(n, c)
	}
	dims, ok := intValues(c.Attr["value"].GetTensor())
	if !ok {
		return fmt.Errorf("op %s: shape %q is not a list of sizes", n.Op, c.Name)
	}
	s := &shapepb.TensorShapeProto{}
	for _, d := range dims {
		if d < 0 {
			return fmt.Errorf("op %s: shape %v has a negative size", n.Op, dims)
		}
		s.Dim = append(s.Dim, &shapepb.TensorShapeProto_Dim{Size: d})
	}
	if _, err := shapeBytes(s, 8); err != nil {
		return fmt.Errorf("op %s: %w", n.Op, err)
	}
	return nil
}

// checkSizes checks the constant c that sets the output size of the sized
// op n: non-negative values each at most MaxTensorBytes.
func checkSizes(n, c *nodepb.NodeDef) error {
	v, ok := intValues(c.GetAttr()["value"].GetTensor())
	if !ok {
		return fmt.Errorf("op %s: %q is not a list of sizes", n.GetOp(), c.GetName())
	}
	for _, x := range v {
		if x < 0 || x > MaxTensorBytes {
			return fmt.Errorf("op %s: size %d in %q is out of [0, %d]", n.GetOp(), x, c.GetName(), MaxTensorBytes)
		}
	}
	return nil
}

// intValues returns the values of an int32 or int64 tensor given as a
// list or as raw little-endian content.
func intValues(t *tensorpb.TensorProto) ([]int64, bool) {
	raw := t.GetTensorContent()
	switch t.GetDtype() {
	case typespb.DataType_DT_INT64:
		if len(raw) == 0 {
			return t.GetInt64Val(), true
		}
		if len(raw)%8 != 0 {
			return nil, false
		}
		v := make([]int64, len(raw)/8)
		for i := range v {
			v[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
		return v, true
	case typespb.DataType_DT_INT32:
		var v []int64
		if len(raw) == 0 {
			for _, x := range t.GetIntVal() {
				v = append(v, int64(x))
			}
			return v, true
		}
		if len(raw)%4 != 0 {
			return nil, false
		}
		for i := 0; i < len(raw); i += 4 {
			v = append(v, int64(int32(binary.LittleEndian.Uint32(raw[i:]))))
		}
		return v, true
	}
	return nil, false
}

// checkRuns checks the nodes that loading and predicting run: those the
// restore op, the init op and the serving signature's outputs depend on.
func checkRuns(mg *pb.MetaGraphDef, nodes map[string]*nodepb.NodeDef) error {
	filename := nodeName(mg.GetSaverDef().GetFilenameTensorName())
	var roots []string
	if r := mg.GetSaverDef().GetRestoreOpName(); r != "" {
		roots = append(roots, r)
	}
	for _, c := range initCollections {
		roots = append(roots, mg.GetCollectionDef()[c].GetNodeList().GetValue()...)
	}
	for _, key := range []string{initSignature, SignatureKey} {
		sig := mg.GetSignatureDef()[key]
		for _, k := range sortedKeys(sig.GetOutputs()) {
			roots = append(roots, sig.GetOutputs()[k].GetName())
		}
	}
	seen := map[string]bool{}
	for len(roots) > 0 {
		name := nodeName(roots[len(roots)-1])
		roots = roots[:len(roots)-1]
		n := nodes[name]
		if seen[name] || n == nil {
			continue
		}
		seen[name] = true
		switch {
		case n.Op == opSaveV2:
			return fmt.Errorf("node %q: op SaveV2 writes files and would run while loading or predicting", n.Name)
		case n.Op == opRestoreV2 && (len(n.Input) == 0 || filename == "" || nodeName(n.Input[0]) != filename):
			return fmt.Errorf("node %q: op RestoreV2 reads another file than the variables the loader gives it", n.Name)
		}
		roots = append(roots, n.Input...)
	}
	return nil
}

// nodeName returns the node of a tensor or input name: "^x", "x:1" -> "x".
func nodeName(s string) string {
	s = strings.TrimPrefix(s, "^")
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// signature is the serving signature's tensors, checked.
type signature struct{ images, probs, ids string }

// checkSignature checks that the serving signature takes float32 images of
// the network's input shape and returns float32 probabilities [-1 k], k
// the number of class names, and int64 class ids [-1].
func checkSignature(mg *pb.MetaGraphDef, meta Meta) (signature, error) {
	sig, ok := mg.GetSignatureDef()[SignatureKey]
	if !ok {
		return signature{}, fmt.Errorf("has no %s signature", SignatureKey)
	}
	in := meta.Network.Input
	k := int64(len(meta.Classes))
	var s signature
	for _, t := range []struct {
		name  *string
		infos map[string]*pb.TensorInfo
		key   string
		dtype typespb.DataType
		dims  []int64 // -1: any size
	}{
		{&s.images, sig.GetInputs(), InputImages, typespb.DataType_DT_FLOAT, []int64{-1, int64(in[0]), int64(in[1]), int64(in[2])}},
		{&s.probs, sig.GetOutputs(), OutputProbs, typespb.DataType_DT_FLOAT, []int64{-1, k}},
		{&s.ids, sig.GetOutputs(), OutputClassIDs, typespb.DataType_DT_INT64, []int64{-1}},
	} {
		info, ok := t.infos[t.key]
		if !ok {
			return signature{}, fmt.Errorf("signature %s has no tensor %q", SignatureKey, t.key)
		}
		if info.GetName() == "" {
			return signature{}, fmt.Errorf("signature %s: tensor %q is not a plain tensor", SignatureKey, t.key)
		}
		dims := []int64{}
		for _, d := range info.GetTensorShape().GetDim() {
			dims = append(dims, d.Size)
		}
		if info.GetDtype() != t.dtype || info.GetTensorShape().GetUnknownRank() || !fits(dims, t.dims) {
			return signature{}, fmt.Errorf("signature %s: tensor %q is %s %v, want %s %v", SignatureKey, t.key,
				dtypeName(info.GetDtype()), dims, dtypeName(t.dtype), t.dims)
		}
		*t.name = info.GetName()
	}
	return s, nil
}

// fits reports whether dims (-1: unknown) is as want (-1: any size).
func fits(dims, want []int64) bool {
	if len(dims) != len(want) {
		return false
	}
	for i := range dims {
		if want[i] != -1 && dims[i] != want[i] {
			return false
		}
	}
	return true
}

func dtypeName(dt typespb.DataType) string {
	return strings.ToLower(strings.TrimPrefix(dt.String(), "DT_"))
}
