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
//
// With Dir set before the first Add, the packed rows go to a temporary
// file in Dir instead of memory, which then holds only where each row is
// (24 bytes per example) and the labels. The file is removed from Dir as
// soon as it is created, so none is left behind even when the process is
// killed; Close releases it. FillTo reads the rows back with the same
// bits as in memory. Add must not run while FillTo does; FillTo may run
// on several goroutines at once.
type PackedFeatures struct {
	Shape   []int
	Labels  []uint8
	Classes []string
	Origin  string
	Dir     string // "": in memory; else the directory of the temporary file

	rows  []packedRow
	vals  []float32
	index []uint32   // positions of the non-zero values of sparse rows
	file  *spillFile // with Dir, from the first Add on
	err   error      // the first error of Add, returned by every later one
}

// packedRow locates one example: in memory its values are vals[start:],
// sparse rows' positions index[pos:]; in a file its values and then its
// positions are at byte start. Both are nnz long; nnz < 0 marks a dense
// row.
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

// Bytes returns the memory the packed values take (with Dir: the row
// locations and the write buffer; FileBytes is what the file holds).
func (p *PackedFeatures) Bytes() int64 {
	b := int64(len(p.vals))*4 + int64(len(p.index))*4 + int64(len(p.rows))*int64(unsafe.Sizeof(packedRow{}))
	if p.file != nil {
		b += p.file.memory()
	}
	return b
}

// FileBytes returns the bytes of the temporary file (0 without Dir).
func (p *PackedFeatures) FileBytes() int64 {
	if p.file == nil {
		return 0
	}
	return p.file.size
}

// Add appends the examples of values (a whole number of rows of Width
// values). It panics if values is not. When Labels is set before the
// first Add, that first call makes room for all of its examples at the
// density of the first rows (and an eighth more), so that the values are
// seldom moved as they grow.
//
// With Dir, the error is that of creating or writing the temporary file
// (a full disk); once Add has failed, every later call returns that error.
func (p *PackedFeatures) Add(values []float32) error {
	w := p.Width()
	if w < 1 || len(values)%w != 0 {
		panic(fmt.Sprintf("cifar: PackedFeatures.Add: %d values are not rows of %d", len(values), w))
	}
	if p.err != nil {
		return p.err
	}
	if p.Dir != "" || p.file != nil {
		p.err = p.spill(values, w)
		return p.err
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
	return nil
}

// addRow appends one example to vals and index.
func (p *PackedFeatures) addRow(row []float32) {
	w, start, pos := len(row), len(p.vals), len(p.index)
	p.vals, p.index = slices.Grow(p.vals, w), slices.Grow(p.index, w)
	k := pack(row, p.vals[start:start+w], p.index[pos:pos+w])
	if k < 0 {
		p.vals, p.index = p.vals[:start+w], p.index[:pos]
		p.rows = append(p.rows, packedRow{start: start, pos: pos, nnz: -1})
		return
	}
	p.vals, p.index = p.vals[:start+k], p.index[:pos+k]
	p.rows = append(p.rows, packedRow{start: start, pos: pos, nnz: int32(k)})
}

// pack writes row packed into vals and index (both as long as row) and
// returns the number of values kept, or -1 for a row kept whole (then
// vals is a copy of row). A sparse row's non-zero values and their
// positions are vals[:k] and index[:k]. It copies every value and its
// position and advances only past the non-zero ones, without a branch per
// value (the zeros of ReLU outputs fall at random).
func pack(row, vals []float32, index []uint32) int {
	w, k := len(row), 0
	for i, v := range row {
		vals[k], index[k] = v, uint32(i)
		b := math.Float32bits(v)
		k += int((b | -b) >> 31) // 1 unless b is +0
	}
	if 2*k > w {
		copy(vals, row)
		return -1
	}
	return k
}

// Check reports an error when p does not hold one label per example, or
// when Add failed.
func (p *PackedFeatures) Check() error {
	if p.err != nil {
		return p.err
	}
	if len(p.Labels) != len(p.rows) {
		return fmt.Errorf("cifar: packed features: %d labels for %d examples", len(p.Labels), len(p.rows))
	}
	return nil
}

// Close releases the temporary file of p (a no-op without Dir); FillTo
// then fails. Closing again does nothing.
func (p *PackedFeatures) Close() error {
	if p.file == nil {
		return nil
	}
	return p.file.close()
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
	if r.p.file != nil {
		return r.p.file.fill(dst, i, pr, r.scale)
	}
	if pr.nnz < 0 {
		scaleTo(dst, r.p.vals[pr.start:pr.start+len(dst)], r.scale)
		return nil
	}
	n := int(pr.nnz)
	expand(dst, r.p.vals[pr.start:pr.start+n], r.p.index[pr.pos:pr.pos+n], r.scale)
	return nil
}

// scaleTo writes the dense row src times scale into dst (src may be dst).
func scaleTo(dst, src []float32, scale float32) {
	if scale == 1 {
		copy(dst, src)
		return
	}
	for j, v := range src[:len(dst)] {
		dst[j] = v * scale
	}
}

// expand writes the sparse row of values vals at positions index, times
// scale, into dst, with zeros elsewhere.
func expand(dst, vals []float32, index []uint32, scale float32) {
	if scale == 1 {
		clear(dst)
		for j, at := range index {
			dst[at] = vals[j]
		}
		return
	}
	zero := 0 * scale // as a dense row's zeros scale: -0 for a negative scale
	for j := range dst {
		dst[j] = zero
	}
	for j, at := range index {
		dst[at] = vals[j] * scale
	}
}
