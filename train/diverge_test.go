package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFitStopsOnNonFinite checks that Fit stops at the first non-finite
// loss (training or validation) or weight, with an error wrapping
// ErrDiverged that names the epoch and step, and writes nothing: no
// checkpoint, history or chart. The rates are set after New, as a config
// would not pass validation with them.
func TestFitStopsOnNonFinite(t *testing.T) {
	cases := []struct {
		desc     string
		rate     float64
		inc      float32 // of the model's update
		batch    int
		validate bool
		want     string
	}{
		// Step 1's loss is finite; its update makes the weights ~1e30 and
		// step 2's logits overflow.
		{"training loss", 1e30, 1, 16, false, "epoch 1/3 step 2/7: the loss is NaN"},
		// One step an epoch: the validation after it sees the overflow.
		{"validation loss", 1e30, 1, 100, true, "epoch 1/3: validation: the validation loss is NaN"},
		// Beyond float32: stopped before the step.
		{"learning rate", 1e39, 1, 16, false, "epoch 1/3 step 1/7: the learning rate is +Inf"},
		// A model update (as of batchnorm statistics) makes a variable
		// infinite while the loss stays finite.
		{"variable", 0.01, float32(math.Inf(1)), 100, false, "epoch 1/3 step 1/1: variable stats/count holds NaN or infinite values"},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			dir := t.TempDir()
			opt := testOptions()
			opt.Dir = dir
			tr := newTiny(t, tiny{k: 3, seed: 4, inc: c.inc}, trainCfg(3, c.batch), opt)
			tr.cfg.Optimizer.LearningRate = c.rate
			var val Dataset
			if c.validate {
				val = colors(30, 3, 7)
			}
			_, err := tr.Fit(context.Background(), colors(100, 3, 6), val)
			if !errors.Is(err, ErrDiverged) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Fit: err = %v, want ErrDiverged with %q", err, c.want)
			}
			for _, f := range []string{"checkpoint", "history.json", "history.png"} {
				if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
					t.Errorf("%s written by a diverged fit (stat: %v)", f, err)
				}
			}
		})
	}
}

// TestDivergenceKeepsLastCheckpoint checks that a fit diverging in its
// second epoch leaves the checkpoint of the first untouched.
func TestDivergenceKeepsLastCheckpoint(t *testing.T) {
	bg := context.Background()
	dir := t.TempDir()
	opt := testOptions()
	opt.Dir = dir
	tr := newTiny(t, tiny{k: 3, seed: 4}, resumeCfg(3), opt)
	train, val := colors(100, 3, 6), colors(30, 3, 7)
	// 7 steps an epoch: the 8th check of the context stops before epoch 2.
	if _, err := tr.Fit(&stopAfter{Context: bg, n: 7}, train, val); !errors.Is(err, context.Canceled) {
		t.Fatalf("first fit: err = %v, want it interrupted", err)
	}
	ckpt := CheckpointDir(dir)
	before := readDir(t, ckpt)
	tr.cfg.Optimizer.LearningRate = 1e30
	_, err := tr.Fit(bg, train, val)
	if !errors.Is(err, ErrDiverged) || !strings.Contains(err.Error(), "epoch 2/3 step 2/7") || !strings.Contains(err.Error(), "the last checkpoint in "+ckpt+" is kept") {
		t.Fatalf("Fit: err = %v, want ErrDiverged in epoch 2 step 2 keeping %s", err, ckpt)
	}
	after := readDir(t, ckpt)
	if len(after) != len(before) {
		t.Fatalf("checkpoint files %d, were %d", len(after), len(before))
	}
	for name, b := range before {
		if !bytes.Equal(after[name], b) {
			t.Errorf("checkpoint file %s changed by a diverged fit", name)
		}
	}
	// Resuming it (with a sane rate) still works.
	opt.Resume = true
	if _, err := newTiny(t, tiny{k: 3, seed: 4}, resumeCfg(3), opt).Fit(bg, train, val); err != nil {
		t.Errorf("resume after divergence: %v", err)
	}
}

// readDir returns the contents of the files of dir by name.
func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, d := range des {
		b, err := os.ReadFile(filepath.Join(dir, d.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[d.Name()] = b
	}
	return out
}
