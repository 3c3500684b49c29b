package savedmodel

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"
	"google.golang.org/protobuf/proto"

	"github.com/tfcifar/tfcifar/checkpoint"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/atomicfile"
	"github.com/tfcifar/tfcifar/internal/closer"
	"github.com/tfcifar/tfcifar/internal/session"
)

// Options tune Export and ExportNetwork.
//
// Classes names the model's outputs in order (stored as assets/classes.txt);
// empty means "0", "1", ... . Scale is the pixel scale the network was
// trained with (data.scale; 0 means 1): the serving graph multiplies its
// raw 0-255 images input by it before the first layer (graph.Options.Scale),
// so any client feeds raw pixels, and assets/scale.txt records it. Seed
// seeds the random ops of the graph ExportNetwork builds (dropout is
// inactive at inference). Run gives the device, threads and precision of
// the session that writes the variables.
type Options struct {
	Classes []string
	Seed    int64
	Scale   float64
	Run     config.Run
}

// Built is a model built for serving, to export with its weights.
//
// Model is the network Network built by graph.Build into Scope, alone in
// its graph (nothing else was added to it) and with its images scaled by
// the export's Scale (graph.Options.Scale). Export adds the class_ids
// output, the asset names and the saver to Scope and finalizes it.
// Network is stored as assets/network.yaml: ReadVariables builds it to
// read the variables back. Weights holds a value for every variable of
// Model and nothing else; the caller keeps ownership.
type Built struct {
	Scope   *op.Scope
	Model   *graph.Model
	Network config.Network
	Weights graph.Weights
}

// step is called before each stage of writing an export ("variables",
// "graph", "assets", "rename"); tests set it to inject failures.
var step = func(string) error { return nil }

// ExportNetwork builds net for serving (graph.Build with opt.Seed,
// opt.Scale and Serving in a new graph) and exports it with w like Export.
// w may hold the training state a serving graph leaves out (the dropout
// step counters of graph.Model.LeftOut, as a trainer's values do): it is
// not exported, since inference never draws a dropout mask.
func ExportNetwork(dir string, net config.Network, w graph.Weights, opt Options) (string, error) {
	s := op.NewScope()
	m, err := graph.Build(s, net, graph.Options{Seed: opt.Seed, Scale: float32(scaleOf(opt)), Serving: true})
	if err != nil {
		return "", fmt.Errorf("savedmodel: export %s: %w", filepath.Clean(dir), err)
	}
	if len(m.LeftOut) > 0 {
		w = w.Clone()
		for _, name := range m.LeftOut {
			delete(w, name)
		}
	}
	return Export(dir, Built{Scope: s, Model: m, Network: net, Weights: w}, opt)
}

// scaleOf returns opt.Scale, or 1 when it is 0.
func scaleOf(opt Options) float64 {
	if opt.Scale == 0 {
		return 1
	}
	return opt.Scale
}

