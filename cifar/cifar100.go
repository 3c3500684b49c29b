package cifar

import (
	"errors"
	"fmt"
	"strings"
)

// CIFAR-100, binary version (cifar-100-binary.tar.gz): train.bin (50,000
// records) and test.bin (10,000), each record a coarse label byte (0-19),
// a fine label byte (0-99) and the image as three 32x32 planes, as in
// CIFAR-10; fine_label_names.txt and coarse_label_names.txt name the
// classes, one per line.
const (
	// DirName100 is the name of the directory the official archive extracts to.
	DirName100 = "cifar-100-binary"
	// TrainFile100 and TestFile100 are the record files of CIFAR-100.
	TrainFile100 = "train.bin"
	TestFile100  = "test.bin"
	// FineFile and CoarseFile hold the class names of the fine and coarse labels.
	FineFile   = "fine_label_names.txt"
	CoarseFile = "coarse_label_names.txt"
	// RecordSize100 is the number of bytes of one CIFAR-100 record.
	RecordSize100 = 2 + ImageSize
	// NumFine and NumCoarse are the numbers of fine classes and of coarse
	// classes (superclasses).
	NumFine, NumCoarse = 100, 20
	// TrainRecords100 and TestRecords100 are the records of the official
	// files; Load100 accepts files of 1 up to that many records.
	TrainRecords100, TestRecords100 = 50000, 10000
)

// formats100 returns the record formats of train.bin and test.bin with
// the coarse or the fine labels.
func formats100(coarse bool) (train, test format) {
	f := format{title: "CIFAR-100 file", labelBytes: 2, label: 1, classes: NumFine}
	if coarse {
		f.label, f.classes = 0, NumCoarse
	}
	train, test = f, f
	train.maxRecords, test.maxRecords = TrainRecords100, TestRecords100
	return train, test
}

// ReadRecords100 decodes the bytes of a CIFAR-100 .bin file named name
// (used in errors) with its fine labels, or its coarse ones. data must be
// a non-empty multiple of RecordSize100 bytes and every label in range.
// The returned Set has no Classes.
func ReadRecords100(name string, data []byte, coarse bool) (*Set, error) {
	f, _ := formats100(coarse)
	return f.readRecords(name, data)
}

// Check100 verifies cheaply that dir holds the CIFAR-100 binary dataset:
// train.bin and test.bin hold whole records, up to 50,000 and 10,000,
// and the two name files hold 100 and 20 names. Labels are checked by
// Load100.
func Check100(dir string) error {
	train, test := formats100(false)
	if _, err := train.countFile(dir, TrainFile100); err != nil {
		return err
	}
	if _, err := test.countFile(dir, TestFile100); err != nil {
		return err
	}
	if _, err := readNames(dir, FineFile, NumFine); err != nil {
		return err
	}
	_, err := readNames(dir, CoarseFile, NumCoarse)
	return err
}

// Load100 reads the CIFAR-100 binary dataset in dir: train.bin as Train,
// test.bin as Test, labelled with the fine labels (100 classes, named by
// fine_label_names.txt) or, if coarse, the coarse ones (20 superclasses,
// coarse_label_names.txt). Errors name the file and, where it applies,
// the record ([*FormatError]).
func Load100(dir string, coarse bool) (*Dataset, error) {
	classes, err := classes100(dir, coarse)
	if err != nil {
		return nil, err
	}
	train, test := formats100(coarse)
	tr, jobs, err := train.prepare(dir, []string{TrainFile100}, classes)
	if err != nil {
		return nil, err
	}
	te, testJobs, err := test.prepare(dir, []string{TestFile100}, classes)
	if err != nil {
		return nil, err
	}
	if err := train.decodeFiles(append(jobs, testJobs...)); err != nil {
		return nil, err
	}
	return &Dataset{Train: tr, Test: te}, nil
}

// Open100 opens the CIFAR-100 binary dataset in dir as Load100 reads it,
// leaving the images in their files, as Open does.
func Open100(dir string, coarse bool) (*Dataset, error) {
	classes, err := classes100(dir, coarse)
	if err != nil {
		return nil, err
	}
	train, test := formats100(coarse)
	return open(dir, classes, fileGroup{train, []string{TrainFile100}}, fileGroup{test, []string{TestFile100}})
}

// classes100 checks the CIFAR-100 dataset in dir (Check100) and returns
// its fine or coarse class names.
func classes100(dir string, coarse bool) ([]string, error) {
	if err := Check100(dir); err != nil {
		return nil, err
	}
	if coarse {
		return readNames(dir, CoarseFile, NumCoarse)
	}
	return readNames(dir, FineFile, NumFine)
}

// Labels100 are the labels of CIFAR-100 images: Fine[i] and Coarse[i]
// label image i.
type Labels100 struct {
	Fine, Coarse []uint8
}

// Encode100 returns images (NHWC, ImageSize bytes each) and their labels
// in the CIFAR-100 binary record format, the inverse of ReadRecords100.
func Encode100(images []byte, l Labels100) []byte {
	const plane = Width * Height
	out := make([]byte, len(l.Fine)*RecordSize100)
	for i := range l.Fine {
		rec := out[i*RecordSize100 : (i+1)*RecordSize100]
		rec[0], rec[1] = l.Coarse[i], l.Fine[i]
		src := images[i*ImageSize : (i+1)*ImageSize]
		for p := range plane {
			rec[2+p] = src[3*p]
			rec[2+plane+p] = src[3*p+1]
			rec[2+2*plane+p] = src[3*p+2]
		}
	}
	return out
}

// Save100 writes a CIFAR-100 binary dataset directory that Load100 reads
// back: train.bin and test.bin from the images (NHWC) and labels given,
// and the 100 fine and 20 coarse class names. dir must not exist; the
// files are written to a temporary directory next to it, then renamed.
func Save100(dir string, train, test []byte, trainLabels, testLabels Labels100, fine, coarse []string) error {
	switch {
	case len(fine) != NumFine || len(coarse) != NumCoarse:
		return fmt.Errorf("cifar: save100: %d fine and %d coarse names, want %d and %d", len(fine), len(coarse), NumFine, NumCoarse)
	case len(trainLabels.Fine) == 0 || len(testLabels.Fine) == 0:
		return errors.New("cifar: save100: want at least one training and one test image")
	case len(trainLabels.Fine) > TrainRecords100 || len(testLabels.Fine) > TestRecords100:
		return fmt.Errorf("cifar: save100: at most %d training and %d test images", TrainRecords100, TestRecords100)
	}
	for _, p := range []struct {
		images []byte
		l      Labels100
	}{{train, trainLabels}, {test, testLabels}} {
		if len(p.l.Coarse) != len(p.l.Fine) || len(p.images) != len(p.l.Fine)*ImageSize {
			return fmt.Errorf("cifar: save100: %d fine labels, %d coarse labels and %d image bytes disagree", len(p.l.Fine), len(p.l.Coarse), len(p.images))
		}
	}
	files := map[string][]byte{
		TrainFile100: Encode100(train, trainLabels),
		TestFile100:  Encode100(test, testLabels),
		FineFile:     []byte(strings.Join(fine, "\n") + "\n"),
		CoarseFile:   []byte(strings.Join(coarse, "\n") + "\n"),
	}
	if err := saveFiles(dir, files); err != nil {
		return fmt.Errorf("cifar: save100: %w", err)
	}
	return nil
}
