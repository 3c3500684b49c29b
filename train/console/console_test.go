package console

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tfcifar/tfcifar/internal/golden"
	"github.com/tfcifar/tfcifar/train"
)

// fixedClock returns a clock that advances by step at every call.
func fixedClock(step time.Duration) func() time.Time {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		now = now.Add(step)
		return now
	}
}

// play drives the hook of c through a 2-epoch fit of steps steps of 32
// examples, the second epoch ending with an early stop and a reduced rate,
// and the end restoring epoch 1.
func play(t *testing.T, c *Console, steps int, validated bool) {
	t.Helper()
	h := c.Hook()
	hist := &train.History{TimeTaken: 61.25, StoppedEpoch: 2, WeightsEpoch: 1}
	for ep := range 2 {
		lr := 0.001 / float64(ep+1)
		p := train.Progress{Epoch: ep + 1, Epochs: 3, Steps: steps, LearningRate: lr, Validated: validated}
		if err := h.EpochBegin(p); err != nil {
			t.Fatal(err)
		}
		for s := 1; s <= steps; s++ {
			p.Step, p.GlobalStep, p.Examples = s, int64(ep*steps+s), 32*s
			p.Loss, p.Accuracy = 2/float64(s+ep), 1-1/float64(s+1)
			if err := h.Step(p); err != nil {
				t.Fatal(err)
			}
		}
		e := train.Epoch{Epoch: ep + 1, Loss: 1.23456 - float64(ep)/2, Accuracy: 0.5 + float64(ep)/10,
			ValLoss: 1.1, ValAccuracy: 0.56 + float64(ep)/10, Seconds: 12.34 + float64(ep), LearningRate: lr}
		if ep == 0 {
			e.Decisions = []train.Decision{{Callback: train.BestEpoch, Action: train.ActionBest, Monitor: "val_loss", Value: 1.1, Best: 1.1, BestAt: 1}}
		} else {
			e.Decisions = []train.Decision{
				{Callback: train.EarlyStopping, Action: train.ActionStop, Monitor: "val_loss", Value: 1.1, Best: 1.1, BestAt: 1, Wait: 1},
				{Callback: train.ReduceLROnPlateau, Action: train.ActionReduceLR, Monitor: "val_loss", Value: 1.1, Best: 1.1, BestAt: 1, Wait: 1, LearningRate: 5e-05},
			}
		}
		hist.Epochs = append(hist.Epochs, e)
		if err := h.EpochEnd(train.EpochEnd{Progress: p, Epoch: e}); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.End(train.End{History: hist, Epochs: 3, Validated: validated}); err != nil {
		t.Fatal(err)
	}
}

func TestConsoleGolden(t *testing.T) {
	cases := []struct {
		desc, mode, file string
		steps            int
		validated        bool
	}{
		{"lines with validation", "lines", "lines.golden.txt", 10, true},
		{"lines without validation, few steps", "lines", "lines_short.golden.txt", 2, false},
		{"off prints only the summary", "off", "off.golden.txt", 10, true},
		{"auto on a buffer prints lines", "auto", "lines.golden.txt", 10, true},
		{"bar", "bar", "bar.golden.txt", 12, true},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			var buf bytes.Buffer
			con, err := New(Options{Out: &buf, Mode: c.mode, Clock: fixedClock(40 * time.Millisecond)})
			if err != nil {
				t.Fatal(err)
			}
			play(t, con, c.steps, c.validated)
			golden.Check(t, filepath.Join("testdata", c.file), buf.Bytes())
		})
	}
}

// TestBarKeepsItsPlace checks that every redraw of the bar puts the bar at
// the same column and that lines fit the width, whatever the numbers.
func TestBarKeepsItsPlace(t *testing.T) {
	var buf bytes.Buffer
	con, err := New(Options{Out: &buf, Mode: "bar", Clock: fixedClock(time.Second), Width: 100})
	if err != nil {
		t.Fatal(err)
	}
	h := con.Hook()
	p := train.Progress{Epoch: 1, Epochs: 1, Steps: 250, LearningRate: 0.001}
	if err := h.EpochBegin(p); err != nil {
		t.Fatal(err)
	}
	for s := 1; s <= 250; s++ {
		p.Step, p.Examples, p.Loss, p.Accuracy, p.LearningRate = s, 100*s, 20/float64(s), float64(s)/250, 0.001/float64(s)
		if err := h.Step(p); err != nil {
			t.Fatal(err)
		}
	}
	draws := strings.Split(buf.String(), "\r")[1:]
	if len(draws) != 250 {
		t.Fatalf("%d redraws, want 250 (one a second of the clock)", len(draws))
	}
	for i, d := range draws {
		line := strings.TrimSuffix(d, "\033[K")
		if col := strings.IndexAny(line, "━─"); col != len("250/250 ") {
			t.Errorf("redraw %d: the bar starts at byte %d, want %d: %q", i+1, col, len("250/250 "), line)
		}
		if n := len([]rune(line)); n > 99 {
			t.Errorf("redraw %d is %d columns, want at most 99", i+1, n)
		}
		for _, f := range []string{"ETA:", "ms/step", "images/s"} {
			if i < 3 && !strings.Contains(line, f) {
				t.Errorf("redraw %d lacks %q: %q", i+1, f, line)
			}
		}
	}
}

func TestUnknownMode(t *testing.T) {
	if _, err := New(Options{Mode: "fancy"}); err == nil || !strings.Contains(err.Error(), "run.progress") {
		t.Errorf("New with mode fancy: err = %v, want one naming run.progress", err)
	}
}

func TestDuration(t *testing.T) {
	cases := []struct {
		s    float64
		want string
	}{{0, "   0.0s"}, {9.54, "   9.5s"}, {59.9, "  59.9s"}, {65, "  1m05s"}, {3599, " 59m59s"}, {7380, "  2h03m"}, {1e9, "   >99h"}}
	for _, c := range cases {
		if got := duration(c.s); got != c.want {
			t.Errorf("duration(%g) = %q, want %q", c.s, got, c.want)
		}
	}
}

// TestStoppedFitClearsTheBar checks that a fit that ends with an error
// (an interruption) leaves no bar behind and prints no time taken.
func TestStoppedFitClearsTheBar(t *testing.T) {
	var buf bytes.Buffer
	con, err := New(Options{Out: &buf, Mode: "bar", Clock: fixedClock(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	h := con.Hook()
	p := train.Progress{Epoch: 2, Epochs: 3, Step: 3, Steps: 10, Examples: 96, LearningRate: 0.001}
	if err := h.EpochBegin(p); err != nil {
		t.Fatal(err)
	}
	p.Step, p.Examples = 4, 128
	if err := h.Step(p); err != nil {
		t.Fatal(err)
	}
	if err := h.End(train.End{History: &train.History{}, Err: &train.Interrupted{Epoch: 2, Epochs: 3, Step: 4, Steps: 10}}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "Epoch 2/3\n\r 4/10 ━━━━━━━━") || !strings.HasSuffix(out, "\033[K\r\033[K") || strings.Contains(out, "Time taken") {
		t.Errorf("output %q, want the resumed bar at 4/10, cleared at the end, and no time taken", out)
	}
}
