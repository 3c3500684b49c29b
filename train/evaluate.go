package train

import (
	"errors"
	"fmt"
	"maps"

	tf "github.com/galeone/tensorflow/tensorflow/go"
)

// Evaluate returns the mean loss and accuracy of the model on set in
// inference mode (Training false), in batches of batchSize (<= 0: the
// train batch size), averaged over batches weighted by their size.
func (t *Trainer) Evaluate(set Dataset, batchSize int) (loss, acc float64, err error) {
	if t.sess == nil {
		return 0, 0, errors.New("train: evaluate: trainer is closed")
	}
	if set == nil || set.Len() == 0 {
		return 0, 0, errors.New("train: evaluate: empty set")
	}
	if err := t.checkSet("evaluation", set); err != nil {
		return 0, 0, err
	}
	if batchSize <= 0 {
		batchSize = t.cfg.BatchSize
	}
	return t.evaluate(set, batchSize)
}

// evalLanes is how many validation batches run at once: a batch's ops
// leave the cores idle part of the time (small convolutions, pooling,
// the executor), which a second batch fills: 10-25 % more batches a
// second on two cores.
const evalLanes = 2

// evaluate runs the batches of size of set in inference mode, evalLanes
// at a time: this goroutine fills each batch (one FillTo at a time, as
// Dataset asks) into the input tensors of a lane whose previous batch is
// done, and the lane runs it on a goroutine of its own. The sums add the
// batches in order, the same values as running them one by one. A
// profiled run (Options.Profile) uses one lane.
func (t *Trainer) evaluate(set Dataset, size int) (loss, acc float64, err error) {
	n := set.Len()
	sums := make([][2]float64, steps(n, size)) // loss and hits, times the batch's size
	lanes := make([]evalLane, evalLanes)
	if t.evalRun != nil { // profiled: each traced run the batch's alone
		lanes = lanes[:1]
	}
	free := make(chan *evalLane, len(lanes))
	for i := range lanes {
		lanes[i] = evalLane{index: i, feeds: maps.Clone(t.evalFeeds), done: free}
		free <- &lanes[i]
	}
	idx := make([]int, 0, size)
	for b := range sums {
		lane := <-free
		if err = lane.err; err != nil {
			free <- lane
			break
		}
		idx = idx[:0]
		for i := b * size; i < min((b+1)*size, n); i++ {
			idx = append(idx, i)
		}
		var in *batchInput
		if in, err = t.input(lane.index, len(idx)); err == nil {
			err = set.FillTo(idx, in.images.floats(), in.labels.floats())
		}
		if err != nil {
			free <- lane
			break
		}
		go lane.run(t, in, &sums[b])
	}
	for range lanes { // every lane back, its run finished
		if lane := <-free; err == nil {
			err = lane.err
		}
	}
	if err != nil {
		return 0, 0, err
	}
	for _, s := range sums {
		loss += s[0]
		acc += s[1]
	}
	return loss / float64(n), acc / float64(n), nil
}

// evalLane is one of the batches evaluate runs at once: its index (its
// input tensors are Trainer.input's of that lane), feeds and output, and
// the error of its last run.
type evalLane struct {
	index int
	feeds map[tf.Output]*tf.Tensor
	pair  [2]float32
	err   error
	done  chan<- *evalLane
}

// run runs the batch filled into in and writes its loss and hits, times
// its size, to sum; then the lane is free again.
func (l *evalLane) run(t *Trainer, in *batchInput, sum *[2]float64) {
	defer func() { l.done <- l }()
	l.feeds[t.m.Images] = in.images.t
	l.feeds[t.labels] = in.labels.t
	out, err := t.evalRun.Run(t.sess, l.feeds, t.fetch, nil)
	if err == nil {
		err = readFloats(out[0], l.pair[:])
	}
	if err != nil {
		l.err = err
		return
	}
	sum[0] = float64(l.pair[0]) * float64(in.n)
	sum[1] = float64(l.pair[1]) * float64(in.n)
}

// Predict returns the class probabilities, row-major [n, classes], of n
// images given as n*H*W*C float32 values in NHWC order, scaled as the
// model expects them (raw 0-255 by default). Inference mode.
func (t *Trainer) Predict(images []float32, n int) ([]float32, error) {
	if t.sess == nil {
		return nil, errors.New("train: predict: trainer is closed")
	}
	if n <= 0 || int64(len(images)) != int64(n)*t.pixel {
		return nil, fmt.Errorf("train: predict: %d values for %d images, want %d per image", len(images), n, t.pixel)
	}
	in, err := newBuffer(tf.Float, append([]int64{int64(n)}, t.imgs...)...)
	if err != nil {
		return nil, err
	}
	in.setFloats(images)
	no := t.evalFeeds[t.m.Training]
	out, err := t.sess.Run(map[tf.Output]*tf.Tensor{t.m.Images: in.t, t.m.Training: no}, []tf.Output{t.m.Probabilities}, nil)
	if err != nil {
		return nil, fmt.Errorf("train: predict: %w", err)
	}
	probs := make([]float32, n*t.k)
	if err := readFloats(out[0], probs); err != nil {
		return nil, fmt.Errorf("train: predict: %w", err)
	}
	return probs, nil
}
