package train

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"

	tf "github.com/galeone/tensorflow/tensorflow/go"

	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/atomicfile"
	"github.com/tfcifar/tfcifar/internal/capped"
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
)

// maxStateSize caps the size of state.json read on resume: its history
// takes about 200 bytes an epoch.
const maxStateSize = 16 << 20

// state is where training stands: Epoch epochs are complete and Batch
// batches of the next one are done, with the sums of their metrics.
// Meaning records what the values mean; a resume must match it.
type state struct {
	Meaning  meaning `json:"meaning"`
	Index    string  `json:"index"` // sha256 of ckpt.index, which holds the variables' checksums
	Epoch    int     `json:"epoch"`
	Batch    int     `json:"batch"`
	Steps    int     `json:"steps_per_epoch"`
	Examples int     `json:"examples"` // training examples
	Step     int64   `json:"step"`
	LossSum  float64 `json:"loss_sum"`
	AccSum   float64 `json:"accuracy_sum"`
	Count    int     `json:"count"`
	Seconds  float64 `json:"seconds"`
	History  History `json:"history"`
	// Callbacks is the callbacks' state; a resumed run continues with it
	// (with the callbacks of its own configuration).
	Callbacks callbackState `json:"callbacks"`
}

// Identity is what a stage trains as the caller of New sees it, beyond
// the train section: with cached features the Trainer sees neither the
// whole network, the images nor their scale. Network and Data are
// fingerprints (e.g. hashes) of the whole network spec and of the training
// and validation examples with their labels; Classes are the class names
// and Scale the pixel scale. Checkpoints record it, and a resume with
// another Identity is refused.
type Identity struct {
	Network string   `json:"network"`
	Classes []string `json:"classes"`
	Data    string   `json:"data"`
	Scale   float64  `json:"scale"`
}

// meaning is everything a checkpoint's values depend on: the caller's
// Identity and the settings the Trainer knows itself. Epochs, progress,
// threads, device and cache_frozen are not part of it: changing them
// does not change what the checkpoint holds. Numbers that may not be
// finite are kept as text, which JSON can always hold.
type meaning struct {
	Network    string   `json:"network"`
	Classes    []string `json:"classes"`
	Data       string   `json:"data"`
	Scale      string   `json:"scale"`
	BatchSize  int      `json:"batch_size"`
	Shuffle    bool     `json:"shuffle"`
	Seed       int64    `json:"seed"`     // shuffle seed: train.seed, else run.seed
	RunSeed    int64    `json:"run_seed"` // graph seed: dropout masks
	Optimizer  string   `json:"optimizer"`
	Schedule   string   `json:"schedule"`
	LayerRates string   `json:"layer_rates"`
	Reused     string   `json:"reused"` // fingerprint of Options.Init and Options.Cached
	// LossScaling is "dynamic" with mixed_float16 (its checkpoints hold the
	// loss scale), else empty.
	LossScaling string `json:"loss_scaling,omitempty"`
}

// meaning returns the meaning of this Trainer's checkpoints.
func (t *Trainer) meaning() (meaning, error) {
	reused, err := fingerprint(t.opt.Init, t.opt.Cached)
	if err != nil {
		return meaning{}, fmt.Errorf("train: reused weights: %w", err)
	}
	id := t.opt.Identity
	return meaning{
		Network: id.Network, Classes: id.Classes, Data: id.Data, Scale: fmt.Sprint(id.Scale),
		BatchSize: t.cfg.BatchSize, Shuffle: t.cfg.Shuffle, Seed: t.seed, RunSeed: t.opt.Run.Seed,
		Optimizer: fmt.Sprintf("%+v", t.cfg.Optimizer), Schedule: fmt.Sprintf("%+v", t.cfg.Schedule),
		LayerRates: fmt.Sprint(t.opt.LayerRates), Reused: reused, LossScaling: lossScalingOf(t.opt.Run.Precision),
	}, nil
}

// ResumeRefused is the error New returns when resuming a checkpoint made
// with a setting that gives its values another meaning (network, classes,
// data, scale, seeds, batch size, optimizer, schedule, reused weights),
// and Fit when the training set does not fit the checkpoint's position.
type ResumeRefused struct {
	Checkpoint string // the checkpoint directory
	Field      string // the setting, named as in the config
	Was, Now   string // its value in the checkpoint and in this run
}

