package train_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/savedmodel"
	"github.com/tfcifar/tfcifar/train"
)

// stripes is an in-memory dataset of 4x4 grey images: class 0 is dark,
// class 1 is bright. Any type with these four methods is a train.Dataset.
type stripes struct{ n int }

func (s stripes) Len() int        { return s.n }
func (s stripes) Width() int      { return 4 * 4 * 1 }
func (s stripes) NumClasses() int { return 2 }

func (s stripes) FillTo(idx []int, images, labels []float32) error {
	clear(labels[:len(idx)*2])
	for i, j := range idx {
		class := j % 2
		for p := range 16 {
			images[i*16+p] = float32(class) * 0.8
		}
		labels[i*2+class] = 1
	}
	return nil
}

// Example builds a network, trains it on an in-memory dataset, exports
// it as a SavedModel, loads the export and predicts.
func Example() {
	net := config.Network{Input: []int{4, 4, 1}, Layers: []config.Layer{
		{Name: "flatten", Type: "flatten"},
		{Name: "dense", Type: "dense", Units: 2},
	}}
	g := tf.NewGraph()
	m, err := graph.Build(op.NewScopeWithGraph(g), net, graph.Options{Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	total, _ := m.Params()
	fmt.Println("parameters:", total)

	cfg := config.DefaultTrain()
	cfg.Epochs, cfg.BatchSize, cfg.Seed = 20, 8, 1
	cfg.Optimizer.LearningRate = 0.1
	run := config.Run{Seed: 1, IntraOpThreads: 1, InterOpThreads: 1, Device: "cpu", Progress: "off"}
	tr, err := train.New(g, m, cfg, train.Options{Run: run})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	h, err := tr.Fit(context.Background(), stripes{64}, stripes{16})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("epochs:", len(h.Epochs))
	values, err := tr.Values()
	if err != nil {
		log.Fatal(err)
	}

	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	export, err := savedmodel.ExportNetwork(filepath.Join(dir, "model"), net, values, savedmodel.Options{Classes: []string{"dark", "bright"}, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	model, err := savedmodel.Load(context.Background(), export, savedmodel.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer model.Close()
	images := make([]float32, 2*16)
	_ = stripes{2}.FillTo([]int{0, 1}, images, make([]float32, 4))
	probs, ids, err := model.Predict(images, 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("classes:", model.Classes, "probabilities:", len(probs))
	fmt.Println("predicted:", model.Classes[ids[0]], model.Classes[ids[1]])
	// Output:
	// parameters: 34
	// epochs: 20
	// classes: [dark bright] probabilities: 4
	// predicted: dark bright
}

// stepCounter is a user hook: it counts the training steps Fit runs and
// notes the epochs' validation accuracy.
type stepCounter struct {
	steps  int
	global int64
	epochs []string
}

func (c *stepCounter) hook() train.Hook {
	return train.Hook{
		Step: func(p train.Progress) error {
			c.steps++
			c.global = p.GlobalStep
			return nil
		},
		EpochEnd: func(e train.EpochEnd) error {
			c.epochs = append(c.epochs, fmt.Sprintf("%d/%d val_accuracy %.2f", e.Epoch.Epoch, e.Epochs, e.Epoch.ValAccuracy))
			return nil
		},
	}
}

// ExampleHook attaches a hook of one's own to Fit; the console, the
// history files and TensorBoard are hooks too (packages train/console,
// train/history, train/board).
func ExampleHook() {
	net := config.Network{Input: []int{4, 4, 1}, Layers: []config.Layer{
		{Name: "flatten", Type: "flatten"},
		{Name: "dense", Type: "dense", Units: 2},
	}}
	g := tf.NewGraph()
	m, err := graph.Build(op.NewScopeWithGraph(g), net, graph.Options{Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	cfg := config.DefaultTrain()
	cfg.Epochs, cfg.BatchSize, cfg.Seed = 3, 8, 1
	cfg.Optimizer.LearningRate = 0.1
	tr, err := train.New(g, m, cfg, train.Options{Run: config.Run{Seed: 1, IntraOpThreads: 1, InterOpThreads: 1, Device: "cpu"}})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	var c stepCounter
	if _, err := tr.Fit(context.Background(), stripes{60}, stripes{16}, c.hook()); err != nil {
		log.Fatal(err)
	}
	fmt.Println("steps seen:", c.steps, "last global step:", c.global)
	for _, e := range c.epochs {
		fmt.Println(e)
	}
	// Output:
	// steps seen: 24 last global step: 24
	// 1/3 val_accuracy 1.00
	// 2/3 val_accuracy 1.00
	// 3/3 val_accuracy 1.00
}

// ExampleDataset batches a CIFAR-10 set: a cifar.Set gives raw 0-255
// pixels, its Source scaled ones.
func ExampleDataset() {
	set := &cifar.Set{Images: make([]byte, 3*cifar.ImageSize), Labels: []uint8{0, 2, 1}, Classes: []string{"a", "b", "c"}}
	set.Images[cifar.ImageSize] = 255 // first value of the second image
	for _, d := range []train.Dataset{set, set.Source(1.0 / 255)} {
		images := make([]float32, 2*d.Width())
		labels := make([]float32, 2*d.NumClasses())
		if err := d.FillTo([]int{1, 2}, images, labels); err != nil {
			panic(err)
		}
		fmt.Println(d.Len(), d.Width(), images[0], labels)
	}
	// Output:
	// 3 3072 255 [0 0 1 0 1 0]
	// 3 3072 1 [0 0 1 0 1 0]
}
