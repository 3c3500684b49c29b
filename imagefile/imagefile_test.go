package imagefile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color/palette"
	"image/gif"
	"strings"
	"testing"

	"golang.org/x/image/bmp"

	"github.com/tfcifar/tfcifar/config"
)

func animated(t *testing.T, w, h, frames int) []byte {
	t.Helper()
	g := &gif.GIF{}
	for range frames {
		g.Image = append(g.Image, image.NewPaletted(image.Rect(0, 0, w, h), palette.Plan9))
		g.Delay = append(g.Delay, 1)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCheck(t *testing.T) {
	var small bytes.Buffer
	if err := bmp.Encode(&small, image.NewRGBA(image.Rect(0, 0, 3, 2))); err != nil {
		t.Fatal(err)
	}
	hugeBMP := bytes.Clone(small.Bytes())
	binary.LittleEndian.PutUint32(hugeBMP[18:], 20000) // BITMAPINFOHEADER width, height
	binary.LittleEndian.PutUint32(hugeBMP[22:], 20000)
	many := animated(t, 1024, 1024, 17)
	cut := animated(t, 8, 8, 3)
	cut = cut[:len(cut)-30]

	format, w, h, err := Check(small.Bytes())
	if err != nil || format != FormatBMP || w != 3 || h != 2 {
		t.Errorf("Check(3x2 BMP) = %s %d %d %v", format, w, h, err)
	}
	if format, _, _, err := Check(animated(t, 64, 64, 4)); err != nil || format != FormatGIF {
		t.Errorf("Check(4-frame GIF) = %s %v", format, err)
	}
	cases := []struct {
		name string
		b    []byte
		is   error
		want string
	}{
		{"BMP header of 20000 x 20000", hugeBMP, ErrTooLarge, "image of 20000 x 20000 pixels; want at most 16777216 pixels"},
		{"GIF of 17 frames of 1024 x 1024", many, ErrTooLarge, "image of 1024 x 1024 pixels and 17 frames"},
		{"GIF cut in its frames", cut, ErrFormat, "gif: truncated or malformed block structure"},
		{"text", []byte("hello"), ErrFormat, "not a PNG, JPEG, GIF or BMP image"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := Check(tc.b)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check: %v, want %v containing %q", err, tc.is, tc.want)
			}
		})
	}
}

func TestDecodeFormats(t *testing.T) {
	d, err := Open(config.Run{}, JPEGKeras)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	// The first frame of an animated GIF, resized.
	g := &gif.GIF{}
	for i := range 3 {
		f := image.NewPaletted(image.Rect(0, 0, 10, 6), palette.Plan9)
		for p := range f.Pix {
			f.Pix[p] = uint8(i * 40)
		}
		g.Image, g.Delay = append(g.Image, f), append(g.Delay, 1)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	px, err := d.Decode(b.Bytes(), 5, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, gr, bl, _ := palette.Plan9[0].RGBA()
	want := []float32{float32(r >> 8), float32(gr >> 8), float32(bl >> 8)}
	for i, v := range px {
		if v != want[i%3] {
			t.Fatalf("pixel value %g at %d, want the first frame's %g", v, i, want[i%3])
		}
	}
	if len(px) != 5*3*3 {
		t.Errorf("%d values, want 5 x 3 x 3", len(px))
	}
}
