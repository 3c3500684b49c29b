package savedmodel

import (
	"fmt"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"google.golang.org/protobuf/proto"

	fnpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/function_go_proto"
	graphpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	typespb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"
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
	objects   *pb.SavedObjectGraph // what tf.saved_model.load rebuilds
}

// savedModel assembles the SavedModel proto: one MetaGraphDef tagged serve
// with the graph and, in its library, the serving function; its SaverDef;
// the asset files; the serving_default signature; and the object graph by
// which TensorFlow Python loads it as a TensorFlow 2 object.
func (sg *serveGraph) savedModel() (*pb.SavedModel, error) {
	var gd graphpb.GraphDef
	if err := proto.Unmarshal(sg.def, &gd); err != nil {
		return nil, fmt.Errorf("read graph: %w", err)
	}
	fn, err := servingFunction(&gd, sg.model.Images.Op.Name(), append([]int64{-1}, sg.imageDims...), sg.model.Variables, []funcOutput{
		{OutputProbs, tensorName(sg.model.Probabilities), typespb.DataType_DT_FLOAT},
		{OutputClassIDs, tensorName(sg.classIDs), typespb.DataType_DT_INT64},
	})
	if err != nil {
		return nil, err
	}
	gd.Library = &fnpb.FunctionDefLibrary{Function: []*fnpb.FunctionDef{fn}}
	ops, err := strippedOps(&gd)
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
		GraphDef:       &gd,
		SaverDef:       sg.saver.Def(),
		CollectionDef:  map[string]*pb.CollectionDef{},
		SignatureDef:   map[string]*pb.SignatureDef{SignatureKey: sig},
		ObjectGraphDef: sg.objects,
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

func tensorName(o tf.Output) string { return fmt.Sprintf("%s:%d", o.Op.Name(), o.Index) }

// tensorInfo describes o; dims nil means a scalar, -1 an unknown size.
func tensorInfo(o tf.Output, dtype typespb.DataType, dims ...int64) *pb.TensorInfo {
	return &pb.TensorInfo{Encoding: &pb.TensorInfo_Name{Name: tensorName(o)}, Dtype: dtype, TensorShape: shapeProto(dims...)}
}
