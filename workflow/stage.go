package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"time"

	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/savedmodel"
	"github.com/tfcifar/tfcifar/train"
)

// stage runs stage i of cfg.
type stage struct {
	cfg  *config.Config
	i    int
	ds   *cifar.Dataset
	done map[string]graph.Weights // trained values of earlier stages by name
	opt  Options
}

func (st *stage) conf() config.Stage { return st.cfg.Stages[st.i] }

// dir is where the stage keeps its history, chart and checkpoint.
func (st *stage) dir() string { return filepath.Join(st.cfg.Run.Out, st.conf().Name) }

// run resolves, trains and exports the stage (or reuses its export).
func (st *stage) run(ctx context.Context) (StageReport, error) {
	c := st.conf()
	net, err := st.cfg.Resolve(st.i, networkOf)
	if err != nil {
		return StageReport{}, err
	}
	trainSet, valSet, err := st.ds.Split(c.Classes, cifar.SplitKind(st.cfg.Data.Split), st.cfg.Data.ValidationFraction)
	if err != nil {
		return StageReport{}, err
	}
	if err := os.MkdirAll(st.dir(), 0o755); err != nil {
		return StageReport{}, err
	}
	out := st.opt.Out
	fmt.Fprintf(out, "\n== Stage %s: classes %v, %d training and %d validation images\n", c.Name, c.Classes, trainSet.Len(), valSet.Len())
	classes := trainSet.Classes

	// The whole network, built once for its variables, summary and counts.
	full, err := graph.Build(op.NewScope(), net, graph.Options{Seed: st.cfg.Run.Seed})
	if err != nil {
		return StageReport{}, err
	}
	if c.Export.ReuseExisting {
		sr, values, ok, err := st.reuse(net, full, classes)
		if err != nil {
			return StageReport{}, err
		}
		if ok {
			st.done[c.Name] = values
			return sr, nil
		}
	}
	init, err := st.reusedValues(net, full)
	if err != nil {
		return StageReport{}, err
	}
	fit, err := st.fit(ctx, net, full, init, trainSet, valSet)
	if err != nil {
		return StageReport{}, err
	}
	final, err := savedmodel.ExportNetwork(st.cfg.ExportDir(st.i), net, fit.values, savedmodel.Options{
		Classes: classes, Seed: st.cfg.Run.Seed, Scale: st.cfg.Data.Scale, Run: st.cfg.Run,
	})
	if err != nil {
		return StageReport{}, err
	}
	fmt.Fprintf(out, "Exported %s\n", final)
	st.done[c.Name] = fit.values
	return StageReport{
		Name:         c.Name,
		Params:       fit.params,
		Epochs:       fit.history.Epochs,
		TimeTaken:    fit.history.TimeTaken,
		Export:       final,
		TrainFLOPs:   fit.flops,
		CachedLayers: fit.cached,
	}, nil
}

// fitted is what training a stage produced.
type fitted struct {
	values  graph.Weights
	history *train.History
	params  Params
	flops   float64
	cached  int
}

