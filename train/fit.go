package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/tfcifar/tfcifar/cifar"
)

// Interrupted is the error Fit returns when its context is done: training
// stopped between two steps and, when Dir is set and checkpoints are on, a
// checkpoint was saved there. It wraps the context's error.
type Interrupted struct {
	Epoch, Epochs int    // 1-based epoch that was running
	Step, Steps   int    // steps of that epoch done
	Checkpoint    string // checkpoint directory, "" if none was saved
	Hint          string // how to resume
	Err           error
}

func (e *Interrupted) Error() string {
	where := fmt.Sprintf("train: stopped in epoch %d/%d after step %d/%d", e.Epoch, e.Epochs, e.Step, e.Steps)
	if e.Checkpoint == "" {
		return fmt.Sprintf("%s without a checkpoint: %v", where, e.Err)
	}
	return fmt.Sprintf("%s; checkpoint saved in %s; %s to continue: %v", where, e.Checkpoint, e.Hint, e.Err)
}

func (e *Interrupted) Unwrap() error { return e.Err }

// Fit trains for the epochs of the configuration not yet done (all of them
// for a new Trainer; the rest after a resume), one Session.Run per batch,
// with a shuffle per epoch seeded by the train seed and the epoch number,
// and evaluates valSet (nil or empty: no validation) after every epoch.
// It prints the progress and one line per epoch to Options.Out and, when
// Options.Dir is set, saves a checkpoint after every epoch (if enabled)
// and writes history.json and history.png at the end.
//
// When ctx is done, Fit stops between steps (or validation batches), saves a
// checkpoint (when Dir is set and checkpoints are on) and returns the
// history so far with an *Interrupted error wrapping ctx.Err().
func (t *Trainer) Fit(ctx context.Context, trainSet, valSet Data) (*History, error) {
	if t.sess == nil {
		return nil, errors.New("train: fit: trainer is closed")
	}
	if trainSet == nil || trainSet.Len() == 0 {
		return nil, errors.New("train: fit: empty training set")
	}
	if err := t.checkSet("training", trainSet); err != nil {
		return nil, err
	}
	validate := valSet != nil && valSet.Len() > 0
	if validate {
		if err := t.checkSet("validation", valSet); err != nil {
			return nil, err
		}
	}
	bs := t.cfg.BatchSize
	bt := trainSet.Batcher(bs, t.opt.Scale, t.seed)
	var bv *cifar.Batcher
	if validate {
		bv = valSet.Batcher(bs, t.opt.Scale, t.seed)
	}
	steps := bt.Steps()
	st := &t.st
	if st.Steps != 0 && (st.Steps != steps || st.Examples != trainSet.Len()) {
		// The checkpoint's position counts steps of another training set.
		return nil, &ResumeRefused{Checkpoint: CheckpointDir(t.opt.Dir), Field: "a training set of",
			Was: fmt.Sprintf("%d examples (%d steps an epoch)", st.Examples, st.Steps), Now: fmt.Sprintf("%d (%d steps)", trainSet.Len(), steps)}
	}
	st.Steps, st.Examples = steps, trainSet.Len()
	st.History.Stage = t.opt.Stage
	total := int64(t.cfg.Epochs) * int64(steps)

	pf, err := t.newPrefetcher(bt, bs, trainSet.Len()%bs)
	if err != nil {
		return nil, err
	}
	defer pf.close()
	batch := func(order []int, i int) []int { return order[i*bs : min((i+1)*bs, len(order))] }

	rep := newReporter(t.opt.Out, t.opt.Run.Progress, t.opt.Clock, t.cfg.Epochs)
	start := t.opt.Clock()
	before := st.History.TimeTaken + t.opt.Spent.Seconds()
	elapsed := func() float64 { return before + t.opt.Clock().Sub(start).Seconds() }

	for st.Epoch < t.cfg.Epochs {
		epochStart, prior := t.opt.Clock(), st.Seconds
		lr0 := rate(t.cfg.Optimizer.LearningRate, t.cfg.Schedule, st.Epoch, st.Step-int64(st.Batch), total)
		rep.begin(st.Epoch, steps, st.Batch)
		order := bt.Order(st.Epoch, t.cfg.Shuffle)
		pf.request(batch(order, st.Batch))
		for st.Batch < steps {
			in := pf.wait()
			if err := ctx.Err(); err != nil {
				rep.stop()
				st.Seconds = prior + t.opt.Clock().Sub(epochStart).Seconds()
				st.History.TimeTaken = elapsed()
				return t.interrupted(&st.History, err)
			}
			if st.Batch+1 < steps {
				pf.request(batch(order, st.Batch+1)) // filled while this step runs
			}
			lr := rate(t.cfg.Optimizer.LearningRate, t.cfg.Schedule, st.Epoch, st.Step, total)
			var loss, acc float32
			var err error
			if !finite(float64(float32(lr))) {
				err = t.diverged(fmt.Sprintf("the learning rate is %v", float32(lr)))
			} else if loss, acc, err = t.trainStep(in, float32(lr)); err == nil && !finite(float64(loss)) {
				err = t.diverged(fmt.Sprintf("the loss is %v", loss))
			}
			if err != nil {
				rep.stop()
				return historyCopy(&st.History), fmt.Errorf("train: epoch %d/%d step %d/%d: %w", st.Epoch+1, t.cfg.Epochs, st.Batch+1, steps, err)
			}
			n := float64(in.n)
			st.LossSum += float64(loss) * n
			st.AccSum += float64(acc) * n
			st.Count += in.n
			st.Batch++
			st.Step++
			rep.step(st.Batch, st.LossSum/float64(st.Count), st.AccSum/float64(st.Count))
		}
		e := Epoch{Epoch: st.Epoch + 1, Loss: st.LossSum / float64(st.Count), Accuracy: st.AccSum / float64(st.Count), LearningRate: lr0}
		if validate {
			var err error
			e.ValLoss, e.ValAccuracy, err = t.evaluate(bv, bs)
			if err == nil && !finite(e.ValLoss) {
				err = t.diverged(fmt.Sprintf("the validation loss is %v", e.ValLoss))
			}
			if err != nil {
				rep.stop()
				return historyCopy(&st.History), fmt.Errorf("train: epoch %d/%d: validation: %w", e.Epoch, t.cfg.Epochs, err)
			}
		}
		if err := t.checkFinite(); err != nil {
			rep.stop()
			return historyCopy(&st.History), fmt.Errorf("train: epoch %d/%d step %d/%d: %w", e.Epoch, t.cfg.Epochs, steps, steps, t.diverged(err.Error()))
		}
		e.Seconds = prior + t.opt.Clock().Sub(epochStart).Seconds()
		st.History.Epochs = append(st.History.Epochs, e)
		st.Epoch++
		st.Batch, st.LossSum, st.AccSum, st.Count, st.Seconds = 0, 0, 0, 0, 0
		st.History.TimeTaken = elapsed()
		rep.end(e, validate)
		if t.opt.Dir != "" && t.cfg.Checkpoint {
			if err := t.save(); err != nil {
				return historyCopy(&st.History), err
			}
		}
	}
	st.History.TimeTaken = elapsed()
	rep.done(st.History.TimeTaken)
	h := historyCopy(&st.History)
	if t.opt.Dir != "" {
		if err := h.WriteJSON(filepath.Join(t.opt.Dir, "history.json")); err != nil {
			return h, err
		}
		if err := h.Plot(filepath.Join(t.opt.Dir, "history.png")); err != nil {
			return h, err
		}
	}
	return h, nil
}

