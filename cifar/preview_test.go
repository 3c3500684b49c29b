package cifar

import (
	"bytes"
	"image"
	"image/png"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/internal/golden"
)

func TestPreview(t *testing.T) {
	s := fakeSet(8, 6, 9, 9, 4, 1)
	var buf bytes.Buffer
	if err := Preview(&buf, s, 5, 3); err != nil {
		t.Fatal(err)
	}
	got, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	// 3 columns, 2 rows of 128x128 tiles with a 16-pixel caption and 6-pixel gaps.
	if b := got.Bounds(); b.Dx() != 3*134+6 || b.Dy() != 2*150+6 {
		t.Fatalf("size %dx%d, want %dx%d", b.Dx(), b.Dy(), 3*134+6, 2*150+6)
	}
	// Image 4 sits in row 1, column 1; its pixel (y=10, x=20) covers a 4x4 square.
	x0, y0 := 6+134, 6+150
	src := s.Image(4)[(10*32+20)*3:]
	for _, d := range [][2]int{{0, 0}, {3, 3}} {
		r, g, b, _ := got.At(x0+20*4+d[0], y0+10*4+d[1]).RGBA()
		if byte(r>>8) != src[0] || byte(g>>8) != src[1] || byte(b>>8) != src[2] {
			t.Errorf("zoomed pixel: got RGB %d,%d,%d, want %v", r>>8, g>>8, b>>8, src[:3])
		}
	}
	// The caption strip under a tile has dark text pixels.
	if !hasDark(got, image.Rect(x0, y0+128, x0+128, y0+128+16)) {
		t.Error("no caption text under image 4")
	}
	if hasDark(got, image.Rect(x0+134, y0, x0+2*134, y0+150)) {
		t.Error("the empty sixth cell is not blank")
	}
	path := filepath.Join("testdata", "preview.golden.png")
	want, err := png.Decode(bytes.NewReader(golden.Want(t, path, buf.Bytes())))
	if err != nil {
		t.Fatal(err)
	}
	if want.Bounds() != got.Bounds() {
		t.Fatalf("bounds %v, golden %v", got.Bounds(), want.Bounds())
	}
	for y := range want.Bounds().Dy() {
		for x := range want.Bounds().Dx() {
			if got.At(x, y) != want.At(x, y) {
				t.Fatalf("pixel (%d,%d) differs from %s (run go test -update after checking it)", x, y, path)
			}
		}
	}
}

func hasDark(im image.Image, r image.Rectangle) bool {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c, _, _, _ := im.At(x, y).RGBA(); c < 0x8000 {
				return true
			}
		}
	}
	return false
}

func TestPreviewErrors(t *testing.T) {
	s := fakeSet(1, 1, 2)
	tests := []struct {
		desc    string
		s       *Set
		n, cols int
		reason  string
	}{
		{"nil set", nil, 4, 2, "empty set"},
		{"empty set", &Set{}, 4, 2, "empty set"},
		{"zero images", s, 0, 2, "n 0 and cols 2 must be at least 1"},
		{"zero columns", s, 4, 0, "must be at least 1"},
		{"short image bytes", &Set{Images: make([]byte, 5), Labels: []uint8{0}}, 1, 1, "5 bytes for 1 images"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			err := Preview(&bytes.Buffer{}, tc.s, tc.n, tc.cols)
			if err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("got %v, want an error containing %q", err, tc.reason)
			}
		})
	}
}
