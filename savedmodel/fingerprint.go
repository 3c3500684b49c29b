package savedmodel

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	farm "github.com/dgryski/go-farm"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	graphpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
)

// fingerprintFile is the SavedModel fingerprint TensorFlow's exporters
// write next to saved_model.pb and tf.saved_model.experimental.
// read_fingerprint reads.
const fingerprintFile = "fingerprint.pb"

// fingerprintProducer is the version of the fingerprint's hashes: those of
// TensorFlow's first fingerprint producer.
const fingerprintProducer = 1

// fingerprint returns fingerprint.pb (a tensorflow.FingerprintDef, encoded
// here since the Go bindings carry an older message) of the SavedModel sm,
// serialized as smBytes, whose checkpoint index file holds index. Each
// field is a FarmHash Fingerprint64, as TensorFlow computes them:
//
//	saved_model_checksum     of saved_model.pb as written
//	graph_def_program_hash   of the GraphDef without its function library,
//	                         versions and the values of string constants
//	                         (paths that differ between machines)
//	signature_def_hash       of the SignatureDefs in key order, combined
//	                         with FingerprintCat64
//	saved_object_graph_hash  0: a TF1-style SavedModel has no object graph
//	checkpoint_hash          of variables/variables.index
//
// TensorFlow only reads a fingerprint (tf.saved_model.experimental.
// read_fingerprint, load metrics), it never checks one against the model.
func fingerprint(sm *pb.SavedModel, smBytes, index []byte) ([]byte, error) {
	mg := sm.GetMetaGraphs()[0]
	g, ok := proto.Clone(mg.GetGraphDef()).(*graphpb.GraphDef)
	if !ok {
		return nil, fmt.Errorf("fingerprint: graph of type %T", mg.GetGraphDef())
	}
	g.Library, g.Versions = nil, nil
	for _, n := range g.GetNode() {
		if n.GetOp() == "Const" && n.GetAttr()["dtype"].GetType().String() == "DT_STRING" {
			n.Attr["value"] = nil
			delete(n.Attr, "value")
		}
	}
	det := proto.MarshalOptions{Deterministic: true}
	gb, err := det.Marshal(g)
	if err != nil {
		return nil, err
	}
	var sigs uint64
	keys := make([]string, 0, len(mg.GetSignatureDef()))
	for k := range mg.GetSignatureDef() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b, err := det.Marshal(mg.GetSignatureDef()[k])
		if err != nil {
			return nil, err
		}
		sigs = fingerprintCat64(sigs, farm.Fingerprint64(b))
	}
	var out []byte
	for i, h := range []uint64{farm.Fingerprint64(smBytes), farm.Fingerprint64(gb), sigs, 0, farm.Fingerprint64(index)} {
		if h != 0 {
			out = protowire.AppendTag(out, protowire.Number(i+1), protowire.VarintType)
			out = protowire.AppendVarint(out, h)
		}
	}
	version := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), fingerprintProducer)
	out = protowire.AppendTag(out, 6, protowire.BytesType)
	return protowire.AppendBytes(out, version), nil
}

// fingerprintCat64 combines two fingerprints as TensorFlow's
// FingerprintCat64 does.
func fingerprintCat64(fp1, fp2 uint64) uint64 {
	const mul = 0xc6a4a7935bd1e995
	shiftMix := func(v uint64) uint64 { return v ^ (v >> 47) }
	r := fp1 ^ mul
	r ^= shiftMix(fp2*mul) * mul
	r *= mul
	r = shiftMix(r) * mul
	return shiftMix(r)
}

// writeFingerprint writes fingerprint.pb into dir, which holds the
// variables and saved_model.pb (sm, serialized as smBytes).
func writeFingerprint(dir string, sm *pb.SavedModel, smBytes []byte) error {
	index, err := os.ReadFile(filepath.Join(dir, variablesPrefix+".index"))
	if err != nil {
		return err
	}
	b, err := fingerprint(sm, smBytes, index)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, fingerprintFile), b, 0o644)
}
