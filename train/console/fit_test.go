package console_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/train"
	"github.com/tfcifar/tfcifar/train/console"
)

// shades is an in-memory dataset of 4x4 grey images: class 0 is dark,
// class 1 bright.
type shades struct{ n int }

func (s shades) Len() int        { return s.n }
func (s shades) Width() int      { return 16 }
func (s shades) NumClasses() int { return 2 }

func (s shades) FillTo(idx []int, images, labels []float32) error {
	clear(labels[:len(idx)*2])
	for i, j := range idx {
		for p := range 16 {
			images[i*16+p] = float32(j%2)*0.5 + float32((j*7+p*3)%11)/20
		}
		labels[i*2+j%2] = 1
	}
	return nil
}

// fitOutput returns what the console prints in mode for a fit of 2 epochs
// of 8 steps with callbacks cb.
func fitOutput(t *testing.T, mode string, cb config.Callbacks, epochs int) string {
	t.Helper()
	net := config.Network{Input: []int{4, 4, 1}, Layers: []config.Layer{{Name: "flatten", Type: "flatten"}, {Name: "dense", Type: "dense", Units: 2}}}
	g := tf.NewGraph()
	m, err := graph.Build(op.NewScopeWithGraph(g), net, graph.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultTrain()
	cfg.Epochs, cfg.BatchSize, cfg.Seed, cfg.Callbacks = epochs, 10, 1, cb
	tr, err := train.New(g, m, cfg, train.Options{Run: config.Run{Seed: 1, IntraOpThreads: 1, InterOpThreads: 1, Device: "cpu"}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var buf bytes.Buffer
	con, err := console.New(console.Options{Out: &buf, Mode: mode, Clock: func() func() time.Time {
		now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		return func() time.Time { now = now.Add(500 * time.Millisecond); return now }
	}()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Fit(context.Background(), shades{80}, shades{20}, con.Hook()); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

const num = `\d+\.\d{4}`

func TestFitPrintsKerasLikeLines(t *testing.T) {
	out := fitOutput(t, "lines", config.Callbacks{}, 2)
	progress := func(step string) string {
		return `^` + step + `/8 - ETA: +\d+\.\ds - +\d+ms/step - +\d+ images/s - loss: ` + num + ` - accuracy: ` + num + ` - learning_rate: 0\.001$`
	}
	epoch := `^8/8 - \d+\.\ds - +\d+ms/step - +\d+ images/s - loss: ` + num + ` - accuracy: ` + num + ` - val_loss: ` + num + ` - val_accuracy: ` + num + ` - learning_rate: 0\.001$`
	patterns := []string{
		`^Epoch 1/2$`, progress("2"), progress("4"), progress("6"), epoch,
		`^Epoch 2/2$`, progress("2"), progress("4"), progress("6"), epoch,
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

func TestFitWithBarPrintsEpochLines(t *testing.T) {
	out := fitOutput(t, "bar", config.Callbacks{}, 2)
	for _, want := range []string{"Epoch 1/2\n\r1/8 ━━", "\r\033[K8/8 - ", " - val_accuracy: ", "\nEpoch 2/2\n", "\nTime taken: "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%q", want, out)
		}
	}
}

// TestFitPrintsDecisions checks that the console shows an early stop and
// the restored epoch: the loss falls, so in max mode epoch 1 stays the
// best and patience 1 stops after epoch 2.
func TestFitPrintsDecisions(t *testing.T) {
	cb := config.Callbacks{EarlyStopping: &config.EarlyStopping{Monitor: "loss", Mode: "max", Patience: 1, RestoreBestWeights: true}}
	out := fitOutput(t, "off", cb, 5)
	patterns := []string{`^Epoch 1/5$`, `^8/8 - `, `^Epoch 2/5$`, `^8/8 - `,
		`^Epoch 2: early stopping: loss has not improved for 1 epoch \(` + num + `; best ` + num + ` at epoch 1\)$`,
		`^Restoring model weights from the end of the best epoch: 1\.$`, `^Time taken: `}
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
