package graph

import (
	"encoding/json"
	"path/filepath"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/pyenv"
	"github.com/tfcifar/tfcifar/internal/tftest"
)

// TestPreprocessingMatchesKeras runs the preprocessing and augmentation
// layers at inference on raw pixels and checks, with Keras' own layers of
// the same names and settings, that they compute the same: the random ones
// the identity, rescaling and normalization Keras' formulas.
func TestPreprocessingMatchesKeras(t *testing.T) {
	specs := []map[string]any{
		{"type": "random_flip", "mode": "horizontal"},
		{"type": "random_translation", "height_factor": 0.1, "width_factor": 0.2, "fill_mode": "nearest"},
		{"type": "random_brightness", "factor": 0.1},
		{"type": "random_contrast", "factor": 0.2},
		{"type": "rescaling", "scale": 1.0 / 127.5, "offset": -1},
		{"type": "normalization", "mean": []float64{-0.1, 0, 0.2}, "variance": []float64{0.25, 1e-16, 2}},
	}
	net := config.Network{Input: []int{6, 8, 3}, Layers: []config.Layer{
		{Type: config.RandomFlip, Mode: config.Horizontal},
		{Type: config.RandomTranslation, HeightFactor: config.Range{0.1}, WidthFactor: config.Range{0.2}, FillMode: config.Nearest},
		{Type: config.RandomBrightness, Factor: config.Range{0.1}},
		{Type: config.RandomContrast, Factor: config.Range{0.2}},
		{Type: config.Rescaling, Scale: 1.0 / 127.5, Offset: -1},
		{Type: config.Normalization, Mean: config.Values{-0.1, 0, 0.2}, Variance: config.Values{0.25, 1e-16, 2}},
	}}.Named()
	px := pixels()
	s, m := build(t, net, 1)
	out := run(t, session(t, s, m), map[tf.Output]*tf.Tensor{m.Images: tftest.Tensor(t, px)}, []tf.Output{m.Outputs[len(m.Outputs)-1]}, nil)[0]
	tmp := t.TempDir()
	files := map[string]any{"images.f32": flat(px), "output.f32": flat(out.Value().([][][][]float32))}
	pyenv.WriteFiles(t, tmp, files)
	spec, err := json.Marshal(specs)
	if err != nil {
		t.Fatal(err)
	}
	res := pyenv.Run(t, filepath.Join("interop", "check_preprocessing.py"),
		filepath.Join(tmp, "images.f32"), filepath.Join(tmp, "output.f32"), string(spec), "--shape", "6,8,3")
	t.Log(res)
}

// flat returns the values of a batch of images in row-major order.
func flat(images [][][][]float32) []float32 {
	var v []float32
	for _, img := range images {
		for _, row := range img {
			for _, px := range row {
				v = append(v, px...)
			}
		}
	}
	return v
}
