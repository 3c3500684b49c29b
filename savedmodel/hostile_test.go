package savedmodel

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"
	"google.golang.org/protobuf/proto"

	attrpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	fnpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/function_go_proto"
	graphpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	nodepb "github.com/galeone/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	opdefpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/op_def_go_proto"
	tensorpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/tensor_go_proto"
	shapepb "github.com/galeone/tensorflow/tensorflow/go/core/framework/tensor_shape_go_proto"
	typespb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"

	"github.com/tfcifar/tfcifar/config"
)

// The hostile models below are tfcifar exports whose saved_model.pb was
// edited the way a downloaded model could be: extra nodes, an init op the
// loader runs, another signature.

// tamper rewrites the serve MetaGraphDef of the export in dir with edit.
func tamper(t *testing.T, dir string, edit func(mg *pb.MetaGraphDef)) {
	t.Helper()
	name := filepath.Join(dir, "saved_model.pb")
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var sm pb.SavedModel
	if err := proto.Unmarshal(b, &sm); err != nil {
		t.Fatal(err)
	}
	edit(sm.MetaGraphs[0])
	if b, err = proto.Marshal(&sm); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// addOps builds ops with add in a graph of their own under the name scope
// "hostile" and appends them to mg's graph; add refers to the export's
// tensors through existing. It returns the names of the outputs add
// returns.
func addOps(t *testing.T, mg *pb.MetaGraphDef, add func(s *op.Scope) []tf.Output) []string {
	t.Helper()
	s := op.NewScope().SubScope("hostile")
	outs := add(s)
	g, err := s.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := g.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	var gd graphpb.GraphDef
	if err := proto.Unmarshal(buf.Bytes(), &gd); err != nil {
		t.Fatal(err)
	}
	// Placeholders named "existing/<node>" stand for the export's nodes.
	rename := map[string]string{}
	for _, n := range gd.Node {
		if after, ok := strings.CutPrefix(n.Name, "hostile/existing/"); ok {
			rename[n.Name] = after
		}
	}
	for _, n := range gd.Node {
		if rename[n.Name] != "" {
			continue
		}
		for i, in := range n.Input {
			if r, ok := rename[nodeName(in)]; ok {
				n.Input[i] = strings.Replace(in, nodeName(in), r, 1)
			}
		}
		mg.GraphDef.Node = append(mg.GraphDef.Node, n)
	}
	names := make([]string, len(outs))
	for i, o := range outs {
		names[i] = tensorName(o)
	}
	return names
}

// existing stands for output 0 of the export's node, of type dt, in ops
// built by addOps.
func existing(s *op.Scope, node string, dt tf.DataType) tf.Output {
	return s.SubScope("existing").AddOperation(tf.OpSpec{Type: "Placeholder", Name: node, Attrs: map[string]any{"dtype": dt}}).Output(0)
}

func mainOp(mg *pb.MetaGraphDef, names ...string) {
	for i, n := range names {
		names[i] = nodeName(n)
	}
	mg.CollectionDef["saved_model_main_op"] = &pb.CollectionDef{Kind: &pb.CollectionDef_NodeList_{
		NodeList: &pb.CollectionDef_NodeList{Value: names},
	}}
}

// writeFileModel returns an export whose init op writes target.
func writeFileModel(t *testing.T, target string) string {
	dir, _ := export(t)
	tamper(t, dir, func(mg *pb.MetaGraphDef) {
		names := addOps(t, mg, func(s *op.Scope) []tf.Output {
			w := s.AddOperation(tf.OpSpec{Type: "WriteFile", Input: []tf.Input{
				op.Const(s.SubScope("name"), target), op.Const(s.SubScope("contents"), "pwned"),
			}})
			return []tf.Output{{Op: w}}
		})
		mainOp(mg, names...)
	})
	return dir
}

func constNode(name string, dt typespb.DataType, dims ...int64) *nodepb.NodeDef {
	shape := &shapepb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &shapepb.TensorShapeProto_Dim{Size: d})
	}
	return &nodepb.NodeDef{Name: name, Op: "Const", Attr: map[string]*attrpb.AttrValue{
		"dtype": {Value: &attrpb.AttrValue_Type{Type: dt}},
		"value": {Value: &attrpb.AttrValue_Tensor{Tensor: &tensorpb.TensorProto{Dtype: dt, TensorShape: shape, FloatVal: []float32{1}}}},
	}}
}

