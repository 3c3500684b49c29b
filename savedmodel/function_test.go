package savedmodel

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	attrpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	fnpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/function_go_proto"
	nodepb "github.com/galeone/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	opdefpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/op_def_go_proto"
	typespb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/graph"

	"github.com/tfcifar/tfcifar/internal/tolerance"
)

// libCall is a StatefulPartitionedCall of fn named name with inputs in.
func libCall(name, fn string, in ...string) *nodepb.NodeDef {
	return &nodepb.NodeDef{Name: name, Op: "StatefulPartitionedCall", Input: in, Attr: map[string]*attrpb.AttrValue{
		"f":    {Value: &attrpb.AttrValue_Func{Func: &attrpb.NameAttrList{Name: fn}}},
		"Tin":  {Value: &attrpb.AttrValue_List{List: &attrpb.AttrValue_ListValue{}}},
		"Tout": {Value: &attrpb.AttrValue_List{List: &attrpb.AttrValue_ListValue{}}},
	}}
}

// function is a FunctionDef named name without arguments holding nodes.
func function(name string, nodes ...*nodepb.NodeDef) *fnpb.FunctionDef {
	return &fnpb.FunctionDef{Signature: &opdefpb.OpDef{Name: name, IsStateful: true}, NodeDef: nodes}
}

// addFunctions appends fns to the library of mg's graph, after the
// export's serving function.
func addFunctions(mg *pb.MetaGraphDef, fns ...*fnpb.FunctionDef) {
	mg.GraphDef.Library.Function = append(mg.GraphDef.Library.Function, fns...)
}

// TestLoadRefusesHostileFunctions edits the function library of an
// export: every function is checked against the allow-list, nested calls
// included; a call may only name a function of the library, and no
// function may call itself.
func TestLoadRefusesHostileFunctions(t *testing.T) {
	writeFile := &nodepb.NodeDef{Name: "w", Op: "WriteFile", Input: []string{"a", "b"}}
	tests := []struct {
		desc string
		edit func(mg *pb.MetaGraphDef)
		want []string
	}{
		{"disallowed op in a function the graph calls", func(mg *pb.MetaGraphDef) {
			addFunctions(mg, function("outer", libCall("c", "inner")), function("inner", writeFile))
			mg.GraphDef.Node = append(mg.GraphDef.Node, libCall("call", "outer"))
			mainOp(mg, "call")
		}, []string{`function "inner": node "w"`, "op WriteFile is not allowed"}},
		{"disallowed op in a function nothing calls", func(mg *pb.MetaGraphDef) {
			addFunctions(mg, function("unused", &nodepb.NodeDef{Name: "p", Op: "PyFunc"}))
		}, []string{`function "unused": node "p"`, "op PyFunc is not allowed"}},
		{"graph calls a missing function", func(mg *pb.MetaGraphDef) {
			mg.GraphDef.Node = append(mg.GraphDef.Node, libCall("call", "nowhere"))
		}, []string{`node "call"`, `op StatefulPartitionedCall: calls function "nowhere", which is not in the graph's library`}},
		{"function calls a missing function", func(mg *pb.MetaGraphDef) {
			addFunctions(mg, function("outer", libCall("c", "nowhere")))
		}, []string{`function "outer": node "c"`, `calls function "nowhere", which is not in the graph's library`}},
		{"function calls itself", func(mg *pb.MetaGraphDef) {
			addFunctions(mg, function("loop", libCall("again", "loop")))
		}, []string{`function "loop" calls itself (loop -> loop)`}},
		{"functions call each other", func(mg *pb.MetaGraphDef) {
			addFunctions(mg, function("a", libCall("c", "b")), function("b", libCall("c", "c")), function("c", libCall("c", "a")))
			mg.GraphDef.Node = append(mg.GraphDef.Node, libCall("call", "a"))
		}, []string{`function "a" calls itself (a -> b -> c -> a)`}},
		{"calls nested too deep", func(mg *pb.MetaGraphDef) {
			// Listed from the innermost: the depth does not depend on the order.
			addFunctions(mg, function(fmt.Sprintf("f%d", maxCallDepth+1)))
			for i := maxCallDepth; i >= 0; i-- {
				addFunctions(mg, function(fmt.Sprintf("f%d", i), libCall("c", fmt.Sprintf("f%d", i+1))))
			}
		}, []string{`function "f0": calls are nested more than 64 deep`}},
		{"call with function attributes", func(mg *pb.MetaGraphDef) {
			call := libCall("call", servingFunctionName)
			call.Attr["f"].GetFunc().Attr = map[string]*attrpb.AttrValue{"x": {}}
			mg.GraphDef.Node = append(mg.GraphDef.Node, call)
		}, []string{`node "call"`, "with attributes"}},
		{"function attribute on another op", func(mg *pb.MetaGraphDef) {
			addFunctions(mg, function("outer", &nodepb.NodeDef{Name: "n", Op: "NoOp", Attr: map[string]*attrpb.AttrValue{
				"f": {Value: &attrpb.AttrValue_Func{Func: &attrpb.NameAttrList{Name: servingFunctionName}}},
			}}))
		}, []string{`function "outer": node "n"`, "attribute f: a function is not allowed"}},
		{"SaveV2 in a function", func(mg *pb.MetaGraphDef) {
			addFunctions(mg, function("saver", &nodepb.NodeDef{Name: "s", Op: "SaveV2"}))
		}, []string{`function "saver": node "s"`, "op SaveV2 writes files and is not allowed in a function"}},
		{"Fill of a computed shape in a function", func(mg *pb.MetaGraphDef) {
			f := function("fill",
				constNode("k", typespb.DataType_DT_FLOAT),
				&nodepb.NodeDef{Name: "dims", Op: "Shape", Input: []string{"k:output:0"}},
				&nodepb.NodeDef{Name: "fill", Op: "Fill", Input: []string{"dims:output:0", "k:output:0"}})
			addFunctions(mg, f)
			mg.GraphDef.Node = append(mg.GraphDef.Node, libCall("call", "fill"))
		}, []string{`function "fill": node "fill"`, "op Fill: input 0 (dims:output:0) is not a constant"}},
		{"Pad of a huge constant in a function", func(mg *pb.MetaGraphDef) {
			pad := constNode("p", typespb.DataType_DT_INT64, 1, 2)
			pad.Attr["value"].GetTensor().FloatVal = nil
			pad.Attr["value"].GetTensor().Int64Val = []int64{0, 1 << 40}
			addFunctions(mg, function("pad", constNode("x", typespb.DataType_DT_FLOAT, 1), pad,
				&nodepb.NodeDef{Name: "pad", Op: "Pad", Input: []string{"x:output:0", "p:output:0"}}))
			addFunctions(mg, function("outer", libCall("c", "pad")))
			mg.GraphDef.Node = append(mg.GraphDef.Node, libCall("call", "outer"))
		}, []string{`function "pad": node "pad"`, "op Pad: size 1099511627776"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) { wantRefused(t, tc.edit, tc.want) })
	}
}

