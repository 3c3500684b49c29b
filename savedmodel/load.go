package savedmodel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"google.golang.org/protobuf/proto"

	attrpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	graphpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	shapepb "github.com/galeone/tensorflow/tensorflow/go/core/framework/tensor_shape_go_proto"
	typespb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/capped"
	"github.com/tfcifar/tfcifar/internal/session"
)

// LoadOptions tune Load and ReadVariables.
//
// Trust skips the check of the graph's ops and sizes (checkGraph): TensorFlow
// then runs whatever the model's restore and init ops hold while loading,
// file I/O included. Leave it false for models from elsewhere. Size limits
// on the files and the signature checks apply either way. Run gives the
// device, threads and precision of the session Load or ReadVariables opens.
type LoadOptions struct {
	Trust bool
	Run   config.Run
}

// Model is a loaded export, ready to predict. Close releases its session.
type Model struct {
	Meta
	bundle *tf.SavedModel
	images tf.Output
	probs  tf.Output
	ids    tf.Output
	logits tf.Output // the input of the probabilities' Softmax (Op nil when they are not one)
	dims   []int64   // [H W C] of one image
}

// Load loads the tfcifar export in dir with TensorFlow's SavedModel loader
// (tag serve), which restores the variables through the SaverDef.
//
// Before the loader runs anything, Load reads the assets (ReadMeta) and
// saved_model.pb (at most MaxGraphBytes), checks the serving signature
// (float32 images of the network's input shape, float32 probabilities
// [-1 classes] with one class name per output, int64 class ids [-1]) and,
// unless opt.Trust, the graph's ops and sizes against the allow-list. When
// ctx is done before the loader returns, Load returns ctx's error at once
// and the model is closed once the loader finishes.
func Load(ctx context.Context, dir string, opt LoadOptions) (*Model, error) {
	meta, mg, err := readChecked(dir, opt)
	if err != nil {
		return nil, err
	}
	sig, err := checkSignature(mg, meta)
	if err != nil {
		return nil, fmt.Errorf("savedmodel: %s: %w", dir, err)
	}
	bundle, err := loadBundle(ctx, dir, opt.Run)
	if err != nil {
		return nil, err
	}
	m := &Model{Meta: meta, bundle: bundle}
	for _, t := range []struct {
		out   *tf.Output
		name  string
		key   string
		dtype tf.DataType
		rank  int
	}{
		{&m.images, sig.images, InputImages, tf.Float, 4},
		{&m.probs, sig.probs, OutputProbs, tf.Float, 2},
		{&m.ids, sig.ids, OutputClassIDs, tf.Int64, 1},
	} {
		if *t.out, err = lookup(bundle.Graph, t.name, t.dtype, t.rank); err != nil {
			_ = m.Close() // the lookup's error is the one to report
			return nil, fmt.Errorf("savedmodel: load %s: signature %s: tensor %q: %w", dir, SignatureKey, t.key, err)
		}
	}
	in := meta.Network.Input
	m.dims = []int64{int64(in[0]), int64(in[1]), int64(in[2])}
	m.logits = logitsOf(m.probs)
	return m, nil
}

// logitsOf returns the float32 [-1 classes] input of probs when probs is
// the output of a Softmax op, as in every tfcifar export; else an Output
// with a nil Op.
func logitsOf(probs tf.Output) tf.Output {
	if probs.Op.Type() != "Softmax" || probs.Op.NumInputs() != 1 {
		return tf.Output{}
	}
	in := tf.Consumer{Op: probs.Op, Index: 0}.Producer()
	if in.DataType() != tf.Float || in.Shape().NumDimensions() != 2 {
		return tf.Output{}
	}
	return in
}

// readChecked reads the assets and the serve graph of the export in dir
// and, unless opt.Trust, checks the graph; what Load and ReadVariables do
// before anything runs.
func readChecked(dir string, opt LoadOptions) (Meta, *pb.MetaGraphDef, error) {
	meta, err := ReadMeta(dir)
	if err != nil {
		return Meta{}, nil, err
	}
	if in := meta.Network.Input; len(in) != 3 {
		return Meta{}, nil, fmt.Errorf("savedmodel: %s: assets/%s: input %v is not an image [height, width, channels]", dir, networkAsset, in)
	}
	mg, err := readGraph(dir)
	if err != nil {
		return Meta{}, nil, err
	}
	if err := checkVariables(dir); err != nil {
		return Meta{}, nil, err
	}
	if opt.Trust {
		return meta, mg, nil
	}
	err = checkGraph(mg)
	if err == nil {
		err = checkShapes(mg, meta.Network.Input)
	}
	if err != nil {
		return Meta{}, nil, fmt.Errorf("savedmodel: %s refused (trust it only if you trust its source): %w", filepath.Join(dir, graphFile), err)
	}
	return meta, mg, nil
}

