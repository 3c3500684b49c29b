package cifar

import "fmt"

// Features are float32 vectors with labels, e.g. the outputs of a network's
// frozen first layers computed once per image so that only the layers after
// them need to run while training.
//
// Values holds Len()*Width() values, example i at Values[i*Width():]; Shape
// is the shape of one example (e.g. [3200]); Labels and Classes are as in
// Set. Origin is the fingerprint (Set.Fingerprint) of the examples the
// features were computed from ("" if unknown): Source.Fingerprint gives it.
type Features struct {
	Values  []float32
	Shape   []int
	Labels  []uint8
	Classes []string
	Origin  string
}

// Len returns the number of examples (0 for nil Features).
func (f *Features) Len() int {
	if f == nil {
		return 0
	}
	return len(f.Labels)
}

// Width returns the number of values of one example.
func (f *Features) Width() int {
	n := 1
	for _, d := range f.Shape {
		n *= d
	}
	return n
}

// NumClasses returns the number of one-hot columns of f's labels.
func (f *Features) NumClasses() int { return numClasses(f.Classes, f.Labels) }

// Check reports an error when Values does not hold Len() examples of Shape.
func (f *Features) Check() error {
	if len(f.Values) != f.Len()*f.Width() {
		return fmt.Errorf("cifar: features: %d values for %d examples of shape %v", len(f.Values), f.Len(), f.Shape)
	}
	return nil
}

// Batcher returns a Batcher over f: batches of batchSize examples, values
// multiplied by scale (0: 1) and one-hot labels, shuffled per epoch from seed
// exactly as a Set's Batcher is. It panics if f is nil, batchSize < 1 or
// f fails Check.
func (f *Features) Batcher(batchSize int, scale float32, seed int64) *Batcher {
	if f == nil || batchSize < 1 {
		panic(fmt.Sprintf("cifar: Features.Batcher: nil features or batch size %d < 1", batchSize))
	}
	if err := f.Check(); err != nil {
		panic(err)
	}
	return newBatcher(featureRows{f, scaleOrOne(scale)}, batchSize, f.NumClasses(), seed)
}

// featureRows reads the examples of Features, scaled.
type featureRows struct {
	f     *Features
	scale float32
}

func (r featureRows) len() int          { return r.f.Len() }
func (r featureRows) width() int        { return r.f.Width() }
func (r featureRows) label(i int) uint8 { return r.f.Labels[i] }

func (r featureRows) fill(dst []float32, i int) error {
	w := len(dst)
	scaleTo(dst, r.f.Values[i*w:(i+1)*w], r.scale)
	return nil
}
