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

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/capped"
	"github.com/tfcifar/tfcifar/internal/session"
)

// Limits on the images Predict reads, checked before decoding them.
const (
	MaxImageBytes  = 32 << 20 // file size
	MaxImagePixels = 1 << 24  // width x height: 16 megapixels, e.g. 4096 x 4096
)

// ReadImage reads a PNG or JPEG file (at most MaxImageBytes) into w x h
// RGB float32 pixels (HWC order, values 0-255 times scale). Errors name
// the file. It opens a decoder for this one image; Predict keeps one
// open for all its files.
func ReadImage(path string, w, h int, scale float32) (px []float32, err error) {
	d, err := newDecoder(config.Run{})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, d.Close()) }()
	return d.read(path, w, h, scale)
}

// decoder decodes and resizes images in one TensorFlow graph, built and
// opened once: the file's bytes and the size to resize to are fed, and
// the output of the format's decode op (as a tfgo image, cast to float32)
// is fetched as it is or resized.
type decoder struct {
	sess     *tf.Session
	contents tf.Output // string scalar: the file's bytes
	size     tf.Output // int32 [2]: height and width to resize to
	outs     map[string][2]tf.Output
}

// newDecoder builds the decoding graph and opens its session with the run
// settings (threads, device). tfgo panics on a graph error; the panic is
// recovered here and returned as an error.
func newDecoder(run config.Run) (d *decoder, err error) {
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("infer: image decoder: %v", r)
		}
	}()
	s := op.NewScope()
	d = &decoder{
		contents: op.Placeholder(s.SubScope("contents"), tf.String, op.PlaceholderShape(tf.ScalarShape())),
		size:     op.Placeholder(s.SubScope("size"), tf.Int32, op.PlaceholderShape(tf.MakeShape(2))),
		outs:     map[string][2]tf.Output{},
	}
	for format, decode := range map[string]func(*op.Scope) tf.Output{
		"png": func(s *op.Scope) tf.Output { return op.DecodePng(s, d.contents, op.DecodePngChannels(3)) },
		"jpeg": func(s *op.Scope) tf.Output {
			// As Go's decoder does: accurate DCT, chroma upsampled by repetition.
			return op.DecodeJpeg(s, d.contents, op.DecodeJpegChannels(3),
				op.DecodeJpegDctMethod("INTEGER_ACCURATE"), op.DecodeJpegFancyUpscaling(false))
		},
	} {
		fs := s.SubScope(format)
		batch := op.ExpandDims(fs, decode(fs.SubScope("decode")), op.Const(fs.SubScope("axis"), []int32{0}))
		img := (&tgimage.Image{Tensor: tg.NewTensor(fs, batch)}).Cast(tf.Float)
		// Not img.ResizeBilinear: tfgo drops its attributes, and without
		// half-pixel centers the image shifts by up to half a source pixel.
		resized := op.ResizeBilinear(fs.SubScope("resize"), img.Output, d.size, op.ResizeBilinearHalfPixelCenters(true))
		d.outs[format] = [2]tf.Output{img.Output, resized}
	}
	g, err := s.Finalize()
	if err != nil {
		return nil, fmt.Errorf("infer: image decoder: %w", err)
	}
	if d.sess, err = session.Open(g, run); err != nil {
		return nil, fmt.Errorf("infer: image decoder: %w", err)
	}
	return d, nil
}

// Close releases the decoder's session.
func (d *decoder) Close() error { return d.sess.Close() }

// read reads the image file at path (capped at MaxImageBytes) and decodes
// it as decode does. Errors name the file.
func (d *decoder) read(path string, w, h int, scale float32) ([]float32, error) {
	b, err := capped.ReadFile(path, MaxImageBytes)
	if err != nil {
		return nil, err
	}
	px, err := d.decode(b, w, h, scale)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return px, nil
}

// decode decodes a PNG or JPEG image of at most MaxImagePixels, checked
// from its header before anything is decoded, into w x h RGB pixels times
// scale, resizing it (bilinear) when its size differs. An alpha channel
// is dropped.
func (d *decoder) decode(b []byte, w, h int, scale float32) ([]float32, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not a PNG or JPEG image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return nil, fmt.Errorf("image of %d x %d pixels; want at most %d pixels (e.g. 4096 x 4096)", cfg.Width, cfg.Height, MaxImagePixels)
	}
	px, err := d.run(b, format, cfg.Width != w || cfg.Height != h, w, h)
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

// run decodes b (format "png" or "jpeg") in the decoder's session,
// resized to w x h when resize is set, and returns its float32 pixels.
func (d *decoder) run(b []byte, format string, resize bool, w, h int) ([]float32, error) {
	outs, ok := d.outs[format]
	if !ok {
		return nil, fmt.Errorf("format %s", format)
	}
	contents, err := tf.NewTensor(string(b))
	if err != nil {
		return nil, err
	}
	size, err := tf.NewTensor([]int32{int32(h), int32(w)})
	if err != nil {
		return nil, err
	}
	fetch := outs[0]
	if resize {
		fetch = outs[1]
	}
	res, err := d.sess.Run(map[tf.Output]*tf.Tensor{d.contents: contents, d.size: size}, []tf.Output{fetch}, nil)
	if err != nil {
		return nil, err
	}
	v, ok := res[0].Value().([][][][]float32)
	if !ok || len(v) != 1 {
		return nil, fmt.Errorf("decoded a %v tensor of shape %v, want float32 [1 h w 3]", res[0].DataType(), res[0].Shape())
	}
	px := make([]float32, 0, w*h*3)
	for _, row := range v[0] {
		for _, p := range row {
			px = append(px, p...)
		}
	}
	return px, nil
}
