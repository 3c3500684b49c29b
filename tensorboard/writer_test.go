package tensorboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/pyenv"
	"github.com/tfcifar/tfcifar/internal/tolerance"
)

// float32Rel is the relative error of a float64 stored as a float32.
const float32Rel = 1e-7

// run is the run settings of the tests' Writers.
var run = config.Run{Device: "cpu", IntraOpThreads: 1, InterOpThreads: 1}

// logs is what scripts/interop/read_tensorboard.py reads from a log
// directory with TensorBoard's EventAccumulator.
type logs struct {
	Scalars        map[string][][2]float64  `json:"scalars"`
	Histograms     map[string][]int64       `json:"histograms"`
	HistogramStats map[string][]histogramOf `json:"histogram_stats"`
	Graph          bool                     `json:"graph"`
	GraphNodes     int                      `json:"graph_nodes"`
}

// histogramOf is the summary of one histogram as TensorBoard reads it.
type histogramOf struct {
	Step       int64   `json:"step"`
	Num        float64 `json:"num"`
	Min        float64 `json:"min"`
	Max        float64 `json:"max"`
	Sum        float64 `json:"sum"`
	SumSquares float64 `json:"sum_squares"`
}

// readLogs reads dir with TensorBoard.
func readLogs(t *testing.T, dir string) logs {
	t.Helper()
	out := strings.TrimSpace(pyenv.Run(t, "interop/read_tensorboard.py", dir))
	var l logs
	if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n{")+1:]), &l); err != nil {
		t.Fatalf("read_tensorboard.py output: %v\n%s", err, out)
	}
	return l
}

func newWriter(t *testing.T, dir string) *Writer {
	t.Helper()
	w, err := NewWriter(dir, run)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})
	return w
}

