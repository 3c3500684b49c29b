package train

import (
	"context"
	"errors"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/tolerance"
)

func TestNewErrors(t *testing.T) {
	tensor := func(v any) *tf.Tensor {
		x, err := tf.NewTensor(v)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	cases := []struct {
		desc   string
		edit   func(m *graph.Model, cfg *config.Train, opt *Options)
		nilArg bool
		want   string
	}{
		{"nil model", nil, true, "needs a graph and a model"},
		{"invalid train config", func(m *graph.Model, cfg *config.Train, opt *Options) { cfg.BatchSize = 0 }, false, "train.batch_size"},
		{"unknown optimizer", func(m *graph.Model, cfg *config.Train, opt *Options) { cfg.Optimizer.Name = "rmsprop" }, false, "train.optimizer.name"},
		{"bad device", func(m *graph.Model, cfg *config.Train, opt *Options) { opt.Run.Device = "tpu" }, false, "run.device"},
		{"gpu without a GPU", func(m *graph.Model, cfg *config.Train, opt *Options) { opt.Run.Device = "gpu" }, false, "asks for a GPU"},
		{"init of an unknown variable", func(m *graph.Model, cfg *config.Train, opt *Options) {
			opt.Init = map[string]*tf.Tensor{"conv9/kernel": tensor([]float32{1})}
		}, false, `"conv9/kernel": the model has no such variable`},
		{"init of the wrong shape", func(m *graph.Model, cfg *config.Train, opt *Options) {
			opt.Init = map[string]*tf.Tensor{"dense/bias": tensor([]float32{1, 2})}
		}, false, "dense/bias: shape [2], want [3]"},
		{"init of the wrong type", func(m *graph.Model, cfg *config.Train, opt *Options) {
			opt.Init = map[string]*tf.Tensor{"dense/bias": tensor([]int32{1, 2, 3})}
		}, false, "dense/bias: type"},
		{"model without logits", func(m *graph.Model, cfg *config.Train, opt *Options) { m.Logits = tf.Output{} }, false, "needs Images, Training, Logits and Probabilities"},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			g, s := newGraph()
			m := tiny{k: 3}.build(t, s)
			cfg, opt := trainCfg(1, 4), testOptions()
			if c.edit != nil {
				c.edit(m, &cfg, &opt)
			}
			if c.nilArg {
				m = nil
			}
			tr, err := New(g, m, cfg, opt)
			if err == nil {
				tr.Close()
				t.Fatalf("got no error, want one containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestFitErrors(t *testing.T) {
	good := colors(20, 3, 1)
	cases := []struct {
		desc       string
		train, val *cifar.Set
		want       string
	}{
		{"no training set", nil, nil, "empty training set"},
		{"empty training set", &cifar.Set{}, nil, "empty training set"},
		{"training set with other classes", colors(20, 2, 1), nil, "training set has 2 classes, the model's logits have 3"},
		{"validation set with other classes", good, colors(10, 2, 1), "validation set has 2 classes"},
		{"truncated images", &cifar.Set{Images: make([]byte, 10), Labels: []uint8{0}, Classes: []string{"a", "b", "c"}}, nil, "10 bytes for 1 images"},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			tr := newTiny(t, tiny{k: 3}, trainCfg(1, 4), testOptions())
			_, err := tr.Fit(context.Background(), c.train, c.val)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestInterruptedWithoutDirSavesNothing(t *testing.T) {
	tr := newTiny(t, tiny{k: 3}, trainCfg(2, 4), testOptions())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h, err := tr.Fit(ctx, colors(20, 3, 1), nil)
	var in *Interrupted
	if !errors.As(err, &in) || in.Checkpoint != "" || in.Epoch != 1 || in.Step != 0 {
		t.Fatalf("error %v, want an *Interrupted in epoch 1 before any step without checkpoint", err)
	}
	if h == nil || len(h.Epochs) != 0 {
		t.Errorf("history %+v, want no epochs", h)
	}
}

func TestPredict(t *testing.T) {
	tr := newTiny(t, tiny{k: 3, seed: 1}, trainCfg(5, 10), testOptions())
	set := colors(30, 3, 1)
	if _, err := tr.Fit(context.Background(), set, nil); err != nil {
		t.Fatal(err)
	}
	b, err := cifar.NewBatcher(set, 6, 1, 0).Fill([]int{0, 1, 2, 3, 4, 5})
	if err != nil {
		t.Fatal(err)
	}
	probs, err := tr.Predict(b.Images, 6)
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != 18 {
		t.Fatalf("got %d probabilities, want 18", len(probs))
	}
	for i := range 6 {
		row := probs[i*3 : i*3+3]
		sum, best := 0.0, 0
		for j, p := range row {
			sum += float64(p)
			if p > row[best] {
				best = j
			}
		}
		if !tolerance.EqualWithinAbs(sum, 1, 1e-5) {
			t.Errorf("row %d sums to %g, want 1", i, sum)
		}
		if best != int(set.Labels[i]) {
			t.Errorf("image %d: predicted %d, want %d (%v)", i, best, set.Labels[i], row)
		}
	}
	if _, err := tr.Predict(b.Images[:100], 6); err == nil {
		t.Error("Predict with too few values: got no error")
	}
}

func TestValuesAfterClose(t *testing.T) {
	tr := newTiny(t, tiny{k: 3}, trainCfg(1, 4), testOptions())
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Values(); err == nil || !strings.Contains(err.Error(), "train: values: trainer is closed") {
		t.Errorf("error %v, want one saying the trainer is closed", err)
	}
}

// panicky is a training set whose FillTo panics from its second batch on.
type panicky struct {
	*cifar.Set
	calls int
}

func (p *panicky) FillTo(idx []int, images, labels []float32) error {
	if p.calls++; p.calls > 1 {
		panic("bad example")
	}
	return p.Set.FillTo(idx, images, labels)
}

func TestFitFillToPanics(t *testing.T) {
	tr := newTiny(t, tiny{k: 3}, trainCfg(1, 4), testOptions())
	_, err := tr.Fit(context.Background(), &panicky{Set: colors(20, 3, 1)}, nil)
	if want := "step 2/5: training set: FillTo of 4 examples panicked: bad example"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one containing %q", err, want)
	}
}
