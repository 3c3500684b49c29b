package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"

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
			if !strings.Contains(err.Error(), "checkpoint saved in "+CheckpointDir(dir)) {
				t.Errorf("error %q does not name the checkpoint", err)
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
		if !reflect.DeepEqual(a.Epochs[i], b.Epochs[i]) {
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

// TestResumeRefusesAnotherMeaning checks that resuming a checkpoint with
// any setting that changes what its values mean is refused with a
// *ResumeRefused naming the setting, at an epoch boundary as inside an
// epoch, and that the checkpoint is left as it was.
func TestResumeRefusesAnotherMeaning(t *testing.T) {
	bg := context.Background()
	ident := Identity{Network: "net-a", Classes: []string{"a", "b", "c"}, Data: "data-a", Scale: 1}
	bias, err := tf.NewTensor([]float32{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		desc   string
		field  string
		change func(cfg *config.Train, opt *Options)
	}{
		{"another network", "network", func(_ *config.Train, o *Options) { o.Identity.Network = "net-b" }},
		{"other classes", "classes", func(_ *config.Train, o *Options) { o.Identity.Classes = []string{"a", "b", "d"} }},
		{"other data", "data", func(_ *config.Train, o *Options) { o.Identity.Data = "data-b" }},
		{"another scale", "data.scale", func(_ *config.Train, o *Options) { o.Identity.Scale = 1.0 / 255 }},
		{"another batch size", "train.batch_size", func(c *config.Train, _ *Options) { c.BatchSize = 17 }},
		{"no shuffle", "train.shuffle", func(c *config.Train, _ *Options) { c.Shuffle = false }},
		{"another train seed", "train.seed", func(c *config.Train, _ *Options) { c.Seed++ }},
		{"another run seed", "run.seed", func(_ *config.Train, o *Options) { o.Run.Seed++ }},
		{"another learning rate", "train.optimizer", func(c *config.Train, _ *Options) { c.Optimizer.LearningRate *= 2 }},
		{"another beta2", "train.optimizer", func(c *config.Train, _ *Options) { c.Optimizer.Beta2 = 0.99 }},
		{"another optimizer", "train.optimizer", func(c *config.Train, _ *Options) { c.Optimizer.Name = "sgd" }},
		{"another schedule", "train.schedule", func(c *config.Train, _ *Options) { c.Schedule.Name = "cosine" }},
		{"layer rates", "learning_rate", func(_ *config.Train, o *Options) { o.LayerRates = map[string]float64{"pre": 0.001} }},
		{"other reused weights", "reused weights", func(_ *config.Train, o *Options) { o.Init = map[string]*tf.Tensor{"dense/bias": bias} }},
		{"mixed_float16", "run.precision", func(_ *config.Train, o *Options) { o.Run.Precision = config.MixedFloat16 }},
		{"fewer epochs than done", "train.epochs", func(c *config.Train, _ *Options) { c.Epochs = 1 }},
	}
	for _, stop := range []struct {
		desc string
		ctx  context.Context
	}{
		{"after an epoch", bg},
		{"inside an epoch", &stopAfter{Context: bg, n: 10}}, // epoch 2 step 3
	} {
		dir := t.TempDir()
		opt := testOptions()
		opt.Dir, opt.Identity = dir, ident
		if _, err := newTiny(t, tiny{k: 3, seed: 4}, resumeCfg(2), opt).Fit(stop.ctx, colors(100, 3, 6), colors(30, 3, 7)); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		state := filepath.Join(CheckpointDir(dir), stateFile)
		before, err := os.ReadFile(state)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			t.Run(stop.desc+"/"+c.desc, func(t *testing.T) {
				cfg, opt := resumeCfg(3), testOptions()
				opt.Dir, opt.Resume, opt.Identity = dir, true, ident
				opt.Identity.Classes = slices.Clone(ident.Classes)
				c.change(&cfg, &opt)
				g, s := newGraph()
				tr, err := New(g, tiny{k: 3, seed: 4}.build(t, s), cfg, opt)
				if err == nil {
					tr.Close()
				}
				var refused *ResumeRefused
				if !errors.As(err, &refused) || !strings.Contains(refused.Field, c.field) || !strings.Contains(err.Error(), CheckpointDir(dir)) {
					t.Fatalf("New: err = %v, want a *ResumeRefused naming %s and the checkpoint", err, c.field)
				}
				if after, err := os.ReadFile(state); err != nil || !bytes.Equal(after, before) {
					t.Errorf("%s changed by a refused resume (read: %v)", state, err)
				}
			})
		}
	}
}

// TestResumeAcceptsSameMeaning checks that settings that do not change
// what a checkpoint means (more epochs, progress, threads, checkpointing)
// resume it.
func TestResumeAcceptsSameMeaning(t *testing.T) {
	dir := t.TempDir()
	opt := testOptions()
	opt.Dir = dir
	if _, err := newTiny(t, tiny{k: 3, seed: 4}, resumeCfg(1), opt).Fit(context.Background(), colors(100, 3, 6), nil); err != nil {
		t.Fatal(err)
	}
	opt.Resume, opt.Run.Progress, opt.Run.IntraOpThreads, opt.Run.InterOpThreads = true, "lines", 2, 2
	cfg := resumeCfg(2)
	cfg.Checkpoint = false
	h, err := newTiny(t, tiny{k: 3, seed: 4}, cfg, opt).Fit(context.Background(), colors(100, 3, 6), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Epochs) != 2 {
		t.Errorf("resumed run has %d epochs, want 2", len(h.Epochs))
	}
}

// TestResumeRefusesAnotherTrainingSet checks that Fit refuses a training
// set whose size does not fit the checkpoint's position.
func TestResumeRefusesAnotherTrainingSet(t *testing.T) {
	bg := context.Background()
	dir := t.TempDir()
	if _, _, err := fitTiny(t, bg, dir, 1, false); err != nil {
		t.Fatal(err)
	}
	opt := testOptions()
	opt.Dir, opt.Resume = dir, true
	_, err := newTiny(t, tiny{k: 3, seed: 4}, resumeCfg(2), opt).Fit(bg, colors(90, 3, 6), nil)
	var refused *ResumeRefused
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), "100 examples") {
		t.Errorf("Fit with 90 examples after a checkpoint of 100: err = %v, want a *ResumeRefused naming 100 examples", err)
	}
}

