package history

import (
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot"

	"github.com/tfcifar/tfcifar/train"
)

// TestTicksLabelTheirPositions checks that every labelled tick of the
// chart's ticker reads as its position, that the labels rise and that a
// range gets at least two of them.
func TestTicksLabelTheirPositions(t *testing.T) {
	ranges := [][2]float64{
		{1.45, 1.7}, {0, 1}, {0.7989, 3.0931}, {0.6676, 0.668}, {1, 5}, {1, 2},
		{-0.3, 0.2}, {0.0001, 0.00013}, {12, 987654}, {0.2412, 0.8277}, {0.84, 0.86},
	}
	for _, r := range ranges {
		ticks := exactTicks{}.Ticks(r[0], r[1])
		labelled := 0
		prev := r[0]
		for _, tk := range ticks {
			if tk.Value < r[0]-1e-12 || tk.Value > r[1]+1e-12 {
				t.Errorf("range %v: tick at %v outside it", r, tk.Value)
			}
			if tk.Label == "" {
				continue
			}
			labelled++
			v, err := strconv.ParseFloat(tk.Label, 64)
			if err != nil || v != tk.Value {
				t.Errorf("range %v: label %q at %v (parse: %v)", r, tk.Label, tk.Value, err)
			}
			if labelled > 1 && tk.Value <= prev {
				t.Errorf("range %v: label %q does not rise", r, tk.Label)
			}
			if tk.Label == "-0" {
				t.Errorf("range %v: label -0", r)
			}
			prev = tk.Value
		}
		if labelled < 2 || labelled > 11 {
			t.Errorf("range %v: %d labelled ticks %v, want 2 to 11", r, labelled, ticks)
		}
	}
	h := &train.History{Epochs: []train.Epoch{{Epoch: 1, Loss: 1.7, Accuracy: 0.5}, {Epoch: 2, Loss: 1.45, Accuracy: 0.6}}}
	p, err := curves(h, "loss", "loss", func(e train.Epoch) float64 { return e.Loss }, func(e train.Epoch) float64 { return e.ValLoss })
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []plot.Ticker{p.X.Tick.Marker, p.Y.Tick.Marker} {
		if _, ok := m.(exactTicks); !ok {
			t.Errorf("chart axis ticker %T, want exactTicks", m)
		}
	}
	for _, tk := range (exactTicks{minStep: 1}).Ticks(1, 3) {
		if tk.Label != strconv.Itoa(int(tk.Value)) {
			t.Errorf("epoch axis: tick %q at %v, want whole numbers only", tk.Label, tk.Value)
		}
	}
	if ticks := (exactTicks{}).Ticks(1, 1); ticks != nil {
		t.Errorf("empty range: ticks %v, want none", ticks)
	}
}

func sampleHistory() *train.History {
	return &train.History{Stage: "base", TimeTaken: 61.25, Epochs: []train.Epoch{
		{Epoch: 1, Loss: 1.5, Accuracy: 0.4, ValLoss: 1.3, ValAccuracy: 0.5, Seconds: 12.5, LearningRate: 0.001},
		{Epoch: 2, Loss: 1.1, Accuracy: 0.6, ValLoss: 1.0, ValAccuracy: 0.62, Seconds: 12.25, LearningRate: 0.001},
		{Epoch: 3, Loss: 0.9, Accuracy: 0.7, ValLoss: 0.95, ValAccuracy: 0.66, Seconds: 12, LearningRate: 0.0005},
	}}
}

func TestPlotWritesPNG(t *testing.T) {
	cases := []struct {
		desc string
		h    *train.History
	}{
		{"training and validation", sampleHistory()},
		{"training only, one epoch", &train.History{Epochs: []train.Epoch{{Epoch: 1, Loss: 1, Accuracy: 0.5}}}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "history.png")
			if err := Plot(c.h, path); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() != 1000 || b.Dy() != 400 {
				t.Errorf("image is %dx%d, want 1000x400", b.Dx(), b.Dy())
			}
		})
	}
}

func TestPlotOfEmptyHistoryFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.png")
	if err := Plot(&train.History{}, path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Plot of an empty history: err = %v, want one naming %s", err, path)
	}
}
