package cifar

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/tfcifar/tfcifar/internal/capped"
)

// DirName is the name of the directory the official archive extracts to.
const DirName = "cifar-10-batches-bin"

// File names of the official binary distribution.
const (
	TestFile  = "test_batch.bin"
	MetaFile  = "batches.meta.txt"
	trainBase = "data_batch_%d.bin"
	// TrainFiles is the number of training files, data_batch_1.bin to data_batch_5.bin.
	TrainFiles = 5
	// FileRecords is the number of records of each official .bin file;
	// Load accepts .bin files of 1 to FileRecords records (exactly
	// records × RecordSize bytes, at most 30,730,000 bytes).
	FileRecords = 10000
	// MaxMetaSize caps the size of batches.meta.txt (the official one has 61 bytes).
	MaxMetaSize = 64 << 10
)

// trainFiles returns data_batch_1.bin … data_batch_5.bin.
func trainFiles() []string {
	names := make([]string, TrainFiles)
	for i := range names {
		names[i] = fmt.Sprintf(trainBase, i+1)
	}
	return names
}

// dataFiles returns all files Load reads: the training files, then the
// test file, then the meta file.
func dataFiles() []string { return append(trainFiles(), TestFile, MetaFile) }

// FormatError reports a file that is missing or does not follow the
// CIFAR-10 binary format. Record is the 0-based index of the offending
// record, or -1 when the error concerns the file as a whole. Err is the
// error of the read that failed, if one did.
type FormatError struct {
	File   string
	Record int
	Reason string
	Err    error
}

// Unwrap returns Err.
func (e *FormatError) Unwrap() error { return e.Err }

// Error returns "cifar: FILE: record N: REASON" (without the record part if Record < 0).
func (e *FormatError) Error() string {
	if e.Record >= 0 {
		return fmt.Sprintf("cifar: %s: record %d: %s", e.File, e.Record, e.Reason)
	}
	return fmt.Sprintf("cifar: %s: %s", e.File, e.Reason)
}

// ReadRecords decodes the bytes of one .bin file named name (used in
// errors). data must be a non-empty multiple of RecordSize bytes and every
// label must be below NumClasses. The returned Set has no Classes.
func ReadRecords(name string, data []byte) (*Set, error) {
	return cifar10.readRecords(name, data)
}

// readRecords decodes the bytes of one .bin file of format f.
func (f format) readRecords(name string, data []byte) (*Set, error) {
	n, err := f.countRecords(name, int64(len(data)))
	if err != nil {
		return nil, err
	}
	s := &Set{Images: make([]byte, n*ImageSize), Labels: make([]uint8, n)}
	if err := f.decode(s.Images, s.Labels, name, data); err != nil {
		return nil, err
	}
	return s, nil
}

// format is a CIFAR binary record format: labelBytes label bytes, of
// which the one at label is read (below classes), then the image; a file
// holds at most maxRecords records.
type format struct {
	title               string
	labelBytes, label   int
	classes, maxRecords int
}

// cifar10 is the format of CIFAR-10's .bin files.
var cifar10 = format{title: "CIFAR-10 batch", labelBytes: 1, label: 0, classes: NumClasses, maxRecords: FileRecords}

// recordSize returns the bytes of one record.
func (f format) recordSize() int { return f.labelBytes + ImageSize }

// countRecords returns the number of records of a file of size bytes.
func (f format) countRecords(name string, size int64) (int, error) {
	rs := int64(f.recordSize())
	switch {
	case size == 0:
		return 0, &FormatError{File: name, Record: -1, Reason: "file is empty"}
	case size%rs != 0:
		return 0, &FormatError{File: name, Record: -1, Reason: fmt.Sprintf(
			"size %d is not a multiple of the %d-byte record (%d whole records, %d bytes left over)",
			size, rs, size/rs, size%rs)}
	}
	return int(size / rs), nil
}

// countFile returns the number of records of the .bin file at path, which
// must be a regular file of 1 to FileRecords whole records.
func countFile(dir, name string) (int, error) { return cifar10.countFile(dir, name) }

// countFile returns the number of records of the file dir/name of format
// f, a regular file of 1 to f.maxRecords whole records.
func (f format) countFile(dir, name string) (int, error) {
	_, n, err := f.statFile(dir, name)
	return n, err
}