func TestLoadRefusesHostileGraphs(t *testing.T) {
	tests := []struct {
		desc string
		edit func(t *testing.T, mg *pb.MetaGraphDef)
		want []string
	}{
		{"WriteFile in the init op", func(t *testing.T, mg *pb.MetaGraphDef) {
			names := addOps(t, mg, func(s *op.Scope) []tf.Output {
				w := s.AddOperation(tf.OpSpec{Type: "WriteFile", Input: []tf.Input{
					op.Const(s.SubScope("name"), "/tmp/x"), op.Const(s.SubScope("contents"), "x"),
				}})
				return []tf.Output{{Op: w}}
			})
			mainOp(mg, names...)
		}, []string{`node "hostile/WriteFile"`, "op WriteFile is not allowed"}},
		{"ReadFile anywhere", func(t *testing.T, mg *pb.MetaGraphDef) {
			addOps(t, mg, func(s *op.Scope) []tf.Output {
				return []tf.Output{op.ReadFile(s, op.Const(s.SubScope("name"), "/etc/passwd"))}
			})
		}, []string{"op ReadFile is not allowed"}},
		{"PrintV2", func(t *testing.T, mg *pb.MetaGraphDef) {
			addOps(t, mg, func(s *op.Scope) []tf.Output {
				p := s.AddOperation(tf.OpSpec{Type: "PrintV2", Input: []tf.Input{op.Const(s.SubScope("msg"), "hi")}})
				return []tf.Output{{Op: p}}
			})
		}, []string{"op PrintV2 is not allowed"}},
		{"queue", func(t *testing.T, mg *pb.MetaGraphDef) {
			addOps(t, mg, func(s *op.Scope) []tf.Output {
				return []tf.Output{op.FIFOQueueV2(s, []tf.DataType{tf.Float})}
			})
		}, []string{"op FIFOQueueV2 is not allowed"}},
		{"WriteFile in a library function", func(t *testing.T, mg *pb.MetaGraphDef) {
			mg.GraphDef.Library = &fnpb.FunctionDefLibrary{Function: []*fnpb.FunctionDef{{
				Signature: &opdefpb.OpDef{Name: "innocent"},
				NodeDef:   []*nodepb.NodeDef{{Name: "w", Op: "WriteFile", Input: []string{"a", "b"}}},
			}}}
		}, []string{`function "innocent": node "w"`, "op WriteFile"}},
		{"constant of 4 TB", func(t *testing.T, mg *pb.MetaGraphDef) {
			mg.GraphDef.Node = append(mg.GraphDef.Node, constNode("huge", typespb.DataType_DT_FLOAT, 1e6, 1e6))
		}, []string{`node "huge"`, "shape [1000000,1000000] is larger than the 256 MiB limit"}},
		{"constants adding up", func(t *testing.T, mg *pb.MetaGraphDef) {
			for i := range 5 {
				mg.GraphDef.Node = append(mg.GraphDef.Node, constNode("c"+string(rune('0'+i)), typespb.DataType_DT_FLOAT, 60<<20))
			}
		}, []string{"the graph's constants declare more than 1 GiB"}},
		{"variable of 4 PB", func(t *testing.T, mg *pb.MetaGraphDef) {
			addOps(t, mg, func(s *op.Scope) []tf.Output {
				return []tf.Output{op.VarHandleOp(s, tf.Float, tf.MakeShape(1e9, 1e6))}
			})
		}, []string{"op VarHandleOp: attribute shape", "larger than the 256 MiB limit"}},
		{"Fill of a constant huge shape", func(t *testing.T, mg *pb.MetaGraphDef) {
			names := addOps(t, mg, func(s *op.Scope) []tf.Output {
				return []tf.Output{op.Fill(s, op.Const(s.SubScope("dims"), []int64{1e5, 1e5}), op.Const(s.SubScope("v"), float32(1)))}
			})
			mainOp(mg, names...)
		}, []string{"op Fill", "larger than the 256 MiB limit"}},
		{"Fill of a computed huge shape", func(t *testing.T, mg *pb.MetaGraphDef) {
			names := addOps(t, mg, func(s *op.Scope) []tf.Output {
				dims := op.Mul(s, op.Const(s.SubScope("a"), []int32{1000, 1000}), op.Const(s.SubScope("b"), []int32{100, 100}))
				return []tf.Output{op.Fill(s, dims, op.Const(s.SubScope("v"), float32(1)))}
			})
			mainOp(mg, names...)
		}, []string{`node "hostile/Fill"`, "has shape [100000, 100000], larger than the 256 MiB limit"}},
		{"Pad of the batch", func(t *testing.T, mg *pb.MetaGraphDef) {
			images := nodeName(mg.SignatureDef[SignatureKey].Inputs[InputImages].GetName())
			addOps(t, mg, func(s *op.Scope) []tf.Output {
				pad := op.Const(s.SubScope("p"), [][]int32{{1 << 20, 1 << 20}, {0, 0}, {0, 0}, {0, 0}})
				return []tf.Output{op.Pad(s, existing(s, images, tf.Float), pad)}
			})
		}, []string{`node "hostile/Pad"`, "op Pad", "larger than the 256 MiB limit"}},
		{"Fill of a shape computed from the batch", func(t *testing.T, mg *pb.MetaGraphDef) {
			images := nodeName(mg.SignatureDef[SignatureKey].Inputs[InputImages].GetName())
			addOps(t, mg, func(s *op.Scope) []tf.Output {
				dims := op.Mul(s, op.Shape(s, existing(s, images, tf.Float)), op.Const(s.SubScope("k"), []int32{65536, 1, 1, 1}))
				return []tf.Output{op.Fill(s, dims, op.Const(s.SubScope("v"), float32(0)))}
			})
		}, []string{`node "hostile/Fill"`, "op Fill"}},
		{"save op as init op", func(t *testing.T, mg *pb.MetaGraphDef) {
			mainOp(mg, mg.SaverDef.SaveTensorName)
		}, []string{"op SaveV2 writes files"}},
		{"restore from another file", func(t *testing.T, mg *pb.MetaGraphDef) {
			names := addOps(t, mg, func(s *op.Scope) []tf.Output {
				r := op.RestoreV2(s, op.Const(s.SubScope("p"), "/etc/secret"), op.Const(s.SubScope("n"), []string{"x"}),
					op.Const(s.SubScope("sl"), []string{""}), []tf.DataType{tf.Float})
				return r
			})
			mainOp(mg, names...)
		}, []string{"op RestoreV2 reads another file"}},
		{"function attribute", func(t *testing.T, mg *pb.MetaGraphDef) {
			mg.GraphDef.Node = append(mg.GraphDef.Node, &nodepb.NodeDef{Name: "f", Op: "NoOp", Attr: map[string]*attrpb.AttrValue{
				"body": {Value: &attrpb.AttrValue_Func{Func: &attrpb.NameAttrList{Name: "innocent"}}},
			}})
		}, []string{`node "f"`, "attribute body: a function is not allowed"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			wantRefused(t, func(mg *pb.MetaGraphDef) { tc.edit(t, mg) }, tc.want)
		})
	}
}

