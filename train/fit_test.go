package train

import (
	"context"
	"testing"
	"time"
)

func TestFitLearnsSeparableTask(t *testing.T) {
	trainSet, valSet := colors(300, 3, 1), colors(90, 3, 2)
	tr := newTiny(t, tiny{k: 3, seed: 1}, trainCfg(8, 20), testOptions())
	h, err := tr.Fit(context.Background(), trainSet, valSet)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Epochs) != 8 {
		t.Fatalf("got %d epochs, want 8", len(h.Epochs))
	}
	first, last := h.Epochs[0], h.Epochs[len(h.Epochs)-1]
	t.Logf("first %+v", first)
	t.Logf("last  %+v", last)
	if last.Loss >= first.Loss {
		t.Errorf("loss did not fall: %.4f -> %.4f", first.Loss, last.Loss)
	}
	if last.Accuracy <= 0.95 || last.ValAccuracy <= 0.95 {
		t.Errorf("final accuracy %.4f, val_accuracy %.4f, want > 0.95", last.Accuracy, last.ValAccuracy)
	}
	loss, acc, err := tr.Evaluate(valSet, 7)
	if err != nil {
		t.Fatal(err)
	}
	if d := loss - last.ValLoss; d > 1e-5 || d < -1e-5 || acc != last.ValAccuracy {
		t.Errorf("Evaluate = %.6f, %.4f; want the last epoch's %.6f, %.4f", loss, acc, last.ValLoss, last.ValAccuracy)
	}
}

// TestSpentCounts checks that time spent before Fit (e.g. computing cached
// features) is part of the time taken.
func TestSpentCounts(t *testing.T) {
	times := map[time.Duration]float64{}
	for _, spent := range []time.Duration{0, 7 * time.Second} {
		opt := testOptions()
		opt.Spent = spent
		tr := newTiny(t, tiny{k: 3, seed: 1}, trainCfg(1, 20), opt)
		h, err := tr.Fit(context.Background(), colors(60, 3, 5), colors(20, 3, 6))
		if err != nil {
			t.Fatal(err)
		}
		times[spent] = h.TimeTaken
	}
	if d := times[7*time.Second] - times[0]; d != 7 {
		t.Errorf("time taken with 7s spent before Fit is %.1fs more than without, want 7s", d)
	}
}
