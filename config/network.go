package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Network is a stage's model: the input shape [H W C] of one image and the
// layers in order. A transfer network also has From, the source of the
// layers it reuses; its Layers are then only the new ones.
type Network struct {
	Input  []int   `mapstructure:"input" yaml:"input,flow"`
	From   *Reuse  `mapstructure:"from" yaml:"from,omitempty"`
	Layers []Layer `mapstructure:"layers" yaml:"layers"`
}

// Reuse names the source of a transfer network's first layers: Stage (an
// earlier stage of the same config), SavedModel (an export directory) or
// Keras (a Keras model, see package keras), and which layers: UpTo (every layer up to and including that one) or
// Layers (a list of names, in source order). Frozen (default true) keeps
// the reused weights fixed; otherwise they are fine-tuned, with
// LearningRate if it is positive (0: the stage's optimizer rate). Trust
// loads a SavedModel source without checking its graph's ops (see
// savedmodel.LoadOptions).
type Reuse struct {
	Stage        string   `mapstructure:"stage" yaml:"stage,omitempty"`
	SavedModel   string   `mapstructure:"savedmodel" yaml:"savedmodel,omitempty"`
	Keras        string   `mapstructure:"keras" yaml:"keras,omitempty"`
	UpTo         string   `mapstructure:"up_to" yaml:"up_to,omitempty"`
	Layers       []string `mapstructure:"layers" yaml:"layers,flow,omitempty"`
	Frozen       bool     `mapstructure:"frozen" yaml:"frozen"`
	LearningRate float64  `mapstructure:"learning_rate" yaml:"learning_rate,omitempty"`
	Trust        bool     `mapstructure:"trust" yaml:"trust,omitempty"`
}

// DefaultReuse is the default From section: reuse from the stage named
// base up to its dropout layer, frozen.
func DefaultReuse() Reuse { return Reuse{Stage: "base", UpTo: "dropout", Frozen: true} }

// SourceKey returns the key naming r's source outside the config
// (savedmodel or keras) and its path; "" and "" for a stage source.
func (r Reuse) SourceKey() (key, path string) {
	switch {
	case r.Keras != "":
		return "keras", r.Keras
	case r.SavedModel != "":
		return "savedmodel", r.SavedModel
	}
	return "", ""
}

// Validate checks the source and the layer selection of r.
func (r Reuse) Validate() error {
	if err := checkFloat("from.learning_rate", "rate", r.LearningRate, nonNeg); err != nil {
		return err
	}
	sources := 0
	for _, s := range []string{r.Stage, r.SavedModel, r.Keras} {
		if s != "" {
			sources++
		}
	}
	switch {
	case sources == 0:
		return fmt.Errorf("from: want a source, stage: <name>, savedmodel: <dir> or keras: <model.keras>")
	case sources > 1:
		return fmt.Errorf("from: want one source, stage, savedmodel or keras, not several")
	case r.UpTo == "" && len(r.Layers) == 0:
		return fmt.Errorf("from: want the reused layers, up_to: <layer> or layers: [names]")
	case r.UpTo != "" && len(r.Layers) > 0:
		return fmt.Errorf("from: want up_to or layers, not both")
	case r.LearningRate > 0 && r.Frozen:
		return fmt.Errorf("from.learning_rate: set for frozen layers; set frozen: false to fine-tune them")
	}
	for i, n := range r.Layers {
		if slices.Contains(r.Layers[:i], n) {
			return fmt.Errorf("from.layers[%d]: %q is listed twice", i, n)
		}
	}
	return nil
}

// Validate checks a flat network (From nil): input, every layer's
// settings, unique names and the shapes. Errors name the layer by index and
// name.
func (n Network) Validate() error {
	if n.From != nil {
		return fmt.Errorf("from: network is not resolved (reuse its source first)")
	}
	if err := n.checkLayers(0); err != nil {
		return err
	}
	f, err := n.Footprint(1, -1)
	if err != nil {
		return err
	}
	return n.checkFootprint(f, MaxTrainBytes, "running it on one example")
}

// checkLayers validates input, settings and names; index numbers the layers
// from first.
func (n Network) checkLayers(first int) error {
	if err := checkFeatureInput(n.Input); err != nil {
		return err
	}
	if len(n.Layers) == 0 {
		return fmt.Errorf("layers: want at least one layer")
	}
	if len(n.Layers) > MaxLayers {
		return fmt.Errorf("layers: %d layers, over the cap of %d", len(n.Layers), MaxLayers)
	}
	seen := map[string]int{}
	for i, l := range n.Layers {
		if err := l.Validate(); err != nil {
			return layerErr(first+i, l, err)
		}
		if l.Name == "" {
			continue
		}
		if err := checkLayerName(l.Name); err != nil {
			return layerErr(first+i, l, err)
		}
		if j, dup := seen[l.Name]; dup {
			return layerErr(first+i, l, fmt.Errorf("name: %q is already the name of layers[%d]", l.Name, j))
		}
		seen[l.Name] = first + i
	}
	return n.checkFront(first)
}

// layerName is what a layer name may look like: a TensorFlow op name
// without the scope separator '/', as variables are named <layer>/kernel.
var layerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// reservedNames are the names the graph, trainer and export give their own
// ops at the top of a graph; a layer called so would be renamed by
// TensorFlow (images_1) and its variables would not be found.
var reservedNames = []string{"images", "training", "probabilities", "class_ids", "train", "init", "save", "assets", "export_values"}

