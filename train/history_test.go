package train

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tfcifar/tfcifar/internal/golden"
)

func sampleHistory() *History {
	return &History{Stage: "base", TimeTaken: 61.25, StoppedEpoch: 3, WeightsEpoch: 2, Epochs: []Epoch{
		{Epoch: 1, Loss: 1.5, Accuracy: 0.4, ValLoss: 1.3, ValAccuracy: 0.5, Seconds: 12.5, LearningRate: 0.001},
		{Epoch: 2, Loss: 1.1, Accuracy: 0.6, ValLoss: 1.0, ValAccuracy: 0.62, Seconds: 12.25, LearningRate: 0.001},
		{Epoch: 3, Loss: 0.9, Accuracy: 0.7, ValLoss: 0.95, ValAccuracy: 0.66, Seconds: 12, LearningRate: 0.0005, Decisions: []Decision{
			{Callback: EarlyStopping, Action: ActionStop, Monitor: "val_loss", Value: 0.95, Best: 1.0, BestAt: 2, Wait: 1},
			{Callback: ReduceLROnPlateau, Action: ActionReduceLR, Monitor: "val_loss", Value: 0.95, Best: 1.0, BestAt: 2, Wait: 1, LearningRate: 0.0001},
		}},
	}}
}

func TestHistoryJSONRoundTrip(t *testing.T) {
	h := sampleHistory()
	path := filepath.Join(t.TempDir(), "history.json")
	if err := h.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, h) {
		t.Errorf("read back %+v, want %+v", got, h)
	}
	b, _ := os.ReadFile(path)
	golden.Check(t, filepath.Join("testdata", "history.golden.json"), b)
}

func TestHistoryErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		desc string
		run  func() error
	}{
		{"missing file", func() error { _, err := ReadHistory(filepath.Join(dir, "none.json")); return err }},
		{"broken JSON", func() error { _, err := ReadHistory(bad); return err }},
		{"write into a missing directory", func() error { return sampleHistory().WriteJSON(filepath.Join(dir, "no", "h.json")) }},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			if err := c.run(); err == nil {
				t.Error("got no error")
			}
		})
	}
}
