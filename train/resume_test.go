package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/config"
)

// stopAfter is a context whose Err reports cancellation from its (n+1)th
// call on; Fit checks it once before every step.
type stopAfter struct {
	context.Context
	n, calls int
}

func (c *stopAfter) Err() error {
	c.calls++
	if c.calls > c.n {
		return context.Canceled
	}
	return nil
}

func resumeCfg(epochs int) config.Train {
	c := trainCfg(epochs, 16)
	c.Optimizer.LearningRate = 0.01
	return c
}

// fitTiny trains the tiny model in dir and returns its history, values and
// the Fit error.
func fitTiny(t *testing.T, ctx context.Context, dir string, epochs int, resume bool) (*History, map[string][]float32, error) {
	t.Helper()
	opt := testOptions()
	opt.Dir, opt.Resume = dir, resume
	tr := newTiny(t, tiny{k: 3, seed: 4}, resumeCfg(epochs), opt)
	h, err := tr.Fit(ctx, colors(100, 3, 6), colors(30, 3, 7))
	return h, values(t, tr), err
}

func TestResumeEqualsUninterruptedRun(t *testing.T) {
	bg := context.Background()
	want, wantVals, err := fitTiny(t, bg, t.TempDir(), 3, false)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		desc  string
		first func(t *testing.T, dir string) // the run that stops early
	}{
		{"stopped after an epoch", func(t *testing.T, dir string) {
			if _, _, err := fitTiny(t, bg, dir, 1, false); err != nil {
				t.Fatal(err)
			}
		}},
		{"cancelled inside an epoch", func(t *testing.T, dir string) {
			// 7 steps per epoch: stop after step 3 of epoch 2.
			h, _, err := fitTiny(t, &stopAfter{Context: bg, n: 10}, dir, 3, false)
			var in *Interrupted
			if !errors.Is(err, context.Canceled) || !errors.As(err, &in) {
				t.Fatalf("Fit error = %v, want an *Interrupted wrapping context.Canceled", err)
			}
			if in.Epoch != 2 || in.Step != 3 || in.Checkpoint != CheckpointDir(dir) {
				t.Errorf("interrupted at epoch %d step %d checkpoint %q, want 2, 3, %q", in.Epoch, in.Step, in.Checkpoint, CheckpointDir(dir))
			}
			if !strings.Contains(err.Error(), "resume") {
				t.Errorf("error %q does not say how to resume", err)
			}
			if len(h.Epochs) != 1 {
				t.Errorf("history has %d epochs, want 1", len(h.Epochs))
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			dir := t.TempDir()
			c.first(t, dir)
			if _, err := os.Stat(filepath.Join(CheckpointDir(dir), "ckpt.index")); err != nil {
				t.Fatalf("no checkpoint: %v", err)
			}
			got, gotVals, err := fitTiny(t, bg, dir, 3, true)
			if err != nil {
				t.Fatal(err)
			}
			for name, w := range wantVals {
				for i := range w {
					if gotVals[name][i] != w[i] {
						t.Errorf("%s[%d] = %v, want %v (uninterrupted run)", name, i, gotVals[name][i], w[i])
						break
					}
				}
			}
			if len(got.Epochs) != len(want.Epochs) {
				t.Fatalf("got %d epochs, want %d", len(got.Epochs), len(want.Epochs))
			}
			for i, e := range want.Epochs {
				g := got.Epochs[i]
				if g.Loss != e.Loss || g.Accuracy != e.Accuracy || g.ValLoss != e.ValLoss || g.ValAccuracy != e.ValAccuracy {
					t.Errorf("epoch %d: got %+v, want %+v", i+1, g, e)
				}
			}
		})
	}
}

func TestResumeWithoutCheckpointStartsFresh(t *testing.T) {
	_, _, err := fitTiny(t, context.Background(), t.TempDir(), 1, true)
	if err != nil {
		t.Fatal(err)
	}
}

func TestRunsAreDeterministic(t *testing.T) {
	a, va, err := fitTiny(t, context.Background(), "", 2, false)
	if err != nil {
		t.Fatal(err)
	}
	b, vb, err := fitTiny(t, context.Background(), "", 2, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Epochs {
		if a.Epochs[i] != b.Epochs[i] {
			t.Errorf("epoch %d: %+v vs %+v", i+1, a.Epochs[i], b.Epochs[i])
		}
	}
	for name, v := range va {
		for i := range v {
			if v[i] != vb[name][i] {
				t.Errorf("%s[%d]: %v vs %v", name, i, v[i], vb[name][i])
			}
		}
	}
}

// TestResumeRefusesAnotherOrder checks that resuming inside an epoch with
// another shuffle seed is refused, since it would repeat some examples and
// skip others.
func TestResumeRefusesAnotherOrder(t *testing.T) {
	bg := context.Background()
	dir := t.TempDir()
	if _, _, err := fitTiny(t, &stopAfter{Context: bg, n: 10}, dir, 3, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: err = %v, want it cancelled", err)
	}
	opt := testOptions()
	opt.Dir, opt.Resume = dir, true
	cfg := resumeCfg(3)
	cfg.Seed++
	tr := newTiny(t, tiny{k: 3, seed: 4}, cfg, opt)
	_, err := tr.Fit(bg, colors(100, 3, 6), colors(30, 3, 7))
	if err == nil || !strings.Contains(err.Error(), "train.seed") {
		t.Errorf("resume with another seed: err = %v, want one naming train.seed", err)
	}
}

// TestSaveRemovesLeftovers checks that a checkpoint save clears temporary
// directories left by an earlier save that was killed.
func TestSaveRemovesLeftovers(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".checkpoint-123")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fitTiny(t, context.Background(), dir, 1, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale %s still there after a save (stat: %v)", stale, err)
	}
	if _, err := os.Stat(filepath.Join(CheckpointDir(dir), "ckpt.index")); err != nil {
		t.Errorf("no checkpoint: %v", err)
	}
}
