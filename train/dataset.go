package train

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Dataset is a labelled set of examples that Fit and Evaluate batch: the
// loop picks the examples of every batch (shuffled per epoch from the
// train seed) and asks the Dataset to write them into the memory of the
// tensors it feeds, never knowing where they come from. A cifar.Source
// over CIFAR-10 images or over cached features is one.
//
// Width is the number of float32 values of one example and must match the
// model's input; NumClasses the number of one-hot label columns, which
// must match the logits. FillTo writes the examples at idx into images
// (len(idx)*Width values) and their one-hot labels into labels
// (len(idx)*NumClasses values), or says why it could not read them (a
// stored set's read error); it runs on another goroutine than Fit's
// while a step runs, one call at a time.
type Dataset interface {
	Len() int
	Width() int
	NumClasses() int
	FillTo(idx []int, images, labels []float32) error
}

// Checker is a Dataset that can check itself before training, e.g. that
// it holds as many examples as labels.
type Checker interface {
	Check() error
}

// Fingerprinter is a Dataset that can say what it holds: a hash of its
// examples, labels and classes, the same wherever they are stored.
// Cached features give the fingerprint of the images they stand for.
type Fingerprinter interface {
	Fingerprint() (string, error)
}

// Fingerprint hashes the fingerprints of sets, in order, for
// Identity.Data. It fails when a set is no Fingerprinter.
func Fingerprint(sets ...Dataset) (string, error) {
	h := sha256.New()
	for i, s := range sets {
		f, ok := s.(Fingerprinter)
		if !ok {
			return "", fmt.Errorf("train: fingerprint: dataset %d (%T) has no Fingerprint method", i, s)
		}
		fp, err := f.Fingerprint()
		if err != nil {
			return "", fmt.Errorf("train: fingerprint of dataset %d: %w", i, err)
		}
		fmt.Fprintf(h, "%s\n", fp)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkSet checks that the examples and labels of set fit the model's
// input and classes.
func (t *Trainer) checkSet(what string, set Dataset) error {
	if int64(set.Width()) != t.pixel {
		return fmt.Errorf("train: %s set: %d values per example, the model's input takes %d", what, set.Width(), t.pixel)
	}
	if c, ok := set.(Checker); ok {
		if err := c.Check(); err != nil {
			return fmt.Errorf("train: %s set: %w", what, err)
		}
	}
	if k := set.NumClasses(); k != t.k {
		return fmt.Errorf("train: %s set has %d classes, the model's logits have %d", what, k, t.k)
	}
	return nil
}

// steps returns the number of batches of size of an epoch.
func steps(n, size int) int { return (n + size - 1) / size }
