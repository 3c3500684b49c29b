package workflow

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/image/draw"

	"github.com/tfcifar/tfcifar/infer"
	"github.com/tfcifar/tfcifar/internal/cifartest"
	"github.com/tfcifar/tfcifar/internal/tolerance"
	"github.com/tfcifar/tfcifar/savedmodel"
)

// scale255 is 1/255 as a config value.
const scale255 = "0.00392156862745098"

// TestScaleTravelsWithExport trains with data.scale 1/255 and checks that
// eval with the default scale gets the accuracy training measured, that
// predict refuses a disagreeing -scale, and that reusing the export's
// layers with another data.scale is refused.
func TestScaleTravelsWithExport(t *testing.T) {
	data := cifartest.RealDir(t)
	if testing.Short() {
		data = fixture(t, 500)
	}
	cfg := smallConfig(t, data, "data.scale="+scale255, "stages=[{name: base, classes: [0,1], model: {input: [32,32,3], layers: [{type: conv2d, filters: 4, kernel: [3,3], activation: relu}, {type: flatten}, {type: dense, units: 2, activation: softmax}]}, train: {epochs: 2}}]")
	rep, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := rep.Stages[0].Export
	want := rep.Stages[0].Epochs[1].ValAccuracy

	plain := smallConfig(t, data)
	ev, err := infer.Evaluate(context.Background(), dir, plain.Data, "val", savedmodel.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !tolerance.EqualWithinAbs(ev.Accuracy, want, 1e-6) {
		t.Errorf("eval with the default data.scale: accuracy %.6f, training measured %.6f", ev.Accuracy, want)
	}
	if !testing.Short() && want < 0.6 {
		t.Errorf("val accuracy %.4f on airplanes and automobiles; the comparison would prove little", want)
	}

	img := writePNG(t, 32, 32)
	if _, err := infer.Predict(context.Background(), dir, []string{img}, infer.PredictOptions{Top: 1, Scale: 1}); err == nil ||
		!strings.Contains(err.Error(), "training pixel scale 0.00392156862745098") || !strings.Contains(err.Error(), "-scale 1 disagrees") {
		t.Errorf("predict -scale 1 on a 1/255 export: err = %v, want a refusal naming both scales", err)
	}
	a, err := infer.Predict(context.Background(), dir, []string{img}, infer.PredictOptions{Top: 5})
	if err != nil {
		t.Fatal(err)
	}
	b, err := infer.Predict(context.Background(), dir, []string{img}, infer.PredictOptions{Top: 5, Scale: 1.0 / 255})
	if err != nil {
		t.Fatal(err)
	}
	if a[0].Top[0] != b[0].Top[0] {
		t.Errorf("predict without -scale %v, with the export's -scale %v; want the same", a[0].Top[0], b[0].Top[0])
	}

	checkPredictMatchesGo(t, dir)

	reuse := smallConfig(t, data,
		"stages=[{name: transfer, classes: [5,6,7,8,9], model: {input: [32,32,3], from: {savedmodel: "+dir+", up_to: flatten}, layers: [{type: dense, units: 5, activation: softmax}]}}]")
	_, err = Run(context.Background(), reuse, Options{})
	if err == nil || !strings.Contains(err.Error(), "data.scale 0.00392156862745098, this run's data.scale is 1") {
		t.Errorf("reusing a 1/255 export with data.scale 1: err = %v, want one naming both scales", err)
	}
}

// writePNG writes a w x h gradient PNG and returns its path.
func writePNG(t *testing.T, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 8), uint8(y * 8), uint8(x + y), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "img.png")
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// checkPredictMatchesGo checks that Predict, which decodes and resizes in
// TensorFlow, gives the probabilities the export gives to pixels decoded
// and resized (bilinear) in Go, as predict did before.
func checkPredictMatchesGo(t *testing.T, dir string) {
	t.Helper()
	for _, size := range [][2]int{{32, 32}, {48, 40}} {
		img := writePNG(t, size[0], size[1])
		got, err := infer.Predict(context.Background(), dir, []string{img}, infer.PredictOptions{Top: 2})
		if err != nil {
			t.Fatal(err)
		}
		m, err := savedmodel.Load(context.Background(), dir, savedmodel.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		probs, _, err := m.Predict(goPixels(t, img, 32, 32), 1)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range got[0].Top {
			want := float64(probs[slices.Index(m.Classes, g.Class)])
			if !tolerance.EqualWithinAbs(g.Probability, want, 0.02) {
				t.Errorf("%d x %d image: P(%s) = %.4f, %.4f with Go decoding", size[0], size[1], g.Class, g.Probability, want)
			}
		}
	}
}

// goPixels decodes the image file in Go and resizes it to w x h with
// x/image's bilinear filter: predict's decoding before it moved into
// TensorFlow.
func goPixels(t *testing.T, path string, w, h int) []float32 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.BiLinear.Scale(rgba, rgba.Bounds(), img, img.Bounds(), draw.Src, nil)
	out := make([]float32, 0, w*h*3)
	for i := 0; i < len(rgba.Pix); i += 4 {
		out = append(out, float32(rgba.Pix[i]), float32(rgba.Pix[i+1]), float32(rgba.Pix[i+2]))
	}
	return out
}

// TestStageScale checks that a stage's own data.scale, not the top-level
// one, scales its training images and travels with its export.
func TestStageScale(t *testing.T) {
	cfg := smallConfig(t, fixture(t, 200), "data.scale=1",
		"stages=[{name: base, classes: [0,1], data: {scale: "+scale255+"}, model: {input: [32,32,3], layers: [{type: flatten}, {type: dense, units: 2, activation: softmax}]}, train: {epochs: 1}}]")
	rep, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	meta, err := savedmodel.ReadMeta(rep.Stages[0].Export)
	if err != nil {
		t.Fatal(err)
	}
	if !meta.ScaleMatches(1.0 / 255) {
		t.Errorf("export records data.scale %g, want the stage's %s", meta.Scale, scale255)
	}
}
