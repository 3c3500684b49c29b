package workflow

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProfile runs two small stages with run.profile and checks that the
// profile names every stage's training and validation phases with their
// convolution and matrix product rows.
func TestProfile(t *testing.T) {
	data := fixture(t, 500)
	path := filepath.Join(t.TempDir(), "profile.txt")
	cfg := smallConfig(t, data, "run.profile="+path,
		"stages=[{name: base, classes: [0,1], model: {input: [32,32,3], layers: [{type: conv2d, filters: 4, kernel: [3,3], activation: relu}, {type: flatten}, {type: dense, units: 2, activation: softmax}]}, train: {epochs: 6, batch_size: 4}},"+
			" {name: head, classes: [2,3], model: {input: [32,32,3], from: {stage: base, up_to: flatten}, layers: [{type: dense, units: 2, activation: softmax}]}, train: {epochs: 6, batch_size: 4}}]")
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{"GFLOP/s", "== base: training step: 20 steps traced after 10", "== base: validation batch:", "== head: training step:", "Conv2DBackpropFilter", "MatMul"} {
		if !strings.Contains(got, want) {
			t.Errorf("profile lacks %q:\n%s", want, got)
		}
	}
}
