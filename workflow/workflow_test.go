package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/cifartest"
	"github.com/tfcifar/tfcifar/internal/tolerance"
	"github.com/tfcifar/tfcifar/savedmodel"
	"github.com/tfcifar/tfcifar/train"
)

// fixture writes a small CIFAR-format dataset (n training and n/5 test
// images) and returns its directory.
func fixture(t *testing.T, n int) string { return cifartest.Write(t, n, n/5) }

// smallConfig is the reference config on the fixture, one epoch per stage.
func smallConfig(t *testing.T, data string, sets ...string) *config.Config {
	t.Helper()
	out := filepath.Join(t.TempDir(), "run")
	all := append([]string{"data.dir=" + data, "run.out=" + out, "run.progress=off",
		"stages.base.train.epochs=1", "stages.transfer.train.epochs=1"}, sets...)
	cfg, err := config.Load("", all)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestRunReference(t *testing.T) {
	cfg := smallConfig(t, fixture(t, 500))
	var out bytes.Buffer
	rep, err := Run(context.Background(), cfg, Options{Out: &out})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if len(rep.Stages) != 2 {
		t.Fatalf("report has %d stages, want 2", len(rep.Stages))
	}
	wantParams := []Params{{418837, 418837, 0}, {418837, 410373, 8464}}
	for i, s := range rep.Stages {
		if s.Params != wantParams[i] {
			t.Errorf("stage %s params = %+v, want %+v", s.Name, s.Params, wantParams[i])
		}
		if len(s.Epochs) != 1 || s.TimeTaken <= 0 || s.TrainFLOPs <= 0 {
			t.Errorf("stage %s: epochs %d, time %v, flops %v", s.Name, len(s.Epochs), s.TimeTaken, s.TrainFLOPs)
		}
	}
	for _, f := range []string{"config.yaml", "report.json", "report.txt",
		"base/model/saved_model.pb", "base/history.json", "base/history.png",
		"transfer/model/saved_model.pb", "transfer/history.json", "transfer/history.png",
		"base/classes.txt", "base/confusion.png", "transfer/classes.txt", "transfer/confusion.png"} {
		if _, err := os.Stat(filepath.Join(cfg.Run.Out, f)); err != nil {
			t.Errorf("run dir: %v", err)
		}
	}
	var fromDisk Report
	b, err := os.ReadFile(filepath.Join(cfg.Run.Out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fromDisk); err != nil || len(fromDisk.Stages) != 2 {
		t.Errorf("report.json: %v, %d stages", err, len(fromDisk.Stages))
	}
	if !strings.Contains(out.String(), "transfer    410,373   8,464") {
		t.Errorf("final table missing the transfer row:\n%s", out.String())
	}
	for _, s := range fromDisk.Stages {
		checkValidation(t, s)
	}

	// The frozen layers of the transfer export hold the base export's
	// weights bit for bit; the new head does not.
	baseRead, err := savedmodel.ReadVariables(rep.Stages[0].Export, savedmodel.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base := baseRead.Weights
	transferRead, err := savedmodel.ReadVariables(rep.Stages[1].Export, savedmodel.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	transfer := transferRead.Weights
	meta := transferRead.Meta
	classes := meta.Classes
	for _, name := range []string{"conv2d/kernel", "conv2d/bias", "conv2d_1/kernel", "conv2d_1/bias", "conv2d_2/kernel", "conv2d_2/bias"} {
		if !sameTensor(base[name], transfer[name]) {
			t.Errorf("frozen %s differs between the base and transfer exports", name)
		}
	}
	if sameTensor(base["dense/kernel"], transfer["dense/kernel"]) {
		t.Errorf("dense/kernel of the transfer export equals the base's; the head was not trained afresh")
	}
	if strings.Join(classes, ",") != "dog,frog,horse,ship,truck" {
		t.Errorf("transfer classes = %v", classes)
	}
}

// checkValidation checks the evaluation of a stage's export on its
// validation images against itself and against the last epoch's
// validation loss and accuracy, which training measured on the same
// images.
func checkValidation(t *testing.T, s StageReport) {
	t.Helper()
	v := s.Validation
	if v == nil || v.Loss == nil {
		t.Fatalf("stage %s: validation %+v, want the export's evaluation with a loss", s.Name, v)
	}
	total, correct := 0, 0
	for i, row := range v.Matrix {
		for j, n := range row {
			total += n
			if i == j {
				correct += n
			}
		}
	}
	if total != v.Images || v.Images == 0 || float64(correct)/float64(total) != v.Accuracy {
		t.Errorf("stage %s: matrix total %d, diagonal %d; %d images, accuracy %v", s.Name, total, correct, v.Images, v.Accuracy)
	}
	f := s.Final()
	if !tolerance.EqualWithinAbs(v.Accuracy, f.ValAccuracy, 1e-6) || !tolerance.EqualWithinRel(*v.Loss, f.ValLoss, 1e-4) {
		t.Errorf("stage %s: export's validation loss %.6f, accuracy %.6f; training measured %.6f, %.6f",
			s.Name, *v.Loss, v.Accuracy, f.ValLoss, f.ValAccuracy)
	}
}

func TestReuseExisting(t *testing.T) {
	data := fixture(t, 500)
	first := smallConfig(t, data)
	if _, err := Run(context.Background(), first, Options{}); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(filepath.Join(first.ExportDir(0), "saved_model.pb"))
	if err != nil {
		t.Fatal(err)
	}
	again := smallConfig(t, data, "run.out="+first.Run.Out, "stages.base.export.reuse_existing=true")
	var out bytes.Buffer
	rep, err := Run(context.Background(), again, Options{Out: &out, Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Stages[0].Reused || rep.Stages[1].Reused {
		t.Errorf("reused = %v, %v; want the base export reused and the transfer trained", rep.Stages[0].Reused, rep.Stages[1].Reused)
	}
	after, err := os.Stat(filepath.Join(first.ExportDir(0), "saved_model.pb"))
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("the reused base export was written again")
	}
	if len(rep.Stages[0].Epochs) != 1 {
		t.Errorf("reused stage reports %d epochs from its history, want 1", len(rep.Stages[0].Epochs))
	}
	checkValidation(t, rep.Stages[0])

	// A changed network is not reused.
	changed := smallConfig(t, data, "run.out="+first.Run.Out, "stages.base.export.reuse_existing=true", "stages.base.model.layers.6.units=64")
	rep, err = Run(context.Background(), changed, Options{Out: &out, Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stages[0].Reused {
		t.Errorf("an export of another network was reused")
	}
}

func TestTransferFromSavedModel(t *testing.T) {
	data := fixture(t, 500)
	first := smallConfig(t, data)
	rep, err := Run(context.Background(), first, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A config whose only stage reuses the exported base network.
	cfg := smallConfig(t, data,
		"stages=[{name: transfer, classes: [5,6,7,8,9], model: {input: [32,32,3], from: {savedmodel: "+rep.Stages[0].Export+", up_to: dropout, frozen: true}, layers: [{type: dense, units: 5}, {type: activation, activation: softmax}]}}]")
	rep2, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep2.Stages[0].Params; got.NonTrainable != 8464 || got.Total != 8464+16005 {
		t.Errorf("params = %+v, want 8,464 frozen and a 16,005-parameter head", got)
	}

	bad := smallConfig(t, data,
		"stages=[{name: transfer, classes: [5,6,7,8,9], model: {input: [32,32,3], from: {savedmodel: "+filepath.Join(t.TempDir(), "missing")+", up_to: dropout}, layers: [{type: dense, units: 5}]}}]")
	if _, err := Run(context.Background(), bad, Options{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Run with a missing source export: err = %v, want one naming the directory", err)
	}
}

// sameTensor reports whether a and b hold the same float32 values bit for bit.
func sameTensor(a, b *tf.Tensor) bool {
	if a == nil || b == nil {
		return false
	}
	var x, y bytes.Buffer
	if _, err := a.WriteContentsTo(&x); err != nil {
		return false
	}
	if _, err := b.WriteContentsTo(&y); err != nil {
		return false
	}
	return bytes.Equal(x.Bytes(), y.Bytes())
}

// TestCacheFrozen checks that training the transfer head on cached frozen
// features gives the same epochs as running the frozen layers every step.
func TestCacheFrozen(t *testing.T) {
	data := fixture(t, 500)
	reports := map[bool]*Report{}
	for _, cache := range []bool{true, false} {
		cfg := smallConfig(t, data, "stages.transfer.train.epochs=2", fmt.Sprintf("stages.transfer.train.cache_frozen=%v", cache))
		rep, err := Run(context.Background(), cfg, Options{})
		if err != nil {
			t.Fatalf("cache_frozen=%v: %v", cache, err)
		}
		reports[cache] = rep
	}
	cached, direct := reports[true].Stages[1], reports[false].Stages[1]
	if cached.CachedLayers != 5 || direct.CachedLayers != 0 || reports[true].Stages[0].CachedLayers != 0 {
		t.Errorf("cached layers = %d (transfer, cached), %d (uncached), %d (base); want 5, 0, 0",
			cached.CachedLayers, direct.CachedLayers, reports[true].Stages[0].CachedLayers)
	}
	if cached.Params != direct.Params {
		t.Errorf("params differ: %+v cached, %+v not", cached.Params, direct.Params)
	}
	for i := range direct.Epochs {
		c, d := cached.Epochs[i], direct.Epochs[i]
		for _, pair := range [][2]float64{{c.Loss, d.Loss}, {c.ValLoss, d.ValLoss}, {c.Accuracy, d.Accuracy}, {c.ValAccuracy, d.ValAccuracy}} {
			if !tolerance.EqualWithinAbsOrRel(pair[0], pair[1], 1e-3, 1e-3) {
				t.Errorf("epoch %d: cached %+v, uncached %+v", i+1, c, d)
				break
			}
		}
	}
	if cached.TrainFLOPs >= direct.TrainFLOPs {
		t.Errorf("cached training counts %g operations, uncached %g; want fewer", cached.TrainFLOPs, direct.TrainFLOPs)
	}
}

// TestCacheInFile checks that features cached in a temporary file (the
// default, data.in_memory: false) train the same epochs, bit for bit, as
// features cached in memory, that the run says where they are and that no
// file is left in TMPDIR.
func TestCacheInFile(t *testing.T) {
	data := fixture(t, 500)
	cfgs := map[bool]*config.Config{}
	for _, inMemory := range []bool{true, false} {
		cfgs[inMemory] = smallConfig(t, data, fmt.Sprintf("data.in_memory=%v", inMemory))
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	reports, outs := map[bool]*Report{}, map[bool]string{}
	for inMemory, cfg := range cfgs {
		var out bytes.Buffer
		rep, err := Run(context.Background(), cfg, Options{Out: &out})
		if err != nil {
			t.Fatalf("data.in_memory=%v: %v", inMemory, err)
		}
		reports[inMemory], outs[inMemory] = rep, out.String()
	}
	if !strings.Contains(outs[false], "MB in a temporary file\n") || !strings.Contains(outs[true], "MB in memory\n") {
		t.Errorf("the Cached line does not say where the features are:\n%s\n%s", outs[false], outs[true])
	}
	file, mem := reports[false].Stages[1], reports[true].Stages[1]
	if file.CachedLayers != 5 || !slices.Equal(epochValues(file.Epochs), epochValues(mem.Epochs)) {
		t.Errorf("%d cached layers; epochs from a file %+v, from memory %+v; want 5 and the same", file.CachedLayers, file.Epochs, mem.Epochs)
	}
	if entries, err := os.ReadDir(tmp); err != nil || len(entries) != 0 {
		t.Errorf("TMPDIR holds %v (%v) after the runs, want nothing", entries, err)
	}
}

// epochValues returns the loss, accuracy, val_loss and val_accuracy of
// epochs.
func epochValues(epochs []train.Epoch) [][4]float64 {
	out := make([][4]float64, len(epochs))
	for i, e := range epochs {
		out[i] = [4]float64{e.Loss, e.Accuracy, e.ValLoss, e.ValAccuracy}
	}
	return out
}

// TestFineTune checks a transfer network whose reused layers are trained
// further, with their own learning rate: nothing is frozen or cached, and the
// reused weights move away from the base's.
func TestFineTune(t *testing.T) {
	cfg := smallConfig(t, fixture(t, 500), "stages.transfer.model.from.frozen=false", "stages.transfer.model.from.learning_rate=0.0001")
	rep, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := rep.Stages[1]
	if tr.Params.NonTrainable != 0 || tr.Params.Trainable != 418837 || tr.CachedLayers != 0 {
		t.Errorf("fine-tuned transfer: params %+v, cached %d; want all 418,837 trainable, none cached", tr.Params, tr.CachedLayers)
	}
	baseRead, err := savedmodel.ReadVariables(rep.Stages[0].Export, savedmodel.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base := baseRead.Weights
	transferRead, err := savedmodel.ReadVariables(tr.Export, savedmodel.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	transfer := transferRead.Weights
	if sameTensor(base["conv2d/kernel"], transfer["conv2d/kernel"]) {
		t.Error("fine-tuned conv2d/kernel is still the base's")
	}
}
