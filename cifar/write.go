package cifar

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tfcifar/tfcifar/internal/atomicfile"
)

// Encode returns the images and labels of s in the CIFAR-10 binary record
// format (label byte, then the R, G and B planes), the inverse of
// ReadRecords.
func Encode(s *Set) []byte {
	const plane = Width * Height
	out := make([]byte, s.Len()*RecordSize)
	for i, l := range s.Labels {
		rec := out[i*RecordSize : (i+1)*RecordSize]
		rec[0] = l
		src := (*[ImageSize]byte)(s.Images[i*ImageSize : (i+1)*ImageSize])
		for p := range plane {
			rec[1+p] = src[3*p]
			rec[1+plane+p] = src[3*p+1]
			rec[1+2*plane+p] = src[3*p+2]
		}
	}
	return out
}

// Save writes d as a CIFAR-10 binary dataset directory that Load reads
// back: the training images spread in order over data_batch_1.bin …
// data_batch_5.bin, the test images in test_batch.bin and the class names
// of d.Train in batches.meta.txt. d.Train needs 5 to 50,000 images and
// d.Test 1 to 10,000 (at most FileRecords per file); dir must not exist. The files are written to a
// temporary directory next to dir, which is then renamed to dir.
func Save(dir string, d *Dataset) error {
	switch {
	case d == nil || d.Train == nil || d.Test == nil:
		return errors.New("cifar: save: dataset needs both Train and Test")
	case d.Train.Len() < TrainFiles:
		return fmt.Errorf("cifar: save: Train has %d images, want at least %d (one per file)", d.Train.Len(), TrainFiles)
	case d.Test.Len() == 0:
		return errors.New("cifar: save: Test is empty")
	case d.Train.Len() > TrainFiles*FileRecords || d.Test.Len() > FileRecords:
		return fmt.Errorf("cifar: save: %d training and %d test images, want at most %d and %d (%d per file)",
			d.Train.Len(), d.Test.Len(), TrainFiles*FileRecords, FileRecords, FileRecords)
	case len(d.Train.Classes) != NumClasses:
		return fmt.Errorf("cifar: save: Train has %d class names, want %d", len(d.Train.Classes), NumClasses)
	}
	for _, s := range []*Set{d.Train, d.Test} {
		if len(s.Images) != s.Len()*ImageSize {
			return fmt.Errorf("cifar: save: %d images need %d bytes, have %d", s.Len(), s.Len()*ImageSize, len(s.Images))
		}
	}
	files := map[string][]byte{
		TestFile: Encode(d.Test),
		MetaFile: []byte(strings.Join(d.Train.Classes, "\n") + "\n"),
	}
	n := d.Train.Len()
	for i, name := range trainFiles() {
		a, b := i*n/TrainFiles, (i+1)*n/TrainFiles
		files[name] = Encode(&Set{Images: d.Train.Images[a*ImageSize : b*ImageSize], Labels: d.Train.Labels[a:b]})
	}
	if err := saveFiles(dir, files); err != nil {
		return fmt.Errorf("cifar: save: %w", err)
	}
	return nil
}

// saveFiles writes files (by name) into a new directory dir, built aside
// and renamed into place, so dir is complete or absent. An existing dir is
// an error.
func saveFiles(dir string, files map[string][]byte) error {
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%s already exists", dir)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	return atomicfile.BuildDir(dir, ".save-", func(tmp string) error {
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
				return err
			}
		}
		return nil
	}, os.Rename)
}
