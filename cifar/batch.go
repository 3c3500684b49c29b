package cifar

import (
	"fmt"
	"iter"

	"github.com/tfcifar/tfcifar/internal/shuffle"
)

// Batch is one batch of images (or feature vectors) and one-hot labels.
//
// Images holds N*Width float32 values, NHWC (e.g. [N,32,32,3] for
// CIFAR-10; for Features, N*Width values); Labels holds
// N*K values, row i one-hot for the label of image i, where K is the
// Batcher's number of classes. Both slices belong to the Batcher and are
// overwritten by the next batch.
type Batch struct {
	Images []float32
	Labels []float32
	N      int
}

// Batcher turns a Set (or Features) into float32 batches. It owns one image
// and one label buffer of the full batch size and refills them for every
// batch, so it allocates nothing per batch. A Batcher is not safe for
// concurrent use and runs one epoch at a time.
type Batcher struct {
	rows   rows
	width  int
	size   int
	k      int
	order  *shuffle.Orderer
	images []float32
	labels []float32
	err    error // why the last Epoch ended early
}

// NewBatcher returns a Batcher over s with batches of batchSize images.
// Pixels become float32(p)*scale; scale 0 means 1 (raw 0-255 pixels, as
// the reference feeds them). Labels are one-hot with K = len(s.Classes)
// columns (more if a label is larger). seed fixes the per-epoch shuffles.
// The Batcher reads s without copying it; s must not change while in use.
// NewBatcher panics if s is nil or batchSize < 1.
func NewBatcher(s *Set, batchSize int, scale float32, seed int64) *Batcher {
	if s == nil || batchSize < 1 {
		panic(fmt.Sprintf("cifar: NewBatcher: nil set or batch size %d < 1", batchSize))
	}
	r := &imageRows{set: s}
	scale = scaleOrOne(scale)
	for i := range r.lut {
		r.lut[i] = float32(i) * scale
	}
	return newBatcher(r, batchSize, s.NumClasses(), seed)
}

// scaleOrOne returns scale, or 1 for 0.
func scaleOrOne(scale float32) float32 {
	if scale == 0 {
		return 1
	}
	return scale
}

// rows is what a Batcher batches: examples of a fixed width with labels.
type rows interface {
	len() int
	width() int
	label(i int) uint8
	fill(dst []float32, i int) error // dst has width() values
}

// newBatcher returns a Batcher over r with k one-hot columns.
func newBatcher(r rows, batchSize, k int, seed int64) *Batcher {
	b := &Batcher{
		rows:   r,
		width:  r.width(),
		size:   batchSize,
		k:      k,
		order:  shuffle.New(r.len(), seed),
		images: make([]float32, batchSize*r.width()),
		labels: make([]float32, batchSize*k),
	}
	return b
}

// imageRows reads the images of a Set through a lookup table of scaled
// pixel values.
type imageRows struct {
	set *Set
	lut [256]float32
}

func (r *imageRows) len() int          { return r.set.Len() }
func (r *imageRows) width() int        { return r.set.ImageBytes() }
func (r *imageRows) label(i int) uint8 { return r.set.Labels[i] }

func (r *imageRows) fill(dst []float32, i int) error {
	return r.set.withImage(i, func(src []byte) {
		out := dst[:len(src)]
		lut := &r.lut
		for p, v := range src {
			out[p] = lut[v]
		}
	})
}

// Steps returns the number of batches of an epoch, the last one partial
// if the set size is not a multiple of the batch size.
func (b *Batcher) Steps() int { return (b.order.Len() + b.size - 1) / b.size }

// Classes returns K, the number of one-hot columns of a batch's labels.
func (b *Batcher) Classes() int { return b.k }

// Order returns the order in which epoch visits the images: the identity
// without shuffle, otherwise a permutation that depends only on the seed
// and the epoch number. The slice is the Batcher's and is valid until the
// next call of Order or Epoch.
func (b *Batcher) Order(epoch int, shuffle bool) []int {
	return b.order.Order(epoch, shuffle)
}

// Epoch yields the batches of one epoch in the order given by Order; the
// last batch is partial if the set size is not a multiple of the batch
// size. Each Batch is valid only until the next one is yielded. An epoch
// ends early when a batch cannot be read; Err then says why.
func (b *Batcher) Epoch(epoch int, shuffle bool) iter.Seq[Batch] {
	return func(yield func(Batch) bool) {
		b.err = nil
		order := b.Order(epoch, shuffle)
		for start := 0; start < len(order); start += b.size {
			batch, err := b.Fill(order[start:min(start+b.size, len(order))])
			if err != nil {
				b.err = err
				return
			}
			if !yield(batch) {
				return
			}
		}
	}
}

// Err returns why the last Epoch ended early, or nil.
func (b *Batcher) Err() error { return b.err }

// Fill fills a batch with the images at the given indices of the set, in
// that order, and returns it; it is valid until the next Fill or batch.
// The error is a stored set's read error. Fill panics if len(idx) exceeds
// the batch size or an index is out of range.
func (b *Batcher) Fill(idx []int) (Batch, error) {
	n := len(idx)
	if n > b.size {
		panic(fmt.Sprintf("cifar: Fill: %d indices exceed the batch size %d", n, b.size))
	}
	images, labels := b.images[:n*b.width], b.labels[:n*b.k]
	if err := b.FillTo(idx, images, labels); err != nil {
		return Batch{}, err
	}
	return Batch{Images: images, Labels: labels, N: n}, nil
}

// FillTo writes the examples at the given indices into images (len(idx)
// times Width values) and their one-hot labels into labels (len(idx) times
// Classes values), e.g. straight into the memory of the tensors a training
// step feeds. It does not change the Batcher, so it may run on another
// goroutine, provided idx (often a part of Order's slice, which the next
// Order call reuses) does not change meanwhile. The error is a stored
// set's read error. FillTo panics if a slice is too short or an index is
// out of range.
func (b *Batcher) FillTo(idx []int, images, labels []float32) error {
	return fillTo(b.rows, b.k, idx, images, labels)
}
