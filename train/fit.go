package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/tfcifar/tfcifar/internal/libtf"
	"github.com/tfcifar/tfcifar/internal/shuffle"
)

// Interrupted is the error Fit returns when its context is done: training
// stopped between two steps and, when Dir is set and checkpoints are on, a
// checkpoint was saved there. It wraps the context's error. How to resume
// depends on the caller (a command line, a library call): the caller adds
// that advice.
type Interrupted struct {
	Epoch, Epochs int    // 1-based epoch that was running
	Step, Steps   int    // steps of that epoch done
	Checkpoint    string // checkpoint directory, "" if none was saved
	Err           error
}

func (e *Interrupted) Error() string {
	where := fmt.Sprintf("train: stopped in epoch %d/%d after step %d/%d", e.Epoch, e.Epochs, e.Step, e.Steps)
	if e.Checkpoint == "" {
		return fmt.Sprintf("%s without a checkpoint: %v", where, e.Err)
	}
	return fmt.Sprintf("%s; checkpoint saved in %s: %v", where, e.Checkpoint, e.Err)
}

func (e *Interrupted) Unwrap() error { return e.Err }

// loop is one call of Fit: the data, the hooks and the clock.
type loop struct {
	t          *Trainer
	train, val Dataset // val nil: no validation
	order      *shuffle.Orderer
	pf         *prefetcher
	hooks      hooks
	p          Progress // where the loop stands, as hooks see it
	steps      int
	total      int64 // steps of all epochs
	start      time.Time
	before     float64 // seconds of the history before this call
}

// Fit trains for the epochs of the configuration not yet done (all of them
// for a new Trainer; the rest after a resume), one Session.Run per batch,
// with a shuffle per epoch seeded by the train seed and the epoch number,
// and evaluates valSet (nil or empty: no validation) after every epoch.
// After every epoch it runs the callbacks of the configuration
// (train.callbacks), records the epoch and its decisions in the history,
// calls the hooks' EpochEnd and, when Options.Dir is set and checkpoints
// are on, saves a checkpoint (with the callbacks' state). Fit itself
// prints and writes nothing else: hooks do (see Hook).
//
// Early stopping ends Fit after the epoch that stopped it. When a
// callback chooses the weights (best_epoch, or early_stopping with
// restore_best_weights), Fit ends with the weights of the chosen epoch:
// Values and an export then hold those.
//
// When ctx is done, Fit stops between steps (or validation batches), saves a
// checkpoint (when Dir is set and checkpoints are on) and returns the
// history so far with an *Interrupted error wrapping ctx.Err().
func (t *Trainer) Fit(ctx context.Context, trainSet, valSet Dataset, hs ...Hook) (*History, error) {
	l, err := t.newLoop(trainSet, valSet, hs)
	if err != nil {
		return nil, err
	}
	defer l.pf.close()
	h, err := l.run(ctx)
	endErr := l.hooks.end(End{History: h, Epochs: t.cfg.Epochs, Validated: l.val != nil, Err: err})
	if err == nil {
		err = endErr
	}
	return h, err
}

// run runs the epochs left, then leaves the kept weights.
func (l *loop) run(ctx context.Context) (*History, error) {
	t, st := l.t, &l.t.st
	for st.Epoch < t.cfg.Epochs && st.Callbacks.Stopped == 0 {
		if err := l.epoch(ctx); err != nil {
			return historyCopy(&st.History), err
		}
	}
	if err := t.restoreKept(); err != nil {
		return historyCopy(&st.History), err
	}
	st.History.TimeTaken = l.elapsed()
	return historyCopy(&st.History), nil
}

