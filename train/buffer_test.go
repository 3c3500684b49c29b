package train

import (
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
)

func TestBufferAliases(t *testing.T) {
	b, err := newBuffer(tf.Float, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{1, 2, 3, 4, 5, 6}
	b.setFloats(want)
	got, ok := b.t.Value().([][]float32)
	if !ok || len(got) != 2 {
		t.Fatalf("Value() = %v, want a 2x3 float32 matrix", b.t.Value())
	}
	for i, row := range got {
		for j, v := range row {
			if v != want[i*3+j] {
				t.Errorf("tensor[%d][%d] = %g, want %g (the buffer does not alias the tensor)", i, j, v, want[i*3+j])
			}
		}
	}
	s, err := newBuffer(tf.Int64)
	if err != nil {
		t.Fatal(err)
	}
	s.setInt(-42)
	if v := scalarInt(s.t); v != -42 {
		t.Errorf("int64 scalar = %d, want -42", v)
	}
	f, err := newBuffer(tf.Float)
	if err != nil {
		t.Fatal(err)
	}
	f.setFloat(0.25)
	if v := scalarFloat(f.t); v != 0.25 {
		t.Errorf("float32 scalar = %g, want 0.25", v)
	}
}
