package cifar

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// store is the open record files of a Dataset that Open left on disk:
// its Sets read each image from them when a batch needs it, so the
// images take no memory (the operating system's page cache keeps the
// files' hot parts).
type store struct {
	files []storedFile
}

// storedFile is one open record file and its format.
type storedFile struct {
	f      *os.File
	path   string
	format format
}

// ref locates a stored image: a file of its store and a record in it.
type ref struct {
	file, record int32
}

// close closes the store's files.
func (st *store) close() error {
	var errs []error
	for _, sf := range st.files {
		errs = append(errs, sf.f.Close())
	}
	return errors.Join(errs...)
}

// imageBuf holds a record's planes as read and the image they make.
type imageBuf struct {
	planes, hwc [ImageSize]byte
}

var imageBufs = sync.Pool{New: func() any { return new(imageBuf) }}

// Stored reports whether s reads its images from files (see Open) rather
// than from Images.
func (s *Set) Stored() bool { return s != nil && s.store != nil }

// ReadImage writes image i of s (ImageBytes bytes, HWC) into dst, from
// memory or, for a stored Set, from its file; the error names the file
// and record that could not be read.
func (s *Set) ReadImage(i int, dst []byte) error {
	return s.withImage(i, func(img []byte) { copy(dst[:len(img)], img) })
}

// readStored reads stored image i into buf.hwc.
func (s *Set) readStored(i int, buf *imageBuf) error {
	r := s.refs[i]
	sf := &s.store.files[r.file]
	off := int64(r.record)*int64(sf.format.recordSize()) + int64(sf.format.labelBytes)
	if _, err := sf.f.ReadAt(buf.planes[:], off); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("the file is shorter than when it was opened")
		}
		return &FormatError{File: sf.path, Record: int(r.record), Reason: fmt.Sprintf("read image: %v", err), Err: err}
	}
	interleave(&buf.hwc, buf.planes[:])
	return nil
}

// withImage calls fn with image i of s (HWC, valid during the call
// only): a view of Images, or a stored image read into a pooled buffer.
func (s *Set) withImage(i int, fn func(img []byte)) error {
	if s.store == nil {
		fn(s.Image(i))
		return nil
	}
	buf := imageBufs.Get().(*imageBuf) //nolint:forcetypeassert // the pool holds only *imageBuf
	defer imageBufs.Put(buf)
	if err := s.readStored(i, buf); err != nil {
		return err
	}
	fn(buf.hwc[:])
	return nil
}

// eachImage calls fn with every image of s in order (HWC, valid during
// the call only), reading a stored Set's files in record order.
func (s *Set) eachImage(fn func(img []byte)) error {
	for i := range s.Len() {
		if err := s.withImage(i, fn); err != nil {
			return err
		}
	}
	return nil
}

// Histogram returns, per channel, how many pixels of s's images take each
// value: what a normalization layer adapts to, without holding the images.
func (s *Set) Histogram() ([][256]int64, error) {
	c := s.ImageShape()[2]
	counts := make([][256]int64, c)
	err := s.eachImage(func(img []byte) {
		for p, v := range img {
			counts[p%c][v]++
		}
	})
	return counts, err
}

// hashImages writes the images of s, in order, to h (a hash: its
// writes do not fail).
func (s *Set) hashImages(h io.Writer) error {
	return s.eachImage(func(img []byte) { _, _ = h.Write(img) })
}

// ReadOptions say which dataset Read reads and how.
type ReadOptions struct {
	CIFAR100 bool // CIFAR-100 (Load100, Open100) rather than CIFAR-10
	Coarse   bool // CIFAR-100's coarse labels rather than its fine ones
	InMemory bool // load the images (Load) rather than leave them in their files (Open)
}

