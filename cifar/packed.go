package cifar

import (
	"fmt"
	"math"
	"slices"
	"unsafe"
)

// PackedFeatures are Features stored without their zeros, for features
// that are mostly zero, such as the outputs of a ReLU layer (on the
// reference network about 85 % of the cached flatten values are 0, and
// packed they take under a third of the memory). Packing is exact: FillTo
// writes the same float32 bits as the dense Features would (only +0 is
// left out; -0, NaN and every other value is kept as it was).
//
// Add appends examples. A row with at most half of its values non-zero
// keeps only those, each with its position; a denser row is kept whole,
// so packing never takes more than the dense values plus a few bytes per
// example. Shape, Labels, Classes and Origin are as in Features; Labels
// must end up with one label per example added.
type PackedFeatures struct {
	Shape   []int
	Labels  []uint8
	Classes []string
	Origin  string

	rows  []packedRow
	vals  []float32
	index []uint32 // positions of the non-zero values of sparse rows
}

// packedRow locates one example: its values are vals[start:], sparse
// rows' positions index[pos:], both nnz long; nnz < 0 marks a dense row.
type packedRow struct {
	start, pos int
	nnz        int32
}

// Len returns the number of examples added (0 for nil PackedFeatures).
func (p *PackedFeatures) Len() int {
	if p == nil {
		return 0
	}
	return len(p.rows)
}

// Width returns the number of values of one example.
func (p *PackedFeatures) Width() int { return (&Features{Shape: p.Shape}).Width() }

// NumClasses returns the number of one-hot columns of p's labels.
func (p *PackedFeatures) NumClasses() int { return numClasses(p.Classes, p.Labels) }

// Bytes returns the memory the packed values take.
func (p *PackedFeatures) Bytes() int64 {
	return int64(len(p.vals))*4 + int64(len(p.index))*4 + int64(len(p.rows))*int64(unsafe.Sizeof(packedRow{}))
}

// Add appends the examples of values (a whole number of rows of Width
// values). It panics if values is not. When Labels is set before the
// first Add, that first call makes room for all of its examples at the
// density of the first rows (and an eighth more), so that the values are
// seldom moved as they grow.
func (p *PackedFeatures) Add(values []float32) {
	w := p.Width()
	if w < 1 || len(values)%w != 0 {
		panic(fmt.Sprintf("cifar: PackedFeatures.Add: %d values are not rows of %d", len(values), w))
	}
	first := len(p.rows) == 0
	for r := 0; r < len(values); r += w {
		p.addRow(values[r : r+w])
	}
	if n := len(p.Labels); first && len(p.rows) > 0 && n > len(p.rows) {
		// Room for all examples at the first rows' density, and some.
		avg := len(p.vals) / len(p.rows)
		more := (n - len(p.rows)) * (avg + avg/8 + 1)
		p.vals = slices.Grow(p.vals, more)
		p.index = slices.Grow(p.index, more)
		p.rows = slices.Grow(p.rows, n-len(p.rows))
	}
}

// addRow appends one example. It copies every value and its position to
// the end of vals and index and advances only past the non-zero ones,
// without a branch per value (the zeros of ReLU outputs fall at random).
func (p *PackedFeatures) addRow(row []float32) {
	w, start, pos := len(row), len(p.vals), len(p.index)
	p.vals, p.index = slices.Grow(p.vals, w), slices.Grow(p.index, w)
	vals, index := p.vals[start:start+w], p.index[pos:pos+w]
	k := 0
	for i, v := range row {
		vals[k], index[k] = v, uint32(i)
		b := math.Float32bits(v)
		k += int((b | -b) >> 31) // 1 unless b is +0
	}
	if 2*k > w {
		copy(vals, row)
		p.vals, p.index = p.vals[:start+w], p.index[:pos]
		p.rows = append(p.rows, packedRow{start: start, pos: pos, nnz: -1})
		return
	}
	p.vals, p.index = p.vals[:start+k], p.index[:pos+k]
	p.rows = append(p.rows, packedRow{start: start, pos: pos, nnz: int32(k)})
}

// Check reports an error when p does not hold one label per example.
func (p *PackedFeatures) Check() error {
	if len(p.Labels) != len(p.rows) {
		return fmt.Errorf("cifar: packed features: %d labels for %d examples", len(p.Labels), len(p.rows))
	}
	return nil
}

// Source returns a Source over p with values multiplied by scale (0: 1)
// and K = NumClasses one-hot columns.
func (p *PackedFeatures) Source(scale float32) *Source {
	return &Source{rows: packedRows{p, scaleOrOne(scale)}, k: p.NumClasses()}
}

// FillTo writes the examples at idx into images (len(idx)*Width values)
// and their one-hot labels into labels (len(idx)*NumClasses values), as
// Source(1).FillTo does.
func (p *PackedFeatures) FillTo(idx []int, images, labels []float32) error {
	return fillTo(packedRows{p, 1}, p.NumClasses(), idx, images, labels)
}

// packedRows reads the examples of PackedFeatures, scaled.
type packedRows struct {
	p     *PackedFeatures
	scale float32
}

func (r packedRows) len() int          { return r.p.Len() }
func (r packedRows) width() int        { return r.p.Width() }
func (r packedRows) label(i int) uint8 { return r.p.Labels[i] }

func (r packedRows) fill(dst []float32, i int) error {
	pr := r.p.rows[i]
	if pr.nnz < 0 {
		src := r.p.vals[pr.start : pr.start+len(dst)]
		if r.scale == 1 {
			copy(dst, src)
			return nil
		}
		for j, v := range src {
			dst[j] = v * r.scale
		}
		return nil
	}
	n := int(pr.nnz)
	vals, index := r.p.vals[pr.start:pr.start+n], r.p.index[pr.pos:pr.pos+n]
	if r.scale == 1 {
		clear(dst)
		for j, at := range index {
			dst[at] = vals[j]
		}
		return nil
	}
	zero := 0 * r.scale // as a dense row's zeros scale: -0 for a negative scale
	for j := range dst {
		dst[j] = zero
	}
	for j, at := range index {
		dst[at] = vals[j] * r.scale
	}
	return nil
}
