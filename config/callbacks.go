package config

import (
	"fmt"
	"slices"
	"strings"
)

// Callbacks are the Keras-style callbacks of a stage's training, each off
// when absent (nil). Fit runs them after every epoch, in the order
// best_epoch, early_stopping, reduce_lr_on_plateau.
//
// EarlyStopping and BestEpoch both choose which weights Fit leaves (and the
// stage exports): set restore_best_weights or best_epoch, not both.
type Callbacks struct {
	EarlyStopping     *EarlyStopping     `mapstructure:"early_stopping" yaml:"early_stopping,omitempty"`
	ReduceLROnPlateau *ReduceLROnPlateau `mapstructure:"reduce_lr_on_plateau" yaml:"reduce_lr_on_plateau,omitempty"`
	BestEpoch         *BestEpoch         `mapstructure:"best_epoch" yaml:"best_epoch,omitempty"`
}

// The quantities a callback monitors: the epoch's metrics as history.json
// names them. The val_ ones need validation data.
const (
	MonitorLoss        = "loss"
	MonitorAccuracy    = "accuracy"
	MonitorValLoss     = "val_loss"
	MonitorValAccuracy = "val_accuracy"
)

// monitors are the names a callback's monitor accepts.
var monitors = []string{MonitorLoss, MonitorAccuracy, MonitorValLoss, MonitorValAccuracy}

// The modes of a monitored quantity: min (lower is better), max, or auto
// (max for accuracies, min otherwise), as in Keras.
const (
	ModeAuto = "auto"
	ModeMin  = "min"
	ModeMax  = "max"
)

// modes are the names a callback's mode accepts.
var modes = []string{ModeAuto, ModeMin, ModeMax}

// Monitors returns the names a callback's monitor accepts.
func Monitors() []string { return slices.Clone(monitors) }

// Higher reports whether a higher value of monitor is better in mode
// (auto: for accuracies).
func Higher(monitor, mode string) bool {
	if mode == ModeAuto || mode == "" {
		return strings.HasSuffix(monitor, "accuracy")
	}
	return mode == ModeMax
}

// EarlyStopping stops training when Monitor has not improved by more than
// MinDelta for Patience epochs (Keras' EarlyStopping). With
// RestoreBestWeights, Fit ends with the weights of the best epoch.
// Defaults: val_loss, auto, patience 0, min_delta 0, no restore.
type EarlyStopping struct {
	Monitor            string  `mapstructure:"monitor" yaml:"monitor"`
	Mode               string  `mapstructure:"mode" yaml:"mode"`
	Patience           int     `mapstructure:"patience" yaml:"patience"`
	MinDelta           float64 `mapstructure:"min_delta" yaml:"min_delta"`
	RestoreBestWeights bool    `mapstructure:"restore_best_weights" yaml:"restore_best_weights"`
}

// ReduceLROnPlateau multiplies the learning rate by Factor when Monitor
// has not improved by more than MinDelta for Patience epochs, waits
// Cooldown epochs before counting again, and never takes the rate below
// MinLR (Keras' ReduceLROnPlateau). The factor multiplies the schedule's
// rate (and layer rates) from the next epoch on. Defaults: val_loss, auto,
// factor 0.1, patience 10, min_delta 1e-4, cooldown 0, min_lr 0.
type ReduceLROnPlateau struct {
	Monitor  string  `mapstructure:"monitor" yaml:"monitor"`
	Mode     string  `mapstructure:"mode" yaml:"mode"`
	Factor   float64 `mapstructure:"factor" yaml:"factor"`
	Patience int     `mapstructure:"patience" yaml:"patience"`
	MinDelta float64 `mapstructure:"min_delta" yaml:"min_delta"`
	Cooldown int     `mapstructure:"cooldown" yaml:"cooldown"`
	MinLR    float64 `mapstructure:"min_lr" yaml:"min_lr"`
}

