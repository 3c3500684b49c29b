package train

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tolerance"
)

// cbRun is one fit of the tiny model with callbacks: its history, final
// values, the values after each epoch (by epoch, as a hook saw them), the
// learning rates of the steps and the Fit error.
type cbRun struct {
	h      *History
	final  map[string][]float32
	epochs map[int]map[string][]float32
	rates  []float64
	err    error
	fed    float32 // the last learning rate fed to the graph
}

// fitCallbacks trains the tiny model (7 steps an epoch) for epochs with
// callbacks cb in dir ("" for none).
func fitCallbacks(t *testing.T, ctx context.Context, dir string, epochs int, cb config.Callbacks, resume bool) cbRun {
	t.Helper()
	opt := testOptions()
	opt.Dir, opt.Resume = dir, resume
	cfg := resumeCfg(epochs)
	cfg.Callbacks = cb
	tr := newTiny(t, tiny{k: 3, seed: 4}, cfg, opt)
	r := cbRun{epochs: map[int]map[string][]float32{}}
	rec := Hook{
		Step: func(p Progress) error { r.rates = append(r.rates, p.LearningRate); return nil },
		EpochEnd: func(e EpochEnd) error {
			r.epochs[e.Epoch.Epoch] = values(t, tr)
			return nil
		},
	}
	r.h, r.err = tr.Fit(ctx, colors(100, 3, 6), colors(30, 3, 7), rec)
	r.final = values(t, tr)
	r.fed = tr.lrBuf.t.Value().(float32) //nolint:forcetypeassert // a float32 scalar by construction
	return r
}

// lossFalls checks the premise of the tests that monitor the loss in max
// mode: it falls every epoch, so that epoch 1 stays the best.
func lossFalls(t *testing.T, h *History) {
	t.Helper()
	for i := 1; i < len(h.Epochs); i++ {
		if h.Epochs[i].Loss >= h.Epochs[0].Loss {
			t.Fatalf("the training loss of epoch %d (%g) is not below epoch 1's (%g)", i+1, h.Epochs[i].Loss, h.Epochs[0].Loss)
		}
	}
}

// stopAtEpoch3 is an early stopping that, with a falling loss, stops
// after epoch 3 and restores epoch 1: it wants the loss to rise.
func stopAtEpoch3() config.Callbacks {
	return config.Callbacks{EarlyStopping: &config.EarlyStopping{Monitor: "loss", Mode: "max", Patience: 2, RestoreBestWeights: true}}
}

func TestEarlyStoppingRestoresBestWeights(t *testing.T) {
	for _, dir := range []string{"checkpoints", ""} {
		t.Run("dir "+dir, func(t *testing.T) {
			if dir != "" {
				dir = t.TempDir()
			}
			r := fitCallbacks(t, context.Background(), dir, 6, stopAtEpoch3(), false)
			if r.err != nil {
				t.Fatal(r.err)
			}
			lossFalls(t, r.h)
			if len(r.h.Epochs) != 3 || r.h.StoppedEpoch != 3 || r.h.WeightsEpoch != 1 {
				t.Fatalf("%d epochs, stopped at %d, weights of epoch %d; want 3, 3, 1", len(r.h.Epochs), r.h.StoppedEpoch, r.h.WeightsEpoch)
			}
			if d := r.h.Epochs[2].Decisions; len(d) != 1 || d[0].Action != ActionStop || d[0].BestAt != 1 || d[0].Wait != 2 {
				t.Errorf("epoch 3 decisions %+v, want one stop with best at epoch 1 after waiting 2", d)
			}
			if len(r.rates) != 3*7 {
				t.Errorf("%d steps, want 21", len(r.rates))
			}
			if !reflect.DeepEqual(r.final, r.epochs[1]) {
				t.Error("the final weights are not those of epoch 1")
			}
			if reflect.DeepEqual(r.final, r.epochs[3]) {
				t.Error("the final weights are those of epoch 3")
			}
		})
	}
}

