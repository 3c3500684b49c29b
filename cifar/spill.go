package cifar

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"unsafe"
)

// spillHint says how to avoid a temporary file that cannot be written.
const spillHint = "data.in_memory: true keeps cached features in memory; TMPDIR chooses the directory"

// spillBuffer is the size of the write buffer of a temporary file.
const spillBuffer = 64 << 10

// spillFile holds the packed rows of PackedFeatures in a temporary file:
// each sparse row as its values then their positions, each dense row as
// its values, in native byte order (the file lives only as long as the
// process). Rows are read back with ReadAt, which may run on several
// goroutines at once.
type spillFile struct {
	dir  string
	f    *os.File
	w    *bufio.Writer
	size int64 // bytes written so far

	vals  []float32 // one row packed, on its way to the file
	index []uint32
	bufs  sync.Pool // *[]uint32 holding a sparse row read back
}

// createSpill creates a temporary file in dir for rows of width values
// and removes its name at once: the open file stays readable until it is
// closed, and nothing is left in dir whatever happens to the process.
func createSpill(dir string, width int) (*spillFile, error) {
	f, err := os.CreateTemp(dir, "tfcifar-features-*")
	if err != nil {
		return nil, fmt.Errorf("cached features: creating a temporary file in %s: %w (%s)", dir, err, spillHint)
	}
	if err := os.Remove(f.Name()); err != nil {
		return nil, errors.Join(fmt.Errorf("cached features: removing the name of the temporary file in %s: %w", dir, err), f.Close())
	}
	return &spillFile{dir: dir, f: f, w: bufio.NewWriterSize(f, spillBuffer),
		vals: make([]float32, width), index: make([]uint32, width)}, nil
}

// spill packs the rows of values (whole rows of w) into p's temporary
// file, creating it on the first call, and flushes them, so that every
// write error is Add's and the rows are readable when Add returns.
func (p *PackedFeatures) spill(values []float32, w int) error {
	if p.file == nil {
		if len(p.rows) > 0 {
			return fmt.Errorf("cifar: packed features: Dir %s set after %d examples were added in memory", p.Dir, len(p.rows))
		}
		s, err := createSpill(p.Dir, w)
		if err != nil {
			return err
		}
		p.file = s
		if n := len(p.Labels); n > len(p.rows) {
			p.rows = slices.Grow(p.rows, n-len(p.rows))
		}
	}
	s := p.file
	for r := 0; r < len(values); r += w {
		row := values[r : r+w]
		k := pack(row, s.vals, s.index)
		pr := packedRow{start: int(s.size), nnz: int32(k)}
		var err error
		if k < 0 {
			err = s.write(asBytes(row))
		} else {
			err = errors.Join(s.write(asBytes(s.vals[:k])), s.write(asBytes(s.index[:k])))
		}
		if err != nil {
			return err
		}
		p.rows = append(p.rows, pr)
	}
	if err := s.w.Flush(); err != nil {
		return s.writeErr(err)
	}
	return nil
}

// write appends b to the file.
func (s *spillFile) write(b []byte) error {
	n, err := s.w.Write(b)
	s.size += int64(n)
	if err != nil {
		return s.writeErr(err)
	}
	return nil
}

func (s *spillFile) writeErr(err error) error {
	return fmt.Errorf("cached features: writing the temporary file in %s: %w (%s)", s.dir, err, spillHint)
}

// fill writes example i, located at pr, times scale into dst, as
// packedRows.fill does from memory.
func (s *spillFile) fill(dst []float32, i int, pr packedRow, scale float32) error {
	if pr.nnz < 0 {
		if err := s.read(asBytes(dst), i, pr); err != nil {
			return err
		}
		scaleTo(dst, dst, scale)
		return nil
	}
	n := int(pr.nnz)
	bp, _ := s.bufs.Get().(*[]uint32)
	if bp == nil {
		bp = new([]uint32)
	}
	defer s.bufs.Put(bp)
	*bp = slices.Grow((*bp)[:0], 2*n)
	buf := (*bp)[:2*n]
	if err := s.read(asBytes(buf), i, pr); err != nil {
		return err
	}
	vals, index := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(buf))), n), buf[n:]
	if n > 0 && int(slices.Max(index)) >= len(dst) {
		return fmt.Errorf("cached features: temporary file in %s: example %d: a position past the %d values of a row (the file changed behind our back)", s.dir, i, len(dst))
	}
	expand(dst, vals, index, scale)
	return nil
}

// read reads the bytes of example i, located at pr, into b.
func (s *spillFile) read(b []byte, i int, pr packedRow) error {
	if _, err := s.f.ReadAt(b, int64(pr.start)); err != nil {
		return fmt.Errorf("cached features: temporary file in %s: reading example %d (%d bytes at %d): %w", s.dir, i, len(b), pr.start, err)
	}
	return nil
}

// memory returns the bytes s keeps in memory: its write buffer and one
// packed row.
func (s *spillFile) memory() int64 {
	return int64(s.w.Size()) + int64(len(s.vals))*4 + int64(len(s.index))*4
}

// close closes the file; closing it again does nothing.
func (s *spillFile) close() error {
	if err := s.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("cached features: temporary file in %s: %w", s.dir, err)
	}
	return nil
}

// asBytes returns the memory of v as bytes.
func asBytes[T float32 | uint32](v []T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
}