// smallGraph returns a graph of a few ops, like one a run trains.
func smallGraph(t *testing.T) *tf.Graph {
	t.Helper()
	s := op.NewScope()
	x := op.Placeholder(s.SubScope("images"), tf.Float, op.PlaceholderShape(tf.MakeShape(-1, 4)))
	w := op.Const(s.SubScope("kernel"), [][]float32{{1}, {2}, {3}, {4}})
	op.Softmax(s.SubScope("probabilities"), op.MatMul(s.SubScope("logits"), x, w))
	g, err := s.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// stats returns the histogram summary of values.
func stats(step int64, values []float32) histogramOf {
	h := histogramOf{Step: step, Num: float64(len(values)), Min: math.Inf(1), Max: math.Inf(-1)}
	for _, v := range values {
		x := float64(v)
		h.Min, h.Max = math.Min(h.Min, x), math.Max(h.Max, x)
		h.Sum += x
		h.SumSquares += x * x
	}
	return h
}

func TestWriterReadBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs", "base")
	w := newWriter(t, dir)

	scalars := map[string][][2]float64{
		"epoch_loss":     {{0, 2.302585092994046}, {1, 1.75}, {2, 1.2e-3}, {5, -0.5}},
		"epoch_accuracy": {{1, 0.1}, {2, 0.375}},
	}
	for tag, points := range scalars {
		for _, p := range points {
			if err := w.Scalar(tag, int64(p[0]), p[1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	histograms := map[int64][]float32{
		1: {-1.5, 0, 0.25, 3, 3, 7.125},
		4: {0.001, 1e6, -2e-3},
	}
	for _, step := range []int64{1, 4} {
		if err := w.Histogram("conv1/kernel", step, histograms[step]); err != nil {
			t.Fatal(err)
		}
	}
	g := smallGraph(t)
	if err := w.Graph(g); err != nil {
		t.Fatal(err)
	}
	ops := len(w.graph.Operations())
	if err := w.Scalar("epoch_loss", 6, 1); err != nil {
		t.Fatal(err)
	}
	if n := len(w.graph.Operations()); n != ops {
		t.Errorf("writer graph has %d ops after a call, want %d: calls must reuse the ops", n, ops)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	scalars["epoch_loss"] = append(scalars["epoch_loss"], [2]float64{6, 1})

	got := readLogs(t, dir)
	if len(got.Scalars) != len(scalars) {
		t.Errorf("scalar tags %v, want %v", keys(got.Scalars), keys(scalars))
	}
	for tag, want := range scalars {
		points := got.Scalars[tag]
		if len(points) != len(want) {
			t.Errorf("scalar %s: %v, want %v", tag, points, want)
			continue
		}
		for i, p := range points {
			if p[0] != want[i][0] || !tolerance.EqualWithinRel(p[1], want[i][1], float32Rel) {
				t.Errorf("scalar %s point %d: step %v value %v, want step %v value %v", tag, i, p[0], p[1], want[i][0], want[i][1])
			}
		}
	}
	if steps := got.Histograms["conv1/kernel"]; len(steps) != 2 || steps[0] != 1 || steps[1] != 4 {
		t.Errorf("histogram steps %v, want [1 4]", steps)
	}
	hs := got.HistogramStats["conv1/kernel"]
	if len(hs) != 2 {
		t.Fatalf("histograms %+v, want 2", hs)
	}
	for i, step := range []int64{1, 4} {
		want := stats(step, histograms[step])
		h := hs[i]
		if h.Step != want.Step || h.Num != want.Num || h.Min != want.Min || h.Max != want.Max ||
			!tolerance.EqualWithinRel(h.Sum, want.Sum, float32Rel) ||
			!tolerance.EqualWithinRel(h.SumSquares, want.SumSquares, float32Rel) {
			t.Errorf("histogram at step %d: %+v, want %+v", step, h, want)
		}
	}
	if !got.Graph || got.GraphNodes != len(g.Operations()) {
		t.Errorf("graph %v with %d nodes, want true with %d", got.Graph, got.GraphNodes, len(g.Operations()))
	}
}

func keys[V any](m map[string]V) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	return k
}

func TestTwoWritersOneDir(t *testing.T) {
	dir := t.TempDir()
	a, b := newWriter(t, dir), newWriter(t, dir)
	for step := range int64(3) {
		if err := a.Scalar("a", step, float64(step)); err != nil {
			t.Fatal(err)
		}
		if err := b.Scalar("b", step, float64(-step)); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []*Writer{a, b} {
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "events.out.tfevents.*"))
	if err != nil || len(files) != 2 {
		t.Fatalf("event files %v (%v), want one per writer", files, err)
	}
	got := readLogs(t, dir)
	for tag, sign := range map[string]float64{"a": 1, "b": -1} {
		points := got.Scalars[tag]
		if len(points) != 3 {
			t.Errorf("scalar %s: %v, want 3 points", tag, points)
			continue
		}
		for i, p := range points {
			if p[0] != float64(i) || p[1] != sign*float64(i) {
				t.Errorf("scalar %s point %d: %v, want [%d %v]", tag, i, p, i, sign*float64(i))
			}
		}
	}
}

func TestNewWriterUnwritableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(file, "logs")
	w, err := NewWriter(dir, run)
	if err == nil {
		_ = w.Close()
		t.Fatal("NewWriter under a regular file: no error")
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name %s", err, dir)
	}
}

func TestWriterBadInput(t *testing.T) {
	dir := t.TempDir()
	w := newWriter(t, dir)
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"empty tag", w.Scalar("", 1, 1), "empty tag"},
		{"empty histogram tag", w.Histogram("", 1, []float32{1}), "empty tag"},
		{"long tag", w.Scalar(strings.Repeat("x", MaxTagLen+1), 1, 1), "want at most 256"},
		{"control character", w.Scalar("loss\n", 1, 1), "control characters"},
		{"not UTF-8", w.Scalar("loss\xff", 1, 1), "not UTF-8"},
		{"negative step", w.Scalar("loss", -1, 1), "step -1"},
		{"no values", w.Histogram("w", 1, nil), `"w": no values`},
		{"NaN", w.Histogram("w", 1, []float32{1, float32(math.NaN())}), "value 1 is NaN"},
		{"infinity", w.Histogram("w", 1, []float32{float32(math.Inf(-1))}), "value 0 is -Inf"},
		{"nil graph", w.Graph(nil), "nil graph"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(c.err.Error(), c.want) || !strings.Contains(c.err.Error(), dir) {
				t.Errorf("error %q, want one naming %s and saying %q", c.err, dir, c.want)
			}
		})
	}
	if err := w.Scalar(strings.Repeat("x", MaxTagLen), 1, 1); err != nil {
		t.Errorf("tag of %d bytes: %v", MaxTagLen, err)
	}
}

