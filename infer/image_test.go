package infer

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/image/draw"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/imagefile"
	"github.com/tfcifar/tfcifar/internal/foldertest"
)

func TestReadImageErrors(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.png")
	if err := os.WriteFile(huge, foldertest.HugePNG(100000, 100000), 0o644); err != nil {
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
		{"not an image", text, "text.png: not a PNG, JPEG, GIF or BMP image"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := ReadImage(tc.file, 32, 32, 1)
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
	f.Add(foldertest.HugePNG(100000, 100000))
	d := testDecoder(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		px, err := d.Decode(b, 32, 32, 1)
		if err == nil && len(px) != 32*32*3 {
			t.Fatalf("%d values, want %d", len(px), 32*32*3)
		}
	})
}

// goDecode decodes b in Go and resizes it to w x h with x/image's bilinear
// filter, as predict did before decoding moved into TensorFlow.
func goDecode(t *testing.T, b []byte, w, h int) []float32 {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	if img.Bounds().Dx() == w && img.Bounds().Dy() == h {
		draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src)
	} else {
		draw.BiLinear.Scale(rgba, rgba.Bounds(), img, img.Bounds(), draw.Src, nil)
	}
	out := make([]float32, 0, w*h*3)
	for i := 0; i < len(rgba.Pix); i += 4 {
		out = append(out, float32(rgba.Pix[i]), float32(rgba.Pix[i+1]), float32(rgba.Pix[i+2]))
	}
	return out
}

// gradient returns a smooth w x h RGB image.
func gradient(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(255 * x / w), uint8(255 * y / h), uint8(128 + 64*math.Sin(float64(x+y)/8)), 255})
		}
	}
	return img
}

// TestDecodeMatchesGo checks the TensorFlow decoding and resizing against
// Go's: equal for PNG images of the model's size, within a few levels of
// 255 for JPEG (two decoders) and for resized smooth images. The values
// are in 0-255 units.
func TestDecodeMatchesGo(t *testing.T) {
	tests := []struct {
		desc       string
		w, h       int
		jpeg       bool
		mean, peak float64 // mean and largest absolute difference allowed
	}{
		{"png 32 x 32", 32, 32, false, 0, 0},
		{"jpeg 32 x 32", 32, 32, true, 1, 8},
		{"png 64 x 64, downscaled", 64, 64, false, 0.5, 6},
		{"png 20 x 24, upscaled", 20, 24, false, 0.5, 2},
		// x/image widens its bilinear kernel when it downscales (smoothing);
		// TensorFlow's samples the four nearest pixels.
		{"jpeg 100 x 80, downscaled", 100, 80, true, 2, 15},
	}
	d := testDecoder(t) // one decoder for every image, as Predict uses
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var b bytes.Buffer
			var err error
			if tc.jpeg {
				err = jpeg.Encode(&b, gradient(tc.w, tc.h), &jpeg.Options{Quality: 95})
			} else {
				err = png.Encode(&b, gradient(tc.w, tc.h))
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Decode(b.Bytes(), 32, 32, 0.5)
			if err != nil {
				t.Fatal(err)
			}
			want := goDecode(t, b.Bytes(), 32, 32)
			if len(got) != len(want) {
				t.Fatalf("%d values, want %d", len(got), len(want))
			}
			sum, peak := 0.0, 0.0
			for i := range got {
				d := math.Abs(float64(got[i])/0.5 - float64(want[i]))
				sum += d
				peak = max(peak, d)
			}
			if mean := sum / float64(len(got)); mean > tc.mean || peak > tc.peak {
				t.Errorf("mean difference %.3f, largest %.3f; want at most %g and %g", mean, peak, tc.mean, tc.peak)
			}
		})
	}
}

func TestTop(t *testing.T) {
	got := top([]float32{0.1, 0.4, 0.1, 0.4}, []string{"a", "b", "c", "d"}, 3)
	want := []Guess{{1, "b", float64(float32(0.4))}, {3, "d", float64(float32(0.4))}, {0, "a", float64(float32(0.1))}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := top([]float32{1}, []string{"a"}, 5); len(got) != 1 {
		t.Errorf("top 5 of one class: %v", got)
	}
}

func TestClassIndices(t *testing.T) {
	all := []string{"airplane", "automobile", "bird"}
	if got, err := classIndices([]string{"bird", "airplane"}, all, "m"); err != nil || !slices.Equal(got, []int{2, 0}) {
		t.Errorf("got %v, %v; want [2 0]", got, err)
	}
	if _, err := classIndices([]string{"dog"}, all, "m"); err == nil || !strings.Contains(err.Error(), `m: class "dog" is not a class of the data`) {
		t.Errorf("got %v, want an error naming the model and the class", err)
	}
}

func TestSplits(t *testing.T) {
	s := Splits()
	s[0] = "changed"
	if Splits()[0] != "train" {
		t.Error("Splits returns the package's own list")
	}
}

func TestPredictRefusesTop(t *testing.T) {
	for _, n := range []int{0, -1} {
		_, err := Predict(context.Background(), filepath.Join(t.TempDir(), "none"), nil, PredictOptions{Top: n})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("top %d: want at least 1", n)) {
			t.Errorf("Predict with top %d: %v, want an error naming top", n, err)
		}
	}
}

// testDecoder opens a decoder that is closed when tb ends.
func testDecoder(tb testing.TB) *imagefile.Decoder {
	tb.Helper()
	d, err := newDecoder(config.Run{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := d.Close(); err != nil {
			tb.Error(err)
		}
	})
	return d
}