// newLoop checks the sets against the model and the checkpoint's position
// and prepares the batches.
func (t *Trainer) newLoop(trainSet, valSet Dataset, hs []Hook) (*loop, error) {
	if t.sess == nil {
		return nil, errors.New("train: fit: trainer is closed")
	}
	if trainSet == nil || trainSet.Len() == 0 {
		return nil, errors.New("train: fit: empty training set")
	}
	if err := t.checkSet("training", trainSet); err != nil {
		return nil, err
	}
	l := &loop{t: t, train: trainSet, hooks: hs}
	if valSet != nil && valSet.Len() > 0 {
		if err := t.checkSet("validation", valSet); err != nil {
			return nil, err
		}
		l.val = valSet
	} else if key := t.cfg.Callbacks.NeedValidation(); key != "" {
		return nil, fmt.Errorf("train: fit: %s: a val_ metric needs a validation set", key)
	}
	bs, n := t.cfg.BatchSize, trainSet.Len()
	l.steps = steps(n, bs)
	st := &t.st
	if st.Steps != 0 && (st.Steps != l.steps || st.Examples != n) {
		// The checkpoint's position counts steps of another training set.
		return nil, &ResumeRefused{Checkpoint: CheckpointDir(t.opt.Dir), Field: "a training set of",
			Was: fmt.Sprintf("%d examples (%d steps an epoch)", st.Examples, st.Steps), Now: fmt.Sprintf("%d (%d steps)", n, l.steps)}
	}
	st.Steps, st.Examples = l.steps, n
	l.total = int64(t.cfg.Epochs) * int64(l.steps)
	l.order = shuffle.New(n, t.seed)
	var err error
	if l.pf, err = t.newPrefetcher(trainSet, bs, n%bs); err != nil {
		return nil, err
	}
	l.start = t.opt.Clock()
	l.before = st.History.TimeTaken + t.opt.Spent.Seconds()
	return l, nil
}

// elapsed returns the seconds of the history: those before this Fit and
// those since.
func (l *loop) elapsed() float64 { return l.before + l.t.opt.Clock().Sub(l.start).Seconds() }

// batch returns the examples of batch i of order.
func (l *loop) batch(order []int, i int) []int {
	bs := l.t.cfg.BatchSize
	return order[i*bs : min((i+1)*bs, len(order))]
}

// rate returns the optimizer's learning rate of a step of epoch (0-based)
// that follows step steps: the schedule's times the callbacks' factor.
func (l *loop) rate(epoch int, step int64) float64 {
	t := l.t
	return rate(t.cfg.Optimizer.LearningRate, t.cfg.Schedule, epoch, step, l.total) * t.st.Callbacks.RateFactor
}

// epoch runs the rest of the current epoch, validates, and records and
// saves it.
func (l *loop) epoch(ctx context.Context) error {
	t, st := l.t, &l.t.st
	epochStart, prior := t.opt.Clock(), st.Seconds
	lr0 := l.rate(st.Epoch, st.Step-int64(st.Batch))
	l.p = Progress{Epoch: st.Epoch + 1, Epochs: t.cfg.Epochs, Step: st.Batch, Steps: l.steps, GlobalStep: st.Step,
		Examples: st.Count, LearningRate: l.rate(st.Epoch, st.Step), Validated: l.val != nil}
	if st.Count > 0 {
		l.p.Loss, l.p.Accuracy = st.LossSum/float64(st.Count), st.AccSum/float64(st.Count)
	}
	if err := l.hooks.epochBegin(l.p); err != nil {
		return err
	}
	order := l.order.Order(st.Epoch, t.cfg.Shuffle)
	l.pf.request(l.batch(order, st.Batch))
	for st.Batch < l.steps {
		in, err := l.pf.wait()
		if err != nil {
			return fmt.Errorf("train: epoch %d/%d step %d/%d: %w", st.Epoch+1, t.cfg.Epochs, st.Batch+1, l.steps, err)
		}
		if err := ctx.Err(); err != nil {
			st.Seconds = prior + t.opt.Clock().Sub(epochStart).Seconds()
			st.History.TimeTaken = l.elapsed()
			return t.interrupted(err)
		}
		if st.Batch+1 < l.steps {
			l.pf.request(l.batch(order, st.Batch+1)) // filled while this step runs
		}
		if err := l.step(in); err != nil {
			return fmt.Errorf("train: epoch %d/%d step %d/%d: %w", st.Epoch+1, t.cfg.Epochs, st.Batch+1, l.steps, err)
		}
		if err := l.hooks.step(l.p); err != nil {
			return err
		}
	}
	e := Epoch{Epoch: st.Epoch + 1, Loss: st.LossSum / float64(st.Count), Accuracy: st.AccSum / float64(st.Count), LearningRate: lr0}
	if err := l.validate(&e); err != nil {
		return err
	}
	e.Seconds = prior + t.opt.Clock().Sub(epochStart).Seconds()
	return l.endEpoch(e)
}

