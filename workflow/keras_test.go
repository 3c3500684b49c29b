package workflow

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/internal/cifartest"
	"github.com/tfcifar/tfcifar/internal/pyenv"
	"github.com/tfcifar/tfcifar/savedmodel"
)

// TestTransferFromKeras trains a transfer network whose frozen layers come
// from a .keras archive that Keras trained, and checks that the frozen
// weights in tfcifar's export are Keras' bit for bit.
func TestTransferFromKeras(t *testing.T) {
	pyenv.Python(t)
	dir := t.TempDir()
	pyenv.Run(t, "interop/keras_model.py", "--data", cifartest.RealDir(t), "--out", dir, "--train", "64", "--images", "1")
	data := fixture(t, 200)
	cfg := smallConfig(t, data,
		"stages=[{name: transfer, classes: [5,6,7,8,9], model: {input: [32,32,3], from: {keras: "+filepath.Join(dir, "base.keras")+", up_to: dropout, frozen: true}, layers: [{type: dense, units: 5}, {type: activation, activation: softmax}]}}]")
	rep, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Stages[0].Params; got.NonTrainable != 8464 || got.Total != 8464+16005 {
		t.Errorf("params = %+v, want 8,464 frozen and a 16,005-parameter head", got)
	}
	read, err := savedmodel.ReadVariables(rep.Stages[0].Export, savedmodel.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{"0": "kernel", "1": "bias"}
	for _, layer := range []string{"conv2d", "conv2d_1", "conv2d_2"} {
		for k, p := range params {
			want, err := os.ReadFile(filepath.Join(dir, "weights", layer+"."+k+".f32"))
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if _, err := read.Weights[layer+"/"+p].WriteContentsTo(&got); err != nil {
				t.Fatalf("%s/%s: %v", layer, p, err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("exported %s/%s differs from Keras' weights", layer, p)
			}
		}
	}

	// The same layers from model.export's SavedModel, which has no dropout.
	cfg = smallConfig(t, data,
		"stages=[{name: transfer, classes: [5,6,7,8,9], model: {input: [32,32,3], from: {keras: "+filepath.Join(dir, "export")+", up_to: flatten}, layers: [{type: dropout, rate: 0.4}, {type: dense, units: 5}, {type: activation, activation: softmax}]}}]")
	rep, err = Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Stages[0].Params; got.NonTrainable != 8464 {
		t.Errorf("params from the SavedModel = %+v, want 8,464 frozen", got)
	}
	fromExport, err := savedmodel.ReadVariables(rep.Stages[0].Export, savedmodel.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"conv2d/kernel", "conv2d/bias", "conv2d_1/kernel", "conv2d_1/bias", "conv2d_2/kernel", "conv2d_2/bias"} {
		if !sameTensor(fromExport.Weights[name], read.Weights[name]) {
			t.Errorf("%s transferred from the SavedModel differs from the one transferred from the .keras archive", name)
		}
	}

	bad := smallConfig(t, data,
		"stages=[{name: transfer, classes: [5,6,7,8,9], model: {input: [32,32,3], from: {keras: "+filepath.Join(dir, "lstm.keras")+", up_to: dense}, layers: [{type: dense, units: 5}]}}]")
	if _, err := Run(context.Background(), bad, Options{}); err == nil || !strings.Contains(err.Error(), "model.from.keras") || !strings.Contains(err.Error(), "LSTM") {
		t.Errorf("Run from a model with an LSTM: err = %v, want one naming model.from.keras and the LSTM layer", err)
	}
}
