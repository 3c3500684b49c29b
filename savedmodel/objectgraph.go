package savedmodel

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	typespb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"
	verpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/versions_go_proto"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"

	"github.com/tfcifar/tfcifar/checkpoint"
	"github.com/tfcifar/tfcifar/graph"
)

// servingFunctionName names the FunctionDef of the serving computation in
// the graph's library. TensorFlow ends the names of the functions it
// traces with a number, which its fingerprint leaves out.
const servingFunctionName = "__inference_serving_default_1"

// Children of the object graph's root, as tf.saved_model.save writes them
// for an object with variable lists (Keras' export archive, a tf.Module's
// attributes).
const (
	childVariables    = "variables"
	childTrainable    = "trainable_variables"
	childNonTrainable = "non_trainable_variables"
	childSignatures   = "signatures"
)

// Identifiers of TensorFlow Python's revived types.
const (
	userObjectID    = "_generic_user_object"
	listWrapperID   = "trackable_list_wrapper"
	signatureMapID  = "signature_map"
	variableValueID = "VARIABLE_VALUE"
)

// The object graph's nodes before the variables' (objectGraph).
const (
	nodeRoot = iota
	nodeVariables
	nodeTrainable
	nodeNonTrainable
	nodeSignatures
	nodeFirstVariable
)

// objectGraph returns the SavedObjectGraph through which tf.saved_model.load
// rebuilds the export as a TensorFlow 2 object: a root with the lists
// variables (all, in the model's order), trainable_variables and
// non_trainable_variables, each child "0", "1", ... a variable node named
// after its checkpoint key (conv2d/kernel), and the signature map whose
// serving_default is the serving function (servingFunctionName), called
// with images=... and bound to every variable in order. images is the
// signature's input shape, classes the number of outputs.
func objectGraph(vars []*graph.Variable, images []int64, classes int64) *pb.SavedObjectGraph {
	n := len(vars)
	nodes := make([]*pb.SavedObject, nodeFirstVariable+n+1)
	fnNode := int32(nodeFirstVariable + n)
	nodes[nodeRoot] = userObject(userObjectID,
		ref(nodeVariables, childVariables), ref(nodeTrainable, childTrainable),
		ref(nodeNonTrainable, childNonTrainable), ref(nodeSignatures, childSignatures))
	var all, trainable, frozen []*pb.TrackableObjectGraph_TrackableObject_ObjectReference
	bound := make([]int32, n)
	for i, v := range vars {
		id := int32(nodeFirstVariable + i)
		bound[i] = id
		all = append(all, ref(id, strconv.Itoa(len(all))))
		if v.Trainable {
			trainable = append(trainable, ref(id, strconv.Itoa(len(trainable))))
		} else {
			frozen = append(frozen, ref(id, strconv.Itoa(len(frozen))))
		}
		nodes[id] = &pb.SavedObject{Kind: &pb.SavedObject_Variable{Variable: &pb.SavedVariable{
			Dtype:     variableType(v),
			Shape:     shapeProto(v.Shape...),
			Trainable: v.Trainable,
			Name:      v.Name,
		}}}
	}
	nodes[nodeVariables] = userObject(listWrapperID, all...)
	nodes[nodeTrainable] = userObject(listWrapperID, trainable...)
	nodes[nodeNonTrainable] = userObject(listWrapperID, frozen...)
	nodes[nodeSignatures] = userObject(signatureMapID, ref(fnNode, SignatureKey))
	nodes[fnNode] = &pb.SavedObject{Kind: &pb.SavedObject_BareConcreteFunction{
		BareConcreteFunction: &pb.SavedBareConcreteFunction{
			ConcreteFunctionName:       servingFunctionName,
			ArgumentKeywords:           []string{InputImages},
			AllowedPositionalArguments: 1,
			FunctionSpec:               keywordSpec(InputImages),
		},
	}}
	imageSpec := tensorSpec(InputImages, typespb.DataType_DT_FLOAT, images...)
	return &pb.SavedObjectGraph{
		Nodes: nodes,
		ConcreteFunctions: map[string]*pb.SavedConcreteFunction{servingFunctionName: {
			BoundInputs: bound,
			// ((), {"images": spec}): no positional arguments, one keyword.
			CanonicalizedInputSignature: tupleValue(tupleValue(), dictValue(map[string]*pb.StructuredValue{InputImages: imageSpec})),
			OutputSignature: dictValue(map[string]*pb.StructuredValue{
				OutputProbs:    tensorSpec(OutputProbs, typespb.DataType_DT_FLOAT, -1, classes),
				OutputClassIDs: tensorSpec(OutputClassIDs, typespb.DataType_DT_INT64, -1),
			}),
		}},
	}
}

