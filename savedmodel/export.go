package savedmodel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"
	"google.golang.org/protobuf/proto"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/atomicfile"
)

// Options tune Export.
//
// Classes names the model's outputs in order (stored as assets/classes.txt);
// empty means "0", "1", ... . Seed seeds the graph's random ops (dropout is
// inactive at inference).
// Scale is the pixel scale the network was trained with (data.scale; 0
// means 1): the serving graph multiplies its raw 0-255 images input by it
// before the first layer, so any client feeds raw pixels, and
// assets/scale.txt records it.
type Options struct {
	Classes []string
	Seed    int64
	Scale   float64
}

// build builds the inference graph; a variable so tests can fail it.
var build = graph.Build

// step is called before each stage of writing an export ("variables",
// "graph", "assets", "rename"); tests set it to inject failures.
var step = func(string) error { return nil }

// Export writes net with the variable values (keyed by graph.Variable.Name,
// float32 tensors of the variables' shapes; the caller keeps ownership) as
// a SavedModel in dir and returns dir, cleaned. For TF Serving's layout,
// pass <base>/<version> as dir.
//
// It builds a fresh inference graph with graph.Build, assigns the values,
// writes saved_model.pb, variables/variables.{index,data-00000-of-00001}
// (by running the save op) and assets/{classes.txt,network.yaml} into a
// temporary directory next to the target, gives it modes 0755 (dirs) and
// 0644 (files) and swaps it into place. Only an earlier tfcifar export or
// an empty directory is replaced (CheckTarget), only once the new export is
// complete, and in one step where the filesystem allows, so that dir holds
// the old or the new export at every instant. After a failure nothing new
// is left on disk.
func Export(dir string, net config.Network, values map[string]*tf.Tensor, opt Options) (string, error) {
	if dir == "" {
		return "", errors.New("savedmodel: export: no directory given")
	}
	final := filepath.Clean(dir)
	if err := checkTarget(final); err != nil {
		return "", fmt.Errorf("savedmodel: export %s: %w", final, err)
	}
	g := tf.NewGraph()
	s := op.NewScopeWithGraph(g)
	scale := opt.Scale
	if scale == 0 {
		scale = 1
	}
	sg, saver, err := serve(s, net, graph.Options{Seed: opt.Seed, Scale: float32(scale)})
	if err != nil {
		return "", fmt.Errorf("savedmodel: export %s: %w", final, err)
	}
	classes, err := classNames(opt.Classes, sg.model)
	if err != nil {
		return "", fmt.Errorf("savedmodel: export %s: %w", final, err)
	}
	if err := checkValues(sg.model.Variables, values); err != nil {
		return "", fmt.Errorf("savedmodel: export %s: %w", final, err)
	}
	spec, err := net.YAML()
	if err != nil {
		return "", fmt.Errorf("savedmodel: export %s: network spec: %w", final, err)
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return "", fmt.Errorf("savedmodel: export: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(final), tempPrefix(final))
	if err != nil {
		return "", fmt.Errorf("savedmodel: export: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	// The lock keeps RemoveLeftovers of other runs off this directory.
	unlock, err := atomicfile.LockDir(tmp)
	if err != nil {
		return "", fmt.Errorf("savedmodel: export: %w", err)
	}
	defer unlock()
	err = write(tmp, g, s, sg, saver, values, map[string][]byte{
		classesAsset: []byte(strings.Join(classes, "\n") + "\n"),
		networkAsset: spec,
		scaleAsset:   []byte(formatScale(scale)),
	})
	if err == nil {
		err = atomicfile.SetModes(tmp)
	}
	if err == nil {
		err = step("rename")
	}
	if err == nil {
		err = checkTarget(final)
	}
	if err == nil {
		err = atomicfile.ReplaceDir(tmp, final)
	}
	if err != nil {
		return "", fmt.Errorf("savedmodel: export %s: %w", final, err)
	}
	return final, nil
}

// serve builds net's inference graph in s: the model (its images scaled
// by opt.Scale), the class_ids output, the asset filename constants and the
// saver. The graph is complete when it returns.
func serve(s *op.Scope, net config.Network, opt graph.Options) (*serveGraph, *Saver, error) {
	m, err := build(s, net, opt)
	if err != nil {
		return nil, nil, err
	}
	dims := m.Images.Shape()
	if dims.NumDimensions() != 4 {
		return nil, nil, fmt.Errorf("images have shape %v, want [-1 H W C]", dims)
	}
	ids := s.AddOperation(tf.OpSpec{
		Type:  "ArgMax",
		Name:  OutputClassIDs,
		Input: []tf.Input{m.Probabilities, op.Const(s.SubScope(OutputClassIDs), int32(1))},
		Attrs: map[string]interface{}{"output_type": tf.Int64},
	})
	assets := s.SubScope("assets")
	sg := &serveGraph{model: m, assets: map[string]tf.Output{}}
	for _, name := range assetNames {
		sg.assets[name] = op.Const(assets.SubScope(strings.TrimSuffix(name, filepath.Ext(name))), name)
	}
	saver, err := NewSaver(s, Entries(m.Variables))
	if err != nil {
		return nil, nil, err
	}
	if err := s.Err(); err != nil {
		return nil, nil, err
	}
	sg.classIDs = ids.Output(0)
	sg.saver = saver.Def()
	d, _ := dims.ToSlice()
	sg.imageDims = d[1:]
	return sg, saver, nil
}

// Entries returns the saver entries of graph variables, with their shapes.
func Entries(vs []*graph.Variable) []Entry {
	es := make([]Entry, len(vs))
	for i, v := range vs {
		es[i] = Entry{Name: v.Name, Handle: v.Handle, DType: tf.Float, Shape: v.Shape}
	}
	return es
}

// classNames checks names against the model's number of classes, or makes
// "0", "1", ... when names is empty.
func classNames(names []string, m *graph.Model) ([]string, error) {
	k := int(m.Probabilities.Shape().Size(1))
	if len(names) == 0 {
		for i := range k {
			names = append(names, strconv.Itoa(i))
		}
		return names, nil
	}
	if len(names) != k {
		return nil, fmt.Errorf("%d class names given, the network has %d outputs", len(names), k)
	}
	for i, n := range names {
		if n == "" || strings.ContainsAny(n, "\n\r") {
			return nil, fmt.Errorf("class name %d (%q) is empty or has a line break", i, n)
		}
	}
	return names, nil
}

// checkValues reports every variable of vs without a value, every value
// without a variable, every value of the wrong type or shape and every
// value holding a NaN or an infinity (a diverged training).
func checkValues(vs []*graph.Variable, values map[string]*tf.Tensor) error {
	var errs []string
	known := map[string]bool{}
	for _, v := range vs {
		known[v.Name] = true
		t, ok := values[v.Name]
		switch {
		case !ok || t == nil:
			errs = append(errs, fmt.Sprintf("variable %q has no value", v.Name))
		case t.DataType() != tf.Float:
			errs = append(errs, fmt.Sprintf("variable %q: value of type %v, want float32", v.Name, t.DataType()))
		case !slices.Equal(t.Shape(), v.Shape):
			errs = append(errs, fmt.Sprintf("variable %q: value of shape %v, want %v", v.Name, t.Shape(), v.Shape))
		case !finite(t):
			errs = append(errs, fmt.Sprintf("variable %q holds NaN or infinite values", v.Name))
		}
	}
	var extra []string
	for name := range values {
		if !known[name] {
			extra = append(extra, fmt.Sprintf("value %q matches no variable of the network", name))
		}
	}
	slices.Sort(extra)
	errs = append(errs, extra...)
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// finite reports whether the float32 tensor t holds only finite values.
func finite(t *tf.Tensor) bool {
	var b bytes.Buffer
	if _, err := t.WriteContentsTo(&b); err != nil {
		return false
	}
	for v := b.Bytes(); len(v) >= 4; v = v[4:] {
		f := float64(math.Float32frombits(binary.NativeEndian.Uint32(v)))
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}

// write fills dir with the export: it serializes the serving graph, then
// adds ops that assign the values (not part of the export), runs them and
// the save op, and writes saved_model.pb and the assets.
func write(dir string, g *tf.Graph, s *op.Scope, sg *serveGraph, saver *Saver, values map[string]*tf.Tensor, assets map[string][]byte) error {
	var def bytes.Buffer
	if _, err := g.WriteTo(&def); err != nil {
		return fmt.Errorf("serialize graph: %w", err)
	}
	sg.def = def.Bytes()

	feeds := map[tf.Output]*tf.Tensor{}
	var assigns []*tf.Operation
	set := s.SubScope("export_values")
	for _, v := range sg.model.Variables {
		vs := set.SubScope("v")
		p := op.Placeholder(vs, tf.Float, op.PlaceholderShape(tf.MakeShape(v.Shape...)))
		assigns = append(assigns, op.AssignVariableOp(vs, v.Handle, p))
		feeds[p] = values[v.Name]
	}
	if err := s.Err(); err != nil {
		return fmt.Errorf("assign values: %w", err)
	}
	sess, err := tf.NewSession(g, nil)
	if err != nil {
		return err
	}
	defer sess.Close()
	if _, err := sess.Run(feeds, nil, assigns); err != nil {
		return fmt.Errorf("assign values: %w", err)
	}
	if err := step("variables"); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(dir, "variables"), 0o755); err != nil {
		return err
	}
	if err := saver.Save(sess, filepath.Join(dir, variablesPrefix)); err != nil {
		return err
	}

	if err := step("graph"); err != nil {
		return err
	}
	sm, err := sg.savedModel()
	if err != nil {
		return err
	}
	b, err := proto.Marshal(sm)
	if err != nil {
		return fmt.Errorf("serialize saved_model.pb: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "saved_model.pb"), b, 0o644); err != nil {
		return err
	}

	if err := step("assets"); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(dir, "assets"), 0o755); err != nil {
		return err
	}
	for name, b := range assets {
		if err := os.WriteFile(filepath.Join(dir, "assets", name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
