package train

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestRemoveLeftovers plays what a kill leaves in a stage directory and
// checks that only tfcifar's temporary names go.
func TestRemoveLeftovers(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{".checkpoint-123", "checkpoint", "checkpoint.old", "model"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{".history.json.42", ".history.png.7", "history.json", "notes.txt", ".checkpoint"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := RemoveLeftovers(dir, "history.json", "history.png"); err != nil {
		t.Fatal(err)
	}
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Name())
	}
	want := []string{".checkpoint", "checkpoint", "checkpoint.old", "history.json", "model", "notes.txt"}
	if !slices.Equal(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}
}
