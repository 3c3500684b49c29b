package savedmodel

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tfcifar/tfcifar/internal/tolerance"
)

// oldExport is an export written before VarHandleOp nodes took the
// variables' names (they were <layer>/<param>/VarHandleOp), with a
// dropout whose seed counter stands at 12.
const oldExport = "testdata/export-v1-names"

// TestLoadOldVariableNames checks that an export of the earlier layout
// still passes the checks, loads, predicts, and has its variables read
// back: the same probabilities from Load as from the variables rebuilt
// into today's graph.
func TestLoadOldVariableNames(t *testing.T) {
	pb, err := os.ReadFile(filepath.Join(oldExport, graphFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(pb, []byte("conv2d/kernel/VarHandleOp")) {
		t.Fatalf("%s is not of the old layout: no conv2d/kernel/VarHandleOp node", oldExport)
	}
	const n = 20
	images, _ := testImages(t, n)
	m, err := Load(context.Background(), oldExport, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	probs, ids, err := m.Predict(images, n)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ReadVariables(oldExport, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !v.Trainable["conv2d/kernel"] || !v.Trainable["dense/bias"] || len(v.Trainable) != 4 {
		t.Errorf("trainable variables %v, want the 4 weights", v.Trainable)
	}
	// The step counter is training state: it is not read, but restarted.
	if got := v.Weights["dropout/seed"].Value(); got != float32(0) {
		t.Errorf("dropout/seed reads %v, want 0", got)
	}
	scaled := make([]float32, len(images))
	for i, x := range images {
		scaled[i] = x * float32(v.Scale)
	}
	want, wantIDs := predictInProcess(t, v.Network, v.Weights, scaled, n)
	for i := range want {
		if !tolerance.EqualWithinAbs(float64(probs[i]), float64(want[i]), 1e-6) {
			t.Fatalf("probability %d: Load gives %v, the variables read back %v", i, probs[i], want[i])
		}
	}
	for i := range ids {
		if ids[i] != wantIDs[i] {
			t.Errorf("image %d: class %d, want %d", i, ids[i], wantIDs[i])
		}
	}
}