// TestLoadCallsLibraryFunction rewrites an export as TensorFlow Python
// writes a TF2 SavedModel: the signature's outputs are those of a
// StatefulPartitionedCall of the serving function, fed with the images and
// the variables' handles. Load accepts it without trust and predicts as
// the plain graph does.
func TestLoadCallsLibraryFunction(t *testing.T) {
	dir, _ := export(t)
	images := make([]float32, 2*32*32*3)
	for i := range images {
		images[i] = float32(i % 256)
	}
	want := predictDir(t, dir, images)
	tamper(t, dir, func(mg *pb.MetaGraphDef) {
		var fn *fnpb.FunctionDef
		for _, f := range mg.GraphDef.Library.Function {
			if f.Signature.Name == servingFunctionName {
				fn = f
			}
		}
		if fn == nil {
			t.Fatal("the export has no serving function")
		}
		sig := mg.SignatureDef[SignatureKey]
		in := []string{nodeName(sig.Inputs[InputImages].GetName())}
		tin := []typespb.DataType{typespb.DataType_DT_FLOAT}
		for _, a := range fn.Signature.InputArg[1:] {
			// The handles' nodes are named after the variables, as the
			// arguments are after the nodes.
			i := slices.IndexFunc(mg.GraphDef.Node, func(n *nodepb.NodeDef) bool {
				return n.Op == "VarHandleOp" && argName(n.Name) == a.Name
			})
			if i < 0 {
				t.Fatalf("no VarHandleOp for argument %s", a.Name)
			}
			in = append(in, mg.GraphDef.Node[i].Name)
			tin = append(tin, typespb.DataType_DT_RESOURCE)
		}
		call := libCall("StatefulPartitionedCall", servingFunctionName, in...)
		call.Attr["Tin"].GetList().Type = tin
		call.Attr["Tout"].GetList().Type = []typespb.DataType{typespb.DataType_DT_INT64, typespb.DataType_DT_FLOAT}
		mg.GraphDef.Node = append(mg.GraphDef.Node, call)
		sig.Outputs[OutputClassIDs].Encoding = &pb.TensorInfo_Name{Name: "StatefulPartitionedCall:0"}
		sig.Outputs[OutputProbs].Encoding = &pb.TensorInfo_Name{Name: "StatefulPartitionedCall:1"}
	})
	got := predictDir(t, dir, images)
	if len(got) != len(want) {
		t.Fatalf("%d probabilities through the function call, want %d", len(got), len(want))
	}
	for i := range got {
		if !tolerance.EqualWithinAbs(float64(got[i]), float64(want[i]), 1e-6) {
			t.Errorf("probability %d through the function call: got %g, want %g", i, got[i], want[i])
		}
	}
}

// TestExportTrainingBuild exports a network built for training (random
// layers and dropout active under the training switch), as Export allows:
// its serving function sizes random draws from the batch, which the check
// allows in a function the graph does not call, and it loads and predicts
// as the export of the serving build does.
func TestExportTrainingBuild(t *testing.T) {
	net := preprocessedNet()
	net.Layers = append(net.Layers[:len(net.Layers)-1], smallNet(5).Layers[2:]...) // batchnorm, flatten, dropout, dense
	net = net.Named()
	values := initialValues(t, net, 1)
	s := op.NewScope()
	m, err := graph.Build(s, net, graph.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	training, err := Export(filepath.Join(t.TempDir(), "training"), Built{Scope: s, Model: m, Network: net, Weights: values}, Options{})
	if err != nil {
		t.Fatalf("export of a training build: %v", err)
	}
	serving, err := ExportNetwork(filepath.Join(t.TempDir(), "serving"), net, values, Options{})
	if err != nil {
		t.Fatal(err)
	}
	images := make([]float32, 3*32*32*3)
	for i := range images {
		images[i] = float32(i * 7 % 256)
	}
	got, want := predictDir(t, training, images), predictDir(t, serving, images)
	for i := range got {
		if !tolerance.EqualWithinAbs(float64(got[i]), float64(want[i]), 1e-6) {
			t.Errorf("probability %d of the training build: got %g, the serving build %g", i, got[i], want[i])
		}
	}
}

// predictDir loads the export in dir without trust and returns its
// probabilities for images.
func predictDir(t *testing.T, dir string, images []float32) []float32 {
	t.Helper()
	m, err := Load(context.Background(), dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	probs, _, err := m.Predict(images, len(images)/(32*32*3))
	if err != nil {
		t.Fatal(err)
	}
	return probs
}
