package cifar

import (
	"errors"
	"math"
	"slices"
	"testing"
)

// bitsOf returns the float32 bit patterns of v, so that -0 and NaN
// compare exactly.
func bitsOf(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = math.Float32bits(x)
	}
	return out
}

// TestPackedFeaturesEqualDense checks that packed features, in memory and
// in a temporary file, fill the same float32 bits as the dense features
// they were made from, for sparse rows, dense rows and the special values,
// at scale 1 and other scales, and that their source reports the same
// sizes, check and origin.
func TestPackedFeaturesEqualDense(t *testing.T) {
	for _, tt := range []struct {
		name, dir string
	}{
		{"memory", ""},
		{"file", t.TempDir()},
	} {
		t.Run(tt.name, func(t *testing.T) { testPackedEqualDense(t, tt.dir) })
	}
}

func testPackedEqualDense(t *testing.T, dir string) {
	const w = 8
	nan := float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	rows := [][]float32{
		{0, 0, 0, 0, 0, 0, 0, 0},                      // all zero
		{0, 1.5, 0, 0, 0, 0, 0, -2},                   // sparse
		{1, 2, 3, 4, 5, 6, 7, 8},                      // dense
		{0, negZero, 0, nan, 0, 0, 0, float32(1e-45)}, // -0, NaN and a denormal are kept
		{1, 2, 3, 4, 0, 0, 0, 0},                      // half: sparse
		{1, 2, 3, 4, 5, 0, 0, 0},                      // more than half: dense
	}
	var dense []float32
	for _, r := range rows {
		dense = append(dense, r...)
	}
	labels := []uint8{0, 1, 2, 0, 1, 2}
	classes := []string{"a", "b", "c"}
	f := &Features{Values: dense, Shape: []int{2, 4}, Labels: labels, Classes: classes, Origin: "images"}
	p := &PackedFeatures{Shape: []int{2, 4}, Labels: labels, Classes: classes, Origin: "images", Dir: dir}
	defer p.Close()
	// In batches, as OutputsTo hands them.
	if err := errors.Join(p.Add(dense[:2*w]), p.Add(dense[2*w:])); err != nil {
		t.Fatal(err)
	}
	if p.Len() != 6 || p.Width() != w || p.NumClasses() != 3 || p.Check() != nil {
		t.Fatalf("Len, Width, NumClasses, Check = %d, %d, %d, %v; want 6, 8, 3, nil", p.Len(), p.Width(), p.NumClasses(), p.Check())
	}
	idx := []int{5, 0, 3, 1, 1, 4, 2}
	for _, scale := range []float32{1, 0.5, -2} {
		ds, ps := f.Source(scale), p.Source(scale)
		fp, err := ps.Fingerprint()
		if ps.Len() != ds.Len() || ps.Width() != ds.Width() || ps.NumClasses() != ds.NumClasses() || fp != "images" || err != nil || ps.Check() != nil {
			t.Fatalf("scale %g: the packed source differs from the dense one in its sizes, fingerprint or check", scale)
		}
		wantImg, wantLab := make([]float32, len(idx)*w), make([]float32, len(idx)*3)
		gotImg, gotLab := make([]float32, len(idx)*w), make([]float32, len(idx)*3)
		for i := range gotImg {
			gotImg[i] = 99 // FillTo must overwrite every value
		}
		if err := errors.Join(ds.FillTo(idx, wantImg, wantLab), ps.FillTo(idx, gotImg, gotLab)); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(bitsOf(gotImg), bitsOf(wantImg)) || !slices.Equal(gotLab, wantLab) {
			t.Errorf("scale %g: packed fill\n%v\nwant the dense\n%v", scale, gotImg, wantImg)
		}
	}
	var got, want [6 * w]float32
	var lab [6 * 3]float32
	if err := errors.Join(f.FillTo([]int{0, 1, 2, 3, 4, 5}, want[:], lab[:]), p.FillTo([]int{0, 1, 2, 3, 4, 5}, got[:], lab[:])); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(bitsOf(got[:]), bitsOf(want[:])) {
		t.Errorf("FillTo: %v, want %v", got, want)
	}
}

// TestPackedFeaturesCompact checks that mostly zero rows take a fraction
// of their dense size and that dense rows take no more than theirs, with
// room made ahead when the labels are known.
func TestPackedFeaturesCompact(t *testing.T) {
	const n, w = 400, 3200
	sparse := sparseRows(n, w) // about 15 % non-zero
	p := &PackedFeatures{Shape: []int{w}, Labels: make([]uint8, n)}
	for r := 0; r < n; r += 100 {
		if err := p.Add(sparse[r*w : (r+100)*w]); err != nil {
			t.Fatal(err)
		}
	}
	if dense := int64(n * w * 4); p.Bytes() > dense/3 {
		t.Errorf("rows 15 %% non-zero take %d bytes packed, want under a third of the %d dense", p.Bytes(), dense)
	}
	full := make([]float32, 10*w)
	for i := range full {
		full[i] = float32(i + 1)
	}
	q := &PackedFeatures{Shape: []int{w}, Labels: make([]uint8, 11)}
	if err := errors.Join(q.Add(nil), q.Add(full)); err != nil { // nil: nothing to size the room by
		t.Fatal(err)
	}
	q.Labels = q.Labels[:9]
	if dense := int64(10 * w * 4); q.Bytes() > dense+10*64 {
		t.Errorf("dense rows take %d bytes packed, want at most %d and a little per row", q.Bytes(), dense)
	}
	if err := q.Check(); err == nil {
		t.Error("Check accepted 10 examples with 9 labels")
	}
	defer func() {
		if recover() == nil {
			t.Error("Add accepted 5 values for rows of 3200")
		}
	}()
	_ = q.Add(make([]float32, 5))
}
