package train

import (
	"context"
	"slices"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
)

func TestFrozenVariablesStayBitIdentical(t *testing.T) {
	model := tiny{k: 3, frozen: true, seed: 2}
	tr := newTiny(t, model, trainCfg(2, 10), testOptions())
	before := values(t, tr)
	if _, err := tr.Fit(context.Background(), colors(60, 3, 3), nil); err != nil {
		t.Fatal(err)
	}
	after := values(t, tr)
	if !slices.Equal(before["pre/kernel"], after["pre/kernel"]) {
		t.Errorf("frozen pre/kernel changed:\n%v\n%v", before["pre/kernel"], after["pre/kernel"])
	}
	for _, name := range []string{"dense/kernel", "dense/bias"} {
		if slices.Equal(before[name], after[name]) {
			t.Errorf("trainable %s did not change", name)
		}
	}
	if got := after["stats/count"][0]; got != 12 {
		t.Errorf("model updates ran %v times, want 12 (2 epochs of 6 steps)", got)
	}
}

func TestInitValuesReplaceSeededOnes(t *testing.T) {
	bias, err := tf.NewTensor([]float32{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	opt := testOptions()
	opt.Init = map[string]*tf.Tensor{"dense/bias": bias}
	tr := newTiny(t, tiny{k: 3, seed: 2}, trainCfg(1, 10), opt)
	got := values(t, tr)
	if !slices.Equal(got["dense/bias"], []float32{1, 2, 3}) {
		t.Errorf("dense/bias = %v, want [1 2 3]", got["dense/bias"])
	}
	if want := (tiny{k: 3, seed: 2}).values()["dense/kernel"]; !slices.Equal(got["dense/kernel"], want) {
		t.Errorf("dense/kernel = %v, want the seeded %v", got["dense/kernel"], want)
	}
}
