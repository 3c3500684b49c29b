package graph

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tftest"
)

func TestZeroPadding2D(t *testing.T) {
	net := config.Network{Input: []int{2, 3, 2}, Layers: []config.Layer{
		{Type: config.ZeroPadding2D, Pad: config.Size{1, 2}},
		{Type: config.Flatten},
		{Type: config.Dense, Units: 2, Activation: config.Softmax},
	}}.Named()
	s, m := build(t, net, 1)
	info := m.Layers[0]
	want := LayerInfo{Name: "zero_padding2d", Type: config.ZeroPadding2D, OutputShape: []int64{4, 7, 2}, Params: 0, Trainable: true}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("layer = %+v, want %+v", info, want)
	}
	for _, v := range m.Variables {
		if v.Layer == "zero_padding2d" {
			t.Errorf("zero_padding2d has variable %s", v.Name)
		}
	}
	var sum bytes.Buffer
	if err := m.Summary(&sum); err != nil {
		t.Fatal(err)
	}
	line := "zero_padding2d (ZeroPadding2D)   (None, 4, 7, 2)                  0  -\n"
	if !strings.Contains(sum.String(), line) {
		t.Errorf("summary has no line %q:\n%s", line, sum.String())
	}

	// One image, channel c at (y, x) holding 10*c + 3*y + x + 1; padded
	// by one row above and below and two columns left and right.
	img := images(1, 2, 3, 2, func(i int) float32 { return float32(10*(i%2) + i/2 + 1) })
	sess := session(t, s, m)
	out, err := sess.Run(map[tf.Output]*tf.Tensor{m.Images: tftest.Tensor(t, img)}, []tf.Output{m.Outputs[0]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := out[0].Value().([][][][]float32)[0]
	z := []float32{0, 0}
	wantOut := [][][]float32{
		{z, z, z, z, z, z, z},
		{z, z, {1, 11}, {2, 12}, {3, 13}, z, z},
		{z, z, {4, 14}, {5, 15}, {6, 16}, z, z},
		{z, z, z, z, z, z, z},
	}
	if !reflect.DeepEqual(got, wantOut) {
		t.Errorf("output = %v, want %v", got, wantOut)
	}
}
