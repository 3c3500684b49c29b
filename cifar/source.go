package cifar

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Source reads the examples of a Set or Features in any order as float32
// values multiplied by a scale, with one-hot labels: a dataset a training
// loop fills its batches from. It reads its Set or Features without
// copying them; they must not change while it is in use. Its methods may
// run on several goroutines at once.
type Source struct {
	rows rows
	k    int
}

// Source returns a Source over s with pixels float32(p)*scale (scale 0:
// 1, raw 0-255 values) and K = NumClasses one-hot columns.
func (s *Set) Source(scale float32) *Source {
	r := &imageRows{set: s}
	scale = scaleOrOne(scale)
	for i := range r.lut {
		r.lut[i] = float32(i) * scale
	}
	return &Source{rows: r, k: s.NumClasses()}
}

// Source returns a Source over f with values multiplied by scale (0: 1)
// and K = NumClasses one-hot columns.
func (f *Features) Source(scale float32) *Source {
	return &Source{rows: featureRows{f, scaleOrOne(scale)}, k: f.NumClasses()}
}

// Len returns the number of examples.
func (s *Source) Len() int { return s.rows.len() }

// Width returns the number of values of one example.
func (s *Source) Width() int { return s.rows.width() }

// NumClasses returns K, the number of one-hot columns of the labels.
func (s *Source) NumClasses() int { return s.k }

// FillTo writes the examples at the given indices into images (len(idx)
// times Width values) and their one-hot labels into labels (len(idx)
// times NumClasses values). It panics if a slice is too short or an index
// is out of range; the error is a stored set's read error.
func (s *Source) FillTo(idx []int, images, labels []float32) error {
	return fillTo(s.rows, s.k, idx, images, labels)
}

// Check reports an error when the Set or Features under s do not hold as
// many examples as labels.
func (s *Source) Check() error {
	switch r := s.rows.(type) {
	case *imageRows:
		return r.set.Check()
	case featureRows:
		return r.f.Check()
	case packedRows:
		return r.p.Check()
	}
	return nil
}

// fillTo writes the examples of r at idx and their one-hot labels of k
// columns.
func fillTo(r rows, k int, idx []int, images, labels []float32) error {
	w, n := r.width(), len(idx)
	images, labels = images[:n*w], labels[:n*k]
	clear(labels)
	for i, j := range idx {
		if err := r.fill(images[i*w:(i+1)*w], j); err != nil {
			return err
		}
		labels[i*k+int(r.label(j))] = 1
	}
	return nil
}

// Fingerprint returns the fingerprint of the Set under s, or the Origin
// of the Features under s.
func (s *Source) Fingerprint() (string, error) {
	switch r := s.rows.(type) {
	case *imageRows:
		return r.set.Fingerprint()
	case featureRows:
		return r.f.Origin, nil
	case packedRows:
		return r.p.Origin, nil
	}
	return "", nil
}

// Fingerprint returns the sha256 (hex) of the number of images, the class
// names, the images and the labels of s: what a model trained on s saw,
// wherever its files are. The error is a stored Set's read error.
func (s *Set) Fingerprint() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%d %q\n", s.Len(), s.Classes)
	if s.Shape != ([3]int{}) {
		fmt.Fprintf(h, "%v\n", s.Shape) // CIFAR's fingerprints stay as they were
	}
	if err := s.hashImages(h); err != nil {
		return "", err
	}
	h.Write(s.Labels)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// FillTo writes the images at idx as raw 0-255 float32 values into images
// (len(idx)*ImageBytes values, NHWC) and their one-hot labels into labels
// (len(idx)*NumClasses values), as Source(1).FillTo does.
func (s *Set) FillTo(idx []int, images, labels []float32) error {
	return fillTo(&rawRows{s}, s.NumClasses(), idx, images, labels)
}

// Check reports an error when s does not hold ImageBytes bytes per label
// or its Shape has a dimension below 1 (a zero Shape is CIFAR's).
func (s *Set) Check() error {
	if sh := s.ImageShape(); sh[0] < 1 || sh[1] < 1 || sh[2] < 1 {
		return fmt.Errorf("image shape %v, want positive dimensions", sh)
	}
	if s.store != nil {
		if len(s.refs) != s.Len() {
			return fmt.Errorf("%d stored images for %d labels", len(s.refs), s.Len())
		}
		return nil
	}
	if len(s.Images) != s.Len()*s.ImageBytes() {
		return fmt.Errorf("%d bytes for %d images of %v", len(s.Images), s.Len(), s.ImageShape())
	}
	return nil
}

// FillTo writes the examples at idx into images (len(idx)*Width values)
// and their one-hot labels into labels (len(idx)*NumClasses values), as
// Source(1).FillTo does.
func (f *Features) FillTo(idx []int, images, labels []float32) error {
	return fillTo(featureRows{f, 1}, f.NumClasses(), idx, images, labels)
}

// rawRows reads the images of a Set as raw 0-255 values.
type rawRows struct{ set *Set }

func (r *rawRows) len() int          { return r.set.Len() }
func (r *rawRows) width() int        { return r.set.ImageBytes() }
func (r *rawRows) label(i int) uint8 { return r.set.Labels[i] }

func (r *rawRows) fill(dst []float32, i int) error {
	return r.set.withImage(i, func(src []byte) {
		out := dst[:len(src)]
		for p, v := range src {
			out[p] = float32(v)
		}
	})
}
