package train

import (
	"errors"
	"fmt"

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

// evaluate runs the batches of size of set, in order, in inference mode,
// each filled straight into the reused input tensors.
func (t *Trainer) evaluate(set Dataset, size int) (loss, acc float64, err error) {
	n := set.Len()
	idx := make([]int, 0, size)
	for start := 0; start < n; start += size {
		idx = idx[:0]
		for i := start; i < min(start+size, n); i++ {
			idx = append(idx, i)
		}
		in, err := t.input(len(idx))
		if err != nil {
			return 0, 0, err
		}
		if err := set.FillTo(idx, in.images.floats(), in.labels.floats()); err != nil {
			return 0, 0, err
		}
		l, a, err := t.batchMetrics(in)
		if err != nil {
			return 0, 0, err
		}
		loss += float64(l) * float64(len(idx))
		acc += float64(a) * float64(len(idx))
	}
	return loss / float64(n), acc / float64(n), nil
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
