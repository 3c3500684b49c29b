package graph

import (
	"math"
	"reflect"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tftest"
)

// augmentations are the random layers, as tests build them.
var augmentations = []config.Layer{
	{Type: config.RandomFlip},
	{Type: config.RandomTranslation, HeightFactor: config.Range{0.2}, WidthFactor: config.Range{0.2}},
	{Type: config.RandomBrightness, Factor: config.Range{0.2}},
	{Type: config.RandomContrast, Factor: config.Range{0.5}},
}

// layerOutput builds net (one layer on [6 8 3] images) with seed and
// returns its output on px for each of steps training steps (training) or
// once in inference.
func layerOutput(t *testing.T, l config.Layer, seed int64, px [][][][]float32, training bool, steps int) [][][][][]float32 {
	t.Helper()
	net := config.Network{Input: []int{6, 8, 3}, Layers: []config.Layer{l}}.Named()
	s, m := build(t, net, seed)
	var sess *tf.Session
	if len(m.Variables) > 0 {
		sess = session(t, s, m)
	} else {
		sess = tftest.Session(t, s)
	}
	feeds := map[tf.Output]*tf.Tensor{m.Images: tftest.Tensor(t, px), m.Training: tftest.Tensor(t, training)}
	var outs [][][][][]float32
	for range steps {
		var updates []*tf.Operation
		if training {
			updates = m.Updates
		}
		outs = append(outs, run(t, sess, feeds, []tf.Output{m.Outputs[0]}, updates)[0].Value().([][][][]float32))
	}
	return outs
}

// pixels are 16 images [6 8 3] with distinct values in [0, 255].
func pixels() [][][][]float32 {
	return images(16, 6, 8, 3, func(i int) float32 { return float32((i*37)%251) + 0.5 })
}

func TestAugmentationIsIdentityAtInference(t *testing.T) {
	px := pixels()
	for _, l := range augmentations {
		t.Run(string(l.Type), func(t *testing.T) {
			if got := layerOutput(t, l, 1, px, false, 1)[0]; !reflect.DeepEqual(got, px) {
				t.Error("inference output differs from the input")
			}
		})
	}
}

func TestAugmentationIsSeeded(t *testing.T) {
	px := pixels()
	for _, l := range augmentations {
		t.Run(string(l.Type), func(t *testing.T) {
			a := layerOutput(t, l, 7, px, true, 2)
			b := layerOutput(t, l, 7, px, true, 2)
			other := layerOutput(t, l, 8, px, true, 1)
			if !reflect.DeepEqual(a, b) {
				t.Error("two builds with one seed drew differently")
			}
			if reflect.DeepEqual(a[0], px) {
				t.Error("training output equals the input: nothing was drawn")
			}
			if reflect.DeepEqual(a[0], a[1]) {
				t.Error("the second step drew as the first")
			}
			if reflect.DeepEqual(a[0], other[0]) {
				t.Error("another seed drew the same")
			}
		})
	}
}

// mirror returns img flipped left-right and/or top-bottom.
func mirror(img [][][]float32, horizontal, vertical bool) [][][]float32 {
	h, w := len(img), len(img[0])
	out := make([][][]float32, h)
	for y := range out {
		out[y] = make([][]float32, w)
		for x := range out[y] {
			sy, sx := y, x
			if vertical {
				sy = h - 1 - y
			}
			if horizontal {
				sx = w - 1 - x
			}
			out[y][x] = img[sy][sx]
		}
	}
	return out
}

func TestRandomFlipFlips(t *testing.T) {
	px := pixels()
	for _, mode := range []config.FlipMode{config.Horizontal, config.Vertical, config.HorizontalAndVertical} {
		t.Run(string(mode), func(t *testing.T) {
			out := layerOutput(t, config.Layer{Type: config.RandomFlip, Mode: mode}, 3, px, true, 1)[0]
			flipped := 0
			for i, img := range out {
				switch {
				case reflect.DeepEqual(img, mirror(px[i], mode != config.Vertical, mode != config.Horizontal)):
					flipped++
				case !reflect.DeepEqual(img, px[i]):
					t.Fatalf("image %d is neither the input nor its %s mirror", i, mode)
				}
			}
			if flipped == 0 || flipped == len(px) {
				t.Errorf("%d of %d images flipped, want some but not all", flipped, len(px))
			}
		})
	}
}

