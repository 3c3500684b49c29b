// Package foldertest writes folders of synthetic images for tests: one
// subfolder per class, each class a distinct shape and colour drawn with
// Go's image package on a noisy background, in PNG, JPEG, GIF and BMP
// files of mixed sizes, laid out as Keras' image_dataset_from_directory
// reads them.
package foldertest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"

	"golang.org/x/image/bmp"
)

// Classes are the names of the class folders Write makes, in sorted
// order: each is drawn as its name says.
var Classes = []string{"blue_square", "green_ring", "red_disc", "yellow_bars"}

// Formats are the file formats Write cycles through, as file extensions.
var Formats = []string{".png", ".jpg", ".gif", ".bmp", ".JPEG"}

// Write writes perClass images of each of the first k Classes (k <= 4)
// into dir/<class>/, image i of a class named img<i> with extension
// Formats[i mod 5] and a size from 20x20 to 64x48; the pixels depend
// only on seed, class and i.
func Write(dir string, k, perClass int, seed uint64) error {
	if k > len(Classes) {
		return fmt.Errorf("foldertest: %d classes, have %d", k, len(Classes))
	}
	r := rand.New(rand.NewPCG(seed, 1))
	for c, class := range Classes[:k] {
		if err := os.MkdirAll(filepath.Join(dir, class), 0o755); err != nil {
			return err
		}
		for i := range perClass {
			w, h := 20+r.IntN(45), 20+r.IntN(29)
			ext := Formats[i%len(Formats)]
			b, err := Encode(Draw(c, w, h, r), ext)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, class, fmt.Sprintf("img%03d%s", i, ext)), b, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// Draw draws a w x h image of class c (an index into Classes) over noise
// from r (nil: a fixed one), at a random place and size.
func Draw(c, w, h int, r *rand.Rand) *image.RGBA {
	if r == nil {
		r = rand.New(rand.NewPCG(0, 0))
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(96 + r.IntN(64))
	}
	colours := []color.RGBA{{30, 60, 230, 255}, {40, 200, 60, 255}, {230, 40, 40, 255}, {240, 220, 30, 255}}
	col := colours[c]
	m := min(w, h)
	rad := float64(m) * (0.3 + 0.1*r.Float64())
	cx := float64(w)/2 + (r.Float64()-0.5)*float64(w)*0.2
	cy := float64(h)/2 + (r.Float64()-0.5)*float64(h)*0.2
	for y := range h {
		for x := range w {
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			d2 := dx*dx + dy*dy
			var in bool
			switch c {
			case 0: // square
				in = dx > -rad && dx < rad && dy > -rad && dy < rad
			case 1: // ring
				in = d2 < rad*rad && d2 > rad*rad*0.3
			case 2: // disc
				in = d2 < rad*rad
			default: // horizontal bars
				in = (y/3)%2 == 0
			}
			if in {
				img.SetRGBA(x, y, col)
			}
		}
	}
	return img
}

// Encode encodes img in the format of the file extension ext.
func Encode(img image.Image, ext string) ([]byte, error) {
	var b bytes.Buffer
	var err error
	switch ext {
	case ".png":
		err = png.Encode(&b, img)
	case ".jpg", ".jpeg", ".JPEG":
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
	case ".gif":
		err = gif.Encode(&b, img, &gif.Options{NumColors: 256, Drawer: draw.Src}) // nearest palette colour, no dithering
	case ".bmp":
		err = bmp.Encode(&b, img)
	default:
		err = fmt.Errorf("foldertest: no encoder for %q", ext)
	}
	return b.Bytes(), err
}

// HugePNG returns a 1x1 PNG whose header claims w x h pixels (CRC fixed),
// for tests of the size checks made before decoding.
func HugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		panic(err) // an in-memory 1x1 image always encodes
	}
	p := b.Bytes()
	// IHDR data starts at 16: width, height; its CRC covers type and data.
	binary.BigEndian.PutUint32(p[16:], w)
	binary.BigEndian.PutUint32(p[20:], h)
	binary.BigEndian.PutUint32(p[29:], crc32.ChecksumIEEE(p[12:29]))
	return p
}
