package infer

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/cifartest"
	"github.com/tfcifar/tfcifar/internal/pyenv"
	"github.com/tfcifar/tfcifar/internal/tolerance"
	"github.com/tfcifar/tfcifar/savedmodel"
	"github.com/tfcifar/tfcifar/train"
)

// TestEvaluateMatchesTraining trains a small network for one epoch on a
// few hundred images of three classes, exports it, evaluates the export
// on the official test images of those classes and checks the
// evaluation against itself and against the trainer's own loss and
// accuracy on the same images.
func TestEvaluateMatchesTraining(t *testing.T) {
	dir := cifartest.RealDir(t)
	if testing.Short() && cifar.Check(dir) != nil {
		dir = cifartest.Write(t, 300, 300)
	}
	ds, err := cifar.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	classes := []int{0, 1, 8} // airplane, automobile, ship
	trainSet, testSet, err := ds.Split(classes, cifar.SplitStandard, 0)
	if err != nil {
		t.Fatal(err)
	}
	tr, export := trainedExport(t, head(trainSet, 300))
	wantLoss, wantAcc, err := tr.Evaluate(testSet, 100)
	if err != nil {
		t.Fatal(err)
	}

	data := config.DefaultData()
	data.Dir, data.Download = dir, false
	ev, err := Evaluate(context.Background(), export, data, "test", savedmodel.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Images != testSet.Len() || ev.Confusion.Total() != ev.Images {
		t.Errorf("%d images evaluated, matrix total %d; want %d", ev.Images, ev.Confusion.Total(), testSet.Len())
	}
	if got := float64(ev.Confusion.Correct()) / float64(ev.Confusion.Total()); got != ev.Accuracy {
		t.Errorf("diagonal over total %v, reported accuracy %v", got, ev.Accuracy)
	}
	for i, n := range testSet.Counts() {
		if s := ev.Report().Classes[i].Support; s != n {
			t.Errorf("class %s: support %d, the test set has %d", ev.Classes[i], s, n)
		}
	}
	t.Logf("eval: loss %.6f, accuracy %.4f; trainer: loss %.6f, accuracy %.4f", ev.Loss, ev.Accuracy, wantLoss, wantAcc)
	// The trainer's loss is a float32 mean per batch; a few ulps of
	// float32 apart.
	if !tolerance.EqualWithinRel(ev.Loss, wantLoss, 1e-5) {
		t.Errorf("loss %.7f, the trainer's on the same images %.7f", ev.Loss, wantLoss)
	}
	if !tolerance.EqualWithinAbs(ev.Accuracy, wantAcc, 1e-6) {
		t.Errorf("accuracy %.6f, the trainer's on the same images %.6f", ev.Accuracy, wantAcc)
	}
	if math.Abs(ev.Loss-math.Log(3)) < 1e-3 || ev.Accuracy == 0 || ev.Accuracy == 1 {
		t.Errorf("loss %.4f, accuracy %.4f: the model learnt nothing or everything; the comparison would prove little", ev.Loss, ev.Accuracy)
	}
}

// trainedExport trains a small network (a strided convolution and a dense
// softmax layer, pixels scaled by 1/255 inside the model) for one epoch
// on set and exports it. It returns the trainer, open until the test ends,
// and the export's directory.
func trainedExport(t *testing.T, set *cifar.Set) (*train.Trainer, string) {
	t.Helper()
	const scale = 1.0 / 255
	net := config.Network{Input: []int{32, 32, 3}, Layers: []config.Layer{
		{Name: "conv", Type: config.Conv2D, Filters: 4, Kernel: config.Size{3, 3}, Strides: config.Size{2, 2}, Activation: config.ReLU},
		{Name: "flatten", Type: config.Flatten},
		{Name: "dense", Type: config.Dense, Units: len(set.Classes), Activation: config.Softmax},
	}}
	g := tf.NewGraph()
	m, err := graph.Build(op.NewScopeWithGraph(g), net, graph.Options{Seed: 3, Scale: scale})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultTrain()
	cfg.Epochs, cfg.BatchSize, cfg.Seed = 1, 32, 3
	run := config.Run{Seed: 3, Device: "cpu", Progress: "off"}
	tr, err := train.New(g, m, cfg, train.Options{Run: run})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	if _, err := tr.Fit(context.Background(), set, nil); err != nil {
		t.Fatal(err)
	}
	values, err := tr.Values()
	if err != nil {
		t.Fatal(err)
	}
	export, err := savedmodel.ExportNetwork(filepath.Join(t.TempDir(), "model"), net, values,
		savedmodel.Options{Classes: set.Classes, Seed: 3, Scale: scale})
	if err != nil {
		t.Fatal(err)
	}
	return tr, export
}

// head returns the first n images of s.
func head(s *cifar.Set, n int) *cifar.Set {
	return &cifar.Set{Images: s.Images[:n*cifar.ImageSize], Labels: s.Labels[:n], Classes: s.Classes}
}

func TestCrossEntropy(t *testing.T) {
	tests := []struct {
		desc   string
		logits []float32
		label  int
		want   float64
	}{
		{"uniform", []float32{0, 0, 0, 0}, 2, math.Log(4)},
		{"shifted", []float32{1000, 1000}, 0, math.Log(2)},
		{"confident and right", []float32{0, 50}, 1, math.Log1p(math.Exp(-50))},
		// softmax in float32 would round the probability to 0 here.
		{"confident and wrong", []float32{0, 200}, 0, 200},
	}
	for _, tc := range tests {
		if got := crossEntropy(tc.logits, tc.label); !tolerance.EqualWithinAbsOrRel(got, tc.want, 1e-12, 1e-12) {
			t.Errorf("%s: crossEntropy(%v, %d) = %v, want %v", tc.desc, tc.logits, tc.label, got, tc.want)
		}
	}
}

// TestPredictContinuesPastBadFiles classifies good images around a
// missing file and a file that is not an image: each bad file gets its
// error, the others their classes, the same as when classified alone.
func TestPredictContinuesPastBadFiles(t *testing.T) {
	dir := cifartest.Write(t, 30, 10)
	ds, err := cifar.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	set, _, err := ds.Split([]int{0, 1}, cifar.SplitStandard, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, export := trainedExport(t, set)
	tmp := t.TempDir()
	good := filepath.Join(tmp, "good.png")
	var b bytes.Buffer
	if err := png.Encode(&b, gradient(40, 30)); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(tmp, "notes.png")
	for path, content := range map[string][]byte{good: b.Bytes(), text: []byte("not an image")} {
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(tmp, "missing.png")
	files := []string{good, missing, text, good}
	got, err := Predict(context.Background(), export, files, PredictOptions{Top: 2})
	if err != nil {
		t.Fatal(err)
	}
	alone, err := Predict(context.Background(), export, []string{good}, PredictOptions{Top: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(files) {
		t.Fatalf("%d predictions for %d files", len(got), len(files))
	}
	for i, p := range got {
		if p.File != files[i] {
			t.Errorf("prediction %d is of %s, want %s", i, p.File, files[i])
		}
	}
	// A batch of two may round differently from a batch of one.
	same := func(a, b Guess) bool {
		return a.ClassID == b.ClassID && a.Class == b.Class && tolerance.EqualWithinAbs(a.Probability, b.Probability, 1e-6)
	}
	for _, i := range []int{0, 3} {
		if got[i].Err != nil || !slices.EqualFunc(got[i].Top, alone[0].Top, same) {
			t.Errorf("good file at %d: %v, err %v; alone it gets %v", i, got[i].Top, got[i].Err, alone[0].Top)
		}
	}
	for i, want := range map[int]string{1: "missing.png", 2: "notes.png: not a PNG, JPEG, GIF or BMP image"} {
		if got[i].Err == nil || !strings.Contains(got[i].Err.Error(), want) || len(got[i].Top) != 0 {
			t.Errorf("bad file at %d: top %v, err %v; want no classes and an error containing %q", i, got[i].Top, got[i].Err, want)
		}
	}
	if c := alone[0].Top[0]; set.Classes[c.ClassID] != c.Class {
		t.Errorf("guess %+v: class id and name disagree (classes %v)", c, set.Classes)
	}
}

// TestEvaluateAgainstPython evaluates a trained export on real test images
// and has TensorFlow Python (scripts/interop/check_eval.py) run the export
// on the same images and recompute the confusion matrix, the loss and the
// per-class metrics on its own.
func TestEvaluateAgainstPython(t *testing.T) {
	pyenv.Python(t) // skips under -short, before any work
	ds, err := cifar.Load(cifartest.RealDir(t))
	if err != nil {
		t.Fatal(err)
	}
	trainSet, testSet, err := ds.Split([]int{2, 3, 4, 5}, cifar.SplitStandard, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, export := trainedExport(t, head(trainSet, 400))
	set := head(testSet, 1000)
	m, err := savedmodel.Load(context.Background(), export, savedmodel.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ev, err := EvaluateSet(context.Background(), m, set, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Batches of 64 (the last one partial) give the same evaluation.
	small, err := EvaluateSet(context.Background(), m, set, 1, 64)
	if err != nil {
		t.Fatal(err)
	}
	if small.Accuracy != ev.Accuracy || math.Abs(small.Loss-ev.Loss) > 1e-6*ev.Loss || !reflect.DeepEqual(small.Confusion, ev.Confusion) {
		t.Errorf("in batches of 64: accuracy %v, loss %v; in batches of %d: %v, %v", small.Accuracy, small.Loss, savedmodel.MaxBatch, ev.Accuracy, ev.Loss)
	}
	summary, err := json.Marshal(ev.Summary())
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, set.Len())
	for i := range idx {
		idx[i] = i
	}
	batch, err := cifar.NewBatcher(set, set.Len(), 1, 0).Fill(idx)
	if err != nil {
		t.Fatal(err)
	}
	var images bytes.Buffer
	if err := binary.Write(&images, binary.LittleEndian, batch.Images); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	files := map[string][]byte{"images.f32": images.Bytes(), "labels.u8": set.Labels, "summary.json": summary}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := pyenv.Run(t, filepath.Join("interop", "check_eval.py"), export,
		filepath.Join(tmp, "images.f32"), filepath.Join(tmp, "labels.u8"), filepath.Join(tmp, "summary.json"))
	t.Logf("loss %.6f, accuracy %.4f\n%s", ev.Loss, ev.Accuracy, out)
}