// wantRefused tampers with a fresh export by edit and checks that Load and
// ReadVariables both refuse it with errors containing want.
func wantRefused(t *testing.T, edit func(*pb.MetaGraphDef), want []string) {
	t.Helper()
	dir, _ := export(t)
	tamper(t, dir, edit)
	m, err := Load(context.Background(), dir, LoadOptions{})
	if err == nil {
		m.Close()
	}
	wantErr(t, err, append(want, filepath.Join(dir, "saved_model.pb"), "refused")...)
	_, err = ReadVariables(dir, LoadOptions{})
	wantErr(t, err, want...)
	t.Log(err)
}

// TestTrustRunsInitOp checks that the WriteFile fixture is real: refused
// by default, with nothing written, and run by TensorFlow's loader when
// trusted.
func TestTrustRunsInitOp(t *testing.T) {
	target := filepath.Join(t.TempDir(), "pwned")
	dir := writeFileModel(t, target)
	if _, err := Load(context.Background(), dir, LoadOptions{}); err == nil {
		t.Fatal("Load accepted a model whose init op writes a file")
	}
	if _, err := os.Stat(target); err == nil {
		t.Fatal("refusing the model still wrote the file")
	}
	m, err := Load(context.Background(), dir, LoadOptions{Trust: true})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if b, err := os.ReadFile(target); err != nil || string(b) != "pwned" {
		t.Errorf("trusted load: file %q, %v; want the init op to have written it", b, err)
	}
}

