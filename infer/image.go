package infer

import (
	"errors"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/imagefile"
)

// Limits on the images Predict reads, checked before decoding them
// (package imagefile's).
const (
	MaxImageBytes  = imagefile.MaxBytes  // file size
	MaxImagePixels = imagefile.MaxPixels // width x height: 16 megapixels, e.g. 4096 x 4096
)

// ReadImage reads a PNG, JPEG, GIF or BMP file (at most MaxImageBytes)
// into w x h RGB float32 pixels (HWC order, values 0-255 times scale), as
// Predict does. Errors name the file. It opens a decoder for this one
// image; Predict keeps one open for all its files.
func ReadImage(path string, w, h int, scale float32) (px []float32, err error) {
	d, err := newDecoder(config.Run{})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, d.Close()) }()
	return d.Read(path, w, h, scale)
}

// newDecoder opens predict's decoder: JPEG decoded as Go's image/jpeg does.
func newDecoder(run config.Run) (*imagefile.Decoder, error) {
	return imagefile.Open(run, imagefile.JPEGAccurate)
}
