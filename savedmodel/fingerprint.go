package savedmodel

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	farm "github.com/dgryski/go-farm"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	attrpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	fnpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/function_go_proto"
	graphpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	verpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/versions_go_proto"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
)

// fingerprintFile is the SavedModel fingerprint TensorFlow's exporters
// write next to saved_model.pb and tf.saved_model.experimental.
// read_fingerprint reads.
const fingerprintFile = "fingerprint.pb"

// fingerprintProducer is the version TensorFlow 2.21 gives the fingerprint
// of a saved_model.pb.
const fingerprintProducer = 4

// fingerprint returns fingerprint.pb (a tensorflow.FingerprintDef, encoded
// here since the Go bindings carry an older message) of the SavedModel
// serialized as smBytes, whose checkpoint index file holds index (nil if
// there is none). Each hash is a FarmHash Fingerprint64, computed as
// TensorFlow 2.21 computes it (fingerprinting.cc, CreateFingerprintDefPb)
// from the SavedModel it parses out of saved_model.pb:
//
//	saved_model_checksum     of the SavedModel, re-serialized deterministically
//	graph_def_program_hash   of the first MetaGraphDef's GraphDef, regularized
//	                         (regularizeGraph) and serialized deterministically
//	signature_def_hash       of the SignatureDefs in key order: each key's
//	                         hash, then its serialized SignatureDef's,
//	                         combined with FingerprintCat64
//	saved_object_graph_hash  of the object graph's concrete functions in the
//	                         order of their names' numeric suffixes: each
//	                         name's hash without the suffix, then its
//	                         serialized SavedConcreteFunction's, combined
//	                         with FingerprintCat64 (0 for none)
//	checkpoint_hash          of variables/variables.index as written (0 if none)
//	uuid                     a random 128-bit number in decimal, at least 20
//	                         digits, as TensorFlow writes one per fingerprint
//
// TensorFlow only reads a fingerprint (tf.saved_model.experimental.
// read_fingerprint, load metrics), it never checks one against the model.
func fingerprint(smBytes, index []byte) ([]byte, error) {
	var sm pb.SavedModel
	if err := proto.Unmarshal(smBytes, &sm); err != nil {
		return nil, fmt.Errorf("fingerprint: %w", err)
	}
	if len(sm.GetMetaGraphs()) == 0 {
		return nil, fmt.Errorf("fingerprint: %s holds no MetaGraphDef", graphFile)
	}
	checksum, err := hashDeterministic(&sm)
	if err != nil {
		return nil, err
	}
	mg := sm.GetMetaGraphs()[0]
	g := mg.GetGraphDef()
	if g == nil {
		g = &graphpb.GraphDef{}
	}
	regularizeGraph(g)
	program, err := hashDeterministic(g)
	if err != nil {
		return nil, err
	}
	sigs, err := hashSignatures(mg.GetSignatureDef())
	if err != nil {
		return nil, err
	}
	objects, err := hashObjectGraph(mg.GetObjectGraphDef())
	if err != nil {
		return nil, err
	}
	var ckpt uint64
	if index != nil {
		ckpt = farm.Fingerprint64(index)
	}
	uuid, err := fingerprintUUID()
	if err != nil {
		return nil, err
	}
	var out []byte
	for i, h := range []uint64{checksum, program, sigs, objects, ckpt} {
		if h != 0 {
			out = protowire.AppendTag(out, protowire.Number(i+1), protowire.VarintType)
			out = protowire.AppendVarint(out, h)
		}
	}
	version := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), fingerprintProducer)
	out = protowire.AppendTag(out, 6, protowire.BytesType)
	out = protowire.AppendBytes(out, version)
	out = protowire.AppendTag(out, 7, protowire.BytesType)
	return protowire.AppendString(out, uuid), nil
}

// regularizeGraph edits g as TensorFlow's graph_regularization::
// SimpleDelete does before hashing it: function calls
// ((Stateful)PartitionedCall) lose the numeric suffix of their function
// name and the value of their config_proto, string constants lose their
// value (the attribute stays, empty), and the function library and
// versions are cleared (left present and empty).
func regularizeGraph(g *graphpb.GraphDef) {
	for _, n := range g.GetNode() {
		if n.GetOp() == "PartitionedCall" || n.GetOp() == "StatefulPartitionedCall" {
			if f := n.GetAttr()["f"].GetFunc(); f != nil {
				if uid, ok := suffixUID(f.GetName()); ok {
					f.Name = strings.TrimSuffix(f.GetName(), strconv.FormatInt(uid, 10))
				}
			}
			if c, ok := n.GetAttr()["config_proto"]; ok && c != nil {
				c.Value = &attrpb.AttrValue_S{S: []byte{}}
			}
		}
		if n.GetOp() == "Const" && n.GetAttr()["dtype"].GetType().String() == "DT_STRING" {
			if _, ok := n.GetAttr()["value"]; ok {
				n.Attr["value"] = &attrpb.AttrValue{}
			}
		}
	}
	g.Library, g.Versions = &fnpb.FunctionDefLibrary{}, &verpb.VersionDef{}
}

