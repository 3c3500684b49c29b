package train

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/cifartest"
)

// TestReferenceBaseNetwork trains the reference base network on the real
// classes 0-4 (reference split) for one epoch, or for
// $TFCIFAR_REFERENCE_EPOCHS epochs, and checks the validation accuracy.
func TestReferenceBaseNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on real CIFAR-10; runs without -short")
	}
	dir := cifartest.RealDir(t)
	if err := cifar.Check(dir); err != nil {
		t.Fatalf("CIFAR-10 data needed (set TFCIFAR_DATA): %v", err)
	}
	d, err := cifar.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	stage := cfg.Stages[0]
	trainSet, valSet, err := d.Split(stage.Classes, cifar.SplitReference, cfg.Data.ValidationFraction)
	if err != nil {
		t.Fatal(err)
	}
	epochs := 1
	if e := os.Getenv("TFCIFAR_REFERENCE_EPOCHS"); e != "" {
		if epochs, err = strconv.Atoi(e); err != nil || epochs < 1 {
			t.Fatalf("TFCIFAR_REFERENCE_EPOCHS=%q: want a positive number", e)
		}
	}
	stage.Train.Epochs = epochs
	net, err := cfg.Resolve(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, s := newGraph()
	m, err := graph.Build(s, net, graph.Options{Seed: cfg.Run.Seed})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(g, m, stage.Train, Options{Run: cfg.Run, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	h, err := tr.Fit(context.Background(), trainSet, valSet)
	if err != nil {
		t.Fatal(err)
	}
	if len(trainSet.Labels) != 24000 || len(valSet.Labels) != 6000 {
		t.Errorf("split %d/%d images, want 24000/6000", len(trainSet.Labels), len(valSet.Labels))
	}
	if last := h.Epochs[len(h.Epochs)-1]; last.ValAccuracy <= 0.4 {
		t.Errorf("val_accuracy after %d epochs = %.4f, want > 0.4", epochs, last.ValAccuracy)
	}
}