// TestLoadInterrupted loads a trusted model whose init op never returns
// (a dequeue from an empty queue) and checks that ctx wins.
func TestLoadInterrupted(t *testing.T) {
	dir, _ := export(t)
	tamper(t, dir, func(mg *pb.MetaGraphDef) {
		names := addOps(t, mg, func(s *op.Scope) []tf.Output {
			q := op.FIFOQueueV2(s, []tf.DataType{tf.Float})
			return op.QueueDequeueV2(s, q, []tf.DataType{tf.Float})
		})
		mainOp(mg, names...)
	})
	_, err := Load(context.Background(), dir, LoadOptions{})
	wantErr(t, err, "op FIFOQueueV2 is not allowed")

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	m, err := Load(ctx, dir, LoadOptions{Trust: true})
	if err == nil {
		m.Close()
	}
	wantErr(t, err, "interrupted", dir)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Load returned %v after the context was done", d)
	}
}

func TestLoadRefusesBadSignatures(t *testing.T) {
	probs := func(mg *pb.MetaGraphDef) string {
		return nodeName(mg.SignatureDef[SignatureKey].Outputs[OutputProbs].GetName())
	}
	setOut := func(mg *pb.MetaGraphDef, key, name string, dt typespb.DataType, dims ...int64) {
		info := tensorInfoProto(name, dt, dims...)
		mg.SignatureDef[SignatureKey].Outputs[key] = info
	}
	tests := []struct {
		desc string
		edit func(t *testing.T, mg *pb.MetaGraphDef)
		want []string
	}{
		{"float64 probabilities", func(t *testing.T, mg *pb.MetaGraphDef) {
			p := probs(mg)
			names := addOps(t, mg, func(s *op.Scope) []tf.Output {
				return []tf.Output{op.Cast(s, existing(s, p, tf.Float), tf.Double)}
			})
			setOut(mg, OutputProbs, names[0], typespb.DataType_DT_DOUBLE, -1, 3)
		}, []string{`tensor "probabilities" is double [-1 3], want float [-1 3]`}},
		{"float64 probabilities declared float32", func(t *testing.T, mg *pb.MetaGraphDef) {
			p := probs(mg)
			names := addOps(t, mg, func(s *op.Scope) []tf.Output {
				return []tf.Output{op.Cast(s, existing(s, p, tf.Float), tf.Double)}
			})
			setOut(mg, OutputProbs, names[0], typespb.DataType_DT_FLOAT, -1, 3)
		}, []string{`tensor "probabilities"`, "has type double, want float"}},
		{"1-D probabilities", func(t *testing.T, mg *pb.MetaGraphDef) {
			p := probs(mg)
			names := addOps(t, mg, func(s *op.Scope) []tf.Output {
				return []tf.Output{op.Reshape(s, existing(s, p, tf.Float), op.Const(s.SubScope("shape"), []int32{-1}))}
			})
			setOut(mg, OutputProbs, names[0], typespb.DataType_DT_FLOAT, -1)
		}, []string{`tensor "probabilities" is float [-1], want float [-1 3]`}},
		{"scalar probabilities declared as a matrix", func(t *testing.T, mg *pb.MetaGraphDef) {
			p := probs(mg)
			names := addOps(t, mg, func(s *op.Scope) []tf.Output {
				return []tf.Output{op.Mean(s, existing(s, p, tf.Float), op.Const(s.SubScope("axes"), []int32{0, 1}))}
			})
			setOut(mg, OutputProbs, names[0], typespb.DataType_DT_FLOAT, -1, 3)
		}, []string{`tensor "probabilities"`, "want 2 dimensions"}},
		{"int32 class ids", func(t *testing.T, mg *pb.MetaGraphDef) {
			p := probs(mg)
			names := addOps(t, mg, func(s *op.Scope) []tf.Output {
				return []tf.Output{op.ArgMax(s, existing(s, p, tf.Float), op.Const(s.SubScope("axis"), int32(1)), op.ArgMaxOutputType(tf.Int32))}
			})
			setOut(mg, OutputClassIDs, names[0], typespb.DataType_DT_INT32, -1)
		}, []string{`tensor "class_ids" is int32 [-1], want int64 [-1]`}},
		{"int32 class ids declared int64", func(t *testing.T, mg *pb.MetaGraphDef) {
			p := probs(mg)
			names := addOps(t, mg, func(s *op.Scope) []tf.Output {
				return []tf.Output{op.ArgMax(s, existing(s, p, tf.Float), op.Const(s.SubScope("axis"), int32(1)), op.ArgMaxOutputType(tf.Int32))}
			})
			setOut(mg, OutputClassIDs, names[0], typespb.DataType_DT_INT64, -1)
		}, []string{`tensor "class_ids"`, "has type int32, want int64"}},
		{"more outputs than class names", func(t *testing.T, mg *pb.MetaGraphDef) {
			setOut(mg, OutputProbs, mg.SignatureDef[SignatureKey].Outputs[OutputProbs].GetName(), typespb.DataType_DT_FLOAT, -1, 4)
		}, []string{`tensor "probabilities" is float [-1 4], want float [-1 3]`}},
		{"no class ids", func(t *testing.T, mg *pb.MetaGraphDef) {
			delete(mg.SignatureDef[SignatureKey].Outputs, OutputClassIDs)
		}, []string{`no tensor "class_ids"`}},
		{"images of another shape", func(t *testing.T, mg *pb.MetaGraphDef) {
			mg.SignatureDef[SignatureKey].Inputs[InputImages].TensorShape.Dim[1].Size = 64
		}, []string{`tensor "images" is float [-1 64 32 3], want float [-1 32 32 3]`}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir, _ := export(t)
			tamper(t, dir, func(mg *pb.MetaGraphDef) { tc.edit(t, mg) })
			for _, trust := range []bool{false, true} {
				m, err := Load(context.Background(), dir, LoadOptions{Trust: trust})
				if err == nil {
					m.Close()
				}
				wantErr(t, err, append(tc.want, dir)...)
			}
		})
	}
}

