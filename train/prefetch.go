package train

import (
	"fmt"
	"unsafe"
)

// prefetcher fills the next training batch straight into the memory of its
// input tensors on a second goroutine while the current step runs, so that
// preparing a batch overlaps Session.Run. It owns two sets of input tensors
// (per batch size) and alternates between them: the step reads one while
// the next batch is written into the other.
type prefetcher struct {
	set     Dataset
	slots   [2]map[int]*batchInput
	req     chan []int
	done    chan filled
	pending bool
}

// filled is a batch the goroutine filled, or why it could not.
type filled struct {
	in  *batchInput
	err error
}

// newPrefetcher allocates inputs for batches of the given sizes and starts
// the filling goroutine; close stops it.
func (t *Trainer) newPrefetcher(set Dataset, sizes ...int) (*prefetcher, error) {
	p := &prefetcher{set: set, req: make(chan []int, 1), done: make(chan filled, 1)}
	for i := range p.slots {
		p.slots[i] = make(map[int]*batchInput, len(sizes))
		for _, n := range sizes {
			if _, ok := p.slots[i][n]; ok || n == 0 {
				continue
			}
			in, err := t.newInput(n)
			if err != nil {
				return nil, err
			}
			p.slots[i][n] = in
		}
	}
	go p.run()
	return p, nil
}

// run fills the requested batches, alternating slots, until req is closed.
func (p *prefetcher) run() {
	slot := 0
	for idx := range p.req {
		in := p.slots[slot][len(idx)]
		err := p.fill(idx, in)
		slot = 1 - slot
		p.done <- filled{in, err}
	}
}

// fill fills in with the examples idx of the set. A panic of the set's
// FillTo (the Dataset is the caller's) is returned as an error: on this
// goroutine it would end the process, skipping Fit's checkpoint.
func (p *prefetcher) fill(idx []int, in *batchInput) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("training set: FillTo of %d examples panicked: %v", len(idx), r)
		}
	}()
	if err := p.set.FillTo(idx, in.images.floats(), in.labels.floats()); err != nil {
		return fmt.Errorf("training set: %w", err)
	}
	return nil
}

// request starts filling the batch of the given indices; idx must not
// change until wait returns it.
func (p *prefetcher) request(idx []int) {
	p.pending = true
	p.req <- idx
}

// wait returns the batch last requested, once it is filled, or the error
// that kept it from being filled.
func (p *prefetcher) wait() (*batchInput, error) {
	p.pending = false
	f := <-p.done
	return f.in, f.err
}

// close waits for a pending batch and stops the goroutine.
func (p *prefetcher) close() {
	if p.pending {
		_, _ = p.wait() // the batch is dropped, and so is its error
	}
	close(p.req)
}

// floats views the buffer's memory as float32 values.
func (b *buffer) floats() []float32 {
	if len(b.data) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b.data[0])), len(b.data)/4)
}
