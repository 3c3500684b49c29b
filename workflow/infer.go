package workflow

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/jpeg" // decoders for Predict
	_ "image/png"
	"slices"
	"sort"

	"golang.org/x/image/draw"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/capped"
	"github.com/tfcifar/tfcifar/savedmodel"
)

// Splits are the sets Evaluate accepts: the training and validation parts
// of the data section's split, and the official test images.
var Splits = []string{"train", "val", "test"}

// Evaluation is a model's accuracy on one set.
type Evaluation struct {
	Model    string
	Split    string
	Images   int
	Correct  int
	Accuracy float64
	Classes  []string
	PerClass []float64 // accuracy per class, in Classes order
}

// Evaluate measures the accuracy of the tfcifar export in modelDir on one
// set of CIFAR-10 images of the export's classes: "train" or "val" (as the
// data section splits them) or "test" (the official test images). An
// export that records its pixel scale gets raw pixels and applies it
// itself; an older one gets pixels times data.scale. load says whether
// the model is trusted (savedmodel.Load).
func Evaluate(ctx context.Context, modelDir string, data config.Data, split string, load savedmodel.LoadOptions) (*Evaluation, error) {
	if !slices.Contains(Splits, split) {
		return nil, fmt.Errorf("split %q: want one of %v", split, Splits)
	}
	m, err := savedmodel.Load(ctx, modelDir, load)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	ds, _, err := loadData(ctx, data, nil)
	if err != nil {
		return nil, err
	}
	classes, err := classIndices(m.Classes, ds.Train.Classes, modelDir)
	if err != nil {
		return nil, err
	}
	var set *cifar.Set
	switch split {
	case "test":
		_, set, err = ds.Split(classes, cifar.SplitStandard, 0)
	default:
		var tr, val *cifar.Set
		tr, val, err = ds.Split(classes, cifar.SplitKind(data.Split), data.ValidationFraction)
		set = tr
		if split == "val" {
			set = val
		}
	}
	if err != nil {
		return nil, err
	}
	if set.Len() == 0 {
		return nil, fmt.Errorf("split %q has no images", split)
	}
	ev := &Evaluation{Model: modelDir, Split: split, Images: set.Len(), Classes: m.Classes}
	right := make([]int, len(m.Classes))
	count := make([]int, len(m.Classes))
	scale := float32(1)
	if m.Scale == 0 {
		scale = float32(data.Scale)
	}
	b := cifar.NewBatcher(set, 500, scale, 0)
	i := 0
	for batch := range b.Epoch(0, false) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		_, ids, err := m.Predict(batch.Images, batch.N)
		if err != nil {
			return nil, err
		}
		for j, id := range ids {
			label := int(set.Labels[i+j])
			count[label]++
			if int(id) == label {
				right[label]++
				ev.Correct++
			}
		}
		i += batch.N
	}
	ev.Accuracy = float64(ev.Correct) / float64(ev.Images)
	for k := range count {
		if count[k] > 0 {
			ev.PerClass = append(ev.PerClass, float64(right[k])/float64(count[k]))
		} else {
			ev.PerClass = append(ev.PerClass, 0)
		}
	}
	return ev, nil
}

// classIndices maps an export's class names to CIFAR-10 labels.
func classIndices(names, all []string, dir string) ([]int, error) {
	out := make([]int, len(names))
	for i, n := range names {
		k := slices.Index(all, n)
		if k < 0 {
			return nil, fmt.Errorf("%s: class %q is not a CIFAR-10 class (%v)", dir, n, all)
		}
		out[i] = k
	}
	return out, nil
}

// Guess is one class and its probability.
type Guess struct {
	Class       string
	Probability float64
}

// Prediction is the top classes of one image file.
type Prediction struct {
	File string
	Top  []Guess
}

// Limits on the images Predict reads, checked before decoding them.
const (
	MaxImageBytes  = 32 << 20 // file size
	MaxImagePixels = 1 << 24  // width x height: 16 megapixels, e.g. 4096 x 4096
)

// PredictOptions tune Predict. Top is how many classes to return per
// image. Scale multiplies the 0-255 pixel values for an export that does
// not record its training scale (0 means 1); for one that does, the export
// applies its own scale and a Scale that disagrees with it is an error.
// Load says whether the model is trusted (savedmodel.Load).
type PredictOptions struct {
	Top   int
	Scale float64
	Load  savedmodel.LoadOptions
}

// Predict classifies PNG or JPEG files with the tfcifar export in modelDir.
// Images of another size are resized to the model's input (bilinear);
// files larger than MaxImageBytes or MaxImagePixels are refused before
// being decoded. It returns the top classes of each file, most probable
// first.
func Predict(ctx context.Context, modelDir string, files []string, opt PredictOptions) ([]Prediction, error) {
	m, err := savedmodel.Load(ctx, modelDir, opt.Load)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	in := m.Network.Input
	if len(in) != 3 || in[2] != 3 {
		return nil, fmt.Errorf("%s: model input %v is not an RGB image", modelDir, in)
	}
	scale := float32(1)
	switch {
	case m.Scale != 0 && opt.Scale != 0 && !sameScale(opt.Scale, m.Scale):
		return nil, fmt.Errorf("%s applies its training pixel scale %g itself (assets/scale.txt); -scale %g disagrees, leave it out", modelDir, m.Scale, opt.Scale)
	case m.Scale == 0 && opt.Scale != 0:
		scale = float32(opt.Scale)
	}
	pixels := make([]float32, 0, len(files)*in[0]*in[1]*3)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		px, err := readImage(f, in[1], in[0], scale)
		if err != nil {
			return nil, err
		}
		pixels = append(pixels, px...)
	}
	probs, _, err := m.Predict(pixels, len(files))
	if err != nil {
		return nil, err
	}
	k := len(m.Classes)
	out := make([]Prediction, len(files))
	for i, f := range files {
		row := probs[i*k : (i+1)*k]
		idx := make([]int, k)
		for j := range idx {
			idx[j] = j
		}
		sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
		out[i].File = f
		for _, j := range idx[:min(opt.Top, k)] {
			out[i].Top = append(out[i].Top, Guess{Class: m.Classes[j], Probability: float64(row[j])})
		}
	}
	return out, nil
}

// readImage reads a PNG or JPEG file (at most MaxImageBytes) into w x h
// RGB float32 pixels (NHWC order, values 0-255 times scale).
func readImage(path string, w, h int, scale float32) ([]float32, error) {
	b, err := capped.ReadFile(path, MaxImageBytes)
	if err != nil {
		return nil, err
	}
	px, err := decodeImage(b, w, h, scale)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return px, nil
}

// decodeImage decodes a PNG or JPEG image of at most MaxImagePixels,
// checked from its header first, and resizes it to w x h when needed.
func decodeImage(b []byte, w, h int, scale float32) ([]float32, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not a PNG or JPEG image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return nil, fmt.Errorf("image of %d x %d pixels; want at most %d pixels (e.g. 4096 x 4096)", cfg.Width, cfg.Height, MaxImagePixels)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not a PNG or JPEG image: %w", err)
	}
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	if b := img.Bounds(); b.Dx() == w && b.Dy() == h {
		draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	} else {
		draw.BiLinear.Scale(rgba, rgba.Bounds(), img, b, draw.Src, nil)
	}
	out := make([]float32, 0, w*h*3)
	for i := 0; i < len(rgba.Pix); i += 4 {
		out = append(out, float32(rgba.Pix[i])*scale, float32(rgba.Pix[i+1])*scale, float32(rgba.Pix[i+2])*scale)
	}
	return out, nil
}
