package savedmodel

import (
	"bytes"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	attrpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	fnpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/function_go_proto"
	graphpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	nodepb "github.com/galeone/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	opdefpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/op_def_go_proto"
	typespb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"
	verpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/versions_go_proto"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"

	"github.com/tfcifar/tfcifar/internal/pyenv"
)

// callNode is a function call node of op calling fn.
func callNode(name, op, fn string) *nodepb.NodeDef {
	return &nodepb.NodeDef{Name: name, Op: op, Attr: map[string]*attrpb.AttrValue{
		"f":            {Value: &attrpb.AttrValue_Func{Func: &attrpb.NameAttrList{Name: fn}}},
		"config_proto": {Value: &attrpb.AttrValue_S{S: []byte("device specific")}},
		"Tin":          {Value: &attrpb.AttrValue_List{List: &attrpb.AttrValue_ListValue{}}},
		"T":            {Value: &attrpb.AttrValue_Type{Type: typespb.DataType_DT_FLOAT}},
		"Tseed":        {Value: &attrpb.AttrValue_Type{Type: typespb.DataType_DT_INT64}},
	}}
}

// fingerprintCases are SavedModels with what TensorFlow's fingerprint
// regularizes or orders: function calls (with and without a numeric
// suffix), string constants, a function library and versions, map keys
// that prefix each other, TensorInfo oneofs and several signatures.
func fingerprintCases() map[string]*pb.SavedModel {
	str := constNode("path", typespb.DataType_DT_STRING)
	str.Attr["value"].GetTensor().StringVal = [][]byte{[]byte("/home/someone/model")}
	info := func(name string) *pb.TensorInfo {
		return &pb.TensorInfo{Encoding: &pb.TensorInfo_Name{Name: name}, Dtype: typespb.DataType_DT_FLOAT}
	}
	graph := &graphpb.GraphDef{
		Node: []*nodepb.NodeDef{
			constNode("x", typespb.DataType_DT_FLOAT, 1), str,
			callNode("call", "PartitionedCall", "__inference_serve_1234"),
			callNode("stateful", "StatefulPartitionedCall", "no_uid"),
			callNode("negative", "StatefulPartitionedCall", "fn_-7"),
		},
		Library:  &fnpb.FunctionDefLibrary{Function: []*fnpb.FunctionDef{{Signature: &opdefpb.OpDef{Name: "__inference_serve_1234"}}}},
		Versions: &verpb.VersionDef{Producer: 1882, MinConsumer: 12},
	}
	sigs := map[string]*pb.SignatureDef{
		"serving_default": {
			Inputs:     map[string]*pb.TensorInfo{"x": info("x:0")},
			Outputs:    map[string]*pb.TensorInfo{"probabilities": info("call:0"), "class_ids": info("stateful:0"), "class": info("negative:0")},
			MethodName: "tensorflow/serving/predict",
		},
		"__saved_model_init_op": {Outputs: map[string]*pb.TensorInfo{"__saved_model_init_op": info("init")}},
		"a":                     {},
	}
	return map[string]*pb.SavedModel{
		"calls": {SavedModelSchemaVersion: 1, MetaGraphs: []*pb.MetaGraphDef{{
			MetaInfoDef:  &pb.MetaGraphDef_MetaInfoDef{Tags: []string{"serve"}, TensorflowVersion: "2.21.0"},
			GraphDef:     graph,
			SignatureDef: sigs,
			CollectionDef: map[string]*pb.CollectionDef{
				"variables":           {Kind: &pb.CollectionDef_BytesList_{BytesList: &pb.CollectionDef_BytesList{Value: [][]byte{[]byte("v")}}}},
				"saved_model_main_op": {Kind: &pb.CollectionDef_NodeList_{NodeList: &pb.CollectionDef_NodeList{Value: []string{"init"}}}},
			},
			AssetFileDef: []*pb.AssetFileDef{{TensorInfo: info("path:0"), Filename: "classes.txt"}},
		}}},
		"bare": {MetaGraphs: []*pb.MetaGraphDef{{}}},
	}
}

