package workflow

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/internal/cifartest"
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
	ev, err := Evaluate(context.Background(), dir, plain.Data, "val", savedmodel.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(ev.Accuracy-want) > 1e-6 {
		t.Errorf("eval with the default data.scale: accuracy %.6f, training measured %.6f", ev.Accuracy, want)
	}
	if !testing.Short() && want < 0.6 {
		t.Errorf("val accuracy %.4f on airplanes and automobiles; the comparison would prove little", want)
	}

	img := writePNG(t, 32, 32)
	if _, err := Predict(context.Background(), dir, []string{img}, PredictOptions{Top: 1, Scale: 1}); err == nil ||
		!strings.Contains(err.Error(), "training pixel scale 0.00392156862745098") || !strings.Contains(err.Error(), "-scale 1 disagrees") {
		t.Errorf("predict -scale 1 on a 1/255 export: err = %v, want a refusal naming both scales", err)
	}
	a, err := Predict(context.Background(), dir, []string{img}, PredictOptions{Top: 5})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Predict(context.Background(), dir, []string{img}, PredictOptions{Top: 5, Scale: 1.0 / 255})
	if err != nil {
		t.Fatal(err)
	}
	if a[0].Top[0] != b[0].Top[0] {
		t.Errorf("predict without -scale %v, with the export's -scale %v; want the same", a[0].Top[0], b[0].Top[0])
	}

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

// hugePNG returns a PNG whose header claims w x h pixels.
func hugePNG(t testing.TB, w, h uint32) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	p := b.Bytes()
	// IHDR data starts at 16: width, height; its CRC covers type and data.
	binary.BigEndian.PutUint32(p[16:], w)
	binary.BigEndian.PutUint32(p[20:], h)
	binary.BigEndian.PutUint32(p[29:], crc32.ChecksumIEEE(p[12:29]))
	return p
}

func TestReadImageErrors(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.png")
	if err := os.WriteFile(huge, hugePNG(t, 100000, 100000), 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.png")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, MaxImageBytes+1); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "text.png")
	if err := os.WriteFile(text, []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc, file string
		want       string
	}{
		{"header claims 100,000 x 100,000", huge, "huge.png: image of 100000 x 100000 pixels; want at most 16777216 pixels"},
		{"file of 32 MiB and one byte", big, "big.png is larger than the 32 MiB limit"},
		{"device", "/dev/zero", "/dev/zero is not a regular file"},
		{"not an image", text, "text.png: not a PNG or JPEG image"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := readImage(tc.file, 32, 32, 1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// FuzzReadImage feeds image bytes to predict's decoder: it must return
// an error or w x h RGB pixels, never panic or allocate past the limits.
// Seeds are in testdata/fuzz/FuzzReadImage.
func FuzzReadImage(f *testing.F) {
	f.Add(hugePNG(f, 100000, 100000))
	f.Fuzz(func(t *testing.T, b []byte) {
		px, err := decodeImage(b, 32, 32, 1)
		if err == nil && len(px) != 32*32*3 {
			t.Fatalf("%d values, want %d", len(px), 32*32*3)
		}
	})
}
