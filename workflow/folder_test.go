package workflow

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/infer"
	"github.com/tfcifar/tfcifar/internal/foldertest"
	"github.com/tfcifar/tfcifar/internal/tolerance"
	"github.com/tfcifar/tfcifar/savedmodel"
)

// folderConfig writes a config of one stage trained from scratch on the
// folder dir and loads it with sets.
func folderConfig(t *testing.T, dir string, sets ...string) *config.Config {
	t.Helper()
	yaml := `
data: {source: folder, dir: ` + dir + `, cache_dir: ` + filepath.Join(t.TempDir(), "cache") + `}
run: {out: ` + filepath.Join(t.TempDir(), "run") + `, progress: off, seed: 3}
stages:
  - name: shapes
    model:
      input: [24, 24, 3]
      layers:
        - {type: conv2d, filters: 8, kernel: 3, activation: relu}
        - {type: maxpool2d, pool: 2}
        - {type: flatten}
        - {type: dense, units: 4}
        - {type: activation, activation: softmax}
    train: {epochs: 8, batch_size: 16, optimizer: {name: adam, learning_rate: 0.003}}
`
	path := filepath.Join(t.TempDir(), "folder.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, sets)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestFolderTrains trains a small net on 240 synthetic images of four
// shapes and colours (PNG, JPEG, GIF, BMP of 20x20 to 64x48, resized to
// 24x24) and wants a validation accuracy of at least 0.9 on the 48
// held-out images.
func TestFolderTrains(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shapes")
	if err := foldertest.Write(dir, 4, 60, 5); err != nil {
		t.Fatal(err)
	}
	cfg := folderConfig(t, dir)
	var out bytes.Buffer
	rep, err := Run(context.Background(), cfg, Options{Out: &out})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	ep := rep.Stages[0].Epochs
	t.Logf("validation accuracy %.3f after %d epochs", ep[len(ep)-1].ValAccuracy, len(ep))
	if acc := ep[len(ep)-1].ValAccuracy; acc < 0.9 {
		t.Errorf("validation accuracy %.3f after %d epochs, want >= 0.9\n%s", acc, len(ep), out.String())
	}
	if !strings.Contains(out.String(), "Read 240 images of 4 classes (blue_square, green_ring, red_disc, yellow_bars)") ||
		!strings.Contains(out.String(), "192 training and 48 validation images") {
		t.Errorf("output does not report the folder and its split:\n%s", out.String())
	}
	m, err := savedmodel.ReadMeta(rep.Stages[0].Export)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Classes, foldertest.Classes) {
		t.Errorf("export classes %v, want the folder names %v", m.Classes, foldertest.Classes)
	}

	// eval finds the same validation images (seeded split) and accuracy.
	ev, err := infer.Evaluate(context.Background(), rep.Stages[0].Export, cfg.Data, "val", savedmodel.LoadOptions{Run: cfg.Run})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Images != 48 || !tolerance.EqualWithinAbs(ev.Accuracy, ep[len(ep)-1].ValAccuracy, 1e-6) {
		t.Errorf("eval on val: %d images, accuracy %g; want 48 and the last epoch's %g", ev.Images, ev.Accuracy, ep[len(ep)-1].ValAccuracy)
	}
	if _, err := infer.Evaluate(context.Background(), rep.Stages[0].Export, cfg.Data, "test", savedmodel.LoadOptions{Run: cfg.Run}); err == nil || !strings.Contains(err.Error(), "no data.test_dir") {
		t.Errorf("eval on test without a test folder: %v", err)
	}

	// A second run reads the images from the cache and splits them alike.
	cfg2 := folderConfig(t, dir, "data.cache_dir="+cfg.Data.CacheDir, "stages.0.train.epochs=1")
	var out2 bytes.Buffer
	if _, err := Run(context.Background(), cfg2, Options{Out: &out2}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out2.String(), "at 24x24, from the cache") {
		t.Errorf("second run did not use the cache:\n%s", out2.String())
	}
}

func TestFolderStageErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shapes")
	if err := foldertest.Write(dir, 3, 4, 5); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		sets []string
		want string
	}{
		{"units not the class count", nil, `stage "shapes": model: the network's output shape is [4], want [3]: one unit per class of the stage (blue_square, green_ring, red_disc); give its last dense layer 3 units: -set stages.shapes.model.layers.3.units=3`},
		{"class index past the folders", []string{"stages.0.classes=[0, 3]", "stages.0.model.layers.3.units=2"}, "classes[1]: class 3, the folder " + dir + " has 3 classes (0-2: blue_square, green_ring, red_disc)"},
		{"missing folder", []string{"data.dir=" + dir + "-none"}, "shapes-none: no such file or directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := folderConfig(t, dir, tc.sets...)
			_, err := Run(context.Background(), cfg, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestFolderTransfer runs configs/folder-transfer.yaml, shortened: a base
// trained on a CIFAR-10 fixture, its frozen layers (cached features) under
// a head trained on a folder of four classes.
func TestFolderTransfer(t *testing.T) {
	images := filepath.Join(t.TempDir(), "shapes")
	if err := foldertest.Write(images, 4, 40, 9); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "configs", "folder-transfer.yaml")
	cfg, err := config.Load(path, []string{
		"data.dir=" + fixture(t, 500), "data.cache_dir=" + filepath.Join(t.TempDir(), "cache"),
		"run.out=" + filepath.Join(t.TempDir(), "run"), "run.progress=off",
		"stages.base.train.epochs=1", "stages.head.data.dir=" + images, "stages.head.train.epochs=15",
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep, err := Run(context.Background(), cfg, Options{Out: &out})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	head := rep.Stages[1]
	if head.CachedLayers == 0 || head.Params.NonTrainable == 0 {
		t.Errorf("head: %d cached layers, %d frozen parameters; want the base's layers frozen and cached", head.CachedLayers, head.Params.NonTrainable)
	}
	t.Logf("head validation accuracy %.3f", head.Epochs[len(head.Epochs)-1].ValAccuracy)
	if acc := head.Epochs[len(head.Epochs)-1].ValAccuracy; acc < 0.9 {
		t.Errorf("head validation accuracy %.3f, want >= 0.9\n%s", acc, out.String())
	}
	m, err := savedmodel.ReadMeta(head.Export)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Classes, foldertest.Classes) {
		t.Errorf("head export classes %v, want %v", m.Classes, foldertest.Classes)
	}
}
