package train

import (
	"fmt"
	"slices"
	"testing"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tolerance"
)

// TestCallbacksDecideAsKeras runs the callbacks over crafted sequences of
// a monitored metric and checks their decisions against Keras' rules.
func TestCallbacksDecideAsKeras(t *testing.T) {
	es := func(monitor, mode string, patience int, minDelta float64) config.Callbacks {
		return config.Callbacks{EarlyStopping: &config.EarlyStopping{Monitor: monitor, Mode: mode, Patience: patience, MinDelta: minDelta, RestoreBestWeights: true}}
	}
	rl := func(factor float64, patience, cooldown int, minLR float64) config.Callbacks {
		return config.Callbacks{ReduceLROnPlateau: &config.ReduceLROnPlateau{Monitor: "val_loss", Mode: "auto", Factor: factor, Patience: patience, Cooldown: cooldown, MinLR: minLR}}
	}
	cases := []struct {
		desc      string
		cb        config.Callbacks
		values    []float64 // of the monitored metric per epoch
		decisions []string  // "epoch:action", in order
		stopped   int
		kept      int
		rates     []float64 // learning rate after each epoch (schedule rate 0.1)
	}{
		{"patience 2: stops after two epochs without improvement", es("val_loss", "auto", 2, 0),
			[]float64{1, 0.9, 0.95, 0.93, 0.96}, []string{"4:stop"}, 4, 2, nil},
		{"min_delta: a smaller gain is no improvement", es("val_loss", "min", 1, 0.05),
			[]float64{1, 0.97, 0.9}, []string{"2:stop"}, 2, 1, nil},
		{"auto is max for accuracies; equal is no improvement", es("val_accuracy", "auto", 1, 0),
			[]float64{0.5, 0.6, 0.6}, []string{"3:stop"}, 3, 2, nil},
		{"max mode on a loss", es("loss", "max", 0, 0),
			[]float64{1, 0.9}, []string{"2:stop"}, 2, 1, nil},
		{"never stops after the first epoch", es("val_loss", "auto", 0, 0),
			[]float64{1}, nil, 0, 1, nil},
		{"best epoch follows strict improvements", config.Callbacks{BestEpoch: &config.BestEpoch{Monitor: "val_loss", Mode: "auto"}},
			[]float64{1, 0.8, 0.8, 0.9, 0.7}, []string{"1:best", "2:best", "5:best"}, 0, 5, nil},
		{"reduce every epoch without improvement", rl(0.5, 1, 0, 0),
			[]float64{1, 1.1, 1.2, 0.5, 0.6}, []string{"2:reduce_lr", "3:reduce_lr", "5:reduce_lr"}, 0, 0, []float64{0.1, 0.05, 0.025, 0.025, 0.0125}},
		{"cooldown", rl(0.5, 1, 2, 0),
			[]float64{1, 1.1, 1.2, 0.5, 0.6}, []string{"2:reduce_lr", "5:reduce_lr"}, 0, 0, []float64{0.1, 0.05, 0.05, 0.05, 0.025}},
		{"patience 2", rl(0.5, 2, 0, 0),
			[]float64{1, 1.1, 1.2, 1.3, 1.4}, []string{"3:reduce_lr", "5:reduce_lr"}, 0, 0, []float64{0.1, 0.1, 0.05, 0.05, 0.025}},
		{"never below min_lr", rl(0.1, 1, 0, 0.03),
			[]float64{1, 1.1, 1.2}, []string{"2:reduce_lr"}, 0, 0, []float64{0.1, 0.03, 0.03}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			cs := callbackState{RateFactor: 1}
			var got []string
			for i, v := range c.values {
				e := Epoch{Epoch: i + 1, Loss: v, Accuracy: v, ValLoss: v, ValAccuracy: v}
				cs.decide(c.cb, &e, 0.1)
				for _, d := range e.Decisions {
					got = append(got, fmt.Sprintf("%d:%s", e.Epoch, d.Action))
				}
				if c.rates != nil && !tolerance.EqualWithinRel(0.1*cs.RateFactor, c.rates[i], 1e-12) {
					t.Errorf("rate after epoch %d = %g, want %g", i+1, 0.1*cs.RateFactor, c.rates[i])
				}
				if cs.Stopped != 0 {
					break
				}
			}
			if !slices.Equal(got, c.decisions) {
				t.Errorf("decisions %v, want %v", got, c.decisions)
			}
			if cs.Stopped != c.stopped || cs.Kept != c.kept {
				t.Errorf("stopped at %d keeping %d, want %d and %d", cs.Stopped, cs.Kept, c.stopped, c.kept)
			}
		})
	}
}
