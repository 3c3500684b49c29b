package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/cluster"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/closer"
	"github.com/tfcifar/tfcifar/internal/libtf"
	"github.com/tfcifar/tfcifar/internal/profile"
	"github.com/tfcifar/tfcifar/savedmodel"
	"github.com/tfcifar/tfcifar/train"
	"github.com/tfcifar/tfcifar/train/board"
	"github.com/tfcifar/tfcifar/train/console"
	"github.com/tfcifar/tfcifar/train/history"
	"github.com/tfcifar/tfcifar/transfer"
)

// stage runs stage i of cfg.
type stage struct {
	cfg  *config.Config
	i    int
	data *datasets
	src  *sources
	done map[string]graph.Weights // trained values of earlier stages by name
	opt  Options
	// chief runs the stage's training steps on a cluster's workers (nil:
	// locally).
	chief *cluster.Chief
	prof  *profile.Recorder // traces the stage's steps (run.profile), else nil
}

func (st *stage) conf() config.Stage { return st.cfg.Stages[st.i] }

// scale is the stage's data.scale: its own data section's, else the
// top-level one's.
func (st *stage) scale() float64 { return st.cfg.DataOf(st.i).Scale }

// spillDir is where the stage's cached features go (spillDir).
func (st *stage) spillDir() string { return spillDir(st.cfg.DataOf(st.i)) }

// dir is where the stage keeps its history, chart and checkpoint.
func (st *stage) dir() string { return filepath.Join(st.cfg.Run.Out, st.conf().Name) }

// run resolves, trains and exports the stage (or reuses its export).
func (st *stage) run(ctx context.Context) (StageReport, error) {
	c := st.conf()
	net, err := st.cfg.Resolve(st.i, st.src.network)
	if err != nil {
		return StageReport{}, err
	}
	trainSet, valSet, err := st.data.split(ctx, st.i, net)
	if err != nil {
		return StageReport{}, err
	}
	if net, err = st.sourceStatistics(net); err != nil {
		return StageReport{}, err
	}
	if net, err = train.Adapt(net, trainSet, st.scale()); err != nil {
		return StageReport{}, fmt.Errorf("model.%w", err)
	}
	if err := os.MkdirAll(st.dir(), 0o755); err != nil {
		return StageReport{}, err
	}
	var classes any = c.Classes
	if len(c.Classes) == 0 {
		classes = trainSet.Classes // all of a folder's classes
	}
	fmt.Fprintf(st.opt.Out, "\n== Stage %s: classes %v, %d training and %d validation images\n", c.Name, classes, trainSet.Len(), valSet.Len())
	// The whole network, built once: for its summary, its counts, the
	// reused values, the cached features and, without them, training.
	g := tf.NewGraph()
	full, err := graph.Build(op.NewScopeWithGraph(g), net, graph.Options{Seed: st.cfg.Run.Seed, DrawAhead: true})
	if err != nil {
		return StageReport{}, err
	}
	if c.Export.ReuseExisting {
		sr, values, ok, err := st.reuse(net, full, trainSet.Classes)
		if err != nil || ok {
			st.done[c.Name] = values
			if err == nil {
				err = st.evaluate(ctx, &sr, valSet)
			}
			return sr, err
		}
	}
	init, err := st.reusedValues(net, full)
	if err != nil {
		return StageReport{}, err
	}
	names := trainSet.Classes // the images are not kept past fit, which may free them
	fit, err := st.fit(ctx, transfer.Input{Run: st.cfg.Run, Net: net, Graph: g, Model: full, Seed: st.cfg.Run.Seed,
		Init: init, From: c.Model.From, Scale: float32(st.scale()), SpillDir: st.spillDir(), Train: trainSet, Val: valSet})
	if err != nil {
		return StageReport{}, err
	}
	sr, err := st.export(net, names, fit)
	if err != nil {
		return StageReport{}, err
	}
	return sr, st.evaluate(ctx, &sr, valSet)
}

