package h5

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// DType is the element type of a dataset.
type DType int

// The element types the reader reads.
const (
	Float32 DType = iota + 1 // IEEE 754 binary32, little-endian
	Float64                  // IEEE 754 binary64, little-endian
)

func (t DType) String() string {
	switch t {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	}
	return fmt.Sprintf("DType(%d)", int(t))
}

// Size is the number of bytes of one element.
func (t DType) Size() int {
	if t == Float64 {
		return 8
	}
	return 4
}

// Dataset is a dataset's description: its path, element type and shape
// (row-major, [] for a scalar). Its values are read by Float32.
type Dataset struct {
	Path  string
	DType DType
	Shape []int

	f       *File
	compact []byte // the values of a compact dataset
	addr    uint64 // where the values of a contiguous dataset start
	size    uint64 // bytes the layout stores
}

// Dataset returns the dataset at path ("layers/dense/vars/0"). Datasets
// of another element type than float32 or float64, with chunked storage,
// or of more than MaxDatasetBytes are refused, naming path.
func (f *File) Dataset(path string) (*Dataset, error) {
	addr, err := f.lookup(path)
	if err != nil {
		return nil, err
	}
	msgs, err := f.header(addr)
	if err != nil {
		return nil, err
	}
	d := &Dataset{Path: path, f: f}
	space, typ, layout := find(msgs, msgDataspace), find(msgs, msgDatatype), find(msgs, msgLayout)
	if space == nil || typ == nil || layout == nil {
		return nil, f.errorf("%q is not a dataset", path)
	}
	for _, m := range []*message{space, typ} {
		if m.flags&0x02 != 0 {
			return nil, f.errorf("dataset %q: shared dataspace or datatype messages are not supported", path)
		}
	}
	if find(msgs, msgFilters) != nil {
		return nil, f.errorf("dataset %q: filters (compression) are not supported", path)
	}
	if d.Shape, err = dataspace(space.data); err != nil {
		return nil, f.errorf("dataset %q: dataspace: %v", path, err)
	}
	if d.DType, err = datatype(typ.data); err != nil {
		return nil, f.errorf("dataset %q: %v", path, err)
	}
	n, ok := elements(d.Shape)
	if !ok || n > MaxDatasetBytes/uint64(d.DType.Size()) {
		return nil, f.errorf("dataset %q: shape %v of %s is over the cap of %d bytes", path, d.Shape, d.DType, MaxDatasetBytes)
	}
	if err := d.layout(layout.data); err != nil {
		return nil, f.errorf("dataset %q: data layout: %v", path, err)
	}
	if want := n * uint64(d.DType.Size()); d.size != want {
		return nil, f.errorf("dataset %q: stores %d bytes, want %d for %v of %s", path, d.size, want, d.Shape, d.DType)
	}
	return d, nil
}

// elements is the product of shape; ok is false when it overflows.
func elements(shape []int) (uint64, bool) {
	n := uint64(1)
	for _, s := range shape {
		hi, lo := bits.Mul64(n, uint64(s))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, false
		}
		n = lo
	}
	return n, true
}

// dataspace reads a dataspace message (versions 1 and 2): the current
// dimensions.
func dataspace(b []byte) ([]int, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("short message")
	}
	version, rank := b[0], int(b[1])
	head := 8
	switch version {
	case 1:
	case 2:
		head = 4
		if b[3] == 2 {
			return nil, fmt.Errorf("null dataspace (no values)")
		}
	default:
		return nil, fmt.Errorf("version %d is not supported", version)
	}
	if rank > maxRank {
		return nil, fmt.Errorf("%d dimensions, over HDF5's limit of %d", rank, maxRank)
	}
	if len(b) < head+8*rank {
		return nil, fmt.Errorf("short message for %d dimensions", rank)
	}
	shape := make([]int, rank)
	for i := range shape {
		d := binary.LittleEndian.Uint64(b[head+8*i:])
		if d > math.MaxInt32 {
			return nil, fmt.Errorf("dimension %d of size %d is absurd", i, d)
		}
		shape[i] = int(d)
	}
	return shape, nil
}

// typeClasses names the HDF5 datatype classes, for errors.
var typeClasses = []string{"integer", "floating-point", "time", "string", "bitfield", "opaque", "compound", "reference", "enum", "variable-length", "array"}

// datatype reads a datatype message, accepting only little-endian IEEE
// float32 and float64.
func datatype(b []byte) (DType, error) {
	if len(b) < 8 {
		return 0, fmt.Errorf("datatype: short message")
	}
	class, size := int(b[0]&0x0f), binary.LittleEndian.Uint32(b[4:])
	if class != 1 {
		name := fmt.Sprintf("class %d", class)
		if class < len(typeClasses) {
			name = typeClasses[class]
		}
		return 0, fmt.Errorf("datatype: %s values (%d bytes) are not supported; want float32 or float64", name, size)
	}
	if b[1]&0x01 != 0 {
		return 0, fmt.Errorf("datatype: big-endian floats are not supported; want little-endian float32 or float64")
	}
	if len(b) < 20 {
		return 0, fmt.Errorf("datatype: short floating-point message")
	}
	prec, expSize, mantSize := binary.LittleEndian.Uint16(b[10:]), b[13], b[15]
	switch {
	case size == 4 && prec == 32 && expSize == 8 && mantSize == 23:
		return Float32, nil
	case size == 8 && prec == 64 && expSize == 11 && mantSize == 52:
		return Float64, nil
	}
	return 0, fmt.Errorf("datatype: %d-byte floats (%d bits, %d exponent bits) are not supported; want float32 or float64", size, prec, expSize)
}

// layout reads a data layout message, versions 3 and 4, compact or
// contiguous.
func (d *Dataset) layout(b []byte) error {
	if len(b) < 2 {
		return fmt.Errorf("short message")
	}
	if v := b[0]; v != 3 && v != 4 {
		return fmt.Errorf("version %d is not supported; want 3 or 4", v)
	}
	switch b[1] {
	case 0:
		if len(b) < 4 {
			return fmt.Errorf("short compact layout")
		}
		n := int(binary.LittleEndian.Uint16(b[2:]))
		if len(b) < 4+n {
			return fmt.Errorf("compact data of %d bytes overruns its message", n)
		}
		d.compact, d.size = b[4:4+n], uint64(n)
	case 1:
		if len(b) < 18 {
			return fmt.Errorf("short contiguous layout")
		}
		d.addr, d.size = binary.LittleEndian.Uint64(b[2:]), binary.LittleEndian.Uint64(b[10:])
	case 2:
		return fmt.Errorf("chunked storage is not supported; want contiguous or compact (h5py's default)")
	default:
		return fmt.Errorf("layout class %d is not supported", b[1])
	}
	return nil
}

// Float32 reads the values of d, row-major, converting float64 values to
// float32.
func (d *Dataset) Float32() ([]float32, error) {
	raw := d.compact
	if raw == nil && d.size > 0 {
		var err error
		if raw, err = d.f.read(d.addr, d.size, fmt.Sprintf("dataset %q", d.Path)); err != nil {
			return nil, err
		}
	}
	n := len(raw) / d.DType.Size()
	out := make([]float32, n)
	for i := range out {
		if d.DType == Float64 {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		} else {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	}
	return out, nil
}