func TestRandomTranslationShifts(t *testing.T) {
	px := pixels()
	// A fixed shift of a quarter of the width (2 of 8 columns) right and a
	// third of the height (2 of 6 rows) up, zeros shifted in.
	l := config.Layer{Type: config.RandomTranslation, WidthFactor: config.Range{0.25, 0.25}, HeightFactor: config.Range{-1.0 / 3, -1.0 / 3},
		FillMode: config.Constant}
	out := layerOutput(t, l, 3, px, true, 1)[0]
	for i, img := range out {
		for y := range img {
			for x := range img[y] {
				want := []float32{0, 0, 0}
				if sy, sx := y+2, x-2; sy < 6 && sx >= 0 {
					want = px[i][sy][sx]
				}
				if !reflect.DeepEqual(img[y][x], want) {
					t.Fatalf("image %d pixel (%d, %d) = %v, want %v", i, y, x, img[y][x], want)
				}
			}
		}
	}
}

func TestRandomBrightnessAndContrast(t *testing.T) {
	px := pixels()
	bright := layerOutput(t, config.Layer{Type: config.RandomBrightness, Factor: config.Range{0.1}, ValueRange: []float64{-1000, 1000}}, 3, px, true, 1)[0]
	contrast := layerOutput(t, config.Layer{Type: config.RandomContrast, Factor: config.Range{0.5}, ValueRange: []float64{-1000, 1000}}, 3, px, true, 1)[0]
	clipped := layerOutput(t, config.Layer{Type: config.RandomBrightness, Factor: config.Range{1, 1}}, 3, px, true, 1)[0]
	for i := range px {
		delta := bright[i][0][0][0] - px[i][0][0][0]
		if math.Abs(float64(delta)) > 0.1*2000+1e-3 {
			t.Errorf("image %d: brightness moved by %g, want at most 200", i, delta)
		}
		for y := range px[i] {
			for x := range px[i][y] {
				for c, v := range px[i][y][x] {
					if d := bright[i][y][x][c] - v; math.Abs(float64(d-delta)) > 1e-3 {
						t.Fatalf("image %d: brightness added %g and %g, want one delta per image", i, delta, d)
					}
					if clipped[i][y][x][c] != 255 {
						t.Fatalf("image %d: brightness +1 gave %g, want 255 (value_range clip)", i, clipped[i][y][x][c])
					}
				}
			}
		}
		for c := range 3 {
			var in, out float64
			for y := range px[i] {
				for x := range px[i][y] {
					in += float64(px[i][y][x][c])
					out += float64(contrast[i][y][x][c])
				}
			}
			if math.Abs(in-out) > 0.1 {
				t.Errorf("image %d channel %d: contrast moved the mean from %g to %g", i, c, in/48, out/48)
			}
		}
	}
}

func TestRescalingAndNormalization(t *testing.T) {
	px := pixels()
	scaled := layerOutput(t, config.Layer{Type: config.Rescaling, Scale: 1.0 / 127.5, Offset: -1}, 1, px, false, 1)[0]
	mean, variance := []float64{100, 120, 140}, []float64{4, 9, 0}
	norm := layerOutput(t, config.Layer{Type: config.Normalization, Mean: mean, Variance: variance}, 1, px, true, 1)[0]
	for i := range px {
		for y := range px[i] {
			for x := range px[i][y] {
				for c, v := range px[i][y][x] {
					if want := v*float32(1.0/127.5) + -1; scaled[i][y][x][c] != want {
						t.Fatalf("rescaling %g gave %g, want %g", v, scaled[i][y][x][c], want)
					}
					std := max(float32(math.Sqrt(variance[c])), 1e-7)
					if want := (v - float32(mean[c])) / std; norm[i][y][x][c] != want {
						t.Fatalf("normalization %g (channel %d) gave %g, want %g", v, c, norm[i][y][x][c], want)
					}
				}
			}
		}
	}
}

func TestNormalizationNotAdapted(t *testing.T) {
	net := config.Network{Input: []int{4, 4, 3}, Layers: []config.Layer{{Type: config.Normalization, Adapt: true}}}
	if _, err := Build(op.NewScope(), net, Options{}); err == nil || !strings.Contains(err.Error(), "adapt") {
		t.Errorf("Build = %v, want an error naming adapt", err)
	}
}

func TestNormalizationSummaryNotTrainable(t *testing.T) {
	net := config.Network{Input: []int{4, 4, 3}, Layers: []config.Layer{
		{Type: config.Normalization, Mean: config.Values{1}, Variance: config.Values{2}},
		{Type: config.Flatten}, {Type: config.Dense, Units: 2},
	}}.Named()
	_, m := build(t, net, 1)
	if l := m.Layers[0]; l.Params != 6 || l.Trainable {
		t.Errorf("normalization: %d params, trainable %v; want 6, not trainable", l.Params, l.Trainable)
	}
	if total, trainable := m.Params(); total != 6+48*2+2 || trainable != 48*2+2 {
		t.Errorf("Params = %d total, %d trainable; want %d, %d", total, trainable, 6+48*2+2, 48*2+2)
	}
}