// TestResumeRefusesTamperedState checks that a state.json that is
// malformed, out of range or inconsistent is refused with an error naming
// the file and the field, never a panic.
func TestResumeRefusesTamperedState(t *testing.T) {
	bg := context.Background()
	src := t.TempDir()
	// 100 examples in batches of 16: 7 steps; stop at epoch 2 step 3.
	if _, _, err := fitTiny(t, &stopAfter{Context: bg, n: 10}, src, 3, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}
	orig, err := os.ReadFile(filepath.Join(CheckpointDir(src), stateFile))
	if err != nil {
		t.Fatal(err)
	}
	set := func(key string, v any) func(map[string]any) {
		return func(m map[string]any) { m[key] = v }
	}
	// finished says n epochs are done, consistently but for the variables.
	finished := func(n int) func(map[string]any) {
		return func(m map[string]any) {
			m["epoch"], m["step"], m["batch"], m["count"], m["loss_sum"], m["accuracy_sum"] = n, 7*n, 0, 0, 0, 0
			h := m["history"].(map[string]any)
			e := h["epochs"].([]any)
			for i := 2; i <= n; i++ {
				c := maps.Clone(e[0].(map[string]any))
				c["epoch"] = i
				e = append(e, c)
			}
			h["epochs"] = e
		}
	}
	cases := []struct {
		desc  string
		want  string // in the error
		edit  func(map[string]any)
		bytes []byte // the whole file instead of an edit
	}{
		{"batch past the end of the epoch", "batch", set("batch", 7), nil},
		{"batch far past the end", "batch", set("batch", 1e15), nil},
		{"negative batch", "batch", set("batch", -1), nil},
		{"negative epoch", "epoch", set("epoch", -2), nil},
		{"epoch past the history", "history.epochs", set("epoch", 2), nil},
		{"huge epoch", "history.epochs", set("epoch", 9e18), nil},
		{"epoch past the end", "train.epochs", finished(4), nil},
		{"finished, step counter off", "step", finished(3), nil},
		{"step counter off", "step", set("step", 11), nil},
		{"zero steps per epoch", "steps_per_epoch", set("steps_per_epoch", 0), nil},
		{"negative examples", "examples", set("examples", -100), nil},
		{"count off", "count", set("count", 47), nil},
		{"negative loss sum", "loss_sum", set("loss_sum", -1), nil},
		{"accuracy sum above count", "accuracy_sum", set("accuracy_sum", 1e300), nil},
		{"negative seconds", "seconds", set("seconds", -5), nil},
		{"accuracy above 1 in the history", "history.epochs[0]", func(m map[string]any) {
			m["history"].(map[string]any)["epochs"].([]any)[0].(map[string]any)["accuracy"] = 2
		}, nil},
		{"history epoch renumbered", "history.epochs[0].epoch", func(m map[string]any) {
			m["history"].(map[string]any)["epochs"].([]any)[0].(map[string]any)["epoch"] = 5
		}, nil},
		{"rate factor above 1", "callbacks.rate_factor", func(m map[string]any) { m["callbacks"].(map[string]any)["rate_factor"] = 2 }, nil},
		{"zero rate factor", "callbacks.rate_factor", func(m map[string]any) { m["callbacks"].(map[string]any)["rate_factor"] = 0 }, nil},
		{"kept epoch not done", "callbacks.kept_epoch", func(m map[string]any) { m["callbacks"].(map[string]any)["kept_epoch"] = 2 }, nil},
		{"negative wait", "callbacks.early_stopping", func(m map[string]any) {
			m["callbacks"].(map[string]any)["early_stopping"] = map[string]any{"best": 1, "epoch": 1, "wait": -1}
		}, nil},
		{"stopped inside an epoch", "callbacks.stopped_epoch", func(m map[string]any) {
			m["callbacks"].(map[string]any)["stopped_epoch"] = 1
			m["history"].(map[string]any)["stopped_epoch"] = 1
		}, nil},
		{"stop the history does not record", "history.stopped_epoch", func(m map[string]any) { m["callbacks"].(map[string]any)["stopped_epoch"] = 1 }, nil},
		{"epoch of the wrong type", "epoch", set("epoch", "one"), nil},
		{"history of the wrong type", "history", set("history", []int{1}), nil},
		{"index of other variables", "index", set("index", strings.Repeat("0", 64)), nil},
		{"no meaning", "meaning: missing", func(m map[string]any) { delete(m, "meaning") }, nil},
		{"not JSON", "invalid character", nil, []byte("{epoch: 1")},
		{"trailing data", "invalid character", nil, append(slices.Clone(orig), '}')},
		{"too large", "larger than 16 MiB", nil, bytes.Repeat([]byte(" "), maxStateSize+1)},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
				t.Fatal(err)
			}
			b := c.bytes
			if c.edit != nil {
				var m map[string]any
				if err := json.Unmarshal(orig, &m); err != nil {
					t.Fatal(err)
				}
				c.edit(m)
				if b, err = json.Marshal(m); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(CheckpointDir(dir), stateFile)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			opt := testOptions()
			opt.Dir, opt.Resume = dir, true
			g, s := newGraph()
			tr, err := New(g, tiny{k: 3, seed: 4}.build(t, s), resumeCfg(3), opt)
			if err == nil {
				tr.Close()
				t.Fatal("New resumed a tampered checkpoint")
			}
			if !strings.Contains(err.Error(), c.want) || (c.want != "train.epochs" && !strings.Contains(err.Error(), path)) {
				t.Errorf("err = %v, want one naming %s and %s", err, path, c.want)
			}
		})
	}
}

