package h5

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// weightsFile returns model.weights.h5 of the test archive
// ../testdata/small.keras (scripts/interop/keras_small.py writes both).
func weightsFile(t testing.TB) []byte {
	t.Helper()
	z, err := zip.OpenReader(filepath.Join("..", "testdata", "small.keras"))
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	r, err := z.Open("model.weights.h5")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func open(t testing.TB, b []byte) (*File, error) {
	t.Helper()
	return NewReader("test.h5", bytes.NewReader(b), int64(len(b)))
}

// TestRead checks every dataset of the test file against what h5py reads
// (../testdata/small.json).
func TestRead(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "small.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]struct {
		Shape  []int
		Values []float64
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	f, err := open(t, weightsFile(t))
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Members("layers")
	if err != nil {
		t.Fatal(err)
	}
	if w := []string{"batch_normalization", "conv2d", "dense", "dropout", "flatten", "max_pooling2d"}; !slices.Equal(got, w) {
		t.Errorf("members of layers = %v, want %v", got, w)
	}
	if len(want) != 8 {
		t.Fatalf("%d datasets in small.json, want 8", len(want))
	}
	for path, w := range want {
		d, err := f.Dataset(path)
		if err != nil {
			t.Fatal(err)
		}
		if d.DType != Float32 || !slices.Equal(d.Shape, w.Shape) {
			t.Errorf("%s: %s %v, want float32 %v", path, d.DType, d.Shape, w.Shape)
		}
		v, err := d.Float32()
		if err != nil {
			t.Fatal(err)
		}
		if len(v) != len(w.Values) {
			t.Fatalf("%s: %d values, want %d", path, len(v), len(w.Values))
		}
		for i := range v {
			if float64(v[i]) != w.Values[i] {
				t.Fatalf("%s[%d] = %g, h5py reads %g", path, i, v[i], w.Values[i])
			}
		}
	}
	for _, p := range []string{"layers/nope", "layers/conv2d/vars/0/x"} {
		if _, err := f.Dataset(p); err == nil {
			t.Errorf("Dataset(%q) succeeded", p)
		}
	}
	if _, err := f.Dataset("layers/conv2d"); err == nil || !strings.Contains(err.Error(), "is not a dataset") {
		t.Errorf("Dataset of a group: %v, want is not a dataset", err)
	}
}

// datasetMessage returns the offset in b of the data of the first message
// of type typ in the object header of the dataset at path.
func datasetMessage(t *testing.T, b []byte, path string, typ uint16) int {
	t.Helper()
	f, err := open(t, b)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := f.lookup(path)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := f.header(addr)
	if err != nil {
		t.Fatal(err)
	}
	m := find(msgs, typ)
	if m == nil {
		t.Fatalf("%s has no message %d", path, typ)
	}
	i := bytes.Index(b, m.data)
	if i < 0 {
		t.Fatal("message not found in the file")
	}
	return i
}

// TestHostile checks that damaged or hostile files give errors, not
// panics or huge allocations.
func TestHostile(t *testing.T) {
	const path = "layers/dense/vars/0"
	tests := []struct {
		desc   string
		change func(t *testing.T, b []byte) []byte
		want   string
	}{
		{"not HDF5", func(_ *testing.T, b []byte) []byte { return []byte("PK\x03\x04 a zip file") }, "not an HDF5 file"},
		{"absurd dimension", func(t *testing.T, b []byte) []byte {
			i := datasetMessage(t, b, path, msgDataspace)
			binary.LittleEndian.PutUint64(b[i+8:], 1<<40)
			return b
		}, "absurd"},
		{"dimensions over the cap", func(t *testing.T, b []byte) []byte {
			i := datasetMessage(t, b, path, msgDataspace)
			binary.LittleEndian.PutUint64(b[i+8:], math.MaxInt32)
			binary.LittleEndian.PutUint64(b[i+16:], math.MaxInt32)
			return b
		}, "over the cap"},
		{"integer datatype", func(t *testing.T, b []byte) []byte {
			i := datasetMessage(t, b, path, msgDatatype)
			b[i] &^= 0x0f
			return b
		}, "integer values"},
		{"half floats", func(t *testing.T, b []byte) []byte {
			i := datasetMessage(t, b, path, msgDatatype)
			binary.LittleEndian.PutUint32(b[i+4:], 2)
			return b
		}, "2-byte floats"},
		{"data beyond the end", func(t *testing.T, b []byte) []byte {
			i := datasetMessage(t, b, path, msgLayout)
			binary.LittleEndian.PutUint64(b[i+2:], uint64(len(b)))
			return b
		}, "beyond the end of the file"},
		{"size that does not fit the shape", func(t *testing.T, b []byte) []byte {
			i := datasetMessage(t, b, path, msgLayout)
			binary.LittleEndian.PutUint64(b[i+10:], 12)
			return b
		}, "stores 12 bytes"},
		{"chunked", func(t *testing.T, b []byte) []byte {
			i := datasetMessage(t, b, path, msgLayout)
			b[i+1] = 2
			return b
		}, "chunked storage is not supported"},
		{"B-tree cycle", func(_ *testing.T, b []byte) []byte {
			btree := binary.LittleEndian.Uint64(b[0x50:]) // root group's scratch pad
			b[btree+5] = 1                                // level 1: children are nodes
			binary.LittleEndian.PutUint64(b[btree+32:], btree)
			return b
		}, "cycle"},
		{"superblock version 2", func(_ *testing.T, b []byte) []byte { b[8] = 2; return b }, "superblock version 2"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			b := tt.change(t, weightsFile(t))
			err := readAll(b, 1000)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("reading the file: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

// TestTruncated reads every prefix of the test file at a stride: each
// must fail with an error, none may panic.
func TestTruncated(t *testing.T) {
	b := weightsFile(t)
	for n := 0; n < len(b)-1; n += 97 {
		if err := readAll(b[:n], 1000); err == nil {
			t.Fatalf("file cut to %d of %d bytes read without error", n, len(b))
		}
	}
}

// readAll opens b and reads every group and dataset under it, visiting at
// most budget objects; the first error is returned.
func readAll(b []byte, budget int) error {
	f, err := NewReader("test.h5", bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return err
	}
	var walk func(path string) error
	walk = func(path string) error {
		if budget--; budget < 0 {
			return nil
		}
		names, err := f.Members(path)
		if err != nil {
			d, derr := f.Dataset(path)
			if derr != nil {
				if strings.Contains(err.Error(), "is not a group") {
					return derr
				}
				return err
			}
			_, err = d.Float32()
			return err
		}
		for _, n := range names {
			if err := walk(strings.TrimPrefix(path+"/"+n, "/")); err != nil {
				return err
			}
		}
		return nil
	}
	return walk("")
}

// FuzzRead feeds bytes to the reader: whatever they hold, reading every
// group and dataset returns, without a panic, within the caps.
func FuzzRead(f *testing.F) {
	b := weightsFile(f)
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = readAll(b, 50)
	})
}