// step runs one training step on in and adds its metrics to the epoch's.
func (l *loop) step(in *batchInput) error {
	t, st := l.t, &l.t.st
	lr := l.rate(st.Epoch, st.Step)
	if !finite(float64(float32(lr))) {
		return t.diverged(fmt.Sprintf("the learning rate is %v", float32(lr)))
	}
	loss, acc, err := t.trainStep(in, float32(lr))
	if err != nil {
		return err
	}
	if !finite(float64(loss)) {
		return t.diverged(fmt.Sprintf("the loss is %v", loss))
	}
	n := float64(in.n)
	st.LossSum += float64(loss) * n
	st.AccSum += float64(acc) * n
	st.Count += in.n
	st.Batch++
	st.Step++
	p := &l.p
	p.Step, p.GlobalStep, p.Examples = st.Batch, st.Step, st.Count
	p.Loss, p.Accuracy = st.LossSum/float64(st.Count), st.AccSum/float64(st.Count)
	p.BatchLoss, p.BatchAccuracy, p.LearningRate = float64(loss), float64(acc), lr
	return nil
}

// validate evaluates the validation set into e and checks that the
// variables are finite.
func (l *loop) validate(e *Epoch) error {
	t := l.t
	if l.val != nil {
		var err error
		e.ValLoss, e.ValAccuracy, err = t.evaluate(l.val, t.cfg.BatchSize)
		if err == nil && !finite(e.ValLoss) {
			err = t.diverged(fmt.Sprintf("the validation loss is %v", e.ValLoss))
		}
		if err != nil {
			return fmt.Errorf("train: epoch %d/%d: validation: %w", e.Epoch, t.cfg.Epochs, err)
		}
	}
	if err := t.checkFinite(); err != nil {
		return fmt.Errorf("train: epoch %d/%d step %d/%d: %w", e.Epoch, t.cfg.Epochs, l.steps, l.steps, t.diverged(err.Error()))
	}
	return nil
}

// endEpoch runs the callbacks on e, records it, starts the next epoch's
// sums, calls the hooks, saves a checkpoint and releases the memory the
// epoch freed (its output tensors wait for Go's collector, and TensorFlow's
// freed buffers stay in the C heap).
func (l *loop) endEpoch(e Epoch) error {
	t, st := l.t, &l.t.st
	if st.Callbacks.decide(t.cfg.Callbacks, &e, rate(t.cfg.Optimizer.LearningRate, t.cfg.Schedule, st.Epoch+1, st.Step, l.total)) {
		if err := t.keep(); err != nil {
			return fmt.Errorf("train: epoch %d/%d: keep the best weights: %w", e.Epoch, t.cfg.Epochs, err)
		}
	}
	st.History.Epochs = append(st.History.Epochs, e)
	st.History.StoppedEpoch = st.Callbacks.Stopped
	st.Epoch++
	st.Batch, st.LossSum, st.AccSum, st.Count, st.Seconds = 0, 0, 0, 0, 0
	st.History.TimeTaken = l.elapsed()
	if err := l.hooks.epochEnd(EpochEnd{Progress: l.p, Epoch: e}); err != nil {
		return err
	}
	if t.checkpointing() {
		if err := t.save(); err != nil {
			return err
		}
	}
	libtf.ReleaseMemory()
	return nil
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

// interrupted saves a checkpoint (when enabled) and returns an
// *Interrupted error.
func (t *Trainer) interrupted(cause error) error {
	st := &t.st
	e := &Interrupted{Epoch: st.Epoch + 1, Epochs: t.cfg.Epochs, Step: st.Batch, Steps: st.Steps, Err: cause}
	if t.checkpointing() {
		if err := t.save(); err != nil {
			return errors.Join(e, err)
		}
		e.Checkpoint = CheckpointDir(t.opt.Dir)
	}
	return e
}

// historyCopy returns a copy of h that later training does not change.
func historyCopy(h *History) *History {
	out := *h
	out.Epochs = append([]Epoch(nil), h.Epochs...)
	return &out
}

// trainStep runs one optimizer step on the batch filled into in and
// returns its mean loss and accuracy (before the update).
func (t *Trainer) trainStep(in *batchInput, lr float32) (loss, acc float32, err error) {
	t.lrBuf.setFloat(lr)
	t.trainFeeds[t.m.Images] = in.images.t
	t.trainFeeds[t.labels] = in.labels.t
	out, err := t.stepRun.Run(t.sess, t.trainFeeds, t.trainFetch, t.targets)
	if err != nil {
		return 0, 0, err
	}
	if err := readFloats(out[0], t.pair[:]); err != nil {
		return 0, 0, err
	}
	return t.pair[0], t.pair[1], nil
}