// statFile checks the file dir/name as countFile does and returns its
// FileInfo and number of records.
func (f format) statFile(dir, name string) (os.FileInfo, int, error) {
	path := filepath.Join(dir, name)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0, missing(dir, name, err)
	}
	if err := regular(path, fi); err != nil {
		return nil, 0, err
	}
	if limit := int64(f.maxRecords * f.recordSize()); fi.Size() > limit {
		return nil, 0, &FormatError{File: path, Record: -1, Reason: fmt.Sprintf(
			"size %d is over the %d bytes of a %s (%d records of %d bytes)",
			fi.Size(), limit, f.title, f.maxRecords, f.recordSize())}
	}
	n, err := f.countRecords(path, fi.Size())
	return fi, n, err
}

// regular refuses anything but a regular file (a device, pipe or directory
// could be endless or block).
func regular(path string, fi os.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return &FormatError{File: path, Record: -1, Reason: "not a regular file but " + kindOf(fi.Mode())}
	}
	return nil
}

// kindOf names the type of a file that is not a regular file.
func kindOf(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// decode converts the records in data into images (NHWC) and labels;
// len(data) must be len(labels) records and len(images) len(labels)*ImageSize.
func (f format) decode(images []byte, labels []uint8, name string, data []byte) error {
	rs, o := f.recordSize(), f.labelBytes
	for i := range labels {
		rec := data[i*rs : (i+1)*rs]
		if l := rec[f.label]; int(l) >= f.classes {
			return &FormatError{File: name, Record: i, Reason: fmt.Sprintf("label %d outside 0-%d", l, f.classes-1)}
		}
		labels[i] = rec[f.label]
		interleave((*[ImageSize]byte)(images[i*ImageSize:(i+1)*ImageSize]), rec[o:])
	}
	return nil
}

// interleave writes the image whose three planes (R, G, B) start planes
// into dst, HWC.
func interleave(dst *[ImageSize]byte, planes []byte) {
	const plane = Width * Height
	r := (*[plane]byte)(planes[:plane])
	g := (*[plane]byte)(planes[plane : 2*plane])
	b := (*[plane]byte)(planes[2*plane : 3*plane])
	for p := range plane {
		dst[3*p] = r[p]
		dst[3*p+1] = g[p]
		dst[3*p+2] = b[p]
	}
}

// ParseClasses parses a batches.meta.txt file named name (used in errors):
// exactly NumClasses non-empty lines, one class name per line from label 0
// up. Surrounding spaces, "\r" and trailing empty lines are ignored.
func ParseClasses(name string, data []byte) ([]string, error) {
	return parseNames(name, data, NumClasses)
}

// parseNames parses a file of want class names, one per line.
func parseNames(name string, data []byte, want int) ([]string, error) {
	lines := strings.Split(string(data), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) != want {
		return nil, &FormatError{File: name, Record: -1, Reason: fmt.Sprintf("has %d class names, want %d (one per line)", len(lines), want)}
	}
	classes := make([]string, len(lines))
	for i, l := range lines {
		classes[i] = strings.TrimSpace(l)
		if classes[i] == "" {
			return nil, &FormatError{File: name, Record: -1, Reason: fmt.Sprintf("line %d is empty, want a class name", i+1)}
		}
	}
	return classes, nil
}

// Check verifies cheaply that dir holds a CIFAR-10 binary dataset: every
// file is present and a regular file, every .bin file holds 1 to
// FileRecords whole records (a multiple of RecordSize bytes) and
// batches.meta.txt (at most MaxMetaSize bytes) holds 10 class names. Labels are checked by
// Load.
func Check(dir string) error {
	for _, name := range append(trainFiles(), TestFile) {
		if _, err := countFile(dir, name); err != nil {
			return err
		}
	}
	_, err := readClasses(dir)
	return err
}

func missing(dir, name string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return &FormatError{File: filepath.Join(dir, name), Record: -1, Reason: "missing"}
	}
	return fmt.Errorf("cifar: %w", err)
}

// readClasses reads batches.meta.txt, a regular file of at most MaxMetaSize bytes.
func readClasses(dir string) ([]string, error) { return readNames(dir, MetaFile, NumClasses) }

// readNames reads the file of want class names dir/file, a regular file
// of at most MaxMetaSize bytes.
func readNames(dir, file string, want int) ([]string, error) {
	path := filepath.Join(dir, file)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, missing(dir, file, err)
	}
	if err := regular(path, fi); err != nil {
		return nil, err
	}
	if fi.Size() > MaxMetaSize {
		return nil, metaTooLarge(path, want)
	}
	data, err := capped.ReadFile(path, MaxMetaSize)
	if err != nil { // gone, or grown past the cap since the Stat
		return nil, missing(dir, file, err)
	}
	return parseNames(path, data, want)
}

