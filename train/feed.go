package train

import (
	"bytes"
	"fmt"
	"unsafe"

	tf "github.com/galeone/tensorflow/tensorflow/go"
)

// buffer is a tensor allocated once and refilled in place before every
// Session.Run, so that feeding a batch costs one copy and no allocation.
// data aliases the tensor's memory; the tensor must stay reachable (it is
// freed by its finalizer) for as long as data is used.
type buffer struct {
	t    *tf.Tensor
	data []byte
}

// newBuffer allocates a zeroed tensor of type dt and shape.
func newBuffer(dt tf.DataType, shape ...int64) (*buffer, error) {
	n := int64(tf.TypeOf(dt, nil).Size())
	for _, d := range shape {
		n *= d
	}
	t, err := tf.ReadTensor(dt, shape, bytes.NewReader(make([]byte, n)))
	if err != nil {
		return nil, fmt.Errorf("train: allocate %v tensor %v: %w", dt, shape, err)
	}
	var g grab
	if _, err := t.WriteContentsTo(&g); err != nil {
		return nil, fmt.Errorf("train: map %v tensor %v: %w", dt, shape, err)
	}
	if int64(len(g.b)) != n {
		return nil, fmt.Errorf("train: map %v tensor %v: got %d bytes, want %d", dt, shape, len(g.b), n)
	}
	return &buffer{t: t, data: g.b}, nil
}

// grab keeps the slice handed to Write. Tensor.WriteContentsTo copies with
// io.Copy from a bytes.Reader over the tensor memory, and bytes.Reader's
// WriteTo passes that memory itself to Write: grab thus sees the tensor's
// own bytes, not a copy (checked by TestBufferAliases).
type grab struct{ b []byte }

func (g *grab) Write(p []byte) (int, error) {
	g.b = p
	return len(p), nil
}

// setFloats copies v into the tensor; len(v) must match its size.
func (b *buffer) setFloats(v []float32) {
	copy(b.data, floatBytes(v))
}

// setFloat sets a scalar float32 tensor.
func (b *buffer) setFloat(v float32) { *(*float32)(unsafe.Pointer(&b.data[0])) = v }

// setInt sets a scalar int64 tensor.
func (b *buffer) setInt(v int64) { *(*int64)(unsafe.Pointer(&b.data[0])) = v }

// floatBytes views v as bytes without copying.
func floatBytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*4)
}

// scalarFloat and scalarInt read back scalar results without reflection.
func scalarFloat(t *tf.Tensor) float32 {
	v, _ := t.Value().(float32)
	return v
}

func scalarInt(t *tf.Tensor) int64 {
	v, _ := t.Value().(int64)
	return v
}

// readFloats copies a float32 tensor's contents into dst (len must match).
func readFloats(t *tf.Tensor, dst []float32) error {
	var g grab
	if _, err := t.WriteContentsTo(&g); err != nil {
		return err
	}
	if len(g.b) != len(dst)*4 {
		return fmt.Errorf("train: tensor of %d bytes, want %d floats", len(g.b), len(dst))
	}
	copy(floatBytes(dst), g.b)
	return nil
}
