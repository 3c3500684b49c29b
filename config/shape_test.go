package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestShapes(t *testing.T) {
	tests := []struct {
		desc  string
		input []int
		layer Layer
		want  []int
	}{
		{"conv valid", []int{32, 32, 3}, Layer{Type: "conv2d", Filters: 8, Kernel: Size{5, 5}}, []int{28, 28, 8}},
		{"conv valid strides", []int{32, 31, 3}, Layer{Type: "conv2d", Filters: 4, Kernel: Size{3, 2}, Strides: Size{2, 3}}, []int{15, 10, 4}},
		{"conv same strides", []int{32, 31, 3}, Layer{Type: "conv2d", Filters: 4, Kernel: Size{3, 3}, Strides: Size{2, 2}, Padding: "same"}, []int{16, 16, 4}},
		{"max pool default", []int{24, 24, 16}, Layer{Type: "maxpool2d"}, []int{12, 12, 16}},
		{"avg pool odd", []int{5, 5, 2}, Layer{Type: "avgpool2d", Pool: Size{2, 2}}, []int{2, 2, 2}},
		{"avg pool same", []int{5, 5, 2}, Layer{Type: "avgpool2d", Pool: Size{2, 2}, Padding: "same"}, []int{3, 3, 2}},
		{"global average", []int{7, 7, 9}, Layer{Type: "global_avgpool2d"}, []int{9}},
		{"flatten", []int{10, 10, 32}, Layer{Type: "flatten"}, []int{3200}},
		{"batchnorm keeps", []int{4, 4, 2}, Layer{Type: "batchnorm"}, []int{4, 4, 2}},
		{"dropout keeps", []int{4, 4, 2}, Layer{Type: "dropout", Rate: 0.5}, []int{4, 4, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := Network{Input: tt.input, Layers: []Layer{tt.layer}}.OutputShape()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("shape %v, want %v", got, tt.want)
			}
		})
	}
}

// TestShapesUnvalidated checks that the exported shape methods fail, not
// panic, on a network that was never validated.
func TestShapesUnvalidated(t *testing.T) {
	tests := []struct {
		desc  string
		layer Layer
		want  string
	}{
		{"zero strides", Layer{Type: "conv2d", Filters: 4, Kernel: Size{3, 3}, Strides: Size{0, 0}}, "layers[0] (conv2d): strides"},
		{"one-value kernel", Layer{Type: "conv2d", Filters: 4, Kernel: Size{3}}, "layers[0] (conv2d): kernel"},
		{"one-value pad", Layer{Type: "zero_padding2d", Pad: Size{1}}, "layers[0] (zero_padding2d): pad"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			n := Network{Input: []int{32, 32, 3}, Layers: []Layer{tt.layer}}
			if _, err := n.Shapes(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Shapes: error %v, want one containing %q", err, tt.want)
			}
			if _, err := n.OutputShape(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("OutputShape: error %v, want one containing %q", err, tt.want)
			}
			if _, err := n.Footprint(32, 1); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Footprint: error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestExportDir(t *testing.T) {
	c := Default()
	if got := c.ExportDir(0); got != "runs/transfer/base/model" {
		t.Errorf("ExportDir(0) = %q, want runs/transfer/base/model", got)
	}
	c.Stages[1].Export = Export{Dir: "/srv/models/transfer", Version: 2}
	if got := c.ExportDir(1); got != "/srv/models/transfer/2" {
		t.Errorf("ExportDir(1) = %q, want /srv/models/transfer/2", got)
	}
}