func metaTooLarge(path string, want int) error {
	return &FormatError{File: path, Record: -1, Reason: fmt.Sprintf("larger than %d bytes, want %d class names, one per line", MaxMetaSize, want)}
}

// Load reads the CIFAR-10 binary dataset in dir (data_batch_1.bin …
// data_batch_5.bin, test_batch.bin, batches.meta.txt) into memory.
// Training images keep the order of the files. Sizes are checked as by
// Check before anything is read; the files are then read whole and decoded
// in parallel. Errors name the file and, where it applies, the
// record ([*FormatError]).
func Load(dir string) (*Dataset, error) {
	classes, err := readClasses(dir)
	if err != nil {
		return nil, err
	}
	return cifar10.load(dir, trainFiles(), TestFile, classes)
}

// Open opens the CIFAR-10 binary dataset in dir as Load does, but leaves
// the images in their files: the Sets of the Dataset, and those split from
// it, read each image when it is needed (a batch, a fingerprint), so they
// take 1 byte of memory per image (the label) instead of ImageSize + 1.
// Files and labels are checked at once, as by Load; reading an image
// later fails only if a file changes meanwhile, with an error naming it.
// Close the Dataset when its Sets are no longer used.
func Open(dir string) (*Dataset, error) {
	classes, err := readClasses(dir)
	if err != nil {
		return nil, err
	}
	return open(dir, classes, fileGroup{cifar10, trainFiles()}, fileGroup{cifar10, []string{TestFile}})
}

// load reads the training files and the test file of format f in dir.
func (f format) load(dir string, trainNames []string, testName string, classes []string) (*Dataset, error) {
	train, trainJobs, err := f.prepare(dir, trainNames, classes)
	if err != nil {
		return nil, err
	}
	test, testJobs, err := f.prepare(dir, []string{testName}, classes)
	if err != nil {
		return nil, err
	}
	if err := f.decodeFiles(append(trainJobs, testJobs...)); err != nil {
		return nil, err
	}
	return &Dataset{Train: train, Test: test}, nil
}

// fileJob is one .bin file to decode into its part of a Set.
type fileJob struct {
	path   string
	images []byte
	labels []uint8
}

// prepare sizes the named .bin files and allocates the Set they fill,
// returning one job per file.
func (f format) prepare(dir string, names []string, classes []string) (*Set, []fileJob, error) {
	counts := make([]int, len(names))
	total := 0
	for i, name := range names {
		var err error
		if counts[i], err = f.countFile(dir, name); err != nil {
			return nil, nil, err
		}
		total += counts[i]
	}
	s := &Set{Images: make([]byte, total*ImageSize), Labels: make([]uint8, total), Classes: append([]string(nil), classes...)}
	jobs := make([]fileJob, len(names))
	a := 0
	for i, name := range names {
		b := a + counts[i]
		jobs[i] = fileJob{filepath.Join(dir, name), s.Images[a*ImageSize : b*ImageSize], s.Labels[a:b]}
		a = b
	}
	return s, jobs, nil
}

// decodeFiles runs the jobs on up to GOMAXPROCS workers, each reusing one
// read buffer, and returns the errors of all failed files.
func (f format) decodeFiles(jobs []fileJob) error {
	errs := make([]error, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Go(func() {
			var buf []byte
			for i := range next {
				j := jobs[i]
				buf, errs[i] = readFile(j.path, buf, len(j.labels)*f.recordSize())
				if errs[i] == nil {
					errs[i] = f.decode(j.images, j.labels, j.path, buf)
				}
			}
		})
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// readFile reads exactly size bytes from path into buf (grown as needed)
// and checks that the file has not changed size since it was measured.
func readFile(path string, buf []byte, size int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf, fmt.Errorf("cifar: %w", err)
	}
	defer func() { _ = f.Close() }() // read only
	if cap(buf) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if _, err := io.ReadFull(f, buf); err != nil {
		return buf, &FormatError{File: path, Record: -1, Reason: fmt.Sprintf("read %d bytes: %v", size, err)}
	}
	var extra [1]byte
	if n, _ := f.Read(extra[:]); n != 0 {
		return buf, &FormatError{File: path, Record: -1, Reason: "file grew while being read"}
	}
	return buf, nil
}