func tensorInfoProto(name string, dt typespb.DataType, dims ...int64) *pb.TensorInfo {
	shape := &shapepb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &shapepb.TensorShapeProto_Dim{Size: d})
	}
	return &pb.TensorInfo{Encoding: &pb.TensorInfo_Name{Name: name}, Dtype: dt, TensorShape: shape}
}

// TestPredictRefusesClassIDsOutOfRange loads a model whose class ids are
// shifted past the class names.
func TestPredictRefusesClassIDsOutOfRange(t *testing.T) {
	dir, _ := export(t)
	tamper(t, dir, func(mg *pb.MetaGraphDef) {
		ids := mg.SignatureDef[SignatureKey].Outputs[OutputClassIDs].GetName()
		names := addOps(t, mg, func(s *op.Scope) []tf.Output {
			return []tf.Output{op.Add(s, existing(s, nodeName(ids), tf.Int64), op.Const(s.SubScope("shift"), int64(10)))}
		})
		mg.SignatureDef[SignatureKey].Outputs[OutputClassIDs] = tensorInfoProto(names[0], typespb.DataType_DT_INT64, -1)
	})
	m, err := Load(context.Background(), dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, _, err = m.Predict(make([]float32, 2*32*32*3), 2)
	wantErr(t, err, "image 0 has class id 1", "outside the 3 classes")
}

// TestLogitsNeedSoftmax checks that a model whose probabilities are not a
// Softmax's output still predicts but has no logits.
func TestLogitsNeedSoftmax(t *testing.T) {
	dir, _ := export(t)
	tamper(t, dir, func(mg *pb.MetaGraphDef) {
		probs := mg.SignatureDef[SignatureKey].Outputs[OutputProbs].GetName()
		names := addOps(t, mg, func(s *op.Scope) []tf.Output {
			return []tf.Output{op.Identity(s, existing(s, nodeName(probs), tf.Float))}
		})
		mg.SignatureDef[SignatureKey].Outputs[OutputProbs] = tensorInfoProto(names[0], typespb.DataType_DT_FLOAT, -1, 3)
	})
	m, err := Load(context.Background(), dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	images := make([]float32, 2*32*32*3)
	if _, _, err := m.Predict(images, 2); err != nil {
		t.Fatalf("predict: %v", err)
	}
	_, _, err = m.Logits(images, 2)
	wantErr(t, err, "probabilities of this model is not the output of a Softmax")
}

func TestReadMetaRefusesBadAssets(t *testing.T) {
	asset := func(name string) string { return filepath.Join("assets", name) }
	write := func(name, content string) func(string) error {
		return func(d string) error { return os.WriteFile(filepath.Join(d, name), []byte(content), 0o644) }
	}
	sparse := func(name string, size int64) func(string) error {
		return func(d string) error { return os.Truncate(filepath.Join(d, name), size) }
	}
	link := func(name, target string) func(string) error {
		return func(d string) error {
			p := filepath.Join(d, name)
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.Symlink(target, p)
		}
	}
	fifo := func(name string) func(string) error {
		return func(d string) error {
			p := filepath.Join(d, name)
			if err := os.Remove(p); err != nil {
				return err
			}
			return syscall.Mkfifo(p, 0o644)
		}
	}
	tests := []struct {
		desc string
		edit func(dir string) error
		want []string
	}{
		{"one class name too many", write(asset(classesAsset), "0\n1\n2\nextra\n"), []string{"assets/classes.txt has 4 class names, the network has 3 outputs"}},
		{"one class name too few", write(asset(classesAsset), "0\n1\n"), []string{"has 2 class names, the network has 3 outputs"}},
		{"extra blank line", write(asset(classesAsset), "0\n1\n2\n\n"), []string{"classes.txt: line 4 is empty"}},
		{"carriage returns", write(asset(classesAsset), "0\r\n1\r\n2\r\n"), []string{"line 1 has a carriage return"}},
		{"repeated class", write(asset(classesAsset), "0\n1\n0\n"), []string{`line 3 repeats class "0"`}},
		{"empty classes", write(asset(classesAsset), ""), []string{"classes.txt: no class names"}},
		{"classes from /dev/zero", link(asset(classesAsset), "/dev/zero"), []string{"classes.txt is a symbolic link"}},
		{"classes linked to a file elsewhere", func(d string) error {
			other := filepath.Join(filepath.Dir(d), "elsewhere.txt")
			if err := os.WriteFile(other, []byte("0\n1\n2\n"), 0o644); err != nil {
				return err
			}
			return link(asset(classesAsset), other)(d)
		}, []string{"classes.txt is a symbolic link"}},
		{"terminal escape in a class name", write(asset(classesAsset), "0\n\x1b[2Jx\n2\n"), []string{"line 2 holds the control character U+001B"}},
		{"NUL in a class name", write(asset(classesAsset), "0\nfr\x00og\n2\n"), []string{"line 2 holds the control character U+0000"}},
		{"blank class name", write(asset(classesAsset), "0\n \n2\n"), []string{"line 2 is blank"}},
		{"long class name", write(asset(classesAsset), "0\n"+strings.Repeat("a", 300)+"\n2\n"), []string{"line 2 is 300 bytes long"}},
		{"classes from a named pipe", fifo(asset(classesAsset)), []string{"classes.txt is not a regular file"}},
		{"300 MB network.yaml", sparse(asset(networkAsset), 300<<20), []string{"network.yaml is larger than the 1 MiB limit"}},
		{"network.yaml from /dev/zero", link(asset(networkAsset), "/dev/zero"), []string{"network.yaml is a symbolic link"}},
		{"bad scale", write(asset(scaleAsset), "NaN\n"), []string{`scale.txt: "NaN" is not a positive pixel scale`}},
		{"negative scale", write(asset(scaleAsset), "-1"), []string{`"-1" is not a positive pixel scale`}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := broken(t, tc.edit)
			_, err := ReadMeta(dir)
			wantErr(t, err, append(tc.want, dir)...)
			m, err := Load(context.Background(), dir, LoadOptions{Trust: true})
			if err == nil {
				m.Close()
			}
			wantErr(t, err, tc.want...)
			t.Log(err)
		})
	}
}

// TestReadMetaManyClassesFast checks that a classes.txt of MaxClasses
// distinct names, far more than the network's outputs, is refused by its
// count at once.
func TestReadMetaManyClassesFast(t *testing.T) {
	var b strings.Builder
	for i := range MaxClasses {
		fmt.Fprintf(&b, "%08d\n", i) // 900 KB
	}
	dir := broken(t, func(d string) error {
		return os.WriteFile(filepath.Join(d, "assets", classesAsset), []byte(b.String()), 0o644)
	})
	start := time.Now()
	_, err := ReadMeta(dir)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("ReadMeta took %v for %d class names, want under 2s", d, MaxClasses)
	}
	wantErr(t, err, fmt.Sprintf("assets/classes.txt has %d class names, the network has 3 outputs", MaxClasses))
}

