package folder

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/imagefile"
	"github.com/tfcifar/tfcifar/internal/capped"
	"github.com/tfcifar/tfcifar/internal/shuffle"
)

// Options are the settings of Load.
//
// Height and Width are the size every image is resized to (the model's
// input). CacheDir is where decoded folders are cached (folders/ inside
// it); "" disables the cache. SkipBad skips the files that are not
// readable images instead of failing. Run holds the session settings of
// the decoder. Progress receives a progress bar while files are decoded
// and Log a line when the cache cannot be read or written (nil: silent).
type Options struct {
	Height, Width int
	CacheDir      string
	SkipBad       bool
	Run           config.Run
	Progress      io.Writer
	Log           io.Writer
}

// Folder is a decoded folder of images.
//
// Set holds its images (uint8 [Height, Width, 3]) and labels, in List's
// order, without the skipped files; Files names them (paths relative to
// the folder). Skipped holds the error of every skipped file. Decoded is
// the number of files decoded by this Load: 0 when the images came from
// the cache (Cached).
type Folder struct {
	Dir     string
	Set     *cifar.Set
	Files   []string
	Skipped []error
	Decoded int
	Cached  bool
}

// Load lists the folder dir (List), then reads its images from the cache
// or decodes them, in parallel, resized to opt.Height x opt.Width, and
// caches them. A file that is not a readable image fails the load with an
// error naming it, unless opt.SkipBad. ctx stops decoding between files.
func Load(ctx context.Context, dir string, opt Options) (*Folder, error) {
	if opt.Height < 1 || opt.Width < 1 || int64(opt.Height)*int64(opt.Width) > imagefile.MaxPixels {
		return nil, fmt.Errorf("folder: image size %d x %d, want 1 to %d pixels", opt.Width, opt.Height, imagefile.MaxPixels)
	}
	classes, files, err := List(dir)
	if err != nil {
		return nil, err
	}
	size := opt.Height * opt.Width * 3
	if int64(len(files))*int64(size) > MaxSetBytes {
		return nil, fmt.Errorf("folder: %s: %d images of %d x %d x 3 bytes need %s, over the cap of %s",
			dir, len(files), opt.Height, opt.Width, capped.Size(int64(len(files))*int64(size)), capped.Size(MaxSetBytes))
	}
	c := newCache(dir, files, opt)
	f, err := c.read(classes)
	if err != nil {
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, "Ignoring the image cache: %v\n", err)
		}
		f = nil
	}
	if f == nil {
		if f, err = decodeAll(ctx, dir, classes, files, opt); err != nil {
			return nil, err
		}
		if err := c.write(f); err != nil && opt.Log != nil {
			fmt.Fprintf(opt.Log, "Could not cache the decoded images: %v\n", err)
		}
	}
	f.Dir = dir
	if len(f.Skipped) > 0 && !opt.SkipBad {
		return nil, badFiles(dir, f.Skipped)
	}
	return f, nil
}

// badFiles reports the files that are no readable images.
func badFiles(dir string, errs []error) error {
	if len(errs) == 1 {
		return fmt.Errorf("folder: %w (data.skip_bad: true skips such files)", errs[0])
	}
	return fmt.Errorf("folder: %d files of %s are not readable images (data.skip_bad: true skips them); the first: %w", len(errs), dir, errs[0])
}

// MaxWorkers bounds the files decoded at once: a 16-megapixel image takes
// about 260 MB while decoded (uint8, then float32 for the resize), so at
// most about 2 GB in all.
const MaxWorkers = 8

// decodeAll decodes files in parallel, one shared decoder session, and
// returns them as a Folder, bad files left out and listed in Skipped.
func decodeAll(ctx context.Context, dir string, classes []string, files []File, opt Options) (*Folder, error) {
	d, err := imagefile.Open(opt.Run, imagefile.JPEGKeras)
	if err != nil {
		return nil, err
	}
	defer func() { _ = d.Close() }() // its errors are in the results
	size := opt.Height * opt.Width * 3
	images := make([]byte, len(files)*size)
	errs := make([]error, len(files))
	var bar *progressbar.ProgressBar
	if opt.Progress != nil {
		bar = newBar(opt.Progress, len(files), dir)
	}
	var decoded atomic.Int64
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), MaxWorkers, len(files)) {
		wg.Go(func() {
			for i := range next {
				path := filepath.Join(dir, filepath.FromSlash(files[i].Path))
				errs[i] = decodeFile(d, path, images[i*size:(i+1)*size], opt.Width, opt.Height)
				decoded.Add(1)
				if bar != nil {
					_ = bar.Add(1) // progress only
				}
			}
		})
	}
	var cancelled error
	for i := range files {
		if cancelled = ctx.Err(); cancelled != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if cancelled != nil {
		return nil, cancelled
	}
	f := &Folder{Dir: dir, Set: &cifar.Set{Classes: classes, Shape: [3]int{opt.Height, opt.Width, 3}}, Decoded: int(decoded.Load())}
	kept := 0
	for i, file := range files {
		if errs[i] != nil {
			f.Skipped = append(f.Skipped, errs[i])
			continue
		}
		copy(images[kept*size:(kept+1)*size], images[i*size:(i+1)*size])
		f.Set.Labels = append(f.Set.Labels, file.Label)
		f.Files = append(f.Files, file.Path)
		kept++
	}
	f.Set.Images = images[: kept*size : kept*size]
	return f, nil
}

// decodeFile decodes the image file at path into dst, w x h x 3 bytes,
// the resized values rounded to the nearest integer.
func decodeFile(d *imagefile.Decoder, path string, dst []byte, w, h int) error {
	px, err := d.Read(path, w, h, 1)
	if err != nil {
		return err // names the file
	}
	for i, v := range px {
		dst[i] = uint8(math.Round(min(max(float64(v), 0), 255)))
	}
	return nil
}

// newBar returns the progress bar of decoding n files of dir.
func newBar(w io.Writer, n int, dir string) *progressbar.ProgressBar {
	return progressbar.NewOptions(n,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("Decoding "+filepath.Base(dir)),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}

// Split returns the training and validation images of s as Keras'
// image_dataset_from_directory splits them with validation_split and a
// seed: the images are shuffled with seed (internal/shuffle's
// permutation, not NumPy's: the same seed gives another split than in
// Keras) and the last floor(valFraction*n) of them validate. valFraction
// is in [0, 1); 0 gives an empty validation set. The returned sets own
// their memory; within each, images keep their order in s.
func Split(s *cifar.Set, valFraction float64, seed int64) (train, val *cifar.Set, err error) {
	if !(valFraction >= 0 && valFraction < 1) {
		return nil, nil, fmt.Errorf("folder: split: validation fraction %g outside [0, 1)", valFraction)
	}
	n := s.Len()
	nVal := int(math.Floor(valFraction * float64(n)))
	if n-nVal == 0 {
		return nil, nil, fmt.Errorf("folder: split: %d images leave none for training", n)
	}
	perm := shuffle.New(n, seed).Order(0, true)
	isVal := make([]bool, n)
	for _, i := range perm[n-nVal:] {
		isVal[i] = true
	}
	train, val = subset(s, isVal, false), subset(s, isVal, true)
	return train, val, nil
}

// subset copies the images i of s with pick[i] == want, in order.
func subset(s *cifar.Set, pick []bool, want bool) *cifar.Set {
	out := &cifar.Set{Classes: slices.Clone(s.Classes), Shape: s.Shape}
	for i, p := range pick {
		if p == want {
			out.Images = append(out.Images, s.Image(i)...)
			out.Labels = append(out.Labels, s.Labels[i])
		}
	}
	return out
}
