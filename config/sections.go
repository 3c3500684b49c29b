package config

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Data says where a stage's images come from and how they are split.
//
// Source is cifar10 (default), cifar100 or folder. For cifar10 and
// cifar100, Dir is a directory holding the official binary files
// (data_batch_1.bin ... or train.bin, test.bin); empty means CacheDir,
// which defaults (empty) to the user cache dir + "/tfcifar"; Download
// fetches the dataset there when it is missing. Labels picks CIFAR-100's
// fine (100 classes, default) or coarse (20 superclasses) labels.
//
// For folder, Dir is required: one subfolder per class (class names are
// the subfolder names in sorted order), PNG, JPEG, GIF or BMP files
// inside, resized to the model's input; TestDir optionally holds a test
// set laid out alike; SkipBad skips files that cannot be decoded (counted
// and reported) instead of failing on the first one. Decoded images are
// cached under CacheDir.
//
// Split is "reference" (CIFAR: selected training images then selected
// test images, the last ValidationFraction of them for validation;
// folder: the images of Dir shuffled with run.seed, the last
// ValidationFraction of them for validation) or "standard" (official
// training set or Dir for training, official test set or TestDir for
// validation). Pixels are multiplied by Scale (1: raw 0-255 values, as
// the reference feeds them).
//
// InMemory holds a stage's images (CIFAR) and the features cached for its
// frozen layers in memory; false (default) reads CIFAR images from their
// files batch by batch and keeps cached features in a temporary file, so
// memory does not grow with the data (the operating system's page cache
// keeps the files' hot parts in RAM).
//
// A stage's own data section (stages[i].data) overrides this one key by
// key.
type Data struct {
	Source             string  `mapstructure:"source" yaml:"source"`
	Dir                string  `mapstructure:"dir" yaml:"dir"`
	TestDir            string  `mapstructure:"test_dir" yaml:"test_dir"`
	CacheDir           string  `mapstructure:"cache_dir" yaml:"cache_dir"`
	Download           bool    `mapstructure:"download" yaml:"download"`
	Labels             string  `mapstructure:"labels" yaml:"labels"`
	SkipBad            bool    `mapstructure:"skip_bad" yaml:"skip_bad"`
	Split              string  `mapstructure:"split" yaml:"split"`
	ValidationFraction float64 `mapstructure:"validation_fraction" yaml:"validation_fraction"`
	Scale              float64 `mapstructure:"scale" yaml:"scale"`
	InMemory           bool    `mapstructure:"in_memory" yaml:"in_memory"`
}

// The sources data.source names.
const (
	SourceCIFAR10  = "cifar10"
	SourceCIFAR100 = "cifar100"
	SourceFolder   = "folder"
)

// The label sets data.labels names for CIFAR-100.
const (
	LabelsFine   = "fine"
	LabelsCoarse = "coarse"
)

// The splits data.split names.
const (
	SplitReference = "reference"
	SplitStandard  = "standard"
)

var (
	sources = []string{SourceCIFAR10, SourceCIFAR100, SourceFolder}
	labels  = []string{LabelsFine, LabelsCoarse}
	splits  = []string{SplitReference, SplitStandard}
)

// DefaultData is the reference data section.
func DefaultData() Data {
	return Data{Source: SourceCIFAR10, Download: true, Labels: LabelsFine, Split: SplitReference, ValidationFraction: 0.2, Scale: 1}
}

// Validate checks d.
func (d Data) Validate() error {
	for _, c := range []struct {
		key, v string
		names  []string
	}{
		{"data.source", d.Source, sources},
		{"data.labels", d.Labels, labels},
		{"data.split", d.Split, splits},
	} {
		if !slices.Contains(c.names, c.v) {
			return fmt.Errorf("%s: want one of %s, got %q", c.key, strings.Join(c.names, ", "), c.v)
		}
	}
	switch {
	case d.Source == SourceFolder && d.Dir == "":
		return fmt.Errorf("data.dir: data.source folder needs the directory of class folders, got an empty string")
	case d.Source != SourceFolder && d.TestDir != "":
		return fmt.Errorf("data.test_dir: only data.source folder has a test directory, the source is %s", d.Source)
	case d.Source == SourceFolder && d.Split == SplitStandard && d.TestDir == "":
		return fmt.Errorf("data.test_dir: data.split standard validates a folder on data.test_dir, got an empty string")
	}
	if err := checkFloat("data.validation_fraction", "fraction", d.ValidationFraction, unitLow); err != nil {
		return err
	}
	// Pixels of 255 must stay finite once scaled.
	return checkFloat("data.scale", "factor of at most 1.3e36", d.Scale, span{positive.want, func(f float32) bool {
		return f > 0 && f <= math.MaxFloat32/255
	}})
}