// TestFingerprintPython checks with TensorFlow Python that every hash and
// the version of fingerprint.pb equal TensorFlow 2.21's own computation for
// the same directory, for an export and for SavedModels holding what the
// fingerprint regularizes (with no checkpoint, whose hash is then 0).
func TestFingerprintPython(t *testing.T) {
	values := initialValues(t, smallNet(3), 1)
	root := t.TempDir()
	exported, err := ExportNetwork(filepath.Join(root, "export"), smallNet(3), values, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dirs := []string{exported}
	for name, sm := range fingerprintCases() {
		dir := filepath.Join(root, name)
		b, err := proto.Marshal(sm)
		if err != nil {
			t.Fatal(err)
		}
		fp, err := fingerprint(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for file, content := range map[string][]byte{graphFile: b, fingerprintFile: fp} {
			if err := os.WriteFile(filepath.Join(dir, file), content, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		dirs = append(dirs, dir)
	}
	t.Log(pyenv.Run(t, filepath.Join("interop", "check_fingerprint.py"), dirs...))
}

// fields returns the varint and bytes fields of the serialized message b.
func fields(t *testing.T, b []byte) map[protowire.Number]any {
	t.Helper()
	out := map[protowire.Number]any{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag in %x", b)
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			out[num], b = v, b[m:]
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			out[num], b = string(v), b[m:]
		default:
			t.Fatalf("field %d of wire type %d", num, typ)
		}
	}
	return out
}

// TestFingerprintUUID checks that fingerprints of the same files differ
// only in their uuid, a decimal 128-bit number of at least 20 digits.
func TestFingerprintUUID(t *testing.T) {
	b, err := proto.Marshal(fingerprintCases()["calls"])
	if err != nil {
		t.Fatal(err)
	}
	index := []byte("checkpoint index")
	x, err := fingerprint(b, index)
	if err != nil {
		t.Fatal(err)
	}
	y, err := fingerprint(b, index)
	if err != nil {
		t.Fatal(err)
	}
	fx, fy := fields(t, x), fields(t, y)
	for num := protowire.Number(1); num <= 6; num++ {
		if fx[num] != fy[num] {
			t.Errorf("field %d: %v then %v", num, fx[num], fy[num])
		}
	}
	if fx[4] != nil || fx[1] == nil || fx[2] == nil || fx[3] == nil || fx[5] == nil {
		t.Errorf("hashes %v: want all but the object graph's (4)", fx)
	}
	version, _ := fx[6].(string)
	if v := fields(t, []byte(version)); v[1] != uint64(fingerprintProducer) {
		t.Errorf("version %v, want producer %d", v, fingerprintProducer)
	}
	ux, uy := fx[7], fy[7]
	if ux == uy {
		t.Errorf("two fingerprints share uuid %v", ux)
	}
	for _, u := range []any{ux, uy} {
		s, _ := u.(string)
		n, ok := new(big.Int).SetString(s, 10)
		if !regexp.MustCompile(`^[0-9]{20,39}$`).MatchString(s) || !ok || n.BitLen() > 128 {
			t.Errorf("uuid %q is no decimal 128-bit number of 20 or more digits", s)
		}
	}
}

// TestFingerprintOrdersFields checks the deterministic serialization
// against bytes written by hand in field-number order: Go's own
// deterministic Marshal writes TensorInfo's oneof name last.
func TestFingerprintOrdersFields(t *testing.T) {
	info := &pb.TensorInfo{Encoding: &pb.TensorInfo_Name{Name: "x:0"}, Dtype: typespb.DataType_DT_FLOAT}
	sig := &pb.SignatureDef{Outputs: map[string]*pb.TensorInfo{"b": info, "a": info}}
	var want []byte
	for _, key := range []string{"a", "b"} {
		var entry, value []byte
		value = protowire.AppendTag(value, 1, protowire.BytesType)
		value = protowire.AppendString(value, "x:0")
		value = protowire.AppendTag(value, 2, protowire.VarintType)
		value = protowire.AppendVarint(value, uint64(typespb.DataType_DT_FLOAT))
		entry = protowire.AppendTag(entry, 1, protowire.BytesType)
		entry = protowire.AppendString(entry, key)
		entry = protowire.AppendTag(entry, 2, protowire.BytesType)
		entry = protowire.AppendBytes(entry, value)
		want = protowire.AppendTag(want, 2, protowire.BytesType)
		want = protowire.AppendBytes(want, entry)
	}
	got, err := marshalDeterministic(sig)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("serialized\n%x, want\n%x", got, want)
	}
}

// TestFingerprintRegularizes checks what the graph hash ignores: the
// numeric suffix of called functions, config_proto, string constants'
// values, the function library and versions; and what it does not.
func TestFingerprintRegularizes(t *testing.T) {
	hashOf := func(edit func(sm *pb.SavedModel)) []any {
		sm := fingerprintCases()["calls"]
		edit(sm)
		b, err := proto.Marshal(sm)
		if err != nil {
			t.Fatal(err)
		}
		fp, err := fingerprint(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		f := fields(t, fp)
		return []any{f[1], f[2], f[3]}
	}
	graph := func(sm *pb.SavedModel) *graphpb.GraphDef { return sm.MetaGraphs[0].GraphDef }
	base := hashOf(func(*pb.SavedModel) {})
	same := map[string]func(sm *pb.SavedModel){
		"function suffix": func(sm *pb.SavedModel) { graph(sm).Node[2].Attr["f"].GetFunc().Name = "__inference_serve_99" },
		"config_proto": func(sm *pb.SavedModel) {
			graph(sm).Node[2].Attr["config_proto"].Value = &attrpb.AttrValue_S{S: []byte("other")}
		},
		"string value": func(sm *pb.SavedModel) {
			graph(sm).Node[1].Attr["value"].GetTensor().StringVal = [][]byte{[]byte("/elsewhere")}
		},
		"library":  func(sm *pb.SavedModel) { graph(sm).Library = nil },
		"versions": func(sm *pb.SavedModel) { graph(sm).Versions.Producer = 2000 },
	}
	for name, edit := range same {
		if got := hashOf(edit); got[1] != base[1] || got[2] != base[2] || got[0] == base[0] {
			t.Errorf("%s: hashes %v, want the graph and signature hashes of %v and another checksum", name, got, base)
		}
	}
	differ := map[string]func(sm *pb.SavedModel){
		"function name":   func(sm *pb.SavedModel) { graph(sm).Node[3].Attr["f"].GetFunc().Name = "no_uid2" },
		"float value":     func(sm *pb.SavedModel) { graph(sm).Node[0].Attr["value"].GetTensor().FloatVal = []float32{2} },
		"string constant": func(sm *pb.SavedModel) { delete(graph(sm).Node[1].Attr, "value") },
	}
	for name, edit := range differ {
		if got := hashOf(edit); got[1] == base[1] {
			t.Errorf("%s: graph hash %v unchanged", name, got[1])
		}
	}
	if got := hashOf(func(sm *pb.SavedModel) { sm.MetaGraphs[0].SignatureDef["b"] = &pb.SignatureDef{} }); got[2] == base[2] || got[1] != base[1] {
		t.Errorf("another signature: hashes %v, want another signature hash than %v", got, base)
	}
}

// TestFingerprintErrors checks that a saved_model.pb that does not parse,
// or holds no MetaGraphDef, is refused.
func TestFingerprintErrors(t *testing.T) {
	for name, b := range map[string][]byte{"garbage": {0xff, 0xff, 0xff}, "no meta graph": {}} {
		if _, err := fingerprint(b, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestHashObjectGraph checks the rules of the object graph hash that
// TestFingerprintPython does not reach: no object graph hashes to 0, the
// functions are taken in the order of their numeric suffixes, and a
// function name without one is an error, as in TensorFlow.
func TestHashObjectGraph(t *testing.T) {
	if h, err := hashObjectGraph(nil); h != 0 || err != nil {
		t.Errorf("no object graph: %d, %v; want 0", h, err)
	}
	fn := func(bound ...int32) *pb.SavedConcreteFunction { return &pb.SavedConcreteFunction{BoundInputs: bound} }
	ab, err := hashObjectGraph(&pb.SavedObjectGraph{ConcreteFunctions: map[string]*pb.SavedConcreteFunction{"f_2": fn(1), "g_10": fn(2)}})
	if err != nil {
		t.Fatal(err)
	}
	ba, err := hashObjectGraph(&pb.SavedObjectGraph{ConcreteFunctions: map[string]*pb.SavedConcreteFunction{"f_20": fn(1), "g_10": fn(2)}})
	if err != nil {
		t.Fatal(err)
	}
	if ab == 0 || ab == ba {
		t.Errorf("hash %d with f first, %d with g first: want them nonzero and different", ab, ba)
	}
	if _, err := hashObjectGraph(&pb.SavedObjectGraph{ConcreteFunctions: map[string]*pb.SavedConcreteFunction{"serve": fn()}}); err == nil ||
		!strings.Contains(err.Error(), `"serve" has no numeric suffix`) {
		t.Errorf("function without a numeric suffix: %v", err)
	}
}