// suffixUID returns the integer after the last '_' of a function name, as
// TensorFlow's graph_regularization::GetSuffixUID parses it (surrounding
// spaces allowed, an optional '-', digits).
func suffixUID(name string) (int64, bool) {
	s := strings.Trim(name[strings.LastIndexByte(name, '_')+1:], " \t\n\v\f\r")
	if s == "" || s[0] == '+' {
		return 0, false
	}
	uid, err := strconv.ParseInt(s, 10, 64)
	return uid, err == nil
}

// hashSignatures hashes the SignatureDefs as TensorFlow's
// RegularizeAndHashSignatureDefs does.
func hashSignatures(sigs map[string]*pb.SignatureDef) (uint64, error) {
	keys := make([]string, 0, len(sigs))
	for k := range sigs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var h uint64
	for _, k := range keys {
		s := sigs[k]
		if s == nil {
			s = &pb.SignatureDef{}
		}
		hs, err := hashDeterministic(s)
		if err != nil {
			return 0, err
		}
		h = fingerprintCat64(fingerprintCat64(h, farm.Fingerprint64([]byte(k))), hs)
	}
	return h, nil
}

// hashObjectGraph hashes the concrete functions of og as TensorFlow's
// RegularizeAndHashSavedObjectGraph does.
func hashObjectGraph(og *pb.SavedObjectGraph) (uint64, error) {
	fns := og.GetConcreteFunctions()
	byUID := map[int64]string{}
	for name := range fns {
		uid, ok := suffixUID(name)
		if !ok {
			return 0, fmt.Errorf("fingerprint: concrete function %q has no numeric suffix", name)
		}
		byUID[uid] = name
	}
	uids := make([]int64, 0, len(byUID))
	for uid := range byUID {
		uids = append(uids, uid)
	}
	slices.Sort(uids)
	var h uint64
	for _, uid := range uids {
		name := byUID[uid]
		fn := fns[name]
		if fn == nil {
			fn = &pb.SavedConcreteFunction{}
		}
		hf, err := hashDeterministic(fn)
		if err != nil {
			return 0, err
		}
		h = fingerprintCat64(h, farm.Fingerprint64([]byte(strings.TrimSuffix(name, strconv.FormatInt(uid, 10)))))
		h = fingerprintCat64(h, hf)
	}
	return h, nil
}

// hashDeterministic is the Fingerprint64 of m serialized as C++ protobuf
// serializes it deterministically (marshalDeterministic).
func hashDeterministic(m proto.Message) (uint64, error) {
	b, err := marshalDeterministic(m)
	if err != nil {
		return 0, err
	}
	return farm.Fingerprint64(b), nil
}

// marshalDeterministic serializes m byte for byte as C++ protobuf's
// deterministic serialization does: map entries sorted by key and every
// message's fields in field-number order. Go's deterministic Marshal sorts
// map entries the same way but writes the members of a oneof (such as
// TensorInfo.name) after the other fields, so its output is reordered.
func marshalDeterministic(m proto.Message) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("fingerprint: serialize %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return orderFields(b, m.ProtoReflect().Descriptor())
}

// orderFields returns the serialized message b of type md with its fields,
// and those of the messages it holds, stably sorted by field number.
func orderFields(b []byte, md protoreflect.MessageDescriptor) ([]byte, error) {
	type field struct {
		num protowire.Number
		raw []byte
	}
	var fields []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("fingerprint: %s: %w", md.FullName(), protowire.ParseError(n))
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, fmt.Errorf("fingerprint: %s field %d: %w", md.FullName(), num, protowire.ParseError(m))
		}
		raw := b[:n+m]
		if fd := md.Fields().ByNumber(num); fd != nil && typ == protowire.BytesType && fd.Message() != nil {
			v, _ := protowire.ConsumeBytes(b[n:])
			sub, err := orderFields(v, fd.Message())
			if err != nil {
				return nil, err
			}
			raw = protowire.AppendBytes(slices.Clone(b[:n]), sub)
		}
		fields = append(fields, field{num, raw})
		b = b[n+m:]
	}
	slices.SortStableFunc(fields, func(x, y field) int { return int(x.num) - int(y.num) })
	var out []byte
	for _, f := range fields {
		out = append(out, f.raw...)
	}
	return out, nil
}

// fingerprintUUID returns a random 128-bit number in decimal, zero-padded
// to 20 digits, as TensorFlow's CreateRandomUUID does.
func fingerprintUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("fingerprint: uuid: %w", err)
	}
	return fmt.Sprintf("%020d", new(big.Int).SetBytes(b[:])), nil
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
// variables and saved_model.pb (serialized as smBytes).
func writeFingerprint(dir string, smBytes []byte) error {
	index, err := os.ReadFile(filepath.Join(dir, variablesPrefix+".index"))
	if err != nil {
		return err
	}
	b, err := fingerprint(smBytes, index)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, fingerprintFile), b, 0o644)
}