// Title names d's source for messages: CIFAR-10, CIFAR-100 or folder.
func (d Data) Title() string {
	switch d.Source {
	case SourceCIFAR10:
		return "CIFAR-10"
	case SourceCIFAR100:
		return "CIFAR-100"
	}
	return d.Source
}

// NumClasses returns the number of classes of a CIFAR source (10,
// CIFAR-100's 100 fine or 20 coarse), or 0 for a folder, whose classes
// are known once it is read.
func (d Data) NumClasses() int {
	switch {
	case d.Source == SourceCIFAR100 && d.Labels == LabelsCoarse:
		return 20
	case d.Source == SourceCIFAR100:
		return 100
	case d.Source == SourceFolder:
		return 0
	}
	return 10
}

// Run holds the settings of the whole run.
//
// Out is the run directory (models, histories, charts, resolved config).
// Seed seeds initial weights, dropout and shuffling. Thread counts of 0 let
// TensorFlow choose. Device is cpu, gpu, gpu:N, auto (the first GPU when
// TensorFlow sees one, else the CPU) or a full device string such as
// "/device:GPU:1". Progress is auto (a bar on a terminal, lines otherwise),
// bar, lines or off. Precision is float32 (as the reference) or
// mixed_bfloat16 (TensorFlow's oneDNN graph rewrite runs convolutions and
// matrix products in bfloat16 with float32 variables, faster on CPUs with
// bfloat16 units such as AMX or AVX512-BF16) or mixed_float16 (grappler's
// float16 rewrite on a GPU, with dynamic loss scaling as Keras'
// LossScaleOptimizer; on the CPU it computes in float32 with loss
// scaling, for testing only). XLA turns on TensorFlow's XLA
// auto-clustering, which compiles and fuses ops on GPUs (not on the CPU).
// GPU holds the GPU settings. TensorBoard writes event files under each
// stage's logs/ (Keras' layout), with batch-level scalars every
// TensorBoardUpdateFreq steps (0: per epoch only). Profile, when set, is
// the file where the run writes a profile of some traced steps of every
// stage: time per op type and node, FLOP rates (see the README's
// Profiling).
type Run struct {
	Out                   string `mapstructure:"out" yaml:"out"`
	Seed                  int64  `mapstructure:"seed" yaml:"seed"`
	IntraOpThreads        int    `mapstructure:"intra_op_threads" yaml:"intra_op_threads"`
	InterOpThreads        int    `mapstructure:"inter_op_threads" yaml:"inter_op_threads"`
	Device                string `mapstructure:"device" yaml:"device"`
	Progress              string `mapstructure:"progress" yaml:"progress"`
	Precision             string `mapstructure:"precision" yaml:"precision"`
	XLA                   bool   `mapstructure:"xla" yaml:"xla"`
	GPU                   RunGPU `mapstructure:"gpu" yaml:"gpu"`
	TensorBoard           bool   `mapstructure:"tensorboard" yaml:"tensorboard"`
	TensorBoardUpdateFreq int    `mapstructure:"tensorboard_update_freq" yaml:"tensorboard_update_freq"`
	Profile               string `mapstructure:"profile" yaml:"profile"`
}

// RunGPU holds the GPU settings of a run. MemoryGrowth makes TensorFlow
// take GPU memory as the run needs it instead of nearly all of it at the
// start (for a GPU shared with other processes).
type RunGPU struct {
	MemoryGrowth bool `mapstructure:"memory_growth" yaml:"memory_growth"`
}

// The names run.precision accepts.
const (
	Float32       = "float32"
	MixedBfloat16 = "mixed_bfloat16"
	MixedFloat16  = "mixed_float16"
)

// precisions are the names run.precision accepts.
var precisions = []string{Float32, MixedBfloat16, MixedFloat16}

// The progress modes run.progress names.
const (
	ProgressAuto  = "auto"  // bar on a terminal, lines otherwise
	ProgressBar   = "bar"   // a live bar with steps, ETA, loss and accuracy
	ProgressLines = "lines" // a few plain progress lines per epoch
	ProgressOff   = "off"   // only the summary lines
)

// progresses are the names run.progress accepts.
var progresses = []string{ProgressAuto, ProgressBar, ProgressLines, ProgressOff}

// DefaultRun is the reference run section.
func DefaultRun() Run {
	return Run{Out: "runs/transfer", Seed: 42, Device: CPU, Progress: ProgressAuto, Precision: Float32, TensorBoard: true}
}