// TestResumeRefusesOtherKeptWeights checks that the best epoch's weights
// a checkpoint keeps must be the ones its state.json vouches for.
func TestResumeRefusesOtherKeptWeights(t *testing.T) {
	cb := config.Callbacks{BestEpoch: &config.BestEpoch{Monitor: "loss", Mode: "min"}}
	cases := []struct {
		desc, want string
		edit       func(best string) error
	}{
		{"other kept weights", "kept_index", func(best string) error {
			f, err := os.OpenFile(filepath.Join(best, "ckpt.index"), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			_, err = f.Write([]byte{0})
			return errors.Join(err, f.Close())
		}},
		{"no kept weights", "the weights of epoch 1 kept by a callback", func(best string) error { return os.RemoveAll(best) }},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			dir := t.TempDir()
			if r := fitCallbacks(t, context.Background(), dir, 1, cb, false); r.err != nil {
				t.Fatal(r.err)
			}
			if err := c.edit(filepath.Join(CheckpointDir(dir), keptDir)); err != nil {
				t.Fatal(err)
			}
			opt := testOptions()
			opt.Dir, opt.Resume = dir, true
			cfg := resumeCfg(2)
			cfg.Callbacks = cb
			g, s := newGraph()
			tr, err := New(g, tiny{k: 3, seed: 4}.build(t, s), cfg, opt)
			if err == nil {
				tr.Close()
				t.Fatal("New resumed a checkpoint with other kept weights")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one naming %s", err, c.want)
			}
		})
	}
}