func (e *ResumeRefused) Error() string {
	return fmt.Sprintf("train: resume: the checkpoint in %s was made with %s %s, this run has %s: resume with the same setting, or train afresh without resuming",
		e.Checkpoint, e.Field, e.Was, e.Now)
}

// refuse compares the checkpoint's meaning m with this run's and returns a
// *ResumeRefused naming the first setting that differs.
func (m meaning) refuse(dir string, now meaning) error {
	short := func(h string) string { return h[:min(len(h), 12)] }
	diffs := []struct {
		field    string
		was, now any
	}{
		{"the network (model.layers, model.from)", short(m.Network), short(now.Network)},
		{"classes", m.Classes, now.Classes},
		{"training and validation data (content of data.dir, classes, data.split, data.validation_fraction)", short(m.Data), short(now.Data)},
		{"data.scale", m.Scale, now.Scale},
		{"train.batch_size", m.BatchSize, now.BatchSize},
		{"train.shuffle", m.Shuffle, now.Shuffle},
		{"shuffle seed (train.seed, else run.seed)", m.Seed, now.Seed},
		{"run.seed", m.RunSeed, now.RunSeed},
		{"train.optimizer", m.Optimizer, now.Optimizer},
		{"train.schedule", m.Schedule, now.Schedule},
		{"layer learning rates (model.from.learning_rate)", m.LayerRates, now.LayerRates},
		{"reused weights (model.from)", short(m.Reused), short(now.Reused)},
		{"run.precision's loss scaling", m.LossScaling, now.LossScaling},
	}
	for _, d := range diffs {
		if was, is := fmt.Sprint(d.was), fmt.Sprint(d.now); was != is {
			return &ResumeRefused{Checkpoint: dir, Field: d.field, Was: was, Now: is}
		}
	}
	return nil
}

