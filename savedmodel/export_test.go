package savedmodel

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/tfcifar/tfcifar/config"
)

func TestExportLoad(t *testing.T) {
	const n = 20
	images, source := testImages(t, n)
	tests := []struct {
		desc    string
		net     func() config.Network
		classes []string
	}{
		{"reference network", referenceNet, []string{"airplane", "automobile", "bird", "cat", "deer"}},
		{"small network, default class names", func() config.Network { return smallNet(4) }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			net := tc.net()
			values := initialValues(t, net, 7)
			want, wantIDs := predictInProcess(t, net, values, images, n)
			dir, err := ExportNetwork(filepath.Join(t.TempDir(), "model"), net, values, Options{Classes: tc.classes, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			m, err := Load(context.Background(), dir, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			got, gotIDs, err := m.Predict(images, n)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("probabilities of the loaded export differ from in-process ones (%s): max |diff| %g", source, maxDiff(got, want))
			}
			if !slices.Equal(gotIDs, wantIDs) {
				t.Errorf("class ids = %v, want %v", gotIDs, wantIDs)
			}
			logits, logitIDs, err := m.Logits(images, n)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(logitIDs, wantIDs) {
				t.Errorf("class ids with the logits = %v, want %v", logitIDs, wantIDs)
			}
			if d := maxDiff(softmax(logits, len(m.Classes)), got); d > 1e-6 {
				t.Errorf("softmax of the logits differs from the probabilities by up to %g", d)
			}
			if unsaturated(want, len(m.Classes)) == 0 {
				t.Errorf("every probability row is saturated; the comparison would prove little")
			}
			k := len(want) / n
			wantClasses := tc.classes
			if wantClasses == nil {
				for i := range k {
					wantClasses = append(wantClasses, strconv.Itoa(i))
				}
			}
			if !slices.Equal(m.Classes, wantClasses) {
				t.Errorf("classes = %v, want %v", m.Classes, wantClasses)
			}
		})
	}
}

// softmax returns the softmax of each row of k values of x.
func softmax(x []float32, k int) []float32 {
	out := make([]float32, len(x))
	for i := 0; i+k <= len(x); i += k {
		row := x[i : i+k]
		top := slices.Max(row)
		sum := 0.0
		for _, v := range row {
			sum += math.Exp(float64(v - top))
		}
		for j, v := range row {
			out[i+j] = float32(math.Exp(float64(v-top)) / sum)
		}
	}
	return out
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// unsaturated counts the rows of probs whose largest value is below 0.99.
func unsaturated(probs []float32, k int) int {
	c := 0
	for i := 0; i+k <= len(probs); i += k {
		if slices.Max(probs[i:i+k]) < 0.99 {
			c++
		}
	}
	return c
}

// TestExportScale checks that an export trained on scaled pixels takes raw
// ones: its serving graph applies the recorded scale.
func TestExportScale(t *testing.T) {
	const n = 20
	raw, source := testImages(t, n)
	const scale = 1.0 / 255
	scaled := make([]float32, len(raw))
	for i, p := range raw {
		scaled[i] = p * float32(scale)
	}
	net := smallNet(3)
	values := initialValues(t, net, 5)
	want, _ := predictInProcess(t, net, values, scaled, n)
	dir, err := ExportNetwork(filepath.Join(t.TempDir(), "m"), net, values, Options{Scale: scale})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(context.Background(), dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Scale != scale {
		t.Errorf("Meta.Scale = %v, want %v", m.Scale, scale)
	}
	got, _, err := m.Predict(raw, n)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("raw pixels through the export differ from scaled pixels in process (%s): max |diff| %g", source, maxDiff(got, want))
	}
}
