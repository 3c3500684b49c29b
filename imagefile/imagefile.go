package imagefile

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // headers for DecodeConfig
	_ "image/jpeg"
	_ "image/png"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"
	tg "github.com/galeone/tfgo"
	tgimage "github.com/galeone/tfgo/image"
	_ "golang.org/x/image/bmp" // BMP headers for DecodeConfig

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/capped"
	"github.com/tfcifar/tfcifar/internal/session"
)

// Limits on the files a Decoder reads, checked before decoding them.
const (
	MaxBytes  = 32 << 20 // file size
	MaxPixels = 1 << 24  // width x height (x frames for GIF): 16 megapixels, e.g. 4096 x 4096
)

// The formats a Decoder reads, as image.DecodeConfig names them.
const (
	FormatPNG  = "png"
	FormatJPEG = "jpeg"
	FormatGIF  = "gif"
	FormatBMP  = "bmp"
)

// JPEG selects how a Decoder decodes JPEG files; the other formats are
// lossless and decode the same either way.
type JPEG int

const (
	// JPEGAccurate uses the accurate integer DCT and repeats chroma
	// samples, as Go's image/jpeg does; infer's Predict uses it.
	JPEGAccurate JPEG = iota
	// JPEGKeras uses TensorFlow's default JPEG settings (the system DCT,
	// fancy chroma upscaling), as tf.io.decode_image and so Keras'
	// image_dataset_from_directory do.
	JPEGKeras
)

// Decoder decodes and resizes images in one TensorFlow graph, built and
// opened once: the file's bytes and the size to resize to are fed, and
// the output of the format's decode op (cast to float32) is fetched as it
// is or resized. Its methods may run on several goroutines at once.
type Decoder struct {
	sess     *tf.Session
	jpeg     JPEG
	contents tf.Output // string scalar: the file's bytes
	size     tf.Output // int32 [2]: height and width to resize to
	outs     map[string][2]tf.Output
}

// Open builds the decoding graph and opens its session with the run
// settings (threads, device); jpeg says how JPEG files are decoded.
func Open(run config.Run, jpeg JPEG) (d *Decoder, err error) {
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("imagefile: decoder: %v", r)
		}
	}()
	s := op.NewScope()
	d = &Decoder{
		jpeg:     jpeg,
		contents: op.Placeholder(s.SubScope("contents"), tf.String, op.PlaceholderShape(tf.ScalarShape())),
		size:     op.Placeholder(s.SubScope("size"), tf.Int32, op.PlaceholderShape(tf.MakeShape(2))),
		outs:     map[string][2]tf.Output{},
	}
	hwc := func(s *op.Scope, img tf.Output) tf.Output {
		return op.ExpandDims(s, img, op.Const(s.SubScope("axis"), []int32{0}))
	}
	for format, decode := range map[string]func(*op.Scope) tf.Output{
		FormatPNG: func(s *op.Scope) tf.Output { return hwc(s, op.DecodePng(s, d.contents, op.DecodePngChannels(3))) },
		FormatJPEG: func(s *op.Scope) tf.Output {
			if jpeg == JPEGKeras {
				return hwc(s, op.DecodeJpeg(s, d.contents, op.DecodeJpegChannels(3)))
			}
			// As Go's decoder does: accurate DCT, chroma upsampled by repetition.
			return hwc(s, op.DecodeJpeg(s, d.contents, op.DecodeJpegChannels(3),
				op.DecodeJpegDctMethod("INTEGER_ACCURATE"), op.DecodeJpegFancyUpscaling(false)))
		},
		FormatBMP: func(s *op.Scope) tf.Output { return hwc(s, op.DecodeBmp(s, d.contents, op.DecodeBmpChannels(3))) },
		FormatGIF: func(s *op.Scope) tf.Output {
			// All frames [frames h w 3]; the first one, as decode_image
			// with expand_animations=False gives.
			frames := op.DecodeGif(s, d.contents)
			return op.Slice(s, frames, op.Const(s.SubScope("begin"), []int32{0, 0, 0, 0}), op.Const(s.SubScope("size"), []int32{1, -1, -1, -1}))
		},
	} {
		fs := s.SubScope(format)
		batch := decode(fs.SubScope("decode"))
		img := (&tgimage.Image{Tensor: tg.NewTensor(fs, batch)}).Cast(tf.Float)
		// Not img.ResizeBilinear: tfgo drops its attributes, and without
		// half-pixel centers the image shifts by up to half a source pixel.
		resized := op.ResizeBilinear(fs.SubScope("resize"), img.Output, d.size, op.ResizeBilinearHalfPixelCenters(true))
		d.outs[format] = [2]tf.Output{img.Output, resized}
	}
	g, err := s.Finalize()
	if err != nil {
		return nil, fmt.Errorf("imagefile: decoder: %w", err)
	}
	if d.sess, err = session.Open(g, run); err != nil {
		return nil, fmt.Errorf("imagefile: decoder: %w", err)
	}
	return d, nil
}

// Close releases the decoder's session.
func (d *Decoder) Close() error { return d.sess.Close() }

// Read reads the image file at path (capped at MaxBytes) and decodes it as
// Decode does. Errors name the file.
func (d *Decoder) Read(path string, w, h int, scale float32) ([]float32, error) {
	b, err := capped.ReadFile(path, MaxBytes)
	if err != nil {
		return nil, err
	}
	px, err := d.Decode(b, w, h, scale)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return px, nil
}

// ErrFormat is wrapped by the errors of bytes that are no image of a
// format the decoder reads, or a damaged one.
var ErrFormat = errors.New("not a PNG, JPEG, GIF or BMP image")

// ErrTooLarge is wrapped by the errors of images over MaxPixels.
var ErrTooLarge = errors.New("image too large")

// tooLarge is an error that is ErrTooLarge and says why.
type tooLarge string

func (e tooLarge) Error() string        { return string(e) }
func (e tooLarge) Is(target error) bool { return target == ErrTooLarge }

// Check reads the format and size of the image in b from its header
// without decoding it, and refuses images of more than MaxPixels (GIF:
// width x height x frames).
func Check(b []byte) (format string, w, h int, err error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return "", 0, 0, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	frames := 1
	if format == FormatGIF {
		if frames, err = gifFrames(b); err != nil {
			return "", 0, 0, fmt.Errorf("%w: %w", ErrFormat, err)
		}
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height)*int64(frames) > MaxPixels {
		what := fmt.Sprintf("image of %d x %d pixels", cfg.Width, cfg.Height)
		if frames > 1 {
			what += fmt.Sprintf(" and %d frames", frames)
		}
		return "", 0, 0, tooLarge(fmt.Sprintf("%s; want at most %d pixels (e.g. 4096 x 4096)", what, MaxPixels))
	}
	return format, cfg.Width, cfg.Height, nil
}

// Decode decodes an image of at most MaxPixels, checked from its header
// before anything is decoded (Check), into w x h RGB pixels (HWC float32,
// 0-255 times scale), resizing it (bilinear, half-pixel centers) when its
// size differs.
func (d *Decoder) Decode(b []byte, w, h int, scale float32) ([]float32, error) {
	format, iw, ih, err := Check(b)
	if err != nil {
		return nil, err
	}
	px, err := d.run(b, format, iw != w || ih != h, w, h)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
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

// run decodes b (format one of the Format constants) in the decoder's session,
// resized to w x h when resize is set, and returns its float32 pixels.
func (d *Decoder) run(b []byte, format string, resize bool, w, h int) ([]float32, error) {
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
