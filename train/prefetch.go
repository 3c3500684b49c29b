package train

import (
	"unsafe"

	"github.com/tfcifar/tfcifar/cifar"
)

// prefetcher fills the next training batch straight into the memory of its
// input tensors on a second goroutine while the current step runs, so that
// preparing a batch overlaps Session.Run. It owns two sets of input tensors
// (per batch size) and alternates between them: the step reads one while
// the next batch is written into the other.
type prefetcher struct {
	b       *cifar.Batcher
	slots   [2]map[int]*batchInput
	req     chan []int
	done    chan *batchInput
	pending bool
}

// newPrefetcher allocates inputs for batches of the given sizes and starts
// the filling goroutine; close stops it.
func (t *Trainer) newPrefetcher(b *cifar.Batcher, sizes ...int) (*prefetcher, error) {
	p := &prefetcher{b: b, req: make(chan []int, 1), done: make(chan *batchInput, 1)}
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
		p.b.FillTo(idx, in.images.floats(), in.labels.floats())
		slot = 1 - slot
		p.done <- in
	}
}

// request starts filling the batch of the given indices; idx must not
// change until wait returns it.
func (p *prefetcher) request(idx []int) {
	p.pending = true
	p.req <- idx
}

// wait returns the batch last requested, once it is filled.
func (p *prefetcher) wait() *batchInput {
	p.pending = false
	return <-p.done
}

// close waits for a pending batch and stops the goroutine.
func (p *prefetcher) close() {
	if p.pending {
		p.wait()
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
