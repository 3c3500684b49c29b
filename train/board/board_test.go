package board_test

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/pyenv"
	"github.com/tfcifar/tfcifar/internal/tolerance"
	"github.com/tfcifar/tfcifar/train"
	"github.com/tfcifar/tfcifar/train/board"
	"github.com/tfcifar/tfcifar/train/history"
)

// shades is an in-memory dataset of 4x4 grey images with noise: class 0
// is dark, class 1 bright.
type shades struct{ n, seed int }

func (s shades) Len() int        { return s.n }
func (s shades) Width() int      { return 16 }
func (s shades) NumClasses() int { return 2 }

func (s shades) FillTo(idx []int, images, labels []float32) error {
	clear(labels[:len(idx)*2])
	for i, j := range idx {
		class := j % 2
		for p := range 16 {
			images[i*16+p] = float32(class)*0.5 + float32((j*7+p*3+s.seed)%11)/20
		}
		labels[i*2+class] = 1
	}
	return nil
}

// logs is what scripts/interop/read_tensorboard.py reads.
type logs struct {
	Scalars        map[string][][2]float64 `json:"scalars"`
	Histograms     map[string][]int64      `json:"histograms"`
	HistogramStats map[string][]struct {
		Step     int64   `json:"step"`
		Num      float64 `json:"num"`
		Min, Max float64
	} `json:"histogram_stats"`
	Graph bool `json:"graph"`
}

// TestBoardLogsWhatHistoryRecords trains a small network for 3 epochs of
// 6 steps with TensorBoard logs (batch scalars every 4 steps), reads them
// back with TensorBoard's EventAccumulator and compares them with
// history.json, the weights after each epoch and the graph.
func TestBoardLogsWhatHistoryRecords(t *testing.T) {
	net := config.Network{Input: []int{4, 4, 1}, Layers: []config.Layer{
		{Name: "flatten", Type: "flatten"},
		{Name: "hidden", Type: "dense", Units: 3, Activation: "relu"},
		{Name: "out", Type: "dense", Units: 2},
	}}
	g := tf.NewGraph()
	m, err := graph.Build(op.NewScopeWithGraph(g), net, graph.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultTrain()
	cfg.Epochs, cfg.BatchSize, cfg.Seed = 3, 8, 1
	cfg.Optimizer.LearningRate = 0.05
	cfg.Schedule = config.Schedule{Name: "cosine", Gamma: 0.1}
	run := config.Run{Seed: 1, IntraOpThreads: 1, InterOpThreads: 1, Device: "cpu"}
	tr, err := train.New(g, m, cfg, train.Options{Run: run})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	dir := t.TempDir()
	logDir := filepath.Join(dir, "logs")
	b, err := board.New(logDir, tr.Values, board.Options{Run: run, UpdateFreq: 4, Graph: g})
	if err != nil {
		t.Fatal(err)
	}
	weights := map[int]graph.Weights{}
	rec := train.Hook{EpochEnd: func(e train.EpochEnd) error {
		weights[e.Epoch.Epoch], err = tr.Values()
		return err
	}}
	if _, err := tr.Fit(context.Background(), shades{48, 0}, shades{16, 5}, rec, b.Hook(), history.Hook(dir, "base")); err != nil {
		t.Fatal(err)
	}
	h, err := train.ReadHistory(filepath.Join(dir, history.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	out := strings.TrimSpace(pyenv.Run(t, "interop/read_tensorboard.py", logDir))
	var l logs
	if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n{")+1:]), &l); err != nil {
		t.Fatalf("read_tensorboard.py output: %v\n%s", err, out)
	}

	t.Logf("scalars read back: %v\nhistograms: %v", l.Scalars, l.Histograms)
	per := func(f func(train.Epoch) float64) [][2]float64 {
		var pts [][2]float64
		for _, e := range h.Epochs {
			pts = append(pts, [2]float64{float64(e.Epoch - 1), f(e)})
		}
		return pts
	}
	want := map[string][][2]float64{
		"train/epoch_loss":          per(func(e train.Epoch) float64 { return e.Loss }),
		"train/epoch_accuracy":      per(func(e train.Epoch) float64 { return e.Accuracy }),
		"train/epoch_learning_rate": per(func(e train.Epoch) float64 { return e.LearningRate }),
		"validation/epoch_loss":     per(func(e train.Epoch) float64 { return e.ValLoss }),
		"validation/epoch_accuracy": per(func(e train.Epoch) float64 { return e.ValAccuracy }),
	}
	for tag, pts := range want {
		got := l.Scalars[tag]
		if len(got) != len(pts) {
			t.Errorf("%s: %v, want %v", tag, got, pts)
			continue
		}
		for i := range pts {
			if got[i][0] != pts[i][0] || !tolerance.EqualWithinRel(got[i][1], float64(float32(pts[i][1])), 1e-7) {
				t.Errorf("%s[%d] = %v, want %v (history.json)", tag, i, got[i], pts[i])
			}
		}
	}
	for _, tag := range []string{"train/batch_loss", "train/batch_accuracy", "train/batch_learning_rate"} {
		var steps []float64
		for _, p := range l.Scalars[tag] {
			steps = append(steps, p[0])
		}
		if !slices.Equal(steps, []float64{4, 8, 12, 16}) {
			t.Errorf("%s at steps %v, want 4, 8, 12, 16", tag, steps)
		}
	}
	names := weights[1].Names()
	if len(names) != 4 {
		t.Fatalf("weights %v, want 4", names)
	}
	for _, name := range names {
		tag := "train/" + name
		if !slices.Equal(l.Histograms[tag], []int64{0, 1, 2}) {
			t.Errorf("histogram %s at steps %v, want 0, 1, 2", tag, l.Histograms[tag])
		}
		for _, s := range l.HistogramStats[tag] {
			vals := flat(t, weights[int(s.Step)+1][name])
			lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
			for _, v := range vals {
				lo, hi = min(lo, v), max(hi, v)
			}
			if int(s.Num) != len(vals) || s.Min != float64(lo) || s.Max != float64(hi) {
				t.Errorf("histogram %s step %d: %d values in [%g, %g], want %d in [%g, %g] (the weights after epoch %d)",
					tag, s.Step, int(s.Num), s.Min, s.Max, len(vals), lo, hi, s.Step+1)
			}
		}
	}
	if !l.Graph {
		t.Error("no graph in the logs")
	}
}

// flat returns the values of a float32 tensor of rank 1 or 2.
func flat(t *testing.T, v *tf.Tensor) []float32 {
	t.Helper()
	switch x := v.Value().(type) {
	case []float32:
		return x
	case [][]float32:
		return slices.Concat(x...)
	}
	t.Fatalf("weight of type %T", v.Value())
	return nil
}
