package workflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/folder"
	"github.com/tfcifar/tfcifar/train/console"
)

// LocateData returns the CIFAR directory the data section names: data.dir,
// else the cache dir (data.cache_dir, default the user cache dir), where
// CIFAR-10 or CIFAR-100 (data.source) is downloaded when missing and
// data.download allows it. progress shows the download (nil: silent). A
// folder source has no CIFAR directory: an error.
func LocateData(ctx context.Context, d config.Data, progress io.Writer) (string, error) {
	if d.Source == config.SourceFolder {
		return "", fmt.Errorf("data.source is folder (%s): no CIFAR dataset to locate", d.Dir)
	}
	cache, err := cacheDir(d)
	if err != nil {
		return "", err
	}
	if d.Dir != "" {
		cache = d.CacheDir
	}
	if d.Source == config.SourceCIFAR100 {
		return cifar.Locate100(ctx, d.Dir, cache, d.Download, progress)
	}
	return cifar.Locate(ctx, d.Dir, cache, d.Download, progress)
}

// ReadData locates (LocateData) and reads the CIFAR dataset the data
// section d names, in memory or left in its files as data.in_memory says;
// close it when done.
func ReadData(ctx context.Context, d config.Data, progress io.Writer) (*cifar.Dataset, error) {
	dir, err := LocateData(ctx, d, progress)
	if err != nil {
		return nil, err
	}
	return cifar.Read(dir, readOptions(d))
}

// cacheDir returns data.cache_dir, default the user cache dir.
func cacheDir(d config.Data) (string, error) {
	if d.CacheDir != "" {
		return d.CacheDir, nil
	}
	return cifar.DefaultCacheDir()
}

// datasets reads the data of a run's stages, each dataset once: stages on
// the same CIFAR files or the same folder at the same size share it.
// prepare keeps only every stage's own sets (split copies the images it
// selects, or for CIFAR files left on disk, data.in_memory false, where
// they are), so the whole datasets are freed before training; each stage
// takes its sets once, and they are freed with the stage. Close closes
// the CIFAR files the sets read.
type datasets struct {
	cfg     *config.Config
	out     io.Writer
	cifar   map[string]*cifar.Dataset
	folders map[string]*folder.Folder
	dirs    []string              // where each stage's data is, in stage order
	sets    map[int][2]*cifar.Set // by stage: the sets prepare split
	opened  []*cifar.Dataset      // the stored CIFAR datasets read, to close
}

func newDatasets(cfg *config.Config, out io.Writer) *datasets {
	return &datasets{cfg: cfg, out: out, cifar: map[string]*cifar.Dataset{}, folders: map[string]*folder.Folder{}, sets: map[int][2]*cifar.Set{}}
}