// Read reads the dataset in dir as o says: Load, Load100, Open or Open100.
func Read(dir string, o ReadOptions) (*Dataset, error) {
	switch {
	case o.CIFAR100 && o.InMemory:
		return Load100(dir, o.Coarse)
	case o.CIFAR100:
		return Open100(dir, o.Coarse)
	case o.InMemory:
		return Load(dir)
	}
	return Open(dir)
}

// fileGroup is record files of one format whose records, in order, make
// one Set.
type fileGroup struct {
	format format
	names  []string
}

// open opens the dataset whose training set is the group train and test
// set the group test, in dir, as a stored Dataset: it checks that each
// file is a regular file of 1 to its format's maxRecords whole records
// and that every label is in range, and keeps only the labels.
func open(dir string, classes []string, train, test fileGroup) (*Dataset, error) {
	st := &store{}
	sets := make([]*Set, 2)
	for k, g := range []fileGroup{train, test} {
		s := &Set{Classes: append([]string(nil), classes...), store: st}
		for _, name := range g.names {
			if err := s.openRecords(g.format, dir, name); err != nil {
				_ = st.close()
				return nil, err
			}
		}
		sets[k] = s
	}
	return &Dataset{Train: sets[0], Test: sets[1]}, nil
}

// openRecords adds the records of dir/name, of format f, to the stored
// Set s and to its store.
func (s *Set) openRecords(f format, dir, name string) error {
	sf, n, err := f.openFile(dir, name)
	if err != nil {
		return err
	}
	s.store.files = append(s.store.files, sf)
	file := int32(len(s.store.files) - 1)
	if s.Labels, err = f.readLabels(sf, n, s.Labels); err != nil {
		return err
	}
	for r := range n {
		s.refs = append(s.refs, ref{file: file, record: int32(r)})
	}
	return nil
}

// Close closes the files a stored Dataset (Open) and the Sets split from
// it read their images from; it does nothing for a Dataset in memory.
func (d *Dataset) Close() error {
	if d == nil || d.Train == nil || d.Train.store == nil {
		return nil
	}
	return d.Train.store.close()
}

// openFile opens dir/name, a regular file of 1 to f.maxRecords whole
// records, and returns it with its number of records. The file is checked
// before it is opened (opening a named pipe would block) and the open file
// is checked to be the same one, at the same size.
func (f format) openFile(dir, name string) (storedFile, int, error) {
	before, n, err := f.statFile(dir, name)
	if err != nil {
		return storedFile{}, 0, err
	}
	path := filepath.Join(dir, name)
	fh, err := os.Open(path)
	if err != nil {
		return storedFile{}, 0, missing(dir, name, err)
	}
	after, err := fh.Stat()
	if err == nil && (!os.SameFile(before, after) || after.Size() != int64(n*f.recordSize())) {
		err = &FormatError{File: path, Record: -1, Reason: "changed while being opened"}
	}
	if err != nil {
		_ = fh.Close()
		return storedFile{}, 0, err
	}
	return storedFile{f: fh, path: path, format: f}, n, nil
}

// labelChunk is the number of records readLabels reads at a time.
const labelChunk = 256

// readLabels reads the n records of sf in chunks, checks their labels and
// appends them to labels.
func (f format) readLabels(sf storedFile, n int, labels []uint8) ([]uint8, error) {
	rs := f.recordSize()
	chunk := make([]byte, labelChunk*rs)
	for start := 0; start < n; start += labelChunk {
		m := min(labelChunk, n-start)
		if _, err := sf.f.ReadAt(chunk[:m*rs], int64(start)*int64(rs)); err != nil {
			return nil, &FormatError{File: sf.path, Record: start, Reason: fmt.Sprintf("read %d records: %v", m, err)}
		}
		for i := range m {
			l := chunk[i*rs+f.label]
			if int(l) >= f.classes {
				return nil, &FormatError{File: sf.path, Record: start + i, Reason: fmt.Sprintf("label %d outside 0-%d", l, f.classes-1)}
			}
			labels = append(labels, l)
		}
	}
	return labels, nil
}
