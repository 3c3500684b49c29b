package train

import (
	"fmt"

	"github.com/tfcifar/tfcifar/config"
)

// The callbacks, as their decisions name them (Decision.Callback).
const (
	EarlyStopping     = "early_stopping"
	ReduceLROnPlateau = "reduce_lr_on_plateau"
	BestEpoch         = "best_epoch"
)

// The actions of a Decision.
const (
	ActionBest     = "best"      // best_epoch: this epoch is the best so far; its weights are kept
	ActionStop     = "stop"      // early_stopping: no more epochs
	ActionReduceLR = "reduce_lr" // reduce_lr_on_plateau: the rate of the next epochs is LearningRate
)

// Decision is what a callback decided after an epoch. Callbacks do not
// print: their decisions are recorded with the epoch (Epoch.Decisions, in
// history.json) for hooks such as the console to show.
type Decision struct {
	Callback string  `json:"callback"`
	Action   string  `json:"action"`
	Monitor  string  `json:"monitor"`
	Value    float64 `json:"value"`      // of Monitor at this epoch
	Best     float64 `json:"best"`       // best value of Monitor so far
	BestAt   int     `json:"best_epoch"` // epoch of Best
	Wait     int     `json:"wait"`       // epochs without improvement
	// LearningRate is, for reduce_lr, the new rate.
	LearningRate float64 `json:"learning_rate,omitempty"`
}

// tracker follows the best value of a monitored metric. Epoch is the epoch
// (from 1) of Best, 0 before the first.
type tracker struct {
	Best     float64 `json:"best"`
	Epoch    int     `json:"epoch"`
	Wait     int     `json:"wait"`
	Cooldown int     `json:"cooldown,omitempty"`
}

// improves reports whether v beats the best value by more than minDelta;
// the first value always does.
func (k *tracker) improves(v, minDelta float64, higher bool) bool {
	switch {
	case k.Epoch == 0:
		return true
	case higher:
		return v-minDelta > k.Best
	default:
		return v+minDelta < k.Best
	}
}

// callbackState is the callbacks' part of a checkpoint: a resumed run
// decides as an uninterrupted one.
type callbackState struct {
	EarlyStopping     tracker `json:"early_stopping"`
	ReduceLROnPlateau tracker `json:"reduce_lr_on_plateau"`
	BestEpoch         tracker `json:"best_epoch"`
	// Stopped is the epoch at which early stopping stopped (0: it did not).
	Stopped int `json:"stopped_epoch"`
	// RateFactor multiplies the schedule's rate (reduce_lr_on_plateau); 1
	// until it lowers the rate.
	RateFactor float64 `json:"rate_factor"`
	// Kept is the epoch whose weights are kept as the best (0: none).
	Kept int `json:"kept_epoch"`
	// KeptIndex is the sha256 of the index of the kept weights' bundle.
	KeptIndex string `json:"kept_index,omitempty"`
}

// check reports the first field of c out of range after epochs complete
// epochs.
func (c *callbackState) check(epochs int) error {
	for _, k := range []struct {
		name string
		t    tracker
	}{{EarlyStopping, c.EarlyStopping}, {ReduceLROnPlateau, c.ReduceLROnPlateau}, {BestEpoch, c.BestEpoch}} {
		if !finite(k.t.Best) || k.t.Epoch < 0 || k.t.Epoch > epochs || k.t.Wait < 0 || k.t.Wait > epochs || k.t.Cooldown < 0 {
			return fmt.Errorf("callbacks.%s: best %g at epoch %d, wait %d, cooldown %d: want a finite best of a complete epoch and counts >= 0",
				k.name, k.t.Best, k.t.Epoch, k.t.Wait, k.t.Cooldown)
		}
	}
	switch {
	case c.Stopped < 0 || c.Stopped > epochs:
		return fmt.Errorf("callbacks.stopped_epoch: %d, want 0 to %d", c.Stopped, epochs)
	case !(c.RateFactor > 0 && c.RateFactor <= 1):
		return fmt.Errorf("callbacks.rate_factor: %g, want a factor in (0, 1]", c.RateFactor)
	case c.Kept < 0 || c.Kept > epochs:
		return fmt.Errorf("callbacks.kept_epoch: %d, want 0 to %d", c.Kept, epochs)
	}
	return nil
}