// fit builds the stage's network, starts it from init (values of reused
// layers) and trains it; full is net already built, for its summary. With train.cache_frozen, the reused frozen
// layers up to the first non-deterministic one run once over all images and
// only the layers after them are trained, on those cached features.
func (st *stage) fit(ctx context.Context, net config.Network, full *graph.Model, init graph.Weights, trainSet, valSet *cifar.Set) (*fitted, error) {
	c := st.conf()
	nTrain, nVal := trainSet.Len(), valSet.Len()
	if err := full.Summary(st.opt.Out); err != nil {
		return nil, err
	}
	res := &fitted{params: paramsOf(full)}
	if c.Train.CacheFrozen {
		res.cached = net.Cacheable()
	}

	ident := train.Identity{Classes: trainSet.Classes, Scale: st.cfg.Data.Scale, Data: dataFingerprint(trainSet, valSet)}
	var err error
	if ident.Network, err = networkFingerprint(net); err != nil {
		return nil, err
	}
	prefixValues, headValues, err := split(init, full, net, res.cached)
	if err != nil {
		return nil, err
	}
	var caching time.Duration // part of the stage's time taken
	head, scale := net, float32(st.cfg.Data.Scale)
	var trainData, valData train.Data = trainSet, valSet
	if res.cached > 0 {
		start := time.Now()
		prefix := config.Network{Input: net.Input, Layers: net.Layers[:res.cached]}
		shapes, err := net.Shapes()
		if err != nil {
			return nil, err
		}
		head = config.Network{Input: shapes[res.cached-1], Layers: net.Layers[res.cached:]}
		feats, err := train.Features(ctx, st.cfg.Run, prefix, prefixValues, scale, trainSet, valSet)
		if err != nil {
			return nil, fmt.Errorf("caching frozen features: %w", err)
		}
		trainData, valData, scale = feats[0], feats[1], 1
		// The images are no longer needed by this stage; give their memory
		// (and what the previous stage left) back before training.
		trainSet, valSet = nil, nil
		debug.FreeOSMemory()
		caching = time.Since(start)
		fmt.Fprintf(st.opt.Out, "Cached the outputs of the frozen layers %s to %s (%v per image) for %d images in %.1fs\n",
			prefix.Layers[0].Name, prefix.Layers[res.cached-1].Name, head.Input, nTrain+nVal, caching.Seconds())
	}

	s := op.NewScope()
	m, err := graph.Build(s, head, graph.Options{Seed: st.cfg.Run.Seed})
	if err != nil {
		return nil, err
	}
	tr, err := train.New(s, m, c.Train, train.Options{
		Run:        st.cfg.Run,
		Out:        st.opt.Out,
		Dir:        st.dir(),
		Resume:     st.opt.Resume,
		Init:       headValues,
		Cached:     prefixValues,
		Identity:   ident,
		Stage:      c.Name,
		Scale:      scale,
		ResumeHint: st.opt.ResumeHint,
		Spent:      caching,
		LayerRates: fineTuneRates(c.Model.From, head.Layers),
	})
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	h, err := tr.Fit(ctx, trainData, valData)
	if err != nil {
		return nil, err
	}
	if res.values, err = tr.Values(); err != nil {
		return nil, err
	}
	maps.Copy(res.values, prefixValues)
	res.history = h
	if res.flops, err = trainFLOPs(net, c.Train.Epochs, nTrain, nVal, res.cached); err != nil {
		return nil, err
	}
	return res, nil
}

