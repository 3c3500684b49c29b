package train

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/internal/tolerance"
)

// watched is a set that records the examples FillTo is asked for, fails
// on call failAt (0: never) and counts calls that overlap another.
type watched struct {
	*cifar.Set
	filled   []int
	calls    int
	failAt   int
	inside   atomic.Int32
	overlaps atomic.Int32
}

var errFill = errors.New("unreadable example")

func (w *watched) FillTo(idx []int, images, labels []float32) error {
	if w.inside.Add(1) > 1 {
		w.overlaps.Add(1)
	}
	defer w.inside.Add(-1)
	if w.calls++; w.calls == w.failAt {
		return errFill
	}
	w.filled = append(w.filled, idx...)
	return w.Set.FillTo(idx, images, labels)
}

// TestEvaluateLanes checks that evaluating with batches in flight at once
// fills every example once, in order, one FillTo at a time, gives the
// metrics of one batch holding the whole set, and returns a FillTo error
// without losing a lane.
func TestEvaluateLanes(t *testing.T) {
	tr := newTiny(t, tiny{k: 3, seed: 1}, trainCfg(3, 10), testOptions())
	if _, err := tr.Fit(context.Background(), colors(60, 3, 1), nil); err != nil {
		t.Fatal(err)
	}
	set := &watched{Set: colors(90, 3, 2)}
	loss, acc, err := tr.Evaluate(set, 7) // 12 batches of 7 and one of 6
	if err != nil {
		t.Fatal(err)
	}
	want := make([]int, 90)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(set.filled, want) || set.overlaps.Load() != 0 {
		t.Errorf("filled %v with %d overlapping calls, want 0..89 in order, one call at a time", set.filled, set.overlaps.Load())
	}
	wholeLoss, wholeAcc, err := tr.Evaluate(colors(90, 3, 2), 90)
	if err != nil {
		t.Fatal(err)
	}
	if !tolerance.EqualWithinAbsOrRel(loss, wholeLoss, 1e-6, 1e-5) || !tolerance.EqualWithinAbs(acc, wholeAcc, 1e-6) || acc < 0.5 {
		t.Errorf("in batches of 7: loss %.6f, accuracy %.4f; in one batch: %.6f, %.4f", loss, acc, wholeLoss, wholeAcc)
	}
	for _, failAt := range []int{1, 2, 5, 13} {
		bad := &watched{Set: colors(90, 3, 2), failAt: failAt}
		if _, _, err := tr.Evaluate(bad, 7); !errors.Is(err, errFill) {
			t.Errorf("FillTo failing at call %d: error %v, want %v", failAt, err, errFill)
		}
	}
	if again, _, err := tr.Evaluate(colors(90, 3, 2), 7); err != nil || again != loss {
		t.Errorf("after the failures: loss %v, %v; want %v", again, err, loss)
	}
	// Every run fails once the session is closed: each lane's error comes
	// back and none is lost.
	if err := tr.sess.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tr.evaluate(colors(90, 3, 2), 7); err == nil {
		t.Error("evaluating on a closed session: no error")
	}
}
