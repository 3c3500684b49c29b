package cifar

import (
	"slices"
	"testing"
)

func TestFeaturesBatcher(t *testing.T) {
	// Five examples of shape [2]: example i holds (i, 10*i).
	f := &Features{Shape: []int{2}, Labels: []uint8{0, 1, 2, 0, 1}, Classes: []string{"a", "b", "c"}}
	for i := range 5 {
		f.Values = append(f.Values, float32(i), float32(10*i))
	}
	if f.Len() != 5 || f.Width() != 2 || f.NumClasses() != 3 {
		t.Fatalf("Len, Width, NumClasses = %d, %d, %d; want 5, 2, 3", f.Len(), f.Width(), f.NumClasses())
	}
	b := f.Batcher(2, 0.5, 9)
	if b.Steps() != 3 {
		t.Errorf("Steps = %d, want 3", b.Steps())
	}
	var got []float32
	var labels []float32
	for batch := range b.Epoch(0, false) {
		got = append(got, batch.Images[:batch.N*2]...)
		labels = append(labels, batch.Labels[:batch.N*3]...)
	}
	want := []float32{0, 0, 0.5, 5, 1, 10, 1.5, 15, 2, 20}
	if !slices.Equal(got, want) {
		t.Errorf("values = %v, want %v (scaled by 0.5, in order)", got, want)
	}
	wantLabels := []float32{1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0}
	if !slices.Equal(labels, wantLabels) {
		t.Errorf("labels = %v, want %v", labels, wantLabels)
	}

	// The shuffle depends only on seed and epoch, as for images.
	set := fakeSet(3, 0, 1, 2, 0, 1)
	if a, c := slices.Clone(b.Order(4, true)), set.Batcher(2, 1, 9).Order(4, true); !slices.Equal(a, c) {
		t.Errorf("features order %v differs from the image order %v for the same seed and epoch", a, c)
	}
}

func TestFeaturesCheck(t *testing.T) {
	f := &Features{Values: make([]float32, 5), Shape: []int{2}, Labels: []uint8{0, 1, 0}}
	if err := f.Check(); err == nil {
		t.Error("Check accepted 5 values for 3 examples of shape [2]")
	}
	f.Values = make([]float32, 6)
	if err := f.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
	var none *Features
	if none.Len() != 0 {
		t.Error("nil Features has a length")
	}
}
