package train

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/tfcifar/tfcifar/internal/atomicfile"
)

// History is the record of one fit: per-epoch metrics and the wall time of
// the whole fit in seconds (including the time before an interruption when
// the fit was resumed). StoppedEpoch is the epoch after which early
// stopping stopped (0: it did not); WeightsEpoch, when a callback chose
// the weights Fit leaves (best_epoch, restore_best_weights), is the epoch
// they are from. Stage names the history; Fit leaves it to its caller.
type History struct {
	Stage        string  `json:"stage"`
	Epochs       []Epoch `json:"epochs"`
	TimeTaken    float64 `json:"time_taken"`
	StoppedEpoch int     `json:"stopped_epoch,omitempty"`
	WeightsEpoch int     `json:"weights_epoch,omitempty"`
}

// Epoch holds the metrics of one epoch (numbered from 1): the training loss
// and accuracy averaged over the epoch's batches weighted by their size,
// the same on the validation set after the epoch (0 without one), the
// seconds it took including validation, the learning rate of its first
// step (the schedule's times reduce_lr_on_plateau's factor) and what the
// callbacks decided after it.
type Epoch struct {
	Epoch        int        `json:"epoch"`
	Loss         float64    `json:"loss"`
	Accuracy     float64    `json:"accuracy"`
	ValLoss      float64    `json:"val_loss"`
	ValAccuracy  float64    `json:"val_accuracy"`
	Seconds      float64    `json:"seconds"`
	LearningRate float64    `json:"learning_rate"`
	Decisions    []Decision `json:"decisions,omitempty"`
}

// WriteJSON writes h as indented JSON to path through a temporary file in
// the same directory renamed into place.
func (h *History) WriteJSON(path string) error {
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return fmt.Errorf("train: history %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, append(b, '\n'))
}

// ReadHistory reads a History written by WriteJSON.
func ReadHistory(path string) (*History, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("train: history: %w", err)
	}
	var h History
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("train: history %s: %w", path, err)
	}
	return &h, nil
}
