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
// record, or -1 when the error concerns the file as a whole.
type FormatError struct {
	File   string
	Record int
	Reason string
}

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
	n, err := countRecords(name, int64(len(data)))
	if err != nil {
		return nil, err
	}
	s := &Set{Images: make([]byte, n*ImageSize), Labels: make([]uint8, n)}
	if err := decode(s.Images, s.Labels, name, data); err != nil {
		return nil, err
	}
	return s, nil
}

// countRecords returns the number of records of a file of size bytes.
func countRecords(name string, size int64) (int, error) {
	switch {
	case size == 0:
		return 0, &FormatError{File: name, Record: -1, Reason: "file is empty"}
	case size%RecordSize != 0:
		return 0, &FormatError{File: name, Record: -1, Reason: fmt.Sprintf(
			"size %d is not a multiple of the %d-byte record (%d whole records, %d bytes left over)",
			size, RecordSize, size/RecordSize, size%RecordSize)}
	}
	return int(size / RecordSize), nil
}

// countFile returns the number of records of the .bin file at path, which
// must be a regular file of 1 to FileRecords whole records.
func countFile(dir, name string) (int, error) {
	path := filepath.Join(dir, name)
	fi, err := os.Stat(path)
	if err != nil {
		return 0, missing(dir, name, err)
	}
	if err := regular(path, fi); err != nil {
		return 0, err
	}
	if fi.Size() > FileRecords*RecordSize {
		return 0, &FormatError{File: path, Record: -1, Reason: fmt.Sprintf(
			"size %d is over the %d bytes of a CIFAR-10 batch (%d records of %d bytes)",
			fi.Size(), FileRecords*RecordSize, FileRecords, RecordSize)}
	}
	return countRecords(path, fi.Size())
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
// len(data) must be len(labels)*RecordSize and len(images) len(labels)*ImageSize.
func decode(images []byte, labels []uint8, name string, data []byte) error {
	const plane = Width * Height
	for i := range labels {
		rec := data[i*RecordSize : (i+1)*RecordSize]
		if rec[0] >= NumClasses {
			return &FormatError{File: name, Record: i, Reason: fmt.Sprintf("label %d outside 0-%d", rec[0], NumClasses-1)}
		}
		labels[i] = rec[0]
		r := (*[plane]byte)(rec[1 : 1+plane])
		g := (*[plane]byte)(rec[1+plane : 1+2*plane])
		b := (*[plane]byte)(rec[1+2*plane : 1+3*plane])
		dst := (*[ImageSize]byte)(images[i*ImageSize : (i+1)*ImageSize])
		for p := range plane {
			dst[3*p] = r[p]
			dst[3*p+1] = g[p]
			dst[3*p+2] = b[p]
		}
	}
	return nil
}

// ParseClasses parses a batches.meta.txt file named name (used in errors):
// exactly NumClasses non-empty lines, one class name per line from label 0
// up. Surrounding spaces, "\r" and trailing empty lines are ignored.
func ParseClasses(name string, data []byte) ([]string, error) {
	lines := strings.Split(string(data), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) != NumClasses {
		return nil, &FormatError{File: name, Record: -1, Reason: fmt.Sprintf("has %d class names, want %d (one per line)", len(lines), NumClasses)}
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
func readClasses(dir string) ([]string, error) {
	path := filepath.Join(dir, MetaFile)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, missing(dir, MetaFile, err)
	}
	if err := regular(path, fi); err != nil {
		return nil, err
	}
	if fi.Size() > MaxMetaSize {
		return nil, metaTooLarge(path)
	}
	data, err := capped.ReadFile(path, MaxMetaSize)
	if err != nil { // gone, or grown past the cap since the Stat
		return nil, missing(dir, MetaFile, err)
	}
	return ParseClasses(path, data)
}

func metaTooLarge(path string) error {
	return &FormatError{File: path, Record: -1, Reason: fmt.Sprintf("larger than %d bytes, want 10 class names, one per line", MaxMetaSize)}
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
	train, trainJobs, err := prepare(dir, trainFiles(), classes)
	if err != nil {
		return nil, err
	}
	test, testJobs, err := prepare(dir, []string{TestFile}, classes)
	if err != nil {
		return nil, err
	}
	if err := decodeFiles(append(trainJobs, testJobs...)); err != nil {
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
func prepare(dir string, names []string, classes []string) (*Set, []fileJob, error) {
	counts := make([]int, len(names))
	total := 0
	for i, name := range names {
		var err error
		if counts[i], err = countFile(dir, name); err != nil {
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
func decodeFiles(jobs []fileJob) error {
	errs := make([]error, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Go(func() {
			var buf []byte
			for i := range next {
				j := jobs[i]
				buf, errs[i] = readFile(j.path, buf, len(j.labels)*RecordSize)
				if errs[i] == nil {
					errs[i] = decode(j.images, j.labels, j.path, buf)
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