func TestLoadRefusesLargeFiles(t *testing.T) {
	tests := []struct {
		desc string
		edit func(dir string) error
		want []string
	}{
		{"65 MB saved_model.pb", func(d string) error { return os.Truncate(filepath.Join(d, "saved_model.pb"), MaxGraphBytes+1) },
			[]string{"saved_model.pb is larger than the 64 MiB limit"}},
		{"saved_model.pb from /dev/zero", func(d string) error {
			p := filepath.Join(d, "saved_model.pb")
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.Symlink("/dev/zero", p)
		}, []string{"saved_model.pb is a symbolic link"}},
		{"variables linked to another export's", func(d string) error {
			other := filepath.Join(filepath.Dir(d), "other-variables")
			if err := os.Rename(filepath.Join(d, "variables"), other); err != nil {
				return err
			}
			return os.Symlink(other, filepath.Join(d, "variables"))
		}, []string{"variables is a symbolic link"}},
		{"5 GB of variables", func(d string) error {
			return os.Truncate(filepath.Join(d, "variables", "variables.data-00000-of-00001"), 5<<30)
		}, []string{"are larger than the 4 GiB limit"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := broken(t, tc.edit)
			m, err := Load(context.Background(), dir, LoadOptions{Trust: true})
			if err == nil {
				m.Close()
			}
			wantErr(t, err, append(tc.want, dir)...)
			_, err = ReadVariables(dir, LoadOptions{Trust: true})
			wantErr(t, err, tc.want...)
		})
	}
}