// checkpointGraph returns the TrackableObjectGraph of the export's
// checkpoint for the object graph og: the same nodes and children, the
// signatures' function an empty node, and each variable's value stored
// under its name (VARIABLE_VALUE attribute, checkpoint key
// conv2d/kernel/.ATTRIBUTES/VARIABLE_VALUE, the key the export's saver
// writes: TensorFlow Python restores a variable only from a key of that
// form).
func checkpointGraph(og *pb.SavedObjectGraph) ([]byte, error) {
	g := &pb.TrackableObjectGraph{}
	for _, n := range og.GetNodes() {
		o := &pb.TrackableObjectGraph_TrackableObject{Children: n.GetChildren()}
		if v := n.GetVariable(); v != nil {
			o.Attributes = []*pb.TrackableObjectGraph_TrackableObject_SerializedTensor{{
				Name: variableValueID, FullName: v.GetName(), CheckpointKey: checkpoint.ObjectKey(v.GetName()),
			}}
		}
		g.Nodes = append(g.Nodes, o)
	}
	b, err := proto.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("checkpoint object graph: %w", err)
	}
	return b, nil
}

func ref(id int32, name string) *pb.TrackableObjectGraph_TrackableObject_ObjectReference {
	return &pb.TrackableObjectGraph_TrackableObject_ObjectReference{NodeId: id, LocalName: name}
}

func userObject(id string, children ...*pb.TrackableObjectGraph_TrackableObject_ObjectReference) *pb.SavedObject {
	return &pb.SavedObject{
		Children: children,
		Kind: &pb.SavedObject_UserObject{UserObject: &pb.SavedUserObject{
			Identifier: id,
			Version:    &verpb.VersionDef{Producer: 1, MinConsumer: 1},
		}},
	}
}

func tensorSpec(name string, dtype typespb.DataType, dims ...int64) *pb.StructuredValue {
	return &pb.StructuredValue{Kind: &pb.StructuredValue_TensorSpecValue{TensorSpecValue: &pb.TensorSpecProto{
		Name: name, Shape: shapeProto(dims...), Dtype: dtype,
	}}}
}

func tupleValue(v ...*pb.StructuredValue) *pb.StructuredValue {
	return &pb.StructuredValue{Kind: &pb.StructuredValue_TupleValue{TupleValue: &pb.TupleValue{Values: v}}}
}

func listValue(v ...*pb.StructuredValue) *pb.StructuredValue {
	return &pb.StructuredValue{Kind: &pb.StructuredValue_ListValue{ListValue: &pb.ListValue{Values: v}}}
}

func dictValue(m map[string]*pb.StructuredValue) *pb.StructuredValue {
	return &pb.StructuredValue{Kind: &pb.StructuredValue_DictValue{DictValue: &pb.DictValue{Fields: m}}}
}

func noneValue() *pb.StructuredValue {
	return &pb.StructuredValue{Kind: &pb.StructuredValue_NoneValue{NoneValue: &pb.NoneValue{}}}
}

func stringValue(s string) *pb.StructuredValue {
	return &pb.StructuredValue{Kind: &pb.StructuredValue_StringValue{StringValue: s}}
}

// keywordSpec is the FunctionSpec of a signature function: its arguments
// are the keyword-only names, as Python's inspect.FullArgSpec states them.
func keywordSpec(names ...string) *pb.FunctionSpec {
	kw := make([]*pb.StructuredValue, len(names))
	for i, n := range names {
		kw[i] = stringValue(n)
	}
	pair := func(k string, v *pb.StructuredValue) *pb.PairValue { return &pb.PairValue{Key: k, Value: v} }
	return &pb.FunctionSpec{
		Fullargspec: &pb.StructuredValue{Kind: &pb.StructuredValue_NamedTupleValue{NamedTupleValue: &pb.NamedTupleValue{
			Name: "FullArgSpec",
			Values: []*pb.PairValue{
				pair("args", listValue()), pair("varargs", noneValue()), pair("varkw", noneValue()),
				pair("defaults", noneValue()), pair("kwonlyargs", listValue(kw...)),
				pair("kwonlydefaults", noneValue()), pair("annotations", dictValue(nil)),
			},
		}}},
		InputSignature: noneValue(),
	}
}

// argName turns a node name into a FunctionDef argument name
// ([a-z][a-z0-9_]*) as TensorFlow normalizes them: conv2d/kernel ->
// conv2d_kernel.
func argName(node string) string {
	b := []byte(strings.ToLower(node))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] < 'a' || b[0] > 'z' {
		return "arg_" + string(b)
	}
	return string(b)
}

// variableType is the element type of v: that of its read, float32 when
// it has none (as checkpoint.Entries has it).
func variableType(v *graph.Variable) typespb.DataType {
	if v.Read.Op == nil {
		return typespb.DataType_DT_FLOAT
	}
	return typespb.DataType(v.Read.DataType())
}
