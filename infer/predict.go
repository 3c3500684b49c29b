package infer

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/tfcifar/tfcifar/savedmodel"
)

// Guess is one class, by index into the model's classes and by name,
// and its probability.
type Guess struct {
	ClassID     int
	Class       string
	Probability float64
}

// Prediction is the top classes of one image file, or why the file could
// not be classified (Err, which names the file; Top is then empty).
type Prediction struct {
	File string
	Top  []Guess
	Err  error
}

// PredictOptions tune Predict. Top is how many classes to return per
// image. Scale multiplies the 0-255 pixel values for an export that does
// not record its training scale (0 means 1); for one that does, the export
// applies its own scale and a Scale that disagrees with it is an error.
// Load says whether the model is trusted and holds the session settings
// (savedmodel.Load), which the image decoder shares.
type PredictOptions struct {
	Top   int
	Scale float64
	Load  savedmodel.LoadOptions
}

// Predict classifies PNG, JPEG, GIF or BMP files with the tfcifar export in modelDir.
// Images of another size are resized to the model's input (bilinear, in
// TensorFlow); files larger than MaxImageBytes or MaxImagePixels are
// refused before being decoded. It returns one Prediction per file, in
// order: its top classes, most probable first, or the error that kept it
// from being classified (unreadable, not an image, too large); the other
// files are classified all the same. The returned error is for what stops
// them all: the model, the session, ctx. opt.Top must be at least 1; a
// model whose input image is larger than MaxImagePixels is refused before
// any file is read. Files are classified savedmodel.MaxBatch at a time.
func Predict(ctx context.Context, modelDir string, files []string, opt PredictOptions) (out []Prediction, err error) {
	if opt.Top < 1 {
		return nil, fmt.Errorf("predict: top %d: want at least 1 class per image", opt.Top)
	}
	m, err := savedmodel.Load(ctx, modelDir, opt.Load)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	in := m.Network.Input
	if len(in) != 3 || in[2] != 3 {
		return nil, fmt.Errorf("%s: model input %v is not an RGB image", modelDir, in)
	}
	if int64(in[0])*int64(in[1]) > MaxImagePixels {
		return nil, fmt.Errorf("%s: model input %v is larger than %d pixels, the limit for images", modelDir, in, MaxImagePixels)
	}
	scale := float32(1)
	switch {
	case m.Scale != 0 && opt.Scale != 0 && !m.ScaleMatches(opt.Scale):
		return nil, fmt.Errorf("%s applies its training pixel scale %g itself (assets/scale.txt); -scale %g disagrees, leave it out", modelDir, m.Scale, opt.Scale)
	case m.Scale == 0 && opt.Scale != 0:
		scale = float32(opt.Scale)
	}
	d, err := newDecoder(opt.Load.Run)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, d.Close()) }()
	k := len(m.Classes)
	out = make([]Prediction, len(files))
	for i, f := range files {
		out[i].File = f
	}
	for start := 0; start < len(files); start += savedmodel.MaxBatch {
		batch := out[start:min(start+savedmodel.MaxBatch, len(files))]
		pixels := make([]float32, 0, len(batch)*in[0]*in[1]*3)
		var ok []int // indices into batch of the files read
		for i := range batch {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			px, err := d.Read(batch[i].File, in[1], in[0], scale)
			if err != nil {
				batch[i].Err = err
				continue
			}
			pixels = append(pixels, px...)
			ok = append(ok, i)
		}
		if len(ok) == 0 {
			continue
		}
		probs, _, err := m.Predict(pixels, len(ok))
		if err != nil {
			return nil, err
		}
		for j, i := range ok {
			batch[i].Top = top(probs[j*k:(j+1)*k], m.Classes, opt.Top)
		}
	}
	return out, nil
}

// top returns the n most probable classes of one row of probabilities,
// most probable first; ties keep the class order.
func top(row []float32, classes []string, n int) []Guess {
	idx := make([]int, len(row))
	for j := range idx {
		idx[j] = j
	}
	sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
	out := make([]Guess, 0, min(n, len(row)))
	for _, j := range idx[:min(n, len(row))] {
		out = append(out, Guess{ClassID: j, Class: classes[j], Probability: float64(row[j])})
	}
	return out
}
