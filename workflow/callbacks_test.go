package workflow

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/savedmodel"
	"github.com/tfcifar/tfcifar/train"
)

// TestStageExportsTheChosenEpoch checks that a stage whose callbacks
// choose the weights exports those of the chosen epoch: equal to the
// export of a one-epoch run (training is deterministic), not to the last
// epoch's. The training loss falls, so in max mode epoch 1 is the best.
// It also checks the history, the console and the TensorBoard logs.
func TestStageExportsTheChosenEpoch(t *testing.T) {
	data := fixture(t, 100)
	bg := context.Background()
	exported := func(t *testing.T, sets ...string) (savedmodel.Variables, *train.History, string) {
		t.Helper()
		cfg := tinyConfig(t, data, sets...)
		var out bytes.Buffer
		rep, err := Run(bg, cfg, Options{Out: &out})
		if err != nil {
			t.Fatalf("Run: %v\n%s", err, out.String())
		}
		v, err := savedmodel.ReadVariables(rep.Stages[0].Export, savedmodel.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h, err := train.ReadHistory(filepath.Join(cfg.Run.Out, "base", "history.json"))
		if err != nil {
			t.Fatal(err)
		}
		if f := rep.Stages[0].Final(); h.WeightsEpoch > 0 && !reflect.DeepEqual(f, h.Epochs[h.WeightsEpoch-1]) {
			t.Errorf("the report's metrics are epoch %d's, want those of the exported epoch %d", f.Epoch, h.WeightsEpoch)
		}
		for _, d := range []string{"train", "validation"} {
			if fs, _ := filepath.Glob(filepath.Join(cfg.Run.Out, "base", "logs", d, "events.out.tfevents.*")); len(fs) != 1 {
				t.Errorf("logs/%s holds %d event files, want 1", d, len(fs))
			}
		}
		return v, h, out.String()
	}
	one, _, _ := exported(t)
	last, _, _ := exported(t, "stages.base.train.epochs=3")
	cases := []struct {
		desc    string
		sets    []string
		epochs  int
		console string
	}{
		{"best_epoch", []string{"stages.base.train.epochs=3", "stages.base.train.callbacks.best_epoch={monitor: loss, mode: max}"}, 3,
			"Epoch 1: best_epoch: loss improved to "},
		{"early stopping", []string{"stages.base.train.epochs=5", "stages.base.train.callbacks.early_stopping={monitor: loss, mode: max, patience: 1, restore_best_weights: true}"}, 2,
			"Epoch 2: early stopping: loss has not improved for 1 epoch"},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			got, h, out := exported(t, c.sets...)
			if len(h.Epochs) != c.epochs || h.WeightsEpoch != 1 {
				t.Fatalf("history of %d epochs with the weights of epoch %d, want %d and 1", len(h.Epochs), h.WeightsEpoch, c.epochs)
			}
			for name, w := range one.Weights {
				if !sameTensor(got.Weights[name], w) {
					t.Errorf("exported %s differs from epoch 1's", name)
				}
			}
			if same := func() bool {
				for name, w := range last.Weights {
					if !sameTensor(got.Weights[name], w) {
						return false
					}
				}
				return true
			}(); same && c.epochs == 3 {
				t.Error("the export holds the last epoch's weights")
			}
			for _, want := range []string{c.console, "Restoring model weights from the end of the best epoch: 1.\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("console lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestTensorBoardOff checks that run.tensorboard false writes no logs.
func TestTensorBoardOff(t *testing.T) {
	cfg := tinyConfig(t, fixture(t, 100), "run.tensorboard=false")
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Run.Out, "base", "logs")); !os.IsNotExist(err) {
		t.Errorf("logs written with run.tensorboard false (stat: %v)", err)
	}
}