// Export writes the built model b with its weights as a SavedModel in dir
// and returns dir, cleaned. For TF Serving's layout, pass <base>/<version>
// as dir.
//
// It completes b's graph for serving, checks the weights (graph.Weights.
// Check: every variable has a finite value of its type and shape, and no
// value is left over), assigns them, writes saved_model.pb,
// variables/variables.{index,data-00000-of-00001} (by running the save op)
// and assets/{classes.txt,network.yaml,scale.txt} into a temporary
// directory next to the target, gives it modes 0755 (dirs) and 0644
// (files) and swaps it into place. Only an earlier tfcifar export or an
// empty directory is replaced (CheckTarget), only once the new export is
// complete, and in one step where the filesystem allows, so that dir holds
// the old or the new export at every instant. After a failure nothing new
// is left on disk.
func Export(dir string, b Built, opt Options) (string, error) {
	if dir == "" {
		return "", errors.New("savedmodel: export: no directory given")
	}
	final := filepath.Clean(dir)
	assets, sg, err := prepare(final, b, opt)
	if err != nil {
		return "", fmt.Errorf("savedmodel: export %s: %w", final, err)
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return "", fmt.Errorf("savedmodel: export: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(final), tempPrefix(final))
	if err != nil {
		return "", fmt.Errorf("savedmodel: export: %w", err)
	}
	// A no-op once renamed; what a failed removal leaves, RemoveLeftovers
	// removes later.
	defer func() { _ = os.RemoveAll(tmp) }()
	// The lock keeps RemoveLeftovers of other runs off this directory.
	unlock, err := atomicfile.LockDir(tmp)
	if err != nil {
		return "", fmt.Errorf("savedmodel: export: %w", err)
	}
	defer unlock()
	err = write(tmp, sg, b.Weights, assets, opt.Run)
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

// prepare checks the target and b, completes b's graph for serving and
// returns the asset files.
func prepare(final string, b Built, opt Options) (map[string][]byte, *serveGraph, error) {
	if err := checkTarget(final); err != nil {
		return nil, nil, err
	}
	if b.Scope == nil || b.Model == nil {
		return nil, nil, errors.New("a built model needs its scope and model")
	}
	sg, err := serve(b.Scope, b.Model)
	if err != nil {
		return nil, nil, err
	}
	if err := sameInput(b.Network, sg.imageDims); err != nil {
		return nil, nil, err
	}
	classes, err := classNames(opt.Classes, b.Model)
	if err != nil {
		return nil, nil, err
	}
	if err := b.Weights.Check(b.Model.Variables); err != nil {
		return nil, nil, err
	}
	spec, err := b.Network.YAML()
	if err != nil {
		return nil, nil, fmt.Errorf("network spec: %w", err)
	}
	return map[string][]byte{
		classesAsset: []byte(strings.Join(classes, "\n") + "\n"),
		networkAsset: spec,
		scaleAsset:   []byte(formatScale(scaleOf(opt))),
	}, sg, nil
}

// serve adds to s, where m was built, the class_ids output, the asset
// filename constants and the saver, and finalizes s.
func serve(s *op.Scope, m *graph.Model) (*serveGraph, error) {
	dims := m.Images.Shape()
	if dims.NumDimensions() != 4 {
		return nil, fmt.Errorf("images have shape %v, want [-1 H W C]", dims)
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
	d, _ := dims.ToSlice()
	sg.objects = objectGraph(m.Variables, d, m.Probabilities.Shape().Size(1))
	objects, err := checkpointGraph(sg.objects)
	if err != nil {
		return nil, err
	}
	entries := checkpoint.Entries(m.Variables)
	for i := range entries {
		entries[i].Key = checkpoint.ObjectKey(entries[i].Name)
	}
	saver, err := checkpoint.NewObjectSaver(s, entries, objects)
	if err != nil {
		return nil, err
	}
	if sg.graph, err = s.Finalize(); err != nil {
		return nil, err
	}
	sg.classIDs = ids.Output(0)
	sg.saver = saver
	sg.imageDims = d[1:]
	return sg, nil
}

// sameInput checks that net, which ReadVariables builds to read the
// variables back, takes images of the built model's dims [H W C].
func sameInput(net config.Network, dims []int64) error {
	in := make([]int64, len(net.Input))
	for i, d := range net.Input {
		in[i] = int64(d)
	}
	if !slices.Equal(in, dims) {
		return fmt.Errorf("the network spec takes inputs %v, the built model images %v", net.Input, dims)
	}
	return nil
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
		if err := checkClassName(n); err != nil {
			return nil, fmt.Errorf("class name %d %w", i, err)
		}
	}
	return names, nil
}

// write fills dir with the export: it serializes the serving graph, then
// adds ops that assign the weights (not part of the export), runs them and
// the save op, and writes saved_model.pb and the assets.
func write(dir string, sg *serveGraph, w graph.Weights, assets map[string][]byte, run config.Run) (err error) {
	var def bytes.Buffer
	if _, err := sg.graph.WriteTo(&def); err != nil {
		return fmt.Errorf("serialize graph: %w", err)
	}
	sg.def = def.Bytes()
	assign, err := session.NewAssign(op.NewScopeWithGraph(sg.graph).SubScope("export_values"), sg.model.Variables, w)
	if err != nil {
		return err
	}
	sess, err := session.Open(sg.graph, run)
	if err != nil {
		return err
	}
	defer closer.Join(&err, sess)
	if err := assign.Run(sess, w); err != nil {
		return err
	}
	if err := step("variables"); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(dir, variablesDir), 0o755); err != nil {
		return err
	}
	if err := sg.saver.Save(sess, filepath.Join(dir, variablesPrefix)); err != nil {
		return err
	}
	if err := step("graph"); err != nil {
		return err
	}
	if err := writeProto(dir, sg); err != nil {
		return err
	}
	if err := step("assets"); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(dir, assetsDir), 0o755); err != nil {
		return err
	}
	for name, b := range assets {
		if err := os.WriteFile(filepath.Join(dir, assetsDir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeProto writes saved_model.pb and its fingerprint.pb into dir.
func writeProto(dir string, sg *serveGraph) error {
	sm, err := sg.savedModel()
	if err != nil {
		return err
	}
	// A built model may hold ops of the caller's: refuse what Load would.
	for _, mg := range sm.MetaGraphs {
		if err := checkGraph(mg); err != nil {
			return fmt.Errorf("the serving graph would be refused on load: %w", err)
		}
	}
	b, err := proto.Marshal(sm)
	if err != nil {
		return fmt.Errorf("serialize saved_model.pb: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, graphFile), b, 0o644); err != nil {
		return err
	}
	return writeFingerprint(dir, b)
}
