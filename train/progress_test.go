package train

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tfcifar/tfcifar/internal/golden"
)

func TestReporterGolden(t *testing.T) {
	cases := []struct {
		desc, mode, file string
		steps            int
		validated        bool
	}{
		{"lines with validation", "lines", "progress_lines.golden.txt", 10, true},
		{"lines without validation, few steps", "lines", "progress_lines_short.golden.txt", 2, false},
		{"off prints only the summary", "off", "progress_off.golden.txt", 10, true},
		{"auto on a buffer prints lines", "auto", "progress_lines.golden.txt", 10, true},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			var buf bytes.Buffer
			r := newReporter(&buf, c.mode, fixedClock(500*time.Millisecond), 2)
			for ep := range 2 {
				r.begin(ep, c.steps, 0)
				for s := 1; s <= c.steps; s++ {
					r.step(s, 2/float64(s+ep), 1-1/float64(s+1))
				}
				r.end(Epoch{Epoch: ep + 1, Loss: 1.23456 - float64(ep)/2, Accuracy: 0.5 + float64(ep)/10,
					ValLoss: 1.1, ValAccuracy: 0.56 + float64(ep)/10, Seconds: 12.34 + float64(ep)}, c.validated)
			}
			r.done(61.25)
			golden.Check(t, filepath.Join("testdata", c.file), buf.Bytes())
		})
	}
}

// fitOutput returns what a 2-epoch fit of 8 steps prints in mode.
func fitOutput(t *testing.T, mode string) string {
	t.Helper()
	var buf bytes.Buffer
	opt := testOptions()
	opt.Out, opt.Run.Progress = &buf, mode
	tr := newTiny(t, tiny{k: 3, seed: 1}, trainCfg(2, 10), opt)
	if _, err := tr.Fit(context.Background(), colors(80, 3, 1), colors(20, 3, 2)); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestFitPrintsKerasLikeLines(t *testing.T) {
	out := fitOutput(t, "lines")
	num := `\d+\.\d{4}`
	patterns := []string{
		`^Epoch 1/2 - 2/8 - ETA: \d+\.\ds - loss: ` + num + ` - accuracy: ` + num + `$`,
		`^Epoch 1/2 - 4/8 - ETA: `,
		`^Epoch 1/2 - 6/8 - ETA: `,
		`^Epoch 1/2 - \d+\.\ds - loss: ` + num + ` - accuracy: ` + num + ` - val_loss: ` + num + ` - val_accuracy: ` + num + `$`,
		`^Epoch 2/2 - 2/8 - `, `^Epoch 2/2 - 4/8 - `, `^Epoch 2/2 - 6/8 - `,
		`^Epoch 2/2 - \d+\.\ds - loss: `,
		`^Time taken: \d+\.\ds$`,
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(patterns) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(patterns), out)
	}
	for i, p := range patterns {
		if !regexp.MustCompile(p).MatchString(lines[i]) {
			t.Errorf("line %d = %q, want it to match %q", i+1, lines[i], p)
		}
	}
}

func TestFitWithBarPrintsSummaryLines(t *testing.T) {
	out := fitOutput(t, "bar")
	for _, want := range []string{"\rEpoch 1/2 ", "/8)", "\rEpoch 1/2 - 10.0s - loss: ", "\rEpoch 2/2 - 10.0s - loss: ", " - val_accuracy: ", "\nTime taken: "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%q", want, out)
		}
	}
}
