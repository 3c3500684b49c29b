package cifar

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Layout of a preview: each image is scaled up previewZoom times and has
// its class name in a caption strip below it.
const (
	previewZoom    = 4
	previewPad     = 6
	previewCaption = 16
	previewTile    = Width * previewZoom
)

// Preview writes to w a PNG grid of the first n images of s (all of them
// if s has fewer), cols per row, each scaled up 4x (128x128 pixels) with
// its class name written below it (the label number if s has no name for
// it). The reference shows the first four training images as a 2x2 grid:
// Preview(w, train, 4, 2).
func Preview(w io.Writer, s *Set, n, cols int) error {
	switch {
	case s == nil || s.Len() == 0:
		return errors.New("cifar: preview: empty set")
	case n < 1 || cols < 1:
		return fmt.Errorf("cifar: preview: n %d and cols %d must be at least 1", n, cols)
	case s.ImageShape() != [3]int{Height, Width, Channels}:
		return fmt.Errorf("cifar: preview: images of %v, want %v", s.ImageShape(), [3]int{Height, Width, Channels})
	}
	if err := s.Check(); err != nil {
		return fmt.Errorf("cifar: preview: %w", err)
	}
	n = min(n, s.Len())
	cols = min(cols, n)
	rows := (n + cols - 1) / cols
	cellW, cellH := previewTile+previewPad, previewTile+previewCaption+previewPad
	img := image.NewRGBA(image.Rect(0, 0, cols*cellW+previewPad, rows*cellH+previewPad))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	face := basicfont.Face7x13
	for i := range n {
		x0, y0 := previewPad+(i%cols)*cellW, previewPad+(i/cols)*cellH
		if err := s.withImage(i, func(src []byte) { drawZoomed(img, src, x0, y0) }); err != nil {
			return fmt.Errorf("cifar: preview: %w", err)
		}
		name := strconv.Itoa(int(s.Labels[i]))
		if int(s.Labels[i]) < len(s.Classes) {
			name = s.Classes[s.Labels[i]]
		}
		if fit := previewTile / face.Advance; len(name) > fit {
			name = name[:fit]
		}
		d := font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: face}
		tx := x0 + (previewTile-d.MeasureString(name).Round())/2
		d.Dot = fixed.P(tx, y0+previewTile+face.Ascent+2)
		d.DrawString(name)
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("cifar: preview: %w", err)
	}
	return nil
}

// drawZoomed draws one NHWC image at (x0, y0), each pixel as a
// previewZoom x previewZoom square.
func drawZoomed(dst *image.RGBA, im []byte, x0, y0 int) {
	for y := range Height * previewZoom {
		row := dst.Pix[(y0+y)*dst.Stride+x0*4:]
		for x := range Width * previewZoom {
			p := im[((y/previewZoom)*Width+x/previewZoom)*Channels:]
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = p[0], p[1], p[2], 0xff
		}
	}
}