func TestWriterClose(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir, run)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Scalar("loss", 0, 1); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for name, err := range map[string]error{
		"Scalar":    w.Scalar("loss", 1, 1),
		"Histogram": w.Histogram("w", 1, []float32{1}),
		"Graph":     w.Graph(smallGraph(t)),
		"Flush":     w.Flush(),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	// Close wrote the queued scalar.
	if got := readLogs(t, dir).Scalars["loss"]; len(got) != 1 || got[0] != [2]float64{0, 1} {
		t.Errorf("scalar loss after Close: %v, want [[0 1]]", got)
	}
}

// TestReadKerasLogs checks that read_tensorboard.py reads what Keras'
// TensorBoard callback writes (tensor summaries of the scalars and
// histograms plugins, one run per subdirectory) as it reads a Writer's
// files: the reference tfcifar's runs are compared with.
func TestReadKerasLogs(t *testing.T) {
	dir := t.TempDir()
	out := strings.TrimSpace(pyenv.Run(t, "interop/keras_tensorboard.py", dir))
	var history struct {
		Loss    []float64 `json:"loss"`
		ValLoss []float64 `json:"val_loss"`
		Weights int       `json:"weights"`
	}
	if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n{")+1:]), &history); err != nil {
		t.Fatalf("keras_tensorboard.py output: %v\n%s", err, out)
	}
	got := readLogs(t, dir)
	for tag, want := range map[string][]float64{"train/epoch_loss": history.Loss, "validation/epoch_loss": history.ValLoss} {
		points := got.Scalars[tag]
		if len(points) != len(want) || len(want) == 0 {
			t.Errorf("scalar %s: %v, want %v by epoch", tag, points, want)
			continue
		}
		for i, p := range points {
			if p[0] != float64(i) || !tolerance.EqualWithinRel(p[1], want[i], float32Rel) {
				t.Errorf("scalar %s point %d: %v, want [%d %v]", tag, i, p, i, want[i])
			}
		}
	}
	var weights int
	for tag, steps := range got.Histograms {
		if strings.HasPrefix(tag, "train/") && len(steps) == len(history.Loss) {
			weights++
		}
	}
	if weights != history.Weights {
		t.Errorf("histograms %v: %d weights with one per epoch, want %d", got.Histograms, weights, history.Weights)
	}
}

func TestWriterConcurrent(t *testing.T) {
	dir := t.TempDir()
	w := newWriter(t, dir)
	const writers, steps = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			tag := fmt.Sprintf("metric_%d", i)
			for step := range int64(steps) {
				if err := w.Scalar(tag, step, float64(i)+float64(step)/8); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := readLogs(t, dir)
	for i := range writers {
		tag := fmt.Sprintf("metric_%d", i)
		points := got.Scalars[tag]
		if len(points) != steps {
			t.Errorf("scalar %s: %d points, want %d", tag, len(points), steps)
			continue
		}
		for step, p := range points {
			if want := [2]float64{float64(step), float64(i) + float64(step)/8}; p != want {
				t.Errorf("scalar %s point %d: %v, want %v", tag, step, p, want)
			}
		}
	}
}
