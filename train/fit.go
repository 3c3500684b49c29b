package train

import (
	"context"
	"errors"
	"fmt"
	"github.com/tfcifar/tfcifar/internal/shuffle"
	"math"
	"os"
	"path/filepath"
	"time"
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

// loop is one call of Fit: the data, the reporter and the clock.
type loop struct {
	t          *Trainer
	train, val Dataset // val nil: no validation
	order      *shuffle.Orderer
	pf         *prefetcher
	rep        *reporter
	steps      int
	total      int64 // steps of all epochs
	start      time.Time
	before     float64 // seconds of the history before this call
}

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
func (t *Trainer) Fit(ctx context.Context, trainSet, valSet Dataset) (*History, error) {
	l, err := t.newLoop(trainSet, valSet)
	if err != nil {
		return nil, err
	}
	defer l.pf.close()
	st := &t.st
	for st.Epoch < t.cfg.Epochs {
		if err := l.epoch(ctx); err != nil {
			return historyCopy(&st.History), err
		}
	}
	st.History.TimeTaken = l.elapsed()
	l.rep.done(st.History.TimeTaken)
	return t.writeHistory()
}

// newLoop checks the sets against the model and the checkpoint's position
// and prepares the batches.
func (t *Trainer) newLoop(trainSet, valSet Dataset) (*loop, error) {
	if t.sess == nil {
		return nil, errors.New("train: fit: trainer is closed")
	}
	if trainSet == nil || trainSet.Len() == 0 {
		return nil, errors.New("train: fit: empty training set")
	}
	if err := t.checkSet("training", trainSet); err != nil {
		return nil, err
	}
	l := &loop{t: t, train: trainSet}
	if valSet != nil && valSet.Len() > 0 {
		if err := t.checkSet("validation", valSet); err != nil {
			return nil, err
		}
		l.val = valSet
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
	st.History.Stage = t.opt.Stage
	l.total = int64(t.cfg.Epochs) * int64(l.steps)
	l.order = shuffle.New(n, t.seed)
	var err error
	if l.pf, err = t.newPrefetcher(trainSet, bs, n%bs); err != nil {
		return nil, err
	}
	l.rep = newReporter(t.opt.Out, t.opt.Run.Progress, t.opt.Clock, t.cfg.Epochs)
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

// epoch runs the rest of the current epoch, validates, and records and
// saves it.
func (l *loop) epoch(ctx context.Context) error {
	t, st := l.t, &l.t.st
	epochStart, prior := t.opt.Clock(), st.Seconds
	lr0 := rate(t.cfg.Optimizer.LearningRate, t.cfg.Schedule, st.Epoch, st.Step-int64(st.Batch), l.total)
	l.rep.begin(st.Epoch, l.steps, st.Batch)
	order := l.order.Order(st.Epoch, t.cfg.Shuffle)
	l.pf.request(l.batch(order, st.Batch))
	for st.Batch < l.steps {
		in, err := l.pf.wait()
		if err != nil {
			l.rep.stop()
			return fmt.Errorf("train: epoch %d/%d step %d/%d: %w", st.Epoch+1, t.cfg.Epochs, st.Batch+1, l.steps, err)
		}
		if err := ctx.Err(); err != nil {
			l.rep.stop()
			st.Seconds = prior + t.opt.Clock().Sub(epochStart).Seconds()
			st.History.TimeTaken = l.elapsed()
			return t.interrupted(err)
		}
		if st.Batch+1 < l.steps {
			l.pf.request(l.batch(order, st.Batch+1)) // filled while this step runs
		}
		if err := l.step(in); err != nil {
			l.rep.stop()
			return fmt.Errorf("train: epoch %d/%d step %d/%d: %w", st.Epoch+1, t.cfg.Epochs, st.Batch+1, l.steps, err)
		}
	}
	e := Epoch{Epoch: st.Epoch + 1, Loss: st.LossSum / float64(st.Count), Accuracy: st.AccSum / float64(st.Count), LearningRate: lr0}
	if err := l.validate(&e); err != nil {
		l.rep.stop()
		return err
	}
	e.Seconds = prior + t.opt.Clock().Sub(epochStart).Seconds()
	return l.endEpoch(e)
}

// step runs one training step on in and adds its metrics to the epoch's.
func (l *loop) step(in *batchInput) error {
	t, st := l.t, &l.t.st
	lr := rate(t.cfg.Optimizer.LearningRate, t.cfg.Schedule, st.Epoch, st.Step, l.total)
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
	l.rep.step(st.Batch, st.LossSum/float64(st.Count), st.AccSum/float64(st.Count))
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

// endEpoch records e, starts the next epoch's sums, reports e and saves a
// checkpoint.
func (l *loop) endEpoch(e Epoch) error {
	t, st := l.t, &l.t.st
	st.History.Epochs = append(st.History.Epochs, e)
	st.Epoch++
	st.Batch, st.LossSum, st.AccSum, st.Count, st.Seconds = 0, 0, 0, 0, 0
	st.History.TimeTaken = l.elapsed()
	l.rep.end(e, l.val != nil)
	if t.opt.Dir != "" && t.cfg.Checkpoint {
		return t.save()
	}
	return nil
}

// writeHistory returns a copy of the history and writes it as JSON and a
// chart into Options.Dir (when set).
func (t *Trainer) writeHistory() (*History, error) {
	h := historyCopy(&t.st.History)
	if t.opt.Dir != "" {
		if err := h.WriteJSON(filepath.Join(t.opt.Dir, historyFile)); err != nil {
			return h, err
		}
		if err := h.Plot(filepath.Join(t.opt.Dir, chartFile)); err != nil {
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

// interrupted saves a checkpoint (when enabled) and returns an
// *Interrupted error.
func (t *Trainer) interrupted(cause error) error {
	st := &t.st
	e := &Interrupted{Epoch: st.Epoch + 1, Epochs: t.cfg.Epochs, Step: st.Batch, Steps: st.Steps, Err: cause}
	if t.opt.Dir != "" && t.cfg.Checkpoint {
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
// and returns its mean loss and accuracy.
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
