package config

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// zero_padding2d replaces the base stage's maxpool2d (layers[2], input
// [24 24 16]) in these tests.
const zeroPadAt = "stages.base.model.layers.2="

func TestZeroPadding2DConfigs(t *testing.T) {
	tests := []struct {
		desc  string
		layer string
		pad   Size
		shape []int
	}{
		{"default", "{type: zero_padding2d}", Size{1, 1}, []int{26, 26, 16}},
		{"one integer", "{type: zero_padding2d, pad: 2}", Size{2, 2}, []int{28, 28, 16}},
		{"rows and columns", "{type: zero_padding2d, pad: [1, 0]}", Size{1, 0}, []int{26, 24, 16}},
		{"named", "{type: zero_padding2d, name: border, pad: 0}", Size{0, 0}, []int{24, 24, 16}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c, err := Load("", []string{zeroPadAt + tt.layer})
			if err != nil {
				t.Fatal(err)
			}
			net := c.Stages[0].Model.Named()
			l := net.Layers[2]
			if l.Type != ZeroPadding2D || !reflect.DeepEqual(l.Pad, tt.pad) {
				t.Errorf("layer = %+v, want zero_padding2d with pad %v", l, tt.pad)
			}
			if want := "zero_padding2d"; !strings.Contains(tt.layer, "name:") && l.Name != want {
				t.Errorf("name = %q, want %q", l.Name, want)
			}
			shapes, err := net.Shapes()
			if err != nil || !reflect.DeepEqual(shapes[2], tt.shape) {
				t.Errorf("shape = %v, %v; want %v", shapes[2], err, tt.shape)
			}
			if p := l.params(shapes[1]); p != 0 {
				t.Errorf("params = %v, want 0", p)
			}
		})
	}
}

func TestZeroPadding2DErrors(t *testing.T) {
	tests := []struct {
		desc string
		sets []string
		want []string
	}{
		{"pad on conv2d", []string{"stages.base.model.layers.0.pad=1"},
			[]string{"model.layers[0] (conv2d)", "pad: not a setting of conv2d layers"}},
		{"padding on zero_padding2d", []string{zeroPadAt + "{type: zero_padding2d, padding: same}"},
			[]string{"layers[2] (zero_padding2d)", "padding: not a setting of zero_padding2d layers (they take pad)"}},
		{"negative pad", []string{zeroPadAt + "{type: zero_padding2d, pad: -1}"},
			[]string{"layers[2] (zero_padding2d)", "pad: want sizes from 0 to 2147483647, got [-1 -1]"}},
		{"three sizes", []string{zeroPadAt + "{type: zero_padding2d, pad: [1, 2, 3]}"},
			[]string{"layers[2] (zero_padding2d)", "pad: want an integer n or [rows, columns], got [1 2 3]"}},
		{"pad beyond int32", []string{zeroPadAt + "{type: zero_padding2d, pad: [0, 2147483648]}"},
			[]string{"layers[2] (zero_padding2d)", "pad: want sizes from 0 to 2147483647, got [0 2147483648]"}},
		{"huge pad", []string{zeroPadAt + "{type: zero_padding2d, pad: 2147483647}"},
			[]string{"layers[4] (flatten)", "input: [4294967316 4294967316 32] has more values than an int holds"}},
		{"large pad", []string{zeroPadAt + "{type: zero_padding2d, pad: 3000}"},
			[]string{"stages[0] (base)", "over the 16 GiB cap"}},
		{"flat input", []string{"stages.1.model.layers.0={type: zero_padding2d}"},
			[]string{"stages[1] (transfer)", "(zero_padding2d)", "input: zero_padding2d wants an [height, width, channels] input, got [3200]"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := Load("", tt.sets)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestZeroPadding2DShapeOverflow(t *testing.T) {
	l := Layer{Type: ZeroPadding2D}.withDefaults()
	_, err := l.shape([]int{math.MaxInt - 1, 3, 1})
	if err == nil || !strings.Contains(err.Error(), "makes more rows or columns than an int holds") {
		t.Errorf("shape = %v, want an overflow error", err)
	}
}