// monitored returns the value of metric in e.
func monitored(e *Epoch, metric string) float64 {
	switch metric {
	case config.MonitorAccuracy:
		return e.Accuracy
	case config.MonitorValLoss:
		return e.ValLoss
	case config.MonitorValAccuracy:
		return e.ValAccuracy
	}
	return e.Loss
}

// keepsBest reports whether a callback chooses the weights Fit leaves.
func keepsBest(c config.Callbacks) bool {
	return c.BestEpoch != nil || (c.EarlyStopping != nil && c.EarlyStopping.RestoreBestWeights)
}

// decide runs the callbacks of c after epoch e (complete, recorded in
// e.Decisions), with next the schedule's rate of the next step. It
// returns whether the epoch's weights are the new best to keep.
func (cs *callbackState) decide(c config.Callbacks, e *Epoch, next float64) (keep bool) {
	if b := c.BestEpoch; b != nil {
		k, v := &cs.BestEpoch, monitored(e, b.Monitor)
		if k.improves(v, 0, config.Higher(b.Monitor, b.Mode)) {
			k.Best, k.Epoch = v, e.Epoch
			keep = true
			e.Decisions = append(e.Decisions, Decision{Callback: BestEpoch, Action: ActionBest, Monitor: b.Monitor, Value: v, Best: v, BestAt: e.Epoch})
		}
	}
	if es := c.EarlyStopping; es != nil {
		k, v := &cs.EarlyStopping, monitored(e, es.Monitor)
		k.Wait++
		if k.improves(v, es.MinDelta, config.Higher(es.Monitor, es.Mode)) {
			k.Best, k.Epoch, k.Wait = v, e.Epoch, 0
			keep = keep || es.RestoreBestWeights
		} else if k.Wait >= es.Patience && e.Epoch > 1 {
			cs.Stopped = e.Epoch
			e.Decisions = append(e.Decisions, Decision{Callback: EarlyStopping, Action: ActionStop, Monitor: es.Monitor, Value: v, Best: k.Best, BestAt: k.Epoch, Wait: k.Wait})
		}
	}
	if r := c.ReduceLROnPlateau; r != nil {
		cs.reduce(r, e, next)
	}
	if keep {
		cs.Kept = e.Epoch
	}
	return keep
}

// reduce runs reduce_lr_on_plateau as Keras does, with next the
// schedule's rate of the next step.
func (cs *callbackState) reduce(r *config.ReduceLROnPlateau, e *Epoch, next float64) {
	k, v := &cs.ReduceLROnPlateau, monitored(e, r.Monitor)
	if k.Cooldown > 0 {
		k.Cooldown--
		k.Wait = 0
	}
	if k.improves(v, r.MinDelta, config.Higher(r.Monitor, r.Mode)) {
		k.Best, k.Epoch, k.Wait = v, e.Epoch, 0
		return
	}
	if k.Cooldown > 0 {
		return
	}
	k.Wait++
	if k.Wait < r.Patience {
		return
	}
	old := next * cs.RateFactor
	if float32(old) > float32(r.MinLR) && next > 0 {
		lr := max(old*r.Factor, r.MinLR)
		cs.RateFactor = lr / next
		k.Cooldown = r.Cooldown
		e.Decisions = append(e.Decisions, Decision{Callback: ReduceLROnPlateau, Action: ActionReduceLR, Monitor: r.Monitor, Value: v, Best: k.Best, BestAt: k.Epoch, Wait: k.Wait, LearningRate: lr})
	}
	k.Wait = 0
}
