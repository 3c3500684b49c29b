package board

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"

	tf "github.com/galeone/tensorflow/tensorflow/go"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/tensorboard"
	"github.com/tfcifar/tfcifar/train"
)

// The run directories under a Board's directory, as Keras names them.
const (
	TrainDir      = "train"
	ValidationDir = "validation"
)

// Options configure a Board. Run gives the writers' session settings
// (threads, device). UpdateFreq writes batch-level scalars every so many
// training steps (0: per epoch only). Graph, when not nil, is written
// once. Fixed are weights that are not the Trainer's variables (e.g. the
// frozen layers whose outputs were cached), histogrammed with them. Skip
// names variables that are not weights (graph.Variable.State: dropout
// step counters), which get no histogram.
type Options struct {
	Run        config.Run
	UpdateFreq int
	Graph      *tf.Graph
	Fixed      graph.Weights
	Skip       []string
}

// Values gives the current weights of the model (Trainer.Values).
type Values func() (graph.Weights, error)

// Board writes a fit's TensorBoard logs. Close it (End does) when done.
type Board struct {
	dir    string
	opt    Options
	values Values
	train  *tensorboard.Writer
	val    *tensorboard.Writer // opened at the first validated epoch
}

// New opens the train writer under dir and writes the graph. values reads
// the weights to histogram after every epoch.
func New(dir string, values Values, opt Options) (*Board, error) {
	if opt.UpdateFreq < 0 {
		return nil, fmt.Errorf("run.tensorboard_update_freq: want a number of steps >= 0, got %d", opt.UpdateFreq)
	}
	w, err := tensorboard.NewWriter(filepath.Join(dir, TrainDir), opt.Run)
	if err != nil {
		return nil, err
	}
	b := &Board{dir: dir, opt: opt, values: values, train: w}
	if opt.Graph != nil {
		if err := w.Graph(opt.Graph); err != nil {
			return nil, errors.Join(err, b.Close())
		}
	}
	return b, nil
}

// Hook returns the hook that writes the logs; its End closes the Board.
func (b *Board) Hook() train.Hook {
	return train.Hook{Step: b.step, EpochEnd: b.epochEnd, End: func(train.End) error { return b.Close() }}
}

func (b *Board) step(p train.Progress) error {
	if b.opt.UpdateFreq == 0 || p.GlobalStep%int64(b.opt.UpdateFreq) != 0 {
		return nil
	}
	for _, s := range []struct {
		tag string
		v   float64
	}{{"batch_loss", p.Loss}, {"batch_accuracy", p.Accuracy}, {"batch_learning_rate", p.LearningRate}} {
		if err := b.train.Scalar(s.tag, p.GlobalStep, s.v); err != nil {
			return err
		}
	}
	return nil
}

func (b *Board) epochEnd(e train.EpochEnd) error {
	step := int64(e.Epoch.Epoch - 1)
	ep := e.Epoch
	for _, s := range []struct {
		tag string
		v   float64
	}{{"epoch_loss", ep.Loss}, {"epoch_accuracy", ep.Accuracy}, {"epoch_learning_rate", ep.LearningRate}} {
		if err := b.train.Scalar(s.tag, step, s.v); err != nil {
			return err
		}
	}
	if e.Validated {
		if b.val == nil {
			var err error
			if b.val, err = tensorboard.NewWriter(filepath.Join(b.dir, ValidationDir), b.opt.Run); err != nil {
				return err
			}
		}
		if err := b.val.Scalar("epoch_loss", step, ep.ValLoss); err != nil {
			return err
		}
		if err := b.val.Scalar("epoch_accuracy", step, ep.ValAccuracy); err != nil {
			return err
		}
	}
	if err := b.histograms(step); err != nil {
		return err
	}
	return b.flush()
}

// histograms writes the distribution of every float32 weight at step.
func (b *Board) histograms(step int64) error {
	w, err := b.values()
	if err != nil {
		return err
	}
	for name, v := range b.opt.Fixed {
		if _, ok := w[name]; !ok {
			w[name] = v
		}
	}
	for _, name := range w.Names() {
		v := w[name]
		if v.DataType() != tf.Float || slices.Contains(b.opt.Skip, name) {
			continue
		}
		fs, err := floats(v)
		if err != nil {
			return fmt.Errorf("board: weight %s: %w", name, err)
		}
		if len(fs) == 0 {
			continue
		}
		if err := b.train.Histogram(name, step, fs); err != nil {
			return err
		}
	}
	return nil
}

// floats returns the values of a float32 tensor, flattened.
func floats(t *tf.Tensor) ([]float32, error) {
	var buf bytes.Buffer
	if _, err := t.WriteContentsTo(&buf); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

func (b *Board) flush() error {
	err := b.train.Flush()
	if b.val != nil {
		err = errors.Join(err, b.val.Flush())
	}
	return err
}

// Close flushes and closes the event files. Closing twice does nothing.
func (b *Board) Close() error {
	err := b.train.Close()
	if b.val != nil {
		err = errors.Join(err, b.val.Close())
	}
	return err
}
