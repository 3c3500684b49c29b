package config

import (
	"fmt"
	"slices"
	"strings"
)

// Train holds the training settings of a stage: Epochs passes over the
// training set in batches of BatchSize (the last partial batch kept),
// reshuffled every epoch when Shuffle is set, with Seed (0: run.seed).
// Checkpoint saves all variables after every epoch. CacheFrozen computes
// the outputs of a transfer network's reused frozen layers once, up to the
// first layer that is not deterministic (dropout), and trains the layers
// after them on those cached features; results match the uncached run
// within noise. Callbacks stop early, keep the best epoch or lower the
// learning rate on a plateau.
type Train struct {
	Epochs      int       `mapstructure:"epochs" yaml:"epochs"`
	BatchSize   int       `mapstructure:"batch_size" yaml:"batch_size"`
	Shuffle     bool      `mapstructure:"shuffle" yaml:"shuffle"`
	Seed        int64     `mapstructure:"seed" yaml:"seed"`
	Optimizer   Optimizer `mapstructure:"optimizer" yaml:"optimizer"`
	Schedule    Schedule  `mapstructure:"schedule" yaml:"schedule"`
	Checkpoint  bool      `mapstructure:"checkpoint" yaml:"checkpoint"`
	CacheFrozen bool      `mapstructure:"cache_frozen" yaml:"cache_frozen"`
	Callbacks   Callbacks `mapstructure:"callbacks" yaml:"callbacks"`
}

// DefaultTrain is the reference training: 5 epochs of batches of 100,
// shuffled, Adam with Keras defaults, constant rate, checkpoints on,
// frozen features cached.
func DefaultTrain() Train {
	return Train{Epochs: 5, BatchSize: 100, Shuffle: true, Optimizer: DefaultOptimizer(), Schedule: DefaultSchedule(), Checkpoint: true, CacheFrozen: true}
}

// Validate checks t.
func (t Train) Validate() error {
	if t.Epochs <= 0 {
		return fmt.Errorf("train.epochs: want a positive number of epochs, got %d", t.Epochs)
	}
	if t.BatchSize <= 0 || t.BatchSize > MaxBatchSize {
		return fmt.Errorf("train.batch_size: want a positive batch size of at most %d, got %d", MaxBatchSize, t.BatchSize)
	}
	if err := t.Optimizer.Validate(); err != nil {
		return err
	}
	if err := t.Schedule.Validate(); err != nil {
		return err
	}
	return t.Callbacks.Validate()
}

// Optimizer is adam (LearningRate, Beta1, Beta2, Epsilon; Keras defaults
// 0.001, 0.9, 0.999, 1e-7) or sgd (LearningRate, Momentum, Nesterov).
type Optimizer struct {
	Name         string  `mapstructure:"name" yaml:"name"`
	LearningRate float64 `mapstructure:"learning_rate" yaml:"learning_rate"`
	Beta1        float64 `mapstructure:"beta1" yaml:"beta1"`
	Beta2        float64 `mapstructure:"beta2" yaml:"beta2"`
	Epsilon      float64 `mapstructure:"epsilon" yaml:"epsilon"`
	Momentum     float64 `mapstructure:"momentum" yaml:"momentum"`
	Nesterov     bool    `mapstructure:"nesterov" yaml:"nesterov"`
}

// optimizers are the names optimizer.name accepts.
var optimizers = []string{Adam, SGD}

// DefaultOptimizer is Adam with Keras defaults.
func DefaultOptimizer() Optimizer {
	return Optimizer{Name: Adam, LearningRate: 0.001, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7}
}

// Validate checks o.
func (o Optimizer) Validate() error {
	switch {
	case !slices.Contains(optimizers, o.Name):
		return fmt.Errorf("train.optimizer.name: want one of %s, got %q", strings.Join(optimizers, ", "), o.Name)
	case o.Name != SGD && (o.Momentum != 0 || o.Nesterov):
		return fmt.Errorf("train.optimizer: momentum and nesterov are sgd settings, not %s ones", o.Name)
	}
	for _, f := range []struct {
		field, what string
		v           float64
		s           span
	}{
		{"learning_rate", "rate", o.LearningRate, positive},
		{"beta1", plainValue, o.Beta1, unitLow},
		{"beta2", plainValue, o.Beta2, unitLow},
		{"epsilon", plainValue, o.Epsilon, positive},
		{"momentum", plainValue, o.Momentum, unitLow},
	} {
		if err := checkFloat("train.optimizer."+f.field, f.what, f.v, f.s); err != nil {
			return err
		}
	}
	return nil
}

// Schedule changes the learning rate per epoch: constant; step (multiply
// by Gamma every StepEpochs epochs); cosine (decay to 0 over the epochs).
type Schedule struct {
	Name       string  `mapstructure:"name" yaml:"name"`
	StepEpochs int     `mapstructure:"step_epochs" yaml:"step_epochs"`
	Gamma      float64 `mapstructure:"gamma" yaml:"gamma"`
}

// schedules are the names schedule.name accepts.
var schedules = []string{"constant", "step", "cosine"}

// DefaultSchedule is a constant rate.
func DefaultSchedule() Schedule { return Schedule{Name: "constant", Gamma: 0.1} }

// Validate checks s.
func (s Schedule) Validate() error {
	switch {
	case !slices.Contains(schedules, s.Name):
		return fmt.Errorf("train.schedule.name: want one of %s, got %q", strings.Join(schedules, ", "), s.Name)
	case s.StepEpochs < 0 || (s.Name == "step" && s.StepEpochs == 0):
		return fmt.Errorf("train.schedule.step_epochs: want a positive number of epochs for the step schedule, got %d", s.StepEpochs)
	}
	return checkFloat("train.schedule.gamma", "factor", s.Gamma, unitHigh)
}