// ErrDiverged is wrapped by the error Fit returns when the loss (of a
// training step or of the validation) or a variable is NaN or infinite, as
// with a too large learning rate. Fit then stops at once, like Keras'
// TerminateOnNaN, and leaves the last checkpoint, history and chart as
// they were: nothing non-finite is written.
var ErrDiverged = errors.New("training diverged")

// diverged returns the ErrDiverged error for why, saying which
// checkpoint is kept.
func (t *Trainer) diverged(why string) error {
	kept := "no checkpoint was saved"
	if _, err := os.Stat(filepath.Join(CheckpointDir(t.opt.Dir), stateFile)); t.opt.Dir != "" && err == nil {
		kept = "the last checkpoint in " + CheckpointDir(t.opt.Dir) + " is kept"
	}
	return fmt.Errorf("%s: %w (%s); lower the learning rate or check the network and data", why, ErrDiverged, kept)
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// interrupted saves a checkpoint (when enabled) and returns the history so
// far with an *Interrupted error.
func (t *Trainer) interrupted(h *History, cause error) (*History, error) {
	st := &t.st
	e := &Interrupted{Epoch: st.Epoch + 1, Epochs: t.cfg.Epochs, Step: st.Batch, Steps: st.Steps, Hint: t.opt.ResumeHint, Err: cause}
	if e.Hint == "" {
		e.Hint = "run again with resume enabled"
	}
	if t.opt.Dir != "" && t.cfg.Checkpoint {
		if err := t.save(); err != nil {
			return historyCopy(h), errors.Join(e, err)
		}
		e.Checkpoint = CheckpointDir(t.opt.Dir)
	}
	return historyCopy(h), e
}

// historyCopy returns a copy of h that later training does not change.
func historyCopy(h *History) *History {
	out := *h
	out.Epochs = append([]Epoch(nil), h.Epochs...)
	return &out
}

// Data is a labelled set Fit and Evaluate batch: a *cifar.Set of images or
// *cifar.Features (e.g. cached outputs of frozen layers). Width is the
// number of values of one example, which must match the model's input.
type Data interface {
	Len() int
	Width() int
	NumClasses() int
	Batcher(batchSize int, scale float32, seed int64) *cifar.Batcher
}

// checkSet checks that the examples and labels of set fit the model's
// input and classes.
func (t *Trainer) checkSet(what string, set Data) error {
	if int64(set.Width()) != t.pixel {
		return fmt.Errorf("train: %s set: %d values per example, the model's input takes %d", what, set.Width(), t.pixel)
	}
	if f, ok := set.(*cifar.Features); ok {
		if err := f.Check(); err != nil {
			return fmt.Errorf("train: %s set: %w", what, err)
		}
	}
	if s, ok := set.(*cifar.Set); ok && len(s.Images) != s.Len()*cifar.ImageSize {
		return fmt.Errorf("train: %s set: %d bytes for %d images", what, len(s.Images), s.Len())
	}
	if k := set.NumClasses(); k != t.k {
		return fmt.Errorf("train: %s set has %d classes, the model's logits have %d", what, k, t.k)
	}
	return nil
}

// trainStep runs one optimizer step on the batch filled into in and
// returns its mean loss and accuracy (before the update).
func (t *Trainer) trainStep(in *batchInput, lr float32) (loss, acc float32, err error) {
	t.lrBuf.setFloat(lr)
	t.trainFeeds[t.m.Images] = in.images.t
	t.trainFeeds[t.labels] = in.labels.t
	out, err := t.sess.Run(t.trainFeeds, t.fetch, t.targets)
	if err != nil {
		return 0, 0, err
	}
	if err := readFloats(out[0], t.pair[:]); err != nil {
		return 0, 0, err
	}
	return t.pair[0], t.pair[1], nil
}

// batchMetrics runs the model in inference mode on the batch filled into in
// and returns its mean
// loss and accuracy.
func (t *Trainer) batchMetrics(in *batchInput) (loss, acc float32, err error) {
	t.evalFeeds[t.m.Images] = in.images.t
	t.evalFeeds[t.labels] = in.labels.t
	out, err := t.sess.Run(t.evalFeeds, t.fetch, nil)
	if err != nil {
		return 0, 0, err
	}
	if err := readFloats(out[0], t.pair[:]); err != nil {
		return 0, 0, err
	}
	return t.pair[0], t.pair[1], nil
}
