package train

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tfcifar/tfcifar/internal/closer"
)

// keptDir is the directory, inside a checkpoint (or the scratch directory
// without one), of the bundle of the best epoch's weights.
const keptDir = "best"

// checkpointing reports whether Fit saves checkpoints.
func (t *Trainer) checkpointing() bool { return t.opt.Dir != "" && t.cfg.Checkpoint }

// keptPrefix returns the bundle prefix of the kept weights: in the
// checkpoint when Fit saves them, else in a scratch directory of the
// Trainer's (those of a checkpoint resumed from, until Fit keeps others).
func (t *Trainer) keptPrefix() string {
	if t.checkpointing() || (t.scratch == "" && t.opt.Dir != "") {
		return filepath.Join(CheckpointDir(t.opt.Dir), keptDir, checkpointKey)
	}
	return filepath.Join(t.scratch, checkpointKey)
}

// keep keeps the session's weights as the best epoch's: the next
// checkpoint saves them (it follows at once) or, without checkpoints,
// they go to the scratch directory now.
func (t *Trainer) keep() error {
	if t.checkpointing() {
		t.keptNow = true
		return nil
	}
	if t.scratch == "" {
		var err error
		if t.scratch, err = os.MkdirTemp("", "tfcifar-best-"); err != nil {
			return err
		}
	}
	return t.keptSaver.Save(t.sess, t.keptPrefix())
}

// fillKept writes the kept weights into the checkpoint being built in dir:
// the session's when they were just kept, else a copy of those in the
// current checkpoint. It records the bundle's index hash in the state.
func (t *Trainer) fillKept(dir string) error {
	cs := &t.st.Callbacks
	if t.keptSaver == nil || cs.Kept == 0 {
		return nil
	}
	to := filepath.Join(dir, keptDir)
	if t.keptNow {
		if err := t.keptSaver.Save(t.sess, filepath.Join(to, checkpointKey)); err != nil {
			return fmt.Errorf("best weights: %w", err)
		}
		t.keptNow = false
	} else if err := copyDir(filepath.Join(CheckpointDir(t.opt.Dir), keptDir), to); err != nil {
		return fmt.Errorf("best weights: %w", err)
	}
	var err error
	cs.KeptIndex, err = hashIndex(filepath.Join(to, checkpointKey+".index"))
	return err
}

// checkKept checks, on resume, that the checkpoint in dir holds the kept
// weights its state names.
func (t *Trainer) checkKept(dir string, st *state) error {
	if t.keptSaver == nil || st.Callbacks.Kept == 0 {
		return nil
	}
	index := filepath.Join(dir, keptDir, checkpointKey+".index")
	h, err := hashIndex(index)
	if err != nil {
		return fmt.Errorf("train: resume: the weights of epoch %d kept by a callback: %w", st.Callbacks.Kept, err)
	}
	if h != st.Callbacks.KeptIndex {
		return fmt.Errorf("train: resume: %s: kept_index: %s is not the one saved with it", filepath.Join(dir, stateFile), index)
	}
	return nil
}

// restoreKept leaves the kept weights in the session when a callback
// chose them and they are not those of the last epoch, and records their
// epoch in the history.
func (t *Trainer) restoreKept() error {
	cs := &t.st.Callbacks
	if t.keptSaver == nil || cs.Kept == 0 {
		return nil
	}
	t.st.History.WeightsEpoch = cs.Kept
	if cs.Kept == len(t.st.History.Epochs) {
		return nil // the session holds them
	}
	if err := t.keptSaver.Restore(t.sess, t.keptPrefix()); err != nil {
		return fmt.Errorf("train: restore the weights of epoch %d: %w", cs.Kept, err)
	}
	return nil
}

// copyDir copies the regular files of from into to, created.
func copyDir(from, to string) error {
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	es, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range es {
		if !e.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", filepath.Join(from, e.Name()))
		}
		if err := copyFile(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies the file from to the new file to.
func copyFile(from, to string) (err error) {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer closer.Join(&err, in)
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer closer.Join(&err, out)
	_, err = io.Copy(out, in)
	return err
}