func TestBestEpochLeavesItsWeights(t *testing.T) {
	cb := config.Callbacks{BestEpoch: &config.BestEpoch{Monitor: "loss", Mode: "max"}}
	r := fitCallbacks(t, context.Background(), t.TempDir(), 3, cb, false)
	if r.err != nil {
		t.Fatal(r.err)
	}
	lossFalls(t, r.h)
	if len(r.h.Epochs) != 3 || r.h.StoppedEpoch != 0 || r.h.WeightsEpoch != 1 {
		t.Fatalf("%d epochs, stopped at %d, weights of epoch %d; want 3, 0, 1", len(r.h.Epochs), r.h.StoppedEpoch, r.h.WeightsEpoch)
	}
	if !reflect.DeepEqual(r.final, r.epochs[1]) {
		t.Error("the final weights are not those of epoch 1")
	}
	// val_loss in auto mode: whichever epoch is best is the one left.
	cb = config.Callbacks{BestEpoch: &config.BestEpoch{Monitor: "val_loss", Mode: "auto"}}
	r = fitCallbacks(t, context.Background(), "", 4, cb, false)
	if r.err != nil {
		t.Fatal(r.err)
	}
	best := 1
	for i, e := range r.h.Epochs {
		if e.ValLoss < r.h.Epochs[best-1].ValLoss {
			best = i + 1
		}
	}
	if r.h.WeightsEpoch != best || !reflect.DeepEqual(r.final, r.epochs[best]) {
		t.Errorf("weights of epoch %d left, want the best val_loss's epoch %d", r.h.WeightsEpoch, best)
	}
}

func TestReduceLROnPlateauLowersTheRateFed(t *testing.T) {
	cb := config.Callbacks{ReduceLROnPlateau: &config.ReduceLROnPlateau{Monitor: "loss", Mode: "max", Factor: 0.5, Patience: 1, MinDelta: 1e-4}}
	r := fitCallbacks(t, context.Background(), "", 3, cb, false)
	if r.err != nil {
		t.Fatal(r.err)
	}
	lossFalls(t, r.h)
	want := []float64{0.01, 0.01, 0.005} // reduced after epoch 2 (and 3)
	for i, e := range r.h.Epochs {
		if !tolerance.EqualWithinRel(e.LearningRate, want[i], 1e-9) {
			t.Errorf("epoch %d learning_rate %g, want %g", i+1, e.LearningRate, want[i])
		}
		for s := i * 7; s < (i+1)*7; s++ {
			if !tolerance.EqualWithinRel(r.rates[s], want[i], 1e-9) {
				t.Errorf("step %d rate %g, want %g", s+1, r.rates[s], want[i])
			}
		}
	}
	if d := r.h.Epochs[1].Decisions; len(d) != 1 || d[0].Action != ActionReduceLR || !tolerance.EqualWithinRel(d[0].LearningRate, 0.005, 1e-9) {
		t.Errorf("epoch 2 decisions %+v, want a reduction to 0.005", d)
	}
	if r.fed != float32(0.005) {
		t.Errorf("the last rate fed to the optimizer is %g, want 0.005 (the rate of epoch 3)", r.fed)
	}
}

