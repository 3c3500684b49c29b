package savedmodel

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"google.golang.org/protobuf/proto"

	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
)

// Model is a loaded export, ready to predict. Close releases its session.
type Model struct {
	Meta
	bundle *tf.SavedModel
	images tf.Output
	probs  tf.Output
	ids    tf.Output
	dims   []int64 // [H W C] of one image
}

// Load loads the tfcifar export in dir with TensorFlow's SavedModel loader
// (tag serve), which restores the variables through the SaverDef.
func Load(dir string) (*Model, error) {
	meta, err := ReadMeta(dir)
	if err != nil {
		return nil, err
	}
	if in := meta.Network.Input; len(in) != 3 {
		return nil, fmt.Errorf("savedmodel: %s: assets/%s: input %v is not an image [height, width, channels]", dir, networkAsset, in)
	}
	if err := checkProto(dir); err != nil {
		return nil, err
	}
	bundle, err := tf.LoadSavedModel(dir, []string{Tag}, nil)
	if err != nil {
		return nil, fmt.Errorf("savedmodel: load %s: %w", dir, err)
	}
	m := &Model{Meta: meta, bundle: bundle}
	sig, ok := bundle.Signatures[SignatureKey]
	if !ok {
		m.Close()
		return nil, fmt.Errorf("savedmodel: load %s: no %s signature", dir, SignatureKey)
	}
	for _, t := range []struct {
		out  *tf.Output
		info map[string]tf.TensorInfo
		key  string
	}{{&m.images, sig.Inputs, InputImages}, {&m.probs, sig.Outputs, OutputProbs}, {&m.ids, sig.Outputs, OutputClassIDs}} {
		if *t.out, err = lookup(bundle.Graph, t.info, t.key); err != nil {
			m.Close()
			return nil, fmt.Errorf("savedmodel: load %s: signature %s: %w", dir, SignatureKey, err)
		}
	}
	in := meta.Network.Input
	m.dims = []int64{int64(in[0]), int64(in[1]), int64(in[2])}
	return m, nil
}

// checkProto reads dir/saved_model.pb and checks that it holds a
// MetaGraphDef tagged serve, so that a corrupt file gets a clear error.
func checkProto(dir string) error {
	name := filepath.Join(dir, "saved_model.pb")
	b, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("savedmodel: %w", err)
	}
	var sm pb.SavedModel
	if err := proto.Unmarshal(b, &sm); err != nil {
		return fmt.Errorf("savedmodel: %s is corrupt: %v", name, err)
	}
	for _, mg := range sm.MetaGraphs {
		if slices.Contains(mg.GetMetaInfoDef().GetTags(), Tag) {
			return nil
		}
	}
	return fmt.Errorf("savedmodel: %s has no graph tagged %q", name, Tag)
}

// lookup finds the tensor a signature names under key.
func lookup(g *tf.Graph, infos map[string]tf.TensorInfo, key string) (tf.Output, error) {
	info, ok := infos[key]
	if !ok {
		return tf.Output{}, fmt.Errorf("no tensor %q", key)
	}
	name, idx, found := strings.Cut(info.Name, ":")
	i := 0
	if found {
		var err error
		if i, err = strconv.Atoi(idx); err != nil {
			return tf.Output{}, fmt.Errorf("tensor %q: bad name %q", key, info.Name)
		}
	}
	o := g.Operation(name)
	if o == nil || i >= o.NumOutputs() {
		return tf.Output{}, fmt.Errorf("tensor %q: %s is not in the graph", key, info.Name)
	}
	return o.Output(i), nil
}

// Predict classifies n images given as float32 pixels in NHWC order
// ([n, H, W, C], raw values as in training). It returns the probabilities
// ([n, classes], row-major) and the most probable class of each image.
func (m *Model) Predict(images []float32, n int) ([]float32, []int64, error) {
	per := m.dims[0] * m.dims[1] * m.dims[2]
	if n <= 0 || int64(len(images)) != int64(n)*per {
		return nil, nil, fmt.Errorf("savedmodel: predict: %d values for %d images of %v, want %d", len(images), n, m.dims, int64(n)*per)
	}
	t, err := tf.NewTensor(images)
	if err != nil {
		return nil, nil, fmt.Errorf("savedmodel: predict: %w", err)
	}
	if err := t.Reshape(append([]int64{int64(n)}, m.dims...)); err != nil {
		return nil, nil, fmt.Errorf("savedmodel: predict: %w", err)
	}
	out, err := m.bundle.Session.Run(map[tf.Output]*tf.Tensor{m.images: t}, []tf.Output{m.probs, m.ids}, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("savedmodel: predict: %w", err)
	}
	rows := out[0].Value().([][]float32)
	probs := make([]float32, 0, n*len(m.Classes))
	for _, r := range rows {
		probs = append(probs, r...)
	}
	return probs, out[1].Value().([]int64), nil
}

// Close releases the model's session.
func (m *Model) Close() error {
	if m.bundle == nil {
		return nil
	}
	err := m.bundle.Session.Close()
	m.bundle = nil
	return err
}