// export writes the stage's SavedModel and returns its report.
func (st *stage) export(net config.Network, classes []string, fit *fitted) (StageReport, error) {
	c := st.conf()
	final, err := savedmodel.ExportNetwork(st.cfg.ExportDir(st.i), net, fit.values, savedmodel.Options{
		Classes: classes, Seed: st.cfg.Run.Seed, Scale: st.scale(), Run: st.cfg.Run,
	})
	if err != nil {
		return StageReport{}, err
	}
	fmt.Fprintf(st.opt.Out, "Exported %s\n", final)
	st.done[c.Name] = fit.values
	return StageReport{
		Name:         c.Name,
		Params:       fit.params,
		Epochs:       fit.history.Epochs,
		TimeTaken:    fit.history.TimeTaken,
		Export:       final,
		TrainFLOPs:   fit.flops,
		CachedLayers: fit.cached,
		WeightsEpoch: fit.history.WeightsEpoch,
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

// fit prints the summary of in's network, prepares it (package transfer:
// with train.cache_frozen, the reused frozen layers up to the first
// non-deterministic one run once over all images and only the layers
// after them are trained, on those cached features) and trains it.
func (st *stage) fit(ctx context.Context, in transfer.Input) (_ *fitted, err error) {
	c := st.conf()
	nTrain, nVal := in.Train.Len(), in.Val.Len()
	if err := in.Model.Summary(st.opt.Out); err != nil {
		return nil, err
	}
	res := &fitted{params: paramsOf(in.Model)}
	if c.Train.CacheFrozen {
		res.cached = in.Net.Cacheable()
	}
	if res.cached > 0 && st.chief != nil {
		fmt.Fprintf(st.opt.Out, "train.cache_frozen: a distributed run does not cache the frozen layers; the workers compute them at every step\n")
		res.cached = 0
	}
	in.Cached = res.cached
	su, err := transfer.Prepare(profile.WithPhase(ctx, st.prof.Phase("feature caching")), in)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, su.Close()) }()
	ident, err := identity(in, su)
	if err != nil {
		return nil, err
	}
	if res.cached > 0 {
		// The images are no longer needed by this stage; give their memory
		// (and what the previous stage left) back before training.
		in.Train, in.Val = nil, nil
		libtf.ReleaseMemory()
		fmt.Fprintf(st.opt.Out, "Cached the outputs of the frozen layers %s to %s (%v per image) for %d images in %.1fs, %s\n",
			in.Net.Layers[0].Name, in.Net.Layers[res.cached-1].Name, su.Head.Input, nTrain+nVal, su.Spent.Seconds(), cacheText(su))
	}
	if res.values, res.history, err = st.train(ctx, su, ident); err != nil {
		return nil, err
	}
	if res.flops, err = trainFLOPs(in.Net, len(res.history.Epochs), nTrain, nVal, res.cached); err != nil {
		return nil, err
	}
	return res, nil
}

// cacheText says where su's cached features are and their size.
func cacheText(su *transfer.Setup) string {
	memory, file := su.CacheBytes()
	if file > 0 {
		return fmt.Sprintf("%.1f MB in a temporary file", float64(file)/1e6)
	}
	return fmt.Sprintf("%.1f MB in memory", float64(memory)/1e6)
}

// identity describes what in trains, prepared as su, for its checkpoints.
// The data's fingerprint comes from su's sets: cached features carry the
// fingerprint of their images, so the images are hashed once.
func identity(in transfer.Input, su *transfer.Setup) (train.Identity, error) {
	ident := train.Identity{Classes: in.Train.Classes, Scale: float64(in.Scale)}
	var err error
	if ident.Data, err = train.Fingerprint(su.Train, su.Val); err != nil {
		return ident, err
	}
	ident.Network, err = networkFingerprint(in.Net)
	return ident, err
}

// train trains the prepared network and returns all its values (the
// cached layers' too) and the history.
func (st *stage) train(ctx context.Context, su *transfer.Setup, ident train.Identity) (_ graph.Weights, _ *train.History, err error) {
	c := st.conf()
	con, err := console.New(console.Options{Out: st.opt.Out, Mode: st.cfg.Run.Progress})
	if err != nil {
		return nil, nil, err
	}
	var split train.Split
	hooks := []train.Hook{}
	if st.chief != nil {
		sp, err := st.chief.Split(su.Head, graph.Options{Seed: st.cfg.Run.Seed}, su.Graph, su.Model)
		if err != nil {
			return nil, nil, err
		}
		split = sp
		hooks = append(hooks, st.chief.Hook())
	}
	tr, err := train.New(su.Graph, su.Model, c.Train, train.Options{
		Split:      split,
		Run:        st.cfg.Run,
		Dir:        st.dir(),
		Resume:     st.opt.Resume,
		Init:       su.Init,
		Cached:     su.Cached,
		Identity:   ident,
		Spent:      su.Spent,
		LayerRates: su.LayerRates,
		Profile:    st.prof,
	})
	if err != nil {
		return nil, nil, err
	}
	defer closer.Join(&err, tr)
	hooks = append(hooks, con.Hook(), history.Hook(st.dir(), c.Name))
	if st.cfg.Run.TensorBoard {
		b, berr := st.board(tr, su)
		if berr != nil {
			return nil, nil, berr
		}
		defer closer.Join(&err, b)
		hooks = append(hooks, b.Hook())
	}
	h, err := tr.Fit(ctx, su.Train, su.Val, hooks...)
	if err != nil {
		if st.chief != nil {
			err = st.chief.Explain(err)
		}
		return nil, nil, err
	}
	values, err := tr.Values()
	if err != nil {
		return nil, nil, err
	}
	maps.Copy(values, su.Cached)
	return values, h, nil
}

