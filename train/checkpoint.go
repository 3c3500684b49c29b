package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	tf "github.com/galeone/tensorflow/tensorflow/go"

	"github.com/tfcifar/tfcifar/internal/atomicfile"
)

// Checkpoint layout inside Options.Dir: checkpoint/ckpt.index,
// checkpoint/ckpt.data-00000-of-00001 (all variables: model weights,
// optimizer slots, step and epoch counters) and checkpoint/state.json (the
// position in the loop, the partial epoch's sums and the history so far).
const (
	checkpointDir = "checkpoint"
	checkpointKey = "ckpt"
	stateFile     = "state.json"
	tempPrefix    = ".checkpoint-" // temporary directories of a save
	historyFile   = "history.json" // written by Fit at the end
	chartFile     = "history.png"
)

// state is where training stands: Epoch epochs are complete and Batch
// batches of the next one are done, with the sums of their metrics.
type state struct {
	Epoch     int     `json:"epoch"`
	Batch     int     `json:"batch"`
	Steps     int     `json:"steps_per_epoch"`
	BatchSize int     `json:"batch_size"`
	Examples  int     `json:"examples"` // training examples
	Seed      int64   `json:"seed"`     // shuffle seed
	Shuffle   bool    `json:"shuffle"`
	Step      int64   `json:"step"`
	LossSum   float64 `json:"loss_sum"`
	AccSum    float64 `json:"accuracy_sum"`
	Count     int     `json:"count"`
	Seconds   float64 `json:"seconds"`
	History   History `json:"history"`
}

// CheckpointDir returns the checkpoint directory of a stage directory.
func CheckpointDir(dir string) string { return filepath.Join(dir, checkpointDir) }

// RemoveLeftovers removes what a training killed in the stage directory dir
// left: temporary checkpoint directories and temporary history and chart
// files. The checkpoint itself (and the previous one, kept by a save cut
// short between its renames) stays for resume.
func RemoveLeftovers(dir string) error {
	err := errors.Join(
		atomicfile.RemoveTemp(dir, tempPrefix),
		atomicfile.RemoveLeftovers(filepath.Join(dir, historyFile)),
		atomicfile.RemoveLeftovers(filepath.Join(dir, chartFile)))
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// save writes a checkpoint of all variables and the loop state into a
// temporary directory next to Dir/checkpoint, then renames it into place,
// so that an interrupted save leaves the previous checkpoint intact.
func (t *Trainer) save() error {
	final := CheckpointDir(t.opt.Dir)
	if err := os.MkdirAll(t.opt.Dir, 0o755); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	// One trainer saves at a time, so temporary directories that exist now
	// are leftovers of saves cut short by a kill.
	if err := atomicfile.RemoveTemp(t.opt.Dir, tempPrefix); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	tmp, err := os.MkdirTemp(t.opt.Dir, tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	defer os.RemoveAll(tmp)
	ep, err := tf.NewTensor(int64(t.st.Epoch))
	if err != nil {
		return err
	}
	if _, err := t.sess.Run(map[tf.Output]*tf.Tensor{t.epochIn: ep}, nil, []*tf.Operation{t.setEp}); err != nil {
		return fmt.Errorf("train: checkpoint: set epoch counter: %w", err)
	}
	if err := t.saver.Save(t.sess, filepath.Join(tmp, checkpointKey)); err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", final, err)
	}
	b, err := json.MarshalIndent(&t.st, "", "  ")
	if err != nil {
		return fmt.Errorf("train: checkpoint state: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, stateFile), b, 0o644); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	if err := atomicfile.SetModes(tmp); err != nil { // as the rest of the run dir
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	old := final + ".old"
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	if err := os.Rename(final, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	return os.RemoveAll(old)
}

// restore loads Dir/checkpoint (or the previous checkpoint left by a save
// that stopped between its two renames) and reports whether there was one.
func (t *Trainer) restore() (bool, error) {
	if t.opt.Dir == "" {
		return false, nil
	}
	dir := CheckpointDir(t.opt.Dir)
	if _, err := os.Stat(filepath.Join(dir, stateFile)); errors.Is(err, fs.ErrNotExist) {
		dir += ".old"
		if _, err := os.Stat(filepath.Join(dir, stateFile)); errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return false, fmt.Errorf("train: resume: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return false, fmt.Errorf("train: resume: %s: %w", filepath.Join(dir, stateFile), err)
	}
	if st.BatchSize != t.cfg.BatchSize {
		return false, fmt.Errorf("train: resume: checkpoint %s was made with train.batch_size %d, the config has %d", dir, st.BatchSize, t.cfg.BatchSize)
	}
	if err := t.saver.Restore(t.sess, filepath.Join(dir, checkpointKey)); err != nil {
		return false, fmt.Errorf("train: resume: %w", err)
	}
	out, err := t.sess.Run(nil, []tf.Output{t.steps}, nil)
	if err != nil {
		return false, fmt.Errorf("train: resume: read step counter: %w", err)
	}
	if got := scalarInt(out[0]); got != st.Step {
		return false, fmt.Errorf("train: resume: checkpoint %s: step counter %d, state says %d", dir, got, st.Step)
	}
	t.st = st
	return true, nil
}
