package train

import (
	"errors"
	"fmt"
)

// Hook listens to Fit, which calls its functions (each may be nil) in
// this order: EpochBegin, Step after every training step, EpochEnd, and End
// once when Fit returns. Everything that prints or saves beyond the
// checkpoint listens this way: the console, the history files and
// TensorBoard (packages train/console, train/history, train/board), and
// hooks of the caller's. Hooks run in the order given to Fit, on Fit's
// goroutine, between steps; a hook's error stops Fit, which returns it (End
// still runs, with that error).
type Hook struct {
	// EpochBegin runs before the first step of an epoch; for an epoch
	// resumed from a checkpoint, Progress.Step counts the steps done
	// before.
	EpochBegin func(Progress) error
	// Step runs after every training step.
	Step func(Progress) error
	// EpochEnd runs after an epoch is validated and recorded with the
	// decisions of the callbacks, before its checkpoint is saved.
	EpochEnd func(EpochEnd) error
	// End runs once when Fit returns after it started (not when it
	// refuses its arguments): after the last epoch, when stopped early, on
	// an error (End.Err) or an interruption.
	End func(End) error
}

// Progress is where Fit stands.
type Progress struct {
	Epoch, Epochs int   // the running epoch (from 1) of all epochs
	Step, Steps   int   // steps of the epoch done, of the epoch's steps
	GlobalStep    int64 // steps done in all epochs
	// Examples are the training examples of the epoch's steps done.
	Examples int
	// Loss and Accuracy are the running means of the epoch's steps done
	// (weighted by batch sizes, as the epoch's), BatchLoss and
	// BatchAccuracy those of the last step (0 before the first step).
	Loss, Accuracy           float64
	BatchLoss, BatchAccuracy float64
	// LearningRate is the optimizer's rate of the last step (at
	// EpochBegin: of the next): the schedule's rate times the factor of
	// reduce_lr_on_plateau.
	LearningRate float64
	// Validated is whether Fit evaluates a validation set after every
	// epoch.
	Validated bool
}

// EpochEnd is a complete epoch: Progress as after its last step, and the
// Epoch recorded in the history.
type EpochEnd struct {
	Progress
	Epoch Epoch
}

// End is how Fit ends: the history (as Fit returns it) and Fit's error
// (nil on success; an *Interrupted when the context was done).
type End struct {
	History   *History
	Epochs    int // epochs of the configuration
	Validated bool
	Err       error
}

// hooks calls a list of hooks.
type hooks []Hook

func (hs hooks) epochBegin(p Progress) error {
	for _, h := range hs {
		if h.EpochBegin != nil {
			if err := h.EpochBegin(p); err != nil {
				return fmt.Errorf("train: epoch %d/%d: hook: %w", p.Epoch, p.Epochs, err)
			}
		}
	}
	return nil
}

func (hs hooks) step(p Progress) error {
	for _, h := range hs {
		if h.Step != nil {
			if err := h.Step(p); err != nil {
				return fmt.Errorf("train: epoch %d/%d step %d/%d: hook: %w", p.Epoch, p.Epochs, p.Step, p.Steps, err)
			}
		}
	}
	return nil
}

func (hs hooks) epochEnd(e EpochEnd) error {
	for _, h := range hs {
		if h.EpochEnd != nil {
			if err := h.EpochEnd(e); err != nil {
				return fmt.Errorf("train: epoch %d/%d: hook: %w", e.Epoch.Epoch, e.Epochs, err)
			}
		}
	}
	return nil
}

// end runs every End hook, even after one fails, and returns their errors.
func (hs hooks) end(e End) error {
	var errs []error
	for _, h := range hs {
		if h.End != nil {
			if err := h.End(e); err != nil {
				errs = append(errs, fmt.Errorf("train: hook: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}
