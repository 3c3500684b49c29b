package config

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Config is a whole run: data, run settings and the stages trained in order.
type Config struct {
	Data    Data    `mapstructure:"data" yaml:"data"`
	Run     Run     `mapstructure:"run" yaml:"run"`
	Cluster Cluster `mapstructure:"cluster" yaml:"cluster"`
	Stages  []Stage `mapstructure:"stages" yaml:"stages"`
}

// Stage is one network trained on a subset of the classes of its data.
// Data, when set, is the stage's own data section: the top-level one with
// the stage's keys over it (Config.DataOf). Classes are class ids of
// that data (CIFAR-10: 0-9, CIFAR-100: 0-99 fine or 0-19 coarse, a
// folder: indices of its sorted class folders), relabelled 0..len-1 in
// list order; on a folder they may be left out for all its classes. The
// model's last layer must have one unit per class.
type Stage struct {
	Name    string  `mapstructure:"name" yaml:"name"`
	Data    *Data   `mapstructure:"data" yaml:"data,omitempty"`
	Classes []int   `mapstructure:"classes" yaml:"classes,flow"`
	Model   Network `mapstructure:"model" yaml:"model"`
	Train   Train   `mapstructure:"train" yaml:"train"`
	Export  Export  `mapstructure:"export" yaml:"export"`
}

// DataOf returns the data section of stage i: its own, else the
// top-level one.
func (c *Config) DataOf(i int) Data {
	if d := c.Stages[i].Data; d != nil {
		return *d
	}
	return c.Data
}

// Loader reads the network of a source outside the config: the spec
// stored in a SavedModel export directory (package savedmodel) or the
// network mapped from a Keras model (package keras). Resolve calls it for
// stages whose source is a savedmodel or a keras model.
type Loader func(from Reuse) (Network, error)

// Default returns the reference workflow, the content of
// configs/transfer.yaml: a base network trained on classes 0-4, then a
// transfer network reusing its first six layers, frozen, with a new head
// trained on classes 5-9.
func Default() *Config {
	conv := func(f, k int) Layer { return Layer{Type: Conv2D, Filters: f, Kernel: Size{k, k}, Activation: ReLU} }
	head := []Layer{
		{Type: Dense, Units: 128},
		{Type: Activation, Activation: ReLU},
		{Type: Dense, Units: 5},
		{Type: Activation, Activation: Softmax},
	}
	base := append([]Layer{
		conv(8, 5), conv(16, 5),
		{Type: MaxPooling2D, Pool: Size{2, 2}},
		conv(32, 3),
		{Type: Flatten},
		{Type: Dropout, Rate: 0.4},
	}, head...)
	from := DefaultReuse()
	c := &Config{
		Data:    DefaultData(),
		Run:     DefaultRun(),
		Cluster: DefaultCluster(),
		Stages: []Stage{
			{Name: "base", Classes: []int{0, 1, 2, 3, 4}, Model: Network{Input: []int{32, 32, 3}, Layers: base},
				Train: DefaultTrain(), Export: Export{Dir: "base/model"}},
			{Name: "transfer", Classes: []int{5, 6, 7, 8, 9}, Model: Network{Input: []int{32, 32, 3}, From: &from, Layers: slices.Clone(head)},
				Train: DefaultTrain(), Export: Export{Dir: "transfer/model"}},
		},
	}
	c.complete()
	return c
}

// Validate checks the whole config; errors name the stage and, inside a
// model, the layer index and name.
func (c *Config) Validate() error {
	if err := c.Data.Validate(); err != nil {
		return err
	}
	if err := c.validateRun(); err != nil {
		return err
	}
	if err := checkStageCount(len(c.Stages)); err != nil {
		return err
	}
	if err := c.validatePaths(); err != nil {
		return err
	}
	r := c.resolver(nil)
	for i, s := range c.Stages {
		if err := c.validateStage(i, r); err != nil {
			return fmt.Errorf("stages[%d] (%s): %w", i, s.Name, err)
		}
	}
	return nil
}

// validateRun checks the run and cluster sections: in a distributed run,
// run.device may name the chief's CPU by its task, and mixed_float16 (a
// GPU precision) is refused.
func (c *Config) validateRun() error {
	if err := c.Cluster.Validate(); err != nil {
		return err
	}
	run := c.Run
	if c.Cluster.Enabled() {
		local, err := c.Cluster.CheckDevice(run.Device)
		if err != nil {
			return err
		}
		run.Device = local
		if run.Precision == MixedFloat16 {
			return fmt.Errorf("run.precision: %s is for GPUs; a distributed run trains on CPUs (float32 or mixed_bfloat16)", MixedFloat16)
		}
	}
	return run.Validate()
}

// cifarImage is the shape of one CIFAR image, [height width channels]
// (cifar.Height, cifar.Width, cifar.Channels; config does not import cifar).
var cifarImage = []int{32, 32, 3}

