package transfer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/train"
)

// Input is a stage's network, built once, with the values of its reused
// layers and its images.
//
// Net is the resolved network and Model it built in Graph (with Seed);
// Init holds the values of the reused layers' variables (Pick), Cached the
// number of first layers to run once (net.Cacheable() with
// train.cache_frozen, else 0), From the reuse settings (nil: none), Scale
// the pixel scale (0: 1) and Run the session settings. SpillDir is where
// the cached features go, in a temporary file removed at once ("": in
// memory; data.in_memory).
type Input struct {
	Run        config.Run
	Net        config.Network
	Graph      *tf.Graph
	Model      *graph.Model
	Seed       int64
	Init       graph.Weights
	Cached     int
	From       *config.Reuse
	Scale      float32
	SpillDir   string
	Train, Val *cifar.Set
}

// Setup is what to train: hand Graph, Model and Options' fields to
// train.New and Train and Val to Fit.
//
// Without cached layers, Graph and Model are the Input's and Head its
// network. With them, Head is the network after the cached layers (its
// input the shape of their output), built in a graph of its own, and
// Train and Val are the cached features. Init holds the values of the
// trained reused layers, Cached those of the cached layers, LayerRates the
// fine-tune rates and Spent the time caching took. Close releases the
// cached features once the stage is done with Train and Val.
type Setup struct {
	Head       config.Network
	Graph      *tf.Graph
	Model      *graph.Model
	Train, Val train.Dataset
	Init       graph.Weights
	Cached     graph.Weights
	LayerRates map[string]float64
	Spent      time.Duration

	feats []*cifar.PackedFeatures // the cached features, if any
}

// Prepare splits in's reused values and, with cached layers, computes
// their outputs over the images in in's graph and builds the head.
func Prepare(ctx context.Context, in Input) (*Setup, error) {
	prefix, head, err := Split(in.Init, in.Model, in.Net, in.Cached)
	if err != nil {
		return nil, err
	}
	su := &Setup{Head: in.Net, Graph: in.Graph, Model: in.Model, Init: head, Cached: prefix,
		Train: in.Train.Source(in.Scale), Val: in.Val.Source(in.Scale)}
	if in.Cached > 0 {
		start := time.Now()
		if err := su.cache(ctx, in); err != nil {
			return nil, errors.Join(err, su.Close())
		}
		su.Spent = time.Since(start)
	}
	su.LayerRates = FineTuneRates(in.From, su.Head.Layers)
	return su, nil
}

// cache computes the features of the cached layers and builds the head.
func (su *Setup) cache(ctx context.Context, in Input) error {
	shapes, err := in.Net.Shapes()
	if err != nil {
		return err
	}
	out := in.Model.Outputs[in.Cached-1]
	shape := shapes[in.Cached-1]
	sets := []*cifar.Set{in.Train, in.Val}
	feats := make([]*cifar.PackedFeatures, len(sets))
	sinks := make([]train.Sink, len(sets))
	for i, s := range sets {
		origin, err := s.Fingerprint()
		if err != nil {
			return fmt.Errorf("caching frozen features: %w", err)
		}
		feats[i] = &cifar.PackedFeatures{Shape: slices.Clone(shape), Labels: s.Labels, Classes: s.Classes, Origin: origin, Dir: in.SpillDir}
		sinks[i] = feats[i]
	}
	su.feats = feats
	if err := train.OutputsTo(ctx, in.Run, in.Graph, in.Model, out, su.Cached, []train.Dataset{su.Train, su.Val}, sinks); err != nil {
		return fmt.Errorf("caching frozen features: %w", err)
	}
	su.Train, su.Val = feats[0].Source(1), feats[1].Source(1)
	su.Head = config.Network{Input: shape, Layers: in.Net.Layers[in.Cached:]}
	su.Graph = tf.NewGraph()
	su.Model, err = graph.Build(op.NewScopeWithGraph(su.Graph), su.Head, graph.Options{Seed: in.Seed, DrawAhead: true})
	return err
}

// CacheBytes returns the bytes the cached features take in memory and in
// their temporary file (0, 0 without cached layers).
func (su *Setup) CacheBytes() (memory, file int64) {
	for _, f := range su.feats {
		memory += f.Bytes()
		file += f.FileBytes()
	}
	return memory, file
}

// Close releases the cached features' temporary files; Train and Val
// fail after it.
func (su *Setup) Close() error {
	var errs []error
	for _, f := range su.feats {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// FineTuneRates gives the reused layers their own learning rate when from
// fine-tunes them with one (nil otherwise).
func FineTuneRates(from *config.Reuse, layers []config.Layer) map[string]float64 {
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

// Split divides the reused values init of net (built as m) between the
// first cached layers and the trained ones, and fails if any value lands
// in neither.
func Split(init graph.Weights, m *graph.Model, net config.Network, cached int) (prefix, head graph.Weights, err error) {
	prefix = init.Of(m.Variables, layerNames(net.Layers[:cached])...)
	head = init.Of(m.Variables, layerNames(net.Layers[cached:])...)
	for name := range init {
		if prefix[name] == nil && head[name] == nil {
			return nil, nil, fmt.Errorf("reused variable %s belongs to no layer of the network", name)
		}
	}
	return prefix, head, nil
}

// Pick returns the variables of net's reused layers (m is net built) from
// src, checking that every one is there with the type and shape the layer
// needs and holds finite values.
func Pick(net config.Network, m *graph.Model, src graph.Weights) (graph.Weights, error) {
	var reused []string
	for _, l := range net.Layers {
		if l.Reused {
			reused = append(reused, l.Name)
		}
	}
	out := src.Of(m.Variables, reused...)
	if err := out.Check(graph.VariablesOf(m.Variables, reused...)); err != nil {
		return nil, fmt.Errorf("reused layers %v: %w", reused, err)
	}
	return out, nil
}
