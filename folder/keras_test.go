package folder

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/tfcifar/tfcifar/internal/pyenv"
)

// TestMatchesKeras reads a folder of mixed formats and sizes with Load and
// with Keras' image_dataset_from_directory (scripts/interop/keras_folder.py)
// and wants the same classes, the same files in the same order, and every
// pixel the rounding of Keras' float32 value.
func TestMatchesKeras(t *testing.T) {
	dir := write(t, 3, 10)
	const h, w = 20, 28
	out := filepath.Join(t.TempDir(), "keras")
	t.Log(pyenv.Run(t, filepath.Join("interop", "keras_folder.py"), dir, strconv.Itoa(h), strconv.Itoa(w), out))
	var meta struct {
		ClassNames []string `json:"class_names"`
		FilePaths  []string `json:"file_paths"`
	}
	b, err := os.ReadFile(out + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out + ".f32")
	if err != nil {
		t.Fatal(err)
	}
	keras := make([]float32, len(raw)/4)
	if _, err := binary.Decode(raw, binary.LittleEndian, keras); err != nil {
		t.Fatal(err)
	}
	f, err := Load(context.Background(), dir, Options{Height: h, Width: w})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Set.Classes, meta.ClassNames) || !slices.Equal(f.Files, meta.FilePaths) {
		t.Fatalf("classes %v files %v\nKeras: classes %v files %v", f.Set.Classes, f.Files, meta.ClassNames, meta.FilePaths)
	}
	if len(keras) != len(f.Set.Images) {
		t.Fatalf("Keras gave %d values, Load %d", len(keras), len(f.Set.Images))
	}
	worst := 0.0
	for i, v := range f.Set.Images {
		d := math.Abs(float64(v) - float64(keras[i]))
		worst = max(worst, d)
		if d > 0.5+1e-3 {
			t.Fatalf("%s: value %d at %d, Keras %g", f.Files[i/(h*w*3)], v, i%(h*w*3), keras[i])
		}
	}
	t.Logf("largest difference from Keras' float32 pixels: %.4f (rounding to uint8)", worst)
}
