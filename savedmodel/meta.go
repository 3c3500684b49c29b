package savedmodel

import (
	"fmt"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"google.golang.org/protobuf/proto"

	graphpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	shapepb "github.com/galeone/tensorflow/tensorflow/go/core/framework/tensor_shape_go_proto"
	typespb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"
	varpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/variable_go_proto"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"

	"github.com/tfcifar/tfcifar/checkpoint"
	"github.com/tfcifar/tfcifar/graph"
)

// Names of the serving signature and of its tensors.
const (
	Tag             = "serve"
	SignatureKey    = "serving_default"
	PredictMethod   = "tensorflow/serving/predict"
	InputImages     = "images"
	OutputProbs     = "probabilities"
	OutputClassIDs  = "class_ids"
	classesAsset    = "classes.txt"
	networkAsset    = "network.yaml"
	scaleAsset      = "scale.txt"
	variablesPrefix = "variables/variables"
)

// assetNames are the asset files of an export, in the order its
// MetaGraphDef lists them.
var assetNames = []string{classesAsset, networkAsset, scaleAsset}

// serveGraph is what the MetaGraphDef describes: the serialized inference
// graph, its saver and the tensors of the signature.
type serveGraph struct {
	graph     *tf.Graph
	def       []byte // serialized GraphDef
	saver     *checkpoint.Saver
	model     *graph.Model
	classIDs  tf.Output
	assets    map[string]tf.Output // asset file name -> string Const holding its path
	imageDims []int64              // [H W C]
}

// savedModel assembles the SavedModel proto: one MetaGraphDef tagged serve
// with the graph, its SaverDef, the variables collections (VariableDef
// protos, which TensorFlow Python needs to lift resource variables), the
// asset files and the serving_default signature.
func (sg *serveGraph) savedModel() (*pb.SavedModel, error) {
	var gd graphpb.GraphDef
	if err := proto.Unmarshal(sg.def, &gd); err != nil {
		return nil, fmt.Errorf("read graph: %w", err)
	}
	ops, err := strippedOps(&gd)
	if err != nil {
		return nil, err
	}
	vars, trainable, err := variableDefs(sg.model.Variables)
	if err != nil {
		return nil, err
	}
	sig, err := sg.signature()
	if err != nil {
		return nil, err
	}
	mg := &pb.MetaGraphDef{
		MetaInfoDef: &pb.MetaGraphDef_MetaInfoDef{
			Tags:              []string{Tag},
			TensorflowVersion: tf.Version(),
			StrippedOpList:    ops,
		},
		GraphDef: &gd,
		SaverDef: sg.saver.Def(),
		CollectionDef: map[string]*pb.CollectionDef{
			"variables":           bytesList(vars),
			"trainable_variables": bytesList(trainable),
		},
		SignatureDef: map[string]*pb.SignatureDef{SignatureKey: sig},
	}
	sg.addAssets(mg)
	return &pb.SavedModel{SavedModelSchemaVersion: 1, MetaGraphs: []*pb.MetaGraphDef{mg}}, nil
}

// signature is the serving signature: images in, probabilities and class
// ids out.
func (sg *serveGraph) signature() (*pb.SignatureDef, error) {
	k := sg.model.Probabilities.Shape()
	if k.NumDimensions() != 2 {
		return nil, fmt.Errorf("probabilities have shape %v, want [-1 classes]", k)
	}
	images := append([]int64{-1}, sg.imageDims...)
	return &pb.SignatureDef{
		MethodName: PredictMethod,
		Inputs: map[string]*pb.TensorInfo{
			InputImages: tensorInfo(sg.model.Images, typespb.DataType_DT_FLOAT, images...),
		},
		Outputs: map[string]*pb.TensorInfo{
			OutputProbs:    tensorInfo(sg.model.Probabilities, typespb.DataType_DT_FLOAT, -1, k.Size(1)),
			OutputClassIDs: tensorInfo(sg.classIDs, typespb.DataType_DT_INT64, -1),
		},
	}, nil
}

// addAssets records the asset files in mg: their filename tensors and the
// saved_model_assets collection.
func (sg *serveGraph) addAssets(mg *pb.MetaGraphDef) {
	var assets []string
	for _, name := range assetNames {
		t, ok := sg.assets[name]
		if !ok {
			continue
		}
		mg.AssetFileDef = append(mg.AssetFileDef, &pb.AssetFileDef{
			TensorInfo: tensorInfo(t, typespb.DataType_DT_STRING),
			Filename:   name,
		})
		assets = append(assets, tensorName(t))
	}
	if len(assets) > 0 {
		mg.CollectionDef["saved_model_assets"] = &pb.CollectionDef{Kind: &pb.CollectionDef_NodeList_{
			NodeList: &pb.CollectionDef_NodeList{Value: assets},
		}}
	}
}

// variableDefs returns the serialized VariableDef of every variable and of
// the trainable ones.
func variableDefs(vs []*graph.Variable) (all, trainable [][]byte, err error) {
	for _, v := range vs {
		if v.Init == nil {
			return nil, nil, fmt.Errorf("variable %q has no initializer", v.Name)
		}
		b, err := proto.Marshal(&varpb.VariableDef{
			VariableName:    tensorName(v.Handle),
			InitializerName: v.Init.Name(),
			SnapshotName:    tensorName(v.Read),
			IsResource:      true,
			Trainable:       v.Trainable,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("variable %q: %w", v.Name, err)
		}
		all = append(all, b)
		if v.Trainable {
			trainable = append(trainable, b)
		}
	}
	return all, trainable, nil
}

func bytesList(v [][]byte) *pb.CollectionDef {
	return &pb.CollectionDef{Kind: &pb.CollectionDef_BytesList_{BytesList: &pb.CollectionDef_BytesList{Value: v}}}
}

func tensorName(o tf.Output) string { return fmt.Sprintf("%s:%d", o.Op.Name(), o.Index) }

// tensorInfo describes o; dims nil means a scalar, -1 an unknown size.
func tensorInfo(o tf.Output, dtype typespb.DataType, dims ...int64) *pb.TensorInfo {
	shape := &shapepb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &shapepb.TensorShapeProto_Dim{Size: d})
	}
	return &pb.TensorInfo{Encoding: &pb.TensorInfo_Name{Name: tensorName(o)}, Dtype: dtype, TensorShape: shape}
}