// fingerprint hashes the names, types, shapes and contents of the tensors
// of sets taken together: how they are spread over the sets does not count.
// It fails on a tensor whose contents cannot be serialized (strings).
func fingerprint(sets ...graph.Weights) (string, error) {
	all := graph.Weights{}
	for _, set := range sets {
		maps.Copy(all, set)
	}
	h := sha256.New()
	for _, name := range all.Names() {
		v := all[name]
		fmt.Fprintf(h, "%q %v %v\n", name, v.DataType(), v.Shape())
		if _, err := v.WriteContentsTo(h); err != nil {
			return "", fmt.Errorf("fingerprint %s: %w", name, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// check reports the first field of st that is out of range or
// inconsistent, for a run of epochs epochs.
func (st *state) check() error {
	m := st.Meaning
	switch {
	case m.Optimizer == "" || m.Scale == "":
		return errors.New("meaning: missing: the checkpoint does not record what it was trained on")
	case st.Epoch < 0:
		return fmt.Errorf("epoch: %d, want >= 0", st.Epoch)
	case len(st.History.Epochs) != st.Epoch:
		return fmt.Errorf("history.epochs: %d epochs recorded, epoch says %d", len(st.History.Epochs), st.Epoch)
	case m.BatchSize <= 0:
		return fmt.Errorf("meaning.batch_size: %d, want > 0", m.BatchSize)
	case st.Examples <= 0:
		return fmt.Errorf("examples: %d, want > 0", st.Examples)
	case st.Steps != (st.Examples+m.BatchSize-1)/m.BatchSize:
		return fmt.Errorf("steps_per_epoch: %d, want %d for %d examples in batches of %d", st.Steps, (st.Examples+m.BatchSize-1)/m.BatchSize, st.Examples, m.BatchSize)
	case st.Batch < 0 || st.Batch >= st.Steps:
		return fmt.Errorf("batch: %d, want 0 to %d", st.Batch, st.Steps-1)
	case st.Step != int64(st.Epoch)*int64(st.Steps)+int64(st.Batch):
		return fmt.Errorf("step: %d, want %d after %d epochs of %d steps and %d batches", st.Step, int64(st.Epoch)*int64(st.Steps)+int64(st.Batch), st.Epoch, st.Steps, st.Batch)
	case st.Count != st.Batch*m.BatchSize:
		return fmt.Errorf("count: %d, want %d for %d batches of %d", st.Count, st.Batch*m.BatchSize, st.Batch, m.BatchSize)
	case !finite(st.LossSum) || st.LossSum < 0:
		return fmt.Errorf("loss_sum: %g, want a finite sum >= 0", st.LossSum)
	case !finite(st.AccSum) || st.AccSum < 0 || st.AccSum > float64(st.Count):
		return fmt.Errorf("accuracy_sum: %g, want 0 to count (%d)", st.AccSum, st.Count)
	case !finite(st.Seconds) || st.Seconds < 0:
		return fmt.Errorf("seconds: %g, want a finite time >= 0", st.Seconds)
	case !finite(st.History.TimeTaken) || st.History.TimeTaken < 0:
		return fmt.Errorf("history.time_taken: %g, want a finite time >= 0", st.History.TimeTaken)
	case st.History.StoppedEpoch != st.Callbacks.Stopped:
		return fmt.Errorf("history.stopped_epoch: %d, callbacks.stopped_epoch says %d", st.History.StoppedEpoch, st.Callbacks.Stopped)
	case st.Callbacks.Stopped != 0 && (st.Callbacks.Stopped != st.Epoch || st.Batch != 0):
		return fmt.Errorf("callbacks.stopped_epoch: %d, want the last complete epoch %d", st.Callbacks.Stopped, st.Epoch)
	}
	if err := st.Callbacks.check(st.Epoch); err != nil {
		return err
	}
	for i, e := range st.History.Epochs {
		field := fmt.Sprintf("history.epochs[%d]", i)
		switch {
		case e.Epoch != i+1:
			return fmt.Errorf("%s.epoch: %d, want %d", field, e.Epoch, i+1)
		case !finite(e.Loss) || e.Loss < 0 || !finite(e.ValLoss) || e.ValLoss < 0:
			return fmt.Errorf("%s: loss %g, val_loss %g, want finite values >= 0", field, e.Loss, e.ValLoss)
		case !(e.Accuracy >= 0 && e.Accuracy <= 1) || !(e.ValAccuracy >= 0 && e.ValAccuracy <= 1):
			return fmt.Errorf("%s: accuracy %g, val_accuracy %g, want values in [0, 1]", field, e.Accuracy, e.ValAccuracy)
		case !finite(e.Seconds) || e.Seconds < 0 || !finite(e.LearningRate) || e.LearningRate < 0:
			return fmt.Errorf("%s: seconds %g, learning_rate %g, want finite values >= 0", field, e.Seconds, e.LearningRate)
		}
	}
	return nil
}

// CheckpointDir returns the checkpoint directory of a stage directory.
func CheckpointDir(dir string) string { return filepath.Join(dir, checkpointDir) }

// RemoveLeftovers removes what a training killed in the stage directory dir
// left: temporary checkpoint directories and temporary history and chart
// files (the files named in also, e.g. those hooks write). The checkpoint
// itself (and the previous one, kept by a save cut short between its
// renames) stays for resume.
func RemoveLeftovers(dir string, also ...string) error {
	errs := []error{atomicfile.RemoveTemp(dir, tempPrefix), atomicfile.RestoreDir(CheckpointDir(dir))}
	for _, f := range also {
		errs = append(errs, atomicfile.RemoveLeftovers(filepath.Join(dir, f)))
	}
	err := errors.Join(errs...)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// save writes a checkpoint of all variables and the loop state into a
// temporary directory next to Dir/checkpoint, then puts it in place
// (atomicfile.ReplaceDir), so that an interrupted save leaves the previous
// checkpoint intact. It refuses to write variables that hold NaN or
// infinities.
func (t *Trainer) save() error {
	if err := t.checkFinite(); err != nil {
		return fmt.Errorf("train: checkpoint not saved: %w", err)
	}
	final := CheckpointDir(t.opt.Dir)
	if err := os.MkdirAll(t.opt.Dir, 0o755); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	// One trainer saves at a time, so temporary directories that exist now
	// are leftovers of saves cut short by a kill.
	if err := atomicfile.RemoveTemp(t.opt.Dir, tempPrefix); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	ep, err := tf.NewTensor(int64(t.st.Epoch))
	if err != nil {
		return err
	}
	if _, err := t.sess.Run(map[tf.Output]*tf.Tensor{t.epochIn: ep}, nil, []*tf.Operation{t.setEp}); err != nil {
		return fmt.Errorf("train: checkpoint: set epoch counter: %w", err)
	}
	// Built out of sight and exchanged with the previous checkpoint in one
	// step, so a kill leaves one or the other (RestoreDir, on a
	// filesystem without exchange).
	if err := atomicfile.BuildDir(final, tempPrefix, t.fill, atomicfile.ReplaceDir); err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", final, err)
	}
	return nil
}

// fill writes the variables and state.json of a checkpoint into dir.
func (t *Trainer) fill(dir string) error {
	if err := t.saver.Save(t.sess, filepath.Join(dir, checkpointKey)); err != nil {
		return err
	}
	if err := t.fillKept(dir); err != nil {
		return err
	}
	var err error
	if t.st.Index, err = hashIndex(filepath.Join(dir, checkpointKey+".index")); err != nil {
		return err
	}
	b, err := json.MarshalIndent(&t.st, "", "  ")
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, stateFile), b, 0o644)
}

// restore loads Dir/checkpoint (first putting back the previous checkpoint
// when a save stopped between its two renames) and reports whether there
// was one.
// It refuses a state.json that is too large, malformed or inconsistent
// (naming the file and the field), a checkpoint whose meaning differs
// from this run's (*ResumeRefused), and variables of another type or shape.
func (t *Trainer) restore() (bool, error) {
	if t.opt.Dir == "" {
		return false, nil
	}
	dir := CheckpointDir(t.opt.Dir)
	if err := atomicfile.RestoreDir(dir); err != nil {
		return false, fmt.Errorf("train: resume: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, stateFile)); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	path := filepath.Join(dir, stateFile)
	st, err := readState(path)
	if err != nil {
		return false, err
	}
	if err := st.Meaning.refuse(dir, t.st.Meaning); err != nil {
		return false, err
	}
	if st.Epoch > t.cfg.Epochs || (st.Epoch == t.cfg.Epochs && st.Batch > 0) {
		return false, &ResumeRefused{Checkpoint: dir, Field: "train.epochs",
			Was: fmt.Sprintf("at least %d", st.Epoch+min(st.Batch, 1)), Now: fmt.Sprint(t.cfg.Epochs)}
	}
	index := filepath.Join(dir, checkpointKey+".index")
	if h, err := hashIndex(index); err != nil {
		return false, fmt.Errorf("train: resume: %w", err)
	} else if h != st.Index {
		return false, fmt.Errorf("train: resume: %s: index: %s is not the one saved with it", path, index)
	}
	if err := t.saver.Restore(t.sess, filepath.Join(dir, checkpointKey)); err != nil {
		return false, fmt.Errorf("train: resume: %w", err)
	}
	out, err := t.sess.Run(nil, []tf.Output{t.steps}, nil)
	if err != nil {
		return false, fmt.Errorf("train: resume: read step counter: %w", err)
	}
	if got := scalarInt(out[0]); got != st.Step {
		return false, fmt.Errorf("train: resume: %s: step: %d, the checkpoint's step counter is %d", path, st.Step, got)
	}
	if err := t.checkCached(dir); err != nil {
		return false, err
	}
	if err := t.checkKept(dir, st); err != nil {
		return false, err
	}
	t.st = *st
	return true, nil
}

// maxIndexSize caps the checkpoint index hashed on resume; it holds a few
// dozen bytes a variable.
const maxIndexSize = 64 << 20

// hashIndex returns the sha256 of a checkpoint index of at most
// maxIndexSize bytes.
func hashIndex(path string) (string, error) {
	b, err := readRegular(path, maxIndexSize, "a checkpoint index")
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// readRegular reads path, a regular file of at most limit bytes (what it
// should be names it in errors). It checks the kind of file before opening
// it, so a named pipe in a checkpoint fails at once instead of blocking.
func readRegular(path string, limit int64, what string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (mode %s), want %s", path, fi.Mode().Type(), what)
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s: larger than %s, not %s", path, capped.Size(limit), what)
	}
	return capped.ReadFile(path, limit)
}

// readState reads and checks a state.json of at most maxStateSize bytes.
func readState(path string) (*state, error) {
	b, err := readRegular(path, maxStateSize, "a checkpoint state")
	if err != nil {
		return nil, fmt.Errorf("train: resume: %w", err)
	}
	st := state{Callbacks: callbackState{RateFactor: 1}} // checkpoints made without callbacks
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("train: resume: %s: %w", path, err)
	}
	if err := st.check(); err != nil {
		return nil, fmt.Errorf("train: resume: %s: %w", path, err)
	}
	return &st, nil
}