// board opens the TensorBoard logs of the stage in <stage dir>/logs; a
// fit that does not resume replaces those of an earlier one.
func (st *stage) board(tr *train.Trainer, su *transfer.Setup) (*board.Board, error) {
	dir := filepath.Join(st.dir(), logsDir)
	if !tr.Resumed() {
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("tensorboard logs: %w", err)
		}
	}
	run := st.cfg.Run
	run.Device = config.CPU // the writers' sessions only write files
	var state []string
	for _, v := range su.Model.Variables {
		if v.State {
			state = append(state, v.Name)
		}
	}
	return board.New(dir, tr.Values, board.Options{Run: run, UpdateFreq: run.TensorBoardUpdateFreq, Graph: su.Graph, Fixed: su.Cached, Skip: state})
}

// logsDir is the directory of a stage's TensorBoard logs.
const logsDir = "logs"

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

// reusedValues returns the values of the reused layers' variables of net
// (built as full), taken from the source stage's trained values or read from
// the source SavedModel. Nil when net reuses nothing.
func (st *stage) reusedValues(net config.Network, full *graph.Model) (graph.Weights, error) {
	from := st.conf().Model.From
	if from == nil {
		return nil, nil
	}
	var src graph.Weights
	switch {
	case from.Stage != "":
		src = st.done[from.Stage]
		if src == nil {
			return nil, fmt.Errorf("model.from.stage: stage %q has not been trained in this run", from.Stage)
		}
	case from.Keras != "":
		m, err := st.src.kerasModel(from.Keras)
		if err != nil {
			return nil, fmt.Errorf("model.from.keras: %w", err)
		}
		src = m.Weights
	default:
		read, err := savedmodel.ReadVariables(from.SavedModel, savedmodel.LoadOptions{Trust: from.Trust, Run: st.cfg.Run})
		if err != nil {
			return nil, fmt.Errorf("model.from.savedmodel: %w", err)
		}
		if read.Scale != 0 && !read.ScaleMatches(st.scale()) {
			return nil, fmt.Errorf("model.from.savedmodel: %s was trained with data.scale %g, this run's data.scale is %g; reused layers need the pixels they were trained on",
				from.SavedModel, read.Scale, st.scale())
		}
		src = read.Weights
	}
	return transfer.Pick(net, full, src)
}

// sourceStatistics returns net with the statistics of every reused
// normalization layer that adapts, taken from the trained values of its
// source stage, so that the network (and its export) records them. A
// SavedModel source's network records them already.
func (st *stage) sourceStatistics(net config.Network) (config.Network, error) {
	from := st.conf().Model.From
	if from == nil || from.Stage == "" {
		return net, nil
	}
	net.Layers = slices.Clone(net.Layers)
	for i, l := range net.Layers {
		if !l.NeedsAdapt() || !l.Reused {
			continue
		}
		src := st.done[from.Stage]
		mean, okM := src[l.Name+"/mean"]
		variance, okV := src[l.Name+"/variance"]
		if !okM || !okV {
			return net, fmt.Errorf("model.from.stage: stage %q has no trained statistics for layer %q", from.Stage, l.Name)
		}
		m, okM := mean.Value().([]float32)
		v, okV := variance.Value().([]float32)
		if !okM || !okV {
			return net, fmt.Errorf("model.from.stage: the statistics of layer %q in stage %q are not float32 vectors", l.Name, from.Stage)
		}
		l.Mean, l.Variance, l.Adapt = float64s(m), float64s(v), false
		net.Layers[i] = l
	}
	return net, nil
}

func float64s(f []float32) config.Values {
	v := make(config.Values, len(f))
	for i, x := range f {
		v[i] = float64(x)
	}
	return v
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
	if string(a) != string(b) || !slices.Equal(classes, storedClasses) || !meta.ScaleMatches(st.scale()) {
		fmt.Fprintf(out, "The export in %s has another network, classes or pixel scale; training.\n", dir)
		return sr, nil, false, nil
	}
	sr = StageReport{Name: c.Name, Export: dir, Reused: true, Params: paramsOf(full)}
	if h, err := train.ReadHistory(filepath.Join(st.dir(), history.JSONFile)); err == nil {
		sr.Epochs, sr.TimeTaken, sr.WeightsEpoch = h.Epochs, h.TimeTaken, h.WeightsEpoch
	}
	fmt.Fprintf(out, "Reusing the export in %s (%d parameters)\n", dir, sr.Params.Total)
	return sr, values, true, nil
}