// BestEpoch keeps the weights of the epoch with the best Monitor (Keras'
// ModelCheckpoint with save_best_only) and leaves them at the end of Fit,
// so that the stage exports the best epoch instead of the last. Defaults:
// val_loss, auto.
type BestEpoch struct {
	Monitor string `mapstructure:"monitor" yaml:"monitor"`
	Mode    string `mapstructure:"mode" yaml:"mode"`
}

// callbackDefaults are the settings of a callback section that a config
// leaves out, by key under train.callbacks.
func callbackDefaults() map[string]map[string]any {
	return map[string]map[string]any{
		"early_stopping":       toMap(EarlyStopping{Monitor: MonitorValLoss, Mode: ModeAuto}),
		"reduce_lr_on_plateau": toMap(ReduceLROnPlateau{Monitor: MonitorValLoss, Mode: ModeAuto, Factor: 0.1, Patience: 10, MinDelta: 1e-4}),
		"best_epoch":           toMap(BestEpoch{Monitor: MonitorValLoss, Mode: ModeAuto}),
	}
}

// Validate checks c.
func (c Callbacks) Validate() error {
	const pre = "train.callbacks."
	if es := c.EarlyStopping; es != nil {
		if err := checkMonitor(pre+"early_stopping", es.Monitor, es.Mode); err != nil {
			return err
		}
		if es.Patience < 0 {
			return fmt.Errorf("%searly_stopping.patience: want a number of epochs >= 0, got %d", pre, es.Patience)
		}
		if err := checkFloat(pre+"early_stopping.min_delta", plainValue, es.MinDelta, nonNeg); err != nil {
			return err
		}
		if es.RestoreBestWeights && c.BestEpoch != nil {
			return fmt.Errorf("%searly_stopping.restore_best_weights: both it and %sbest_epoch choose the weights training leaves; set one of them", pre, pre)
		}
	}
	if r := c.ReduceLROnPlateau; r != nil {
		if err := checkMonitor(pre+"reduce_lr_on_plateau", r.Monitor, r.Mode); err != nil {
			return err
		}
		if err := checkFloat(pre+"reduce_lr_on_plateau.factor", "factor", r.Factor, unitOpen); err != nil {
			return err
		}
		if r.Patience < 0 || r.Cooldown < 0 {
			return fmt.Errorf("%sreduce_lr_on_plateau: patience %d, cooldown %d: want numbers of epochs >= 0", pre, r.Patience, r.Cooldown)
		}
		if err := checkFloat(pre+"reduce_lr_on_plateau.min_delta", plainValue, r.MinDelta, nonNeg); err != nil {
			return err
		}
		if err := checkFloat(pre+"reduce_lr_on_plateau.min_lr", "rate", r.MinLR, nonNeg); err != nil {
			return err
		}
	}
	if b := c.BestEpoch; b != nil {
		return checkMonitor(pre+"best_epoch", b.Monitor, b.Mode)
	}
	return nil
}

// checkMonitor checks the monitor and mode of the callback at key.
func checkMonitor(key, monitor, mode string) error {
	if !slices.Contains(monitors, monitor) {
		return fmt.Errorf("%s.monitor: want one of %s, got %q", key, strings.Join(monitors, ", "), monitor)
	}
	if !slices.Contains(modes, mode) {
		return fmt.Errorf("%s.mode: want one of %s, got %q", key, strings.Join(modes, ", "), mode)
	}
	return nil
}

// NeedValidation returns the key of the first callback that monitors a
// validation metric ("" for none).
func (c Callbacks) NeedValidation() string {
	const pre = "train.callbacks."
	switch {
	case c.EarlyStopping != nil && strings.HasPrefix(c.EarlyStopping.Monitor, "val_"):
		return pre + "early_stopping.monitor"
	case c.ReduceLROnPlateau != nil && strings.HasPrefix(c.ReduceLROnPlateau.Monitor, "val_"):
		return pre + "reduce_lr_on_plateau.monitor"
	case c.BestEpoch != nil && strings.HasPrefix(c.BestEpoch.Monitor, "val_"):
		return pre + "best_epoch.monitor"
	}
	return ""
}