// dataFingerprint hashes the images, labels and class names of sets: what
// a checkpoint was trained on, wherever the files are.
func dataFingerprint(sets ...*cifar.Set) string {
	h := sha256.New()
	for _, s := range sets {
		fmt.Fprintf(h, "%d %q\n", s.Len(), s.Classes)
		h.Write(s.Images)
		h.Write(s.Labels)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// networkFingerprint hashes net's spec and which layers are reused and
// frozen.
func networkFingerprint(net config.Network) (string, error) {
	spec, err := net.YAML()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write(spec)
	for _, l := range net.Layers {
		fmt.Fprintf(h, "%q reused=%v frozen=%v\n", l.Name, l.Reused, l.Frozen)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fineTuneRates gives the reused layers their own learning rate when from
// fine-tunes them with one (nil otherwise).
func fineTuneRates(from *config.Reuse, layers []config.Layer) map[string]float64 {
	if from == nil || from.Frozen || from.LearningRate <= 0 {
		return nil
	}
	out := map[string]float64{}
	for _, l := range layers {
		if l.Reused {
			out[l.Name] = from.LearningRate
		}
	}
	return out
}

// layerNames returns the names of layers.
func layerNames(layers []config.Layer) []string {
	names := make([]string, len(layers))
	for i, l := range layers {
		names[i] = l.Name
	}
	return names
}

// split divides the reused values init between the cached layers (the
// first cached of net) and the trained ones, and fails if any value lands
// in neither.
func split(init graph.Weights, full *graph.Model, net config.Network, cached int) (prefix, head graph.Weights, err error) {
	prefix = init.Of(full.Variables, layerNames(net.Layers[:cached])...)
	head = init.Of(full.Variables, layerNames(net.Layers[cached:])...)
	for name := range init {
		if prefix[name] == nil && head[name] == nil {
			return nil, nil, fmt.Errorf("reused variable %s belongs to no layer of the network", name)
		}
	}
	return prefix, head, nil
}

// reusedValues returns the values of the reused layers' variables of net
// (built as full), taken from the source stage's trained values or read from
// the source SavedModel. Nil when net reuses nothing.
func (st *stage) reusedValues(net config.Network, full *graph.Model) (graph.Weights, error) {
	from := st.conf().Model.From
	if from == nil {
		return nil, nil
	}
	var src graph.Weights
	if from.Stage != "" {
		src = st.done[from.Stage]
		if src == nil {
			return nil, fmt.Errorf("model.from.stage: stage %q has not been trained in this run", from.Stage)
		}
	} else {
		read, err := savedmodel.ReadVariables(from.SavedModel, savedmodel.LoadOptions{Trust: from.Trust, Run: st.cfg.Run})
		if err != nil {
			return nil, fmt.Errorf("model.from.savedmodel: %w", err)
		}
		if read.Scale != 0 && !sameScale(read.Scale, st.cfg.Data.Scale) {
			return nil, fmt.Errorf("model.from.savedmodel: %s was trained with data.scale %g, this run's data.scale is %g; reused layers need the pixels they were trained on",
				from.SavedModel, read.Scale, st.cfg.Data.Scale)
		}
		src = read.Weights
	}
	return pick(net, full, src)
}

// sameScale reports whether two pixel scales agree to 1e-9 (relative), so
// that "1/255" and its decimal expansion match.
func sameScale(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(math.Abs(a), math.Abs(b)) }

// pick returns the variables of net's reused layers (full is net built)
// from src, checking that every one is there with the type and shape the
// layer needs and holds finite values.
func pick(net config.Network, full *graph.Model, src graph.Weights) (graph.Weights, error) {
	var reused []string
	for _, l := range net.Layers {
		if l.Reused {
			reused = append(reused, l.Name)
		}
	}
	out := src.Of(full.Variables, reused...)
	if err := out.Check(graph.VariablesOf(full.Variables, reused...)); err != nil {
		return nil, fmt.Errorf("reused layers %v: %w", reused, err)
	}
	return out, nil
}

// paramsOf counts the parameters of a built model.
func paramsOf(m *graph.Model) Params {
	total, trainable := m.Params()
	return Params{Total: total, Trainable: trainable, NonTrainable: total - trainable}
}

// reuse loads the stage's existing export when it was built from the same
// network and classes; ok is false when there is none or it differs (the
// reason is printed and the stage is trained).
func (st *stage) reuse(net config.Network, full *graph.Model, classes []string) (sr StageReport, values graph.Weights, ok bool, err error) {
	c := st.conf()
	dir := st.cfg.ExportDir(st.i)
	out := st.opt.Out
	read, err := savedmodel.ReadVariables(dir, savedmodel.LoadOptions{Run: st.cfg.Run})
	meta, values := read.Meta, read.Weights
	stored, storedClasses := meta.Network, meta.Classes
	if err != nil {
		fmt.Fprintf(out, "No reusable export (%v); training.\n", err)
		return sr, nil, false, nil
	}
	a, errA := net.YAML()
	b, errB := stored.YAML()
	if err := errors.Join(errA, errB); err != nil {
		return sr, nil, false, err
	}
	if string(a) != string(b) || !slices.Equal(classes, storedClasses) || !sameScale(meta.Scale, st.cfg.Data.Scale) {
		fmt.Fprintf(out, "The export in %s has another network, classes or pixel scale; training.\n", dir)
		return sr, nil, false, nil
	}
	sr = StageReport{Name: c.Name, Export: dir, Reused: true, Params: paramsOf(full)}
	if h, err := train.ReadHistory(filepath.Join(st.dir(), "history.json")); err == nil {
		sr.Epochs, sr.TimeTaken = h.Epochs, h.TimeTaken
	}
	fmt.Fprintf(out, "Reusing the export in %s (%d parameters)\n", dir, sr.Params.Total)
	return sr, values, true, nil
}