// Validate checks r.
func (r Run) Validate() error {
	switch {
	case r.Out == "":
		return fmt.Errorf("run.out: want a directory, got an empty string")
	case r.IntraOpThreads < 0 || r.IntraOpThreads > MaxThreads:
		return fmt.Errorf("run.intra_op_threads: want a count in [0, %d] (0: TensorFlow chooses), got %d", MaxThreads, r.IntraOpThreads)
	case r.InterOpThreads < 0 || r.InterOpThreads > MaxThreads:
		return fmt.Errorf("run.inter_op_threads: want a count in [0, %d] (0: TensorFlow chooses), got %d", MaxThreads, r.InterOpThreads)
	case !slices.Contains(progresses, r.Progress):
		return fmt.Errorf("run.progress: want one of %s, got %q", strings.Join(progresses, ", "), r.Progress)
	case r.TensorBoardUpdateFreq < 0:
		return fmt.Errorf("run.tensorboard_update_freq: want a number of steps >= 0 (0: per epoch only), got %d", r.TensorBoardUpdateFreq)
	case !slices.Contains(precisions, r.Precision):
		return fmt.Errorf("run.precision: want one of %s, got %q", strings.Join(precisions, ", "), r.Precision)
	}
	_, _, err := ParseDevice(r.Device)
	return err
}

// ParseDevice reads a run.device: cpu, gpu, gpu:N, auto, "" (cpu) or a
// local device string such as "/device:GPU:1", "/gpu:0" or
// "/device:CPU:0", and returns the lower-case type (cpu, gpu or auto) and
// the index (-1 when not given). A device of a job, replica or task
// ("/job:worker/replica:0/task:3/device:CPU:0") is refused: a run trains
// on its own devices; a distributed run checks such a device against its
// cluster first (Cluster.CheckDevice).
func ParseDevice(d string) (kind string, index int, err error) {
	switch strings.ToLower(d) {
	case "", CPU:
		return CPU, -1, nil
	case GPU:
		return GPU, -1, nil
	case Auto:
		return Auto, -1, nil
	}
	bad := fmt.Errorf("run.device: want auto, cpu, gpu, gpu:N or a device string like /device:GPU:0, got %q", d)
	if !strings.HasPrefix(d, "/") {
		if n, ok := strings.CutPrefix(strings.ToLower(d), GPU+":"); ok {
			return parseIndex(GPU, n, bad)
		}
		return "", 0, bad
	}
	parts := strings.Split(strings.ToLower(d[1:]), "/")
	for _, p := range parts {
		if k, _, _ := strings.Cut(p, ":"); k == "job" || k == "replica" || k == "task" {
			return "", 0, fmt.Errorf("run.device: %q names a %s; distributed devices are not supported without a cluster section (and with one, run.device may name only the chief's CPU), want auto, cpu, gpu, gpu:N or /device:GPU:N", d, k)
		}
	}
	if len(parts) != 1 {
		return "", 0, bad
	}
	last := strings.TrimPrefix(parts[0], "device:")
	kind, num, ok := strings.Cut(last, ":")
	if kind != CPU && kind != GPU {
		return "", 0, bad
	}
	if !ok {
		return kind, -1, nil
	}
	return parseIndex(kind, num, bad)
}

// parseIndex reads the device index num of a device of type kind.
func parseIndex(kind, num string, bad error) (string, int, error) {
	index, err := strconv.Atoi(num)
	if err != nil || index < 0 || strconv.Itoa(index) != num {
		return "", 0, bad
	}
	return kind, index, nil
}

// Export says where a stage's SavedModel goes: Dir relative to run.out
// (default: <stage name>/model), in Dir/<Version>/ when Version > 0 (the
// layout TF Serving expects). The export replaces only an earlier tfcifar
// export there; Dir may not overlap the run dir's own files, another
// stage's directory or another export (see Config.Validate). ReuseExisting
// skips training when a compatible export is already there and uses it
// instead.
type Export struct {
	Dir           string `mapstructure:"dir" yaml:"dir"`
	Version       int    `mapstructure:"version" yaml:"version"`
	ReuseExisting bool   `mapstructure:"reuse_existing" yaml:"reuse_existing"`
}

// Validate checks e.
func (e Export) Validate() error {
	if e.Dir == "" {
		return fmt.Errorf("export.dir: want a directory, got an empty string")
	}
	if e.Version < 0 {
		return fmt.Errorf("export.version: want a version >= 0 (0: no version directory), got %d", e.Version)
	}
	return nil
}
