package infer

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // headers for DecodeConfig
	_ "image/png"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"
	tg "github.com/galeone/tfgo"
	tgimage "github.com/galeone/tfgo/image"

	"github.com/tfcifar/tfcifar/internal/capped"
)

// Limits on the images Predict reads, checked before decoding them.
const (
	MaxImageBytes  = 32 << 20 // file size
	MaxImagePixels = 1 << 24  // width x height: 16 megapixels, e.g. 4096 x 4096
)

// ReadImage reads a PNG or JPEG file (at most MaxImageBytes) into w x h
// RGB float32 pixels (HWC order, values 0-255 times scale). Errors name
// the file.
func ReadImage(path string, w, h int, scale float32) ([]float32, error) {
	b, err := capped.ReadFile(path, MaxImageBytes)
	if err != nil {
		return nil, err
	}
	px, err := decodeImage(b, w, h, scale)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return px, nil
}

// decodeImage decodes a PNG or JPEG image of at most MaxImagePixels,
// checked from its header before anything is decoded, and resizes it to
// w x h (bilinear) when needed. An alpha channel is dropped.
func decodeImage(b []byte, w, h int, scale float32) ([]float32, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not a PNG or JPEG image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return nil, fmt.Errorf("image of %d x %d pixels; want at most %d pixels (e.g. 4096 x 4096)", cfg.Width, cfg.Height, MaxImagePixels)
	}
	px, err := decodeResize(b, format, cfg.Width != w || cfg.Height != h, w, h)
	if err != nil {
		return nil, fmt.Errorf("not a PNG or JPEG image: %w", err)
	}
	if len(px) != w*h*3 {
		return nil, fmt.Errorf("decoded %d values, want %d x %d x 3", len(px), w, h)
	}
	if scale != 1 {
		for i := range px {
			px[i] *= scale
		}
	}
	return px, nil
}

// decodeResize decodes the image b (format "png" or "jpeg") to RGB in a
// TensorFlow graph, as a tfgo image, resizes it to w x h (bilinear, pixel
// centers aligned) when resize is set, and returns its float32 pixels. tfgo panics on a graph
// error; the panic is recovered here and returned as an error.
func decodeResize(b []byte, format string, resize bool, w, h int) (px []float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			px, err = nil, fmt.Errorf("%v", r)
		}
	}()
	s := op.NewScope()
	var decoded tf.Output
	switch format {
	case "png":
		decoded = op.DecodePng(s.SubScope("decode"), op.Const(s, string(b)), op.DecodePngChannels(3))
	case "jpeg":
		decoded = op.DecodeJpeg(s.SubScope("decode"), op.Const(s, string(b)), op.DecodeJpegChannels(3),
			// As Go's decoder does: accurate DCT, chroma upsampled by repetition.
			op.DecodeJpegDctMethod("INTEGER_ACCURATE"), op.DecodeJpegFancyUpscaling(false))
	default:
		return nil, fmt.Errorf("format %s", format)
	}
	batch := op.ExpandDims(s, decoded, op.Const(s.SubScope("axis"), []int32{0}))
	img := (&tgimage.Image{Tensor: tg.NewTensor(s, batch)}).Cast(tf.Float)
	if resize {
		// Not img.ResizeBilinear: tfgo drops its attributes, and without
		// half-pixel centers the image shifts by up to half a source pixel.
		size := op.Const(s.SubScope("size"), []int32{int32(h), int32(w)})
		img.Output = op.ResizeBilinear(s.SubScope("resize"), img.Output, size, op.ResizeBilinearHalfPixelCenters(true))
	}
	out := img.Output
	g, err := s.Finalize()
	if err != nil {
		return nil, err
	}
	sess, err := tf.NewSession(g, nil)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, sess.Close()) }()
	res, err := sess.Run(nil, []tf.Output{out}, nil)
	if err != nil {
		return nil, err
	}
	v, ok := res[0].Value().([][][][]float32)
	if !ok {
		return nil, fmt.Errorf("decoded a %v tensor, want float32", res[0].DataType())
	}
	px = make([]float32, 0, w*h*3)
	for _, row := range v[0] {
		for _, p := range row {
			px = append(px, p...)
		}
	}
	return px, nil
}