// TestLoadAllLayerTypes checks that the graph check, with the batch fixed,
// accepts an export using every layer type.
func TestLoadAllLayerTypes(t *testing.T) {
	net := config.Network{Input: []int{32, 32, 3}, Layers: []config.Layer{
		{Type: config.RandomFlip},
		{Type: config.RandomTranslation, HeightFactor: config.Range{0.1}, WidthFactor: config.Range{0.1}},
		{Type: config.RandomBrightness, Factor: config.Range{0.1}},
		{Type: config.RandomContrast, Factor: config.Range{0.1}},
		{Type: config.Rescaling, Scale: 1.0 / 255},
		{Type: config.Normalization, Mean: config.Values{0.5}, Variance: config.Values{0.25}},
		{Type: config.ZeroPadding2D, Pad: config.Size{1, 2}},
		{Type: config.Conv2D, Filters: 4, Kernel: config.Size{3, 3}, Padding: "same", Activation: "relu"},
		{Type: config.BatchNormalization},
		{Type: config.MaxPooling2D},
		{Type: config.AveragePooling2D},
		{Type: config.Dropout, Rate: 0.25},
		{Type: config.Conv2D, Filters: 4, Kernel: config.Size{1, 1}},
		{Type: config.GlobalAveragePooling2D},
		{Type: config.Dense, Units: 6},
		{Type: config.Activation, Activation: "relu"},
		{Type: config.BatchNormalization},
		{Type: config.Flatten},
		{Type: config.Dropout, Rate: 0.5},
		{Type: config.Dense, Units: 3, Activation: "softmax"},
	}}
	dir, err := ExportNetwork(filepath.Join(t.TempDir(), "m"), net, initialValues(t, net, 1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(context.Background(), dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, _, err := m.Predict(make([]float32, MaxBatch*32*32*3), MaxBatch); err != nil {
		t.Fatal(err)
	}
}

// TestLoadCancelledRunsNothing checks that a load whose ctx is already done
// does not start the loader: the trusted init op does not run.
func TestLoadCancelledRunsNothing(t *testing.T) {
	target := filepath.Join(t.TempDir(), "written")
	dir := writeFileModel(t, target)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Load(ctx, dir, LoadOptions{Trust: true})
	wantErr(t, err, "interrupted", "context canceled")
	time.Sleep(500 * time.Millisecond) // a loader started anyway would have run by now
	if _, err := os.Stat(target); err == nil {
		t.Error("a cancelled load ran the init op")
	}
}