// TestResumeRefusesOtherVariables checks that checkpoint variables of
// another checkpoint are refused, and those of another shape (with an
// index that state.json vouches for) with an error naming the variable.
func TestResumeRefusesOtherVariables(t *testing.T) {
	bg := context.Background()
	dir, other := t.TempDir(), t.TempDir()
	if _, _, err := fitTiny(t, bg, dir, 1, false); err != nil {
		t.Fatal(err)
	}
	opt := testOptions()
	opt.Dir = other
	if _, err := newTiny(t, tiny{k: 2, seed: 4}, resumeCfg(1), opt).Fit(bg, colors(100, 2, 6), nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ckpt.index", "ckpt.data-00000-of-00001"} {
		b, err := os.ReadFile(filepath.Join(CheckpointDir(other), f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(CheckpointDir(dir), f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opt.Dir, opt.Resume = dir, true
	resume := func() error {
		g, s := newGraph()
		tr, err := New(g, tiny{k: 3, seed: 4}.build(t, s), resumeCfg(2), opt)
		if err == nil {
			tr.Close()
		}
		return err
	}
	if err := resume(); err == nil || !strings.Contains(err.Error(), "index") {
		t.Errorf("variables of another checkpoint: err = %v, want one naming the index", err)
	}
	path := filepath.Join(CheckpointDir(dir), stateFile)
	st, err := readState(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Index, err = hashIndex(filepath.Join(CheckpointDir(dir), "ckpt.index")); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := resume(); err == nil || !strings.Contains(err.Error(), "dense/") {
		t.Errorf("variables of another shape: err = %v, want one naming a dense variable", err)
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

// TestResumeFromMovedAside checks that a checkpoint a save moved aside and
// never replaced (a kill between the two renames of a filesystem without
// atomic exchange) is put back and resumed from.
func TestResumeFromMovedAside(t *testing.T) {
	dir := t.TempDir()
	opt := testOptions()
	opt.Dir = dir
	if _, err := newTiny(t, tiny{k: 3, seed: 4}, resumeCfg(1), opt).Fit(context.Background(), colors(100, 3, 6), nil); err != nil {
		t.Fatal(err)
	}
	final := CheckpointDir(dir)
	aside := filepath.Join(dir, "."+filepath.Base(final)+".old")
	if err := os.Rename(final, aside); err != nil {
		t.Fatal(err)
	}
	opt.Resume = true
	h, err := newTiny(t, tiny{k: 3, seed: 4}, resumeCfg(2), opt).Fit(context.Background(), colors(100, 3, 6), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Epochs) != 2 || h.Epochs[0].Epoch != 1 {
		t.Errorf("resumed history %+v, want epoch 1 from the checkpoint and epoch 2 trained", h.Epochs)
	}
	if _, err := os.Stat(aside); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the moved-aside checkpoint is still there (stat: %v)", err)
	}
}