// checkVariables checks that the variables' data files, if any, hold at
// most MaxVariableBytes together and are regular files.
func checkVariables(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, variablesDir, "variables.*"))
	if err != nil {
		return fmt.Errorf("savedmodel: %w", err)
	}
	var total int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return fmt.Errorf("savedmodel: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("savedmodel: %s is not a regular file", f)
		}
		if total += fi.Size(); total > MaxVariableBytes {
			return fmt.Errorf("savedmodel: the variables in %s are larger than the %s limit", filepath.Join(dir, variablesDir), capped.Size(MaxVariableBytes))
		}
	}
	return nil
}

// checkShapes imports the graph (nothing runs) with the batch fixed and
// refuses any op output whose size TensorFlow's shape inference cannot
// bound, or bounds above MaxTensorBytes.
//
// The images placeholder the serving signature names is given the shape
// [MaxBatch H W C] of the largest batch tfcifar feeds (in is [H W C]), so
// every shape derived from the batch is known: a graph that pads the batch,
// or fills a tensor of a shape computed from the images', has a size to
// count. Outputs whose rank or a dimension still is unknown are refused,
// except those of unknownShape.
func checkShapes(mg *pb.MetaGraphDef, in []int) error {
	gd, ok := proto.Clone(mg.GetGraphDef()).(*graphpb.GraphDef)
	if !ok || gd == nil {
		return errors.New("no graph")
	}
	if err := fixBatch(gd, mg.GetSignatureDef()[SignatureKey].GetInputs()[InputImages].GetName(), in); err != nil {
		return err
	}
	b, err := proto.Marshal(gd)
	if err != nil {
		return err
	}
	g := tf.NewGraph()
	if err := g.Import(b, ""); err != nil {
		return fmt.Errorf("invalid graph: %w", err)
	}
	for _, o := range g.Operations() {
		for i := range o.NumOutputs() {
			if err := checkOutputShape(&o, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// fixBatch sets the shape attribute of the Placeholder node named by the
// tensor name images to [MaxBatch in...].
func fixBatch(gd *graphpb.GraphDef, images string, in []int) error {
	name := nodeName(images)
	for _, n := range gd.GetNode() {
		if n.GetName() != name {
			continue
		}
		if n.GetOp() != "Placeholder" {
			return fmt.Errorf("node %q: op %s: the %s input is not a Placeholder", name, n.GetOp(), InputImages)
		}
		s := &shapepb.TensorShapeProto{Dim: []*shapepb.TensorShapeProto_Dim{{Size: MaxBatch}}}
		for _, d := range in {
			s.Dim = append(s.Dim, &shapepb.TensorShapeProto_Dim{Size: int64(d)})
		}
		if n.Attr == nil {
			n.Attr = map[string]*attrpb.AttrValue{}
		}
		n.Attr["shape"] = &attrpb.AttrValue{Value: &attrpb.AttrValue_Shape{Shape: s}}
		return nil
	}
	return fmt.Errorf("the %s input %q is not a node of the graph", InputImages, images)
}

// unknownShape maps the ops with an output whose shape inference leaves
// unknown, though its size is bounded otherwise, to that output (-1: all):
// RestoreV2 reads the variables checkVariables bounds, and the reserve space
// FusedBatchNormV3 returns in inference is at most its channels.
var unknownShape = map[string]int{opRestoreV2: -1, "FusedBatchNormV3": 5}

// checkOutputShape refuses output i of o when its shape is unknown or its
// size is larger than MaxTensorBytes (8 bytes an element).
func checkOutputShape(o *tf.Operation, i int) error {
	s := o.Output(i).Shape()
	if u, ok := unknownShape[o.Type()]; ok && (u < 0 || u == i) {
		return nil
	}
	if s.NumDimensions() < 0 {
		return fmt.Errorf("node %q: op %s: output %d has an unknown shape, even with the batch fixed at %d images", o.Name(), o.Type(), i, MaxBatch)
	}
	dims, err := s.ToSlice()
	if err != nil {
		return fmt.Errorf("node %q: op %s: output %d: %w", o.Name(), o.Type(), i, err)
	}
	n := int64(8)
	for _, d := range dims {
		switch {
		case d < 0:
			return fmt.Errorf("node %q: op %s: output %d has shape %v, with a size unknown even with the batch fixed at %d images", o.Name(), o.Type(), i, s, MaxBatch)
		case d > 0 && n > MaxTensorBytes/d:
			return fmt.Errorf("node %q: op %s: output %d has shape %v, larger than the %s limit", o.Name(), o.Type(), i, s, capped.Size(MaxTensorBytes))
		}
		n *= max(d, 1)
	}
	return nil
}

// loadBundle runs TensorFlow's loader in its own goroutine so that ctx can
// interrupt a slow load; an interrupted load's session is closed when the
// loader returns.
func loadBundle(ctx context.Context, dir string, run config.Run) (*tf.SavedModel, error) {
	if ctx.Err() != nil {
		return nil, fmt.Errorf("savedmodel: load %s: interrupted: %w", dir, context.Cause(ctx))
	}
	opt, _, err := session.Options(run)
	if err != nil {
		return nil, fmt.Errorf("savedmodel: load %s: %w", dir, err)
	}
	type loaded struct {
		m   *tf.SavedModel
		err error
	}
	done := make(chan loaded, 1)
	go func() {
		m, err := tf.LoadSavedModel(dir, []string{Tag}, opt)
		done <- loaded{m, err}
	}()
	select {
	case l := <-done:
		if l.err != nil {
			return nil, fmt.Errorf("savedmodel: load %s: %w", dir, l.err)
		}
		return l.m, nil
	case <-ctx.Done():
		go func() {
			if l := <-done; l.m != nil {
				_ = l.m.Session.Close() // nobody waits for this load any more
			}
		}()
		return nil, fmt.Errorf("savedmodel: load %s: interrupted: %w", dir, context.Cause(ctx))
	}
}

// lookup finds the tensor name ("op:index") in g and checks its type and
// rank.
func lookup(g *tf.Graph, name string, dtype tf.DataType, rank int) (tf.Output, error) {
	op, idx, found := strings.Cut(name, ":")
	i := 0
	if found {
		var err error
		if i, err = strconv.Atoi(idx); err != nil || i < 0 {
			return tf.Output{}, fmt.Errorf("bad name %q", name)
		}
	}
	o := g.Operation(op)
	if o == nil || i >= o.NumOutputs() {
		return tf.Output{}, fmt.Errorf("%s is not in the graph", name)
	}
	out := o.Output(i)
	if out.DataType() != dtype {
		return tf.Output{}, fmt.Errorf("%s has type %s, want %s", name, tfType(out.DataType()), tfType(dtype))
	}
	if r := out.Shape().NumDimensions(); r != rank {
		return tf.Output{}, fmt.Errorf("%s has shape %v, want %d dimensions", name, out.Shape(), rank)
	}
	return out, nil
}

// Predict classifies n images given as float32 pixels in NHWC order
// ([n, H, W, C]): raw 0-255 values for an export that records its scale
// (Meta.Scale > 0), pixels as in training for an older one. It returns the
// probabilities ([n, classes], row-major) and the most probable class of
// each image.
func (m *Model) Predict(images []float32, n int) ([]float32, []int64, error) {
	return m.run("predict", images, n, m.probs, OutputProbs)
}

// Logits is Predict with the logits ([n, classes], row-major: the input
// of the model's final softmax) in place of the probabilities, for
// computing a loss as training does. It fails for a model whose
// probabilities are not a Softmax op's output.
func (m *Model) Logits(images []float32, n int) ([]float32, []int64, error) {
	if m.logits.Op == nil {
		return nil, nil, fmt.Errorf("savedmodel: logits: %s of this model is not the output of a Softmax, so its logits are unknown", OutputProbs)
	}
	return m.run("logits", images, n, m.logits, "logits")
}

// run feeds n images to the model and fetches scores (a float32 [n,
// classes] tensor called name) and the class ids; what names the caller
// in errors.
func (m *Model) run(what string, images []float32, n int, scores tf.Output, name string) ([]float32, []int64, error) {
	per := m.dims[0] * m.dims[1] * m.dims[2]
	if n <= 0 || int64(len(images)) != int64(n)*per {
		return nil, nil, fmt.Errorf("savedmodel: %s: %d values for %d images of %v, want %d", what, len(images), n, m.dims, int64(n)*per)
	}
	t, err := tf.NewTensor(images)
	if err != nil {
		return nil, nil, fmt.Errorf("savedmodel: %s: %w", what, err)
	}
	if err := t.Reshape(append([]int64{int64(n)}, m.dims...)); err != nil {
		return nil, nil, fmt.Errorf("savedmodel: %s: %w", what, err)
	}
	out, err := m.bundle.Session.Run(map[tf.Output]*tf.Tensor{m.images: t}, []tf.Output{scores, m.ids}, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("savedmodel: %s: %w", what, err)
	}
	k := len(m.Classes)
	rows, ok := out[0].Value().([][]float32)
	if !ok || len(rows) != n {
		return nil, nil, fmt.Errorf("savedmodel: %s: %s is %v %v, want float [%d %d]", what, name, tfType(out[0].DataType()), out[0].Shape(), n, k)
	}
	values := make([]float32, 0, n*k)
	for _, r := range rows {
		if len(r) != k {
			return nil, nil, fmt.Errorf("savedmodel: %s: %s has %d columns, want one per class (%d)", what, name, len(r), k)
		}
		values = append(values, r...)
	}
	ids, ok := out[1].Value().([]int64)
	if !ok || len(ids) != n {
		return nil, nil, fmt.Errorf("savedmodel: %s: %s is %v %v, want int64 [%d]", what, OutputClassIDs, tfType(out[1].DataType()), out[1].Shape(), n)
	}
	if i := slices.IndexFunc(ids, func(id int64) bool { return id < 0 || id >= int64(k) }); i >= 0 {
		return nil, nil, fmt.Errorf("savedmodel: %s: image %d has class id %d, outside the %d classes", what, i, ids[i], k)
	}
	return values, ids, nil
}

func tfType(dt tf.DataType) string { return dtypeName(typespb.DataType(dt)) }

// Close releases the model's session.
func (m *Model) Close() error {
	if m.bundle == nil {
		return nil
	}
	err := m.bundle.Session.Close()
	m.bundle = nil
	return err
}