// split returns the training and validation sets of stage i, whose
// resolved network is net: its classes of its data, split as its
// data.split says (those prepare split, given once). It checks that net
// has one output per class.
func (ds *datasets) split(ctx context.Context, i int, net config.Network) (train, val *cifar.Set, err error) {
	if s, ok := ds.sets[i]; ok {
		delete(ds.sets, i)
		return s[0], s[1], ds.checkUnits(i, net, s[0])
	}
	d := ds.cfg.DataOf(i)
	classes := ds.cfg.Stages[i].Classes
	if d.Source == config.SourceFolder {
		train, val, err = ds.splitFolder(ctx, d, classes, net)
	} else {
		var all *cifar.Dataset
		if all, err = ds.loadCIFAR(ctx, d); err == nil {
			train, val, err = all.Split(classes, cifar.SplitKind(d.Split), d.ValidationFraction)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return train, val, ds.checkUnits(i, net, train)
}

// checkUnits checks that net, stage i's network, has one output per class
// of its training set.
func (ds *datasets) checkUnits(i int, net config.Network, train *cifar.Set) error {
	if out, err := net.OutputShape(); err != nil || !slices.Equal(out, []int{len(train.Classes)}) {
		return fmt.Errorf("model: the network's output shape is %v, want [%d]: one unit per class of the stage (%s)%s",
			out, len(train.Classes), strings.Join(train.Classes, ", "), ds.unitsHint(i, len(train.Classes)))
	}
	return nil
}

// unitsHint says which override gives the last dense layer of stage i k
// units ("" when the stage has no dense layer of its own).
func (ds *datasets) unitsHint(i, k int) string {
	s := ds.cfg.Stages[i]
	for j := len(s.Model.Layers) - 1; j >= 0; j-- {
		if s.Model.Layers[j].Type == config.Dense {
			return fmt.Sprintf("; give its last dense layer %d units: -set stages.%s.model.layers.%d.units=%d", k, s.Name, j, k)
		}
	}
	return ""
}

// loadCIFAR locates and loads the CIFAR dataset d names.
func (ds *datasets) loadCIFAR(ctx context.Context, d config.Data) (*cifar.Dataset, error) {
	dir, err := LocateData(ctx, d, ds.out)
	if err != nil {
		return nil, err
	}
	key := d.Source + " " + d.Labels + " " + dir
	if all := ds.cifar[key]; all != nil {
		return all, nil
	}
	all, err := cifar.Read(dir, readOptions(d))
	if err != nil {
		return nil, err
	}
	if all.Train.Stored() {
		ds.opened = append(ds.opened, all) // to close; one in memory must not be kept
	}
	ds.cifar[key] = all
	ds.dirs = append(ds.dirs, dir)
	return all, nil
}

// readOptions says how cifar.Read reads the CIFAR dataset d names.
func readOptions(d config.Data) cifar.ReadOptions {
	return cifar.ReadOptions{CIFAR100: d.Source == config.SourceCIFAR100, Coarse: d.Labels == config.LabelsCoarse, InMemory: d.InMemory}
}

// splitFolder reads the folder d names at net's input size and splits
// the selected classes (nil: all) as d.split says: reference takes a
// seeded validation_fraction of data.dir, standard trains on data.dir and
// validates on data.test_dir.
func (ds *datasets) splitFolder(ctx context.Context, d config.Data, classes []int, net config.Network) (train, val *cifar.Set, err error) {
	f, err := ds.loadFolder(ctx, d, d.Dir, net)
	if err != nil {
		return nil, nil, err
	}
	if classes == nil {
		for k := range f.Set.Classes {
			classes = append(classes, k)
		}
	}
	for k, c := range classes {
		if c >= len(f.Set.Classes) {
			return nil, nil, fmt.Errorf("classes[%d]: class %d, the folder %s has %d classes (0-%d: %s)",
				k, c, d.Dir, len(f.Set.Classes), len(f.Set.Classes)-1, strings.Join(f.Set.Classes, ", "))
		}
	}
	test := &cifar.Set{Classes: f.Set.Classes, Shape: f.Set.Shape}
	if d.Split == config.SplitStandard {
		t, err := ds.loadFolder(ctx, d, d.TestDir, net)
		if err != nil {
			return nil, nil, err
		}
		if !slices.Equal(t.Set.Classes, f.Set.Classes) {
			return nil, nil, fmt.Errorf("data.test_dir: %s has the classes %v, data.dir %s has %v; want the same class folders",
				d.TestDir, t.Set.Classes, d.Dir, f.Set.Classes)
		}
		test = t.Set
	}
	all := &cifar.Dataset{Train: f.Set, Test: test}
	train, val, err = all.Split(classes, cifar.SplitStandard, 0)
	if err != nil || d.Split == config.SplitStandard {
		return train, val, err
	}
	return folder.Split(train, d.ValidationFraction, ds.cfg.Run.Seed)
}

// loadFolder reads the folder dir at net's input size, once per run.
func (ds *datasets) loadFolder(ctx context.Context, d config.Data, dir string, net config.Network) (*folder.Folder, error) {
	if len(net.Input) != 3 || net.Input[2] != 3 {
		return nil, fmt.Errorf("model.input: %v, want [height width 3] for the images of %s", net.Input, dir)
	}
	key := fmt.Sprintf("%s %v %v", dir, net.Input, d.SkipBad)
	if f := ds.folders[key]; f != nil {
		return f, nil
	}
	cache, err := cacheDir(d)
	if err != nil {
		return nil, err
	}
	opt := folder.Options{Height: net.Input[0], Width: net.Input[1], CacheDir: cache, SkipBad: d.SkipBad, Run: ds.cfg.Run, Log: ds.out}
	if console.Mode(ds.out, ds.cfg.Run.Progress) == config.ProgressBar {
		opt.Progress = ds.out // a bar while decoding; the line below in any case
	}
	f, err := folder.Load(ctx, dir, opt)
	if err != nil {
		return nil, err
	}
	how := fmt.Sprintf("decoded %d files", f.Decoded)
	if f.Cached {
		how = "from the cache"
	}
	fmt.Fprintf(ds.out, "Read %d images of %d classes (%s) from %s at %dx%d, %s", f.Set.Len(), len(f.Set.Classes),
		strings.Join(f.Set.Classes, ", "), dir, net.Input[0], net.Input[1], how)
	if len(f.Skipped) > 0 {
		fmt.Fprintf(ds.out, "; skipped %d files that are not readable images, the first: %v", len(f.Skipped), f.Skipped[0])
	}
	fmt.Fprintln(ds.out)
	ds.folders[key] = f
	ds.dirs = append(ds.dirs, dir)
	return f, nil
}

// spillDir is where the features cached for a stage whose data section is
// d go: a temporary file in os.TempDir() (TMPDIR), unless data.in_memory
// ("": in memory).
func spillDir(d config.Data) string {
	if d.InMemory {
		return ""
	}
	return os.TempDir()
}

// checkSpillDir checks that a temporary file can be made in dir, so that a
// stage that caches features there fails before any stage trains.
func checkSpillDir(dir string) error {
	f, err := os.CreateTemp(dir, "tfcifar-check-*")
	if err == nil {
		err = errors.Join(f.Close(), os.Remove(f.Name()))
	}
	if err != nil {
		return fmt.Errorf("data.in_memory is false, so cached features go to a temporary file in %s (TMPDIR), which cannot be made: %w; set TMPDIR to another directory or data.in_memory: true", dir, err)
	}
	return nil
}

// Close closes the files of the stored CIFAR datasets read.
func (ds *datasets) Close() error {
	var errs []error
	for _, d := range ds.opened {
		errs = append(errs, d.Close())
	}
	ds.opened = nil
	return errors.Join(errs...)
}

// prepare reads the data of every stage before any is trained, so that a
// missing dataset or a bad image file fails the run at once. It keeps the
// stages' sets and drops the whole datasets.
func (ds *datasets) prepare(ctx context.Context, load config.Loader) error {
	checked := map[string]bool{}
	for i, s := range ds.cfg.Stages {
		net, err := ds.cfg.Resolve(i, load)
		var train, val *cifar.Set
		if err == nil {
			train, val, err = ds.split(ctx, i, net)
		}
		if dir := spillDir(ds.cfg.DataOf(i)); err == nil && dir != "" && s.Train.CacheFrozen && net.Cacheable() > 0 && !checked[dir] {
			err, checked[dir] = checkSpillDir(dir), true
		}
		if err != nil {
			return fmt.Errorf("stage %q: %w", s.Name, err)
		}
		ds.sets[i] = [2]*cifar.Set{train, val}
	}
	clear(ds.cifar)
	clear(ds.folders)
	return nil
}