func checkLayerName(name string) error {
	if !layerName.MatchString(name) {
		return fmt.Errorf("name: want letters, digits, '_', '-' or '.' (starting with a letter or digit), got %q", name)
	}
	if slices.Contains(reservedNames, name) {
		return fmt.Errorf("name: %q is reserved for tfcifar's own ops (%s)", name, strings.Join(reservedNames, ", "))
	}
	return nil
}

// checkInput checks the input of a stage's network: one image, [h w c].
func checkInput(in []int) error {
	if len(in) != 3 {
		return fmt.Errorf("input: want [height, width, channels], got %v", in)
	}
	return checkFeatureInput(in)
}

// checkFeatureInput checks the input of a network that may also take flat
// feature vectors ([n]), such as a head trained on cached features.
func checkFeatureInput(in []int) error {
	if len(in) != 1 && len(in) != 3 {
		return fmt.Errorf("input: want [height, width, channels] or [features], got %v", in)
	}
	for _, d := range in {
		if d <= 0 {
			return fmt.Errorf("input: want positive sizes, got %v", in)
		}
	}
	return nil
}

// layerErr adds the layer's index and name to err.
func layerErr(i int, l Layer, err error) error {
	name := l.Name
	if name == "" {
		name = string(l.Type)
	}
	return fmt.Errorf("layers[%d] (%s): %w", i, name, err)
}

// Named returns n with default settings filled in and every unnamed layer
// named as Keras would (conv2d, conv2d_1, ...), avoiding the names already
// in n and those in taken.
func (n Network) Named(taken ...string) Network {
	used := map[string]bool{}
	for _, t := range taken {
		used[t] = true
	}
	for _, l := range n.Layers {
		used[l.Name] = true
	}
	next := map[string]int{} // per prefix, the first suffix that may be free
	out := n
	out.Layers = make([]Layer, len(n.Layers))
	for i, l := range n.Layers {
		l = l.withDefaults()
		if l.Name == "" {
			l.Name = freeName(kinds[l.Type].prefix, used, next)
			used[l.Name] = true
		}
		out.Layers[i] = l
	}
	return out
}

// freeName returns the first of prefix, prefix_1, prefix_2, ... not in
// used, starting the search at next[prefix] (names are only ever added to
// used, so the earlier ones stay taken).
func freeName(prefix string, used map[string]bool, next map[string]int) string {
	if prefix == "" {
		prefix = "layer"
	}
	for i := next[prefix]; ; i++ {
		name := prefix
		if i > 0 {
			name = fmt.Sprintf("%s_%d", prefix, i)
		}
		if !used[name] {
			next[prefix] = i + 1
			return name
		}
	}
}

// Reuse returns the flat network of a transfer network n whose source
// network is src (the resolved network of a stage, or the spec stored in a
// SavedModel export): the selected source layers first, marked Reused and,
// if n.From.Frozen, Frozen; then n's own layers, named avoiding the reused
// names. The result is validated.
func (n Network) Reuse(src Network) (Network, error) {
	if n.From == nil {
		return Network{}, fmt.Errorf("from: network has no source to reuse")
	}
	r := *n.From
	if err := r.Validate(); err != nil {
		return Network{}, err
	}
	src = src.Named()
	var picked []Layer
	if r.UpTo != "" {
		i := slices.IndexFunc(src.Layers, func(l Layer) bool { return l.Name == r.UpTo })
		if i < 0 {
			return Network{}, fmt.Errorf("from.up_to: no layer %q in the source, want one of %s", r.UpTo, names(src.Layers))
		}
		picked = slices.Clone(src.Layers[:i+1])
	} else {
		last := -1
		for k, name := range r.Layers {
			i := slices.IndexFunc(src.Layers, func(l Layer) bool { return l.Name == name })
			if i < 0 {
				return Network{}, fmt.Errorf("from.layers[%d]: no layer %q in the source, want one of %s", k, name, names(src.Layers))
			}
			if i < last {
				return Network{}, fmt.Errorf("from.layers[%d]: %q comes before %q in the source; list layers in source order", k, name, src.Layers[last].Name)
			}
			last = i
			picked = append(picked, src.Layers[i])
		}
	}
	var taken []string
	for i := range picked {
		picked[i].Reused = true
		picked[i].Frozen = r.Frozen || picked[i].Frozen
		taken = append(taken, picked[i].Name)
	}
	own := Network{Input: n.Input, Layers: n.Layers}.Named(taken...)
	for i, l := range own.Layers {
		if slices.Contains(taken, l.Name) {
			return Network{}, layerErr(len(picked)+i, l, fmt.Errorf("name: %q is also the name of a reused layer", l.Name))
		}
	}
	flat := Network{Input: n.Input, Layers: append(picked, own.Layers...)}
	if err := flat.Validate(); err != nil {
		return Network{}, err
	}
	return flat.frozen(), nil
}

// frozen marks layers with trainable: false as Frozen.
func (n Network) frozen() Network {
	for i, l := range n.Layers {
		if l.Trainable != nil && !*l.Trainable {
			n.Layers[i].Frozen = true
		}
	}
	return n
}

func names(ls []Layer) string {
	var s []string
	for _, l := range ls {
		s = append(s, l.Name)
	}
	return strings.Join(s, ", ")
}