// TestCallbacksResumeAsUninterrupted interrupts fits with callbacks inside
// epoch 2 and resumes them: the history with its decisions and rates and
// the final weights equal those of an uninterrupted fit, and resuming the
// finished (or early stopped) fit trains no more and leaves the best
// weights again.
func TestCallbacksResumeAsUninterrupted(t *testing.T) {
	cases := []struct {
		desc             string
		cb               config.Callbacks
		epochs           int
		stopped, weights int // of the uninterrupted fit; weights -1: the best val_loss's
	}{
		{"early stopping and reduce on plateau", config.Callbacks{
			EarlyStopping:     &config.EarlyStopping{Monitor: "loss", Mode: "max", Patience: 3, RestoreBestWeights: true},
			ReduceLROnPlateau: &config.ReduceLROnPlateau{Monitor: "val_accuracy", Mode: "min", Factor: 0.5, Patience: 1},
		}, 6, 4, 1},
		{"best epoch and reduce on plateau", config.Callbacks{
			BestEpoch:         &config.BestEpoch{Monitor: "val_loss", Mode: "auto"},
			ReduceLROnPlateau: &config.ReduceLROnPlateau{Monitor: "loss", Mode: "max", Factor: 0.5, Patience: 1},
		}, 4, 0, -1},
	}
	bg := context.Background()
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			want := fitCallbacks(t, bg, t.TempDir(), c.epochs, c.cb, false)
			if want.err != nil {
				t.Fatal(want.err)
			}
			weights := c.weights
			if weights < 0 {
				weights = 1
				for i, e := range want.h.Epochs {
					if e.ValLoss < want.h.Epochs[weights-1].ValLoss {
						weights = i + 1
					}
				}
			}
			if want.h.StoppedEpoch != c.stopped || want.h.WeightsEpoch != weights {
				t.Fatalf("stopped at %d with epoch %d's weights, want %d and %d", want.h.StoppedEpoch, want.h.WeightsEpoch, c.stopped, weights)
			}
			dir := t.TempDir()
			first := fitCallbacks(t, &stopAfter{Context: bg, n: 10}, dir, c.epochs, c.cb, false) // epoch 2 step 3
			var in *Interrupted
			if !errors.As(first.err, &in) || in.Epoch != 2 {
				t.Fatalf("first fit: %v, want an interruption in epoch 2", first.err)
			}
			got := fitCallbacks(t, bg, dir, c.epochs, c.cb, true)
			if got.err != nil {
				t.Fatal(got.err)
			}
			sameFit(t, got, want)
			again := fitCallbacks(t, bg, dir, c.epochs, c.cb, true)
			if again.err != nil {
				t.Fatal(again.err)
			}
			if len(again.rates) != 0 {
				t.Errorf("resuming a finished fit ran %d steps, want none", len(again.rates))
			}
			sameFit(t, again, want)
		})
	}
}

// sameFit checks that got has the history (but for the seconds) and the
// final weights of want.
func sameFit(t *testing.T, got, want cbRun) {
	t.Helper()
	if len(got.h.Epochs) != len(want.h.Epochs) || got.h.StoppedEpoch != want.h.StoppedEpoch || got.h.WeightsEpoch != want.h.WeightsEpoch {
		t.Fatalf("%d epochs, stopped %d, weights %d; want %d, %d, %d", len(got.h.Epochs), got.h.StoppedEpoch, got.h.WeightsEpoch,
			len(want.h.Epochs), want.h.StoppedEpoch, want.h.WeightsEpoch)
	}
	for i, e := range want.h.Epochs {
		g := got.h.Epochs[i]
		g.Seconds, e.Seconds = 0, 0
		if !reflect.DeepEqual(g, e) {
			t.Errorf("epoch %d: %+v, want %+v", i+1, g, e)
		}
	}
	if !reflect.DeepEqual(got.final, want.final) {
		t.Error("final weights differ from the uninterrupted fit's")
	}
}

func TestValMonitorNeedsValidation(t *testing.T) {
	cfg := resumeCfg(1)
	cfg.Callbacks.BestEpoch = &config.BestEpoch{Monitor: "val_accuracy", Mode: "auto"}
	tr := newTiny(t, tiny{k: 3, seed: 4}, cfg, testOptions())
	if _, err := tr.Fit(context.Background(), colors(100, 3, 6), nil); err == nil || !strings.Contains(err.Error(), "train.callbacks.best_epoch.monitor") {
		t.Errorf("Fit without validation: err = %v, want one naming train.callbacks.best_epoch.monitor", err)
	}
}

func TestHookErrorStopsFit(t *testing.T) {
	boom := errors.New("boom")
	var steps int
	var ended error
	h := Hook{
		Step: func(p Progress) error {
			steps++
			if p.GlobalStep == 3 {
				return boom
			}
			return nil
		},
		End: func(e End) error { ended = e.Err; return nil },
	}
	tr := newTiny(t, tiny{k: 3, seed: 4}, resumeCfg(2), testOptions())
	_, err := tr.Fit(context.Background(), colors(100, 3, 6), nil, h)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "epoch 1/2 step 3/7: hook") {
		t.Errorf("Fit: err = %v, want the hook's error at epoch 1 step 3", err)
	}
	if steps != 3 || !errors.Is(ended, boom) {
		t.Errorf("%d steps, End saw %v; want 3 and the hook's error", steps, ended)
	}
}