func (c *Config) validateStage(i int, r *resolver) error {
	s := c.Stages[i]
	d := c.DataOf(i)
	if s.Data != nil {
		if err := d.Validate(); err != nil {
			return err
		}
	}
	if err := checkClasses(s.Classes, d); err != nil {
		return err
	}
	// CIFAR images are 32x32 RGB; a folder's are resized to the model's
	// input, which must be RGB. A malformed input is reported with the
	// layers below.
	if checkInput(s.Model.Input) == nil {
		switch {
		case d.Source != SourceFolder && !slices.Equal(s.Model.Input, cifarImage):
			return fmt.Errorf("model.input: the stage trains on %s images, want %v, got %v", d.Title(), cifarImage, s.Model.Input)
		case d.Source == SourceFolder && (len(s.Model.Input) != 3 || s.Model.Input[2] != 3):
			return fmt.Errorf("model.input: the stage trains on a folder of images resized to its input, want [height width 3] (RGB), got %v", s.Model.Input)
		}
	}
	if err := s.Train.Validate(); err != nil {
		return err
	}
	if key := s.Train.Callbacks.NeedValidation(); key != "" && d.Split == SplitReference && d.ValidationFraction == 0 {
		return fmt.Errorf("%s: a val_ metric needs validation data, and data.validation_fraction is 0", key)
	}
	if err := s.Export.Validate(); err != nil {
		return err
	}
	if f := s.Model.From; f != nil {
		if err := f.Validate(); err != nil {
			return fmt.Errorf("model.%w", err)
		}
		if f.Stage != "" {
			j := c.stage(f.Stage)
			switch {
			case j < 0:
				return fmt.Errorf("model.from.stage: no stage %q in this config", f.Stage)
			case j >= i:
				return fmt.Errorf("model.from.stage: %q is not an earlier stage; a stage reuses layers of stages before it", f.Stage)
			}
		}
		if key, _ := f.SourceKey(); key != "" {
			// The source is read at run time; check what can be checked now.
			if err := s.Model.checkOwn(); err != nil {
				return fmt.Errorf("model.%w", err)
			}
			return nil
		}
	}
	net, err := r.resolve(i)
	if err != nil || len(s.Classes) == 0 {
		return err // all of a folder's classes: checked once it is read
	}
	return checkOutput(net, s.Classes)
}

// checkOwn validates the new layers of a transfer network on their own.
func (n Network) checkOwn() error {
	if err := checkInput(n.Input); err != nil {
		return err
	}
	for i, l := range n.Layers {
		if err := l.Validate(); err != nil {
			return layerErr(i, l, err)
		}
	}
	return nil
}

// checkOutput checks that net ends in one unit per class.
func checkOutput(net Network, classes []int) error {
	out, err := net.OutputShape()
	if err != nil {
		return fmt.Errorf("model.%w", err)
	}
	if len(out) != 1 || out[0] != len(classes) {
		last := len(net.Layers) - 1
		return fmt.Errorf("model.%w", layerErr(last, net.Layers[last],
			fmt.Errorf("output shape %v, want [%d] (one unit per class of %v)", out, len(classes), classes)))
	}
	return nil
}

func checkStageCount(n int) error {
	switch {
	case n == 0:
		return fmt.Errorf("stages: want at least one stage")
	case n > MaxStages:
		return fmt.Errorf("stages: %d stages, over the cap of %d", n, MaxStages)
	}
	return nil
}

// MaxClasses is the most classes a dataset may have (labels are bytes).
const MaxClasses = 256

// checkClasses checks the class ids of a stage on data d.
func checkClasses(cs []int, d Data) error {
	n, what := d.NumClasses(), d.Title()+" class ids"
	if n == 0 {
		n, what = MaxClasses, "class folder indices"
		if len(cs) == 0 {
			return nil // all the folder's classes
		}
	}
	if len(cs) < 2 {
		return fmt.Errorf("classes: want at least two %s (0-%d), got %v", what, n-1, cs)
	}
	for k, c := range cs {
		if c < 0 || c >= n {
			return fmt.Errorf("classes[%d]: want one of the %s 0-%d, got %d", k, what, n-1, c)
		}
		if slices.Contains(cs[:k], c) {
			return fmt.Errorf("classes[%d]: class %d is listed twice", k, c)
		}
	}
	return nil
}

// stage returns the index of the stage called name, or -1.
func (c *Config) stage(name string) int {
	return slices.IndexFunc(c.Stages, func(s Stage) bool { return s.Name == name })
}

// Resolve returns the flat network of stage i: for a transfer network, the
// reused layers of its source (marked Reused, and Frozen unless fine-tuned)
// then its own layers; otherwise its layers with defaults filled in. A
// savedmodel source is read with load (nil: an error for such stages).
func (c *Config) Resolve(i int, load Loader) (Network, error) {
	return c.resolver(load).resolve(i)
}

// resolver resolves the stages of one config, each once: a chain of
// transfer stages resolves its first stage once, not once per later stage.
type resolver struct {
	c    *Config
	load Loader
	nets map[int]Network
	errs map[int]error
}

func (c *Config) resolver(load Loader) *resolver {
	return &resolver{c: c, load: load, nets: map[int]Network{}, errs: map[int]error{}}
}

// forget drops what is known of stage i (its layers were changed).
func (r *resolver) forget(i int) { delete(r.nets, i); delete(r.errs, i) }

// resolve returns Resolve(i) from the first computation; callers must not
// change the layers of the result.
func (r *resolver) resolve(i int) (Network, error) {
	if n, ok := r.nets[i]; ok {
		return n, r.errs[i]
	}
	n, err := r.compute(i)
	if err == nil {
		err = r.c.checkMemory(i, n)
	}
	r.nets[i], r.errs[i] = n, err
	return n, err
}

func (r *resolver) compute(i int) (Network, error) {
	c, load := r.c, r.load
	if i < 0 || i >= len(c.Stages) {
		return Network{}, fmt.Errorf("stage %d: config has %d stages", i, len(c.Stages))
	}
	n := c.Stages[i].Model
	if n.From == nil {
		n = n.Named()
		if err := n.Validate(); err != nil {
			return Network{}, fmt.Errorf("model.%w", err)
		}
		return n.frozen(), nil
	}
	var src Network
	switch f := n.From; {
	case f.Stage != "":
		j := c.stage(f.Stage)
		if j < 0 || j >= i {
			return Network{}, fmt.Errorf("model.from.stage: no earlier stage %q", f.Stage)
		}
		s, err := r.resolve(j)
		if err != nil {
			return Network{}, fmt.Errorf("source stage %q: %w", f.Stage, err)
		}
		src = s
	case load == nil:
		key, path := f.SourceKey()
		return Network{}, fmt.Errorf("model.from.%s: %q: no reader for the network of such a source", key, path)
	default:
		s, err := load(*f)
		if err != nil {
			key, _ := f.SourceKey()
			return Network{}, fmt.Errorf("model.from.%s: %w", key, err)
		}
		src = s
	}
	src.Layers = slices.Clone(src.Layers)
	for k := range src.Layers {
		src.Layers[k].Reused, src.Layers[k].Frozen = false, false
	}
	src = src.frozen()
	net, err := n.Reuse(src)
	if err != nil {
		return Network{}, fmt.Errorf("model.%w", err)
	}
	return net, nil
}

// imagesPerClass is the number of CIFAR-10 images of one class, training
// and test: the most a stage caches features for, per class.
const imagesPerClass = 6000

// checkMemory refuses stage i when training its flat network net would
// take more than MaxTrainBytes: Network.Footprint with the stage's batch
// size and optimizer, plus the features cached for its frozen layers when
// data.in_memory holds them in memory (else they go to a temporary file).
func (c *Config) checkMemory(i int, net Network) error {
	s := c.Stages[i]
	t := s.Train
	f, err := net.Footprint(t.BatchSize, t.Optimizer.Slots())
	if err != nil {
		return fmt.Errorf("model.%w", err)
	}
	if k := net.Cacheable(); t.CacheFrozen && k > 0 {
		cache := 4 * imagesPerClass * float64(len(s.Classes)) * volume(f.Shapes[k-1])
		if c.DataOf(i).InMemory {
			f.Cache = cache
			f.Total += f.Cache
		} else {
			f.CacheFile = cache
		}
	}
	if err := net.checkFootprint(f, MaxTrainBytes, fmt.Sprintf("training with batch_size %d", t.BatchSize)); err != nil {
		return fmt.Errorf("model.%w", err)
	}
	return nil
}

// ExportDir is where stage i's SavedModel goes: run.out/export.dir, plus
// /<version> when export.version > 0. An absolute export.dir is used as is.
// It is the one place the version directory is added.
func (c *Config) ExportDir(i int) string {
	e := c.Stages[i].Export
	dir := e.Dir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(c.Run.Out, dir)
	}
	if e.Version > 0 {
		dir = filepath.Join(dir, fmt.Sprint(e.Version))
	}
	return dir
}

// complete fills defaults that depend on other fields: export dirs default
// to <stage name>/model (beside the stage's history and checkpoint), and
// layers get their default settings and names (the new layers of a
// transfer network avoid the names of the reused ones).
func (c *Config) complete() {
	r := c.resolver(nil)
	for i := range c.Stages {
		s := &c.Stages[i]
		if s.Export.Dir == "" {
			s.Export.Dir = filepath.Join(s.Name, "model")
		}
		var taken []string
		if f := s.Model.From; f != nil {
			if key, _ := f.SourceKey(); key != "" {
				continue // names are given once the source is read
			}
			full, err := r.resolve(i)
			if err != nil {
				continue // Validate reports it
			}
			for _, l := range full.Layers {
				if l.Reused {
					taken = append(taken, l.Name)
				}
			}
		}
		s.Model = s.Model.Named(taken...)
		r.forget(i)
	}
}

// YAML returns the resolved config as YAML, every default filled in: the
// record of what a run used.
func (c *Config) YAML() ([]byte, error) {
	return marshal(c)
}

// YAML returns n as YAML, the form ParseNetwork reads (Reused and Frozen
// marks are not part of it; trainable: false is).
func (n Network) YAML() ([]byte, error) {
	return marshal(n)
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	e := yaml.NewEncoder(&b)
	e.SetIndent(2)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	if err := e.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
