package cifar

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// openBoth loads dir into memory and opens it stored.
func openBoth(t *testing.T, dir string) (loaded, stored *Dataset) {
	t.Helper()
	loaded, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	stored, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stored.Close() })
	return loaded, stored
}

// sameAsLoaded checks that the stored set s holds the images, labels,
// classes, fingerprint and histogram of the loaded set want, and fills
// the same float32 bits through a Source, a Batcher and FillTo.
func sameAsLoaded(t *testing.T, what string, s, want *Set) {
	t.Helper()
	if !s.Stored() || want.Stored() || s.Images != nil {
		t.Fatalf("%s: Stored() %v / %v, want a stored set and one in memory", what, s.Stored(), want.Stored())
	}
	if err := s.Check(); err != nil {
		t.Fatalf("%s: Check: %v", what, err)
	}
	if s.Len() != want.Len() || !slices.Equal(s.Labels, want.Labels) || !slices.Equal(s.Classes, want.Classes) {
		t.Fatalf("%s: %d images with labels %v, want %d with %v", what, s.Len(), s.Labels, want.Len(), want.Labels)
	}
	img := make([]byte, ImageSize)
	for i := range s.Len() {
		if err := s.ReadImage(i, img); err != nil {
			t.Fatal(err)
		}
		if string(img) != string(want.Image(i)) {
			t.Fatalf("%s: image %d differs from the loaded one", what, i)
		}
	}
	fp, err := s.Fingerprint()
	wantFP, _ := want.Fingerprint()
	if err != nil || fp != wantFP {
		t.Errorf("%s: fingerprint %s (%v), want %s", what, fp, err, wantFP)
	}
	h, err := s.Histogram()
	wantH, _ := want.Histogram()
	if err != nil || !slices.Equal(h, wantH) {
		t.Errorf("%s: histogram differs (%v)", what, err)
	}
	idx := []int{s.Len() - 1, 0, s.Len() / 2, 1}
	for _, scale := range []float32{1, 1.0 / 255} {
		got, gotLab := make([]float32, len(idx)*ImageSize), make([]float32, len(idx)*s.NumClasses())
		exp, expLab := make([]float32, len(got)), make([]float32, len(gotLab))
		if err := errors.Join(s.Source(scale).FillTo(idx, got, gotLab), want.Source(scale).FillTo(idx, exp, expLab)); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, exp) || !slices.Equal(gotLab, expLab) {
			t.Errorf("%s: Source(%g).FillTo differs from the loaded set's", what, scale)
		}
	}
	got, exp := s.Batcher(3, 0.5, 7), want.Batcher(3, 0.5, 7)
	var batches [][]float32
	for b := range exp.Epoch(2, true) {
		batches = append(batches, slices.Clone(b.Images))
	}
	n := 0
	for b := range got.Epoch(2, true) {
		if n >= len(batches) || !slices.Equal(b.Images, batches[n]) {
			t.Fatalf("%s: batch %d of a shuffled epoch differs", what, n)
		}
		n++
	}
	if got.Err() != nil || n != len(batches) {
		t.Errorf("%s: %d batches (%v), want %d", what, n, got.Err(), len(batches))
	}
}

// TestOpenReadsAsLoad checks that a stored dataset and the sets split from
// it give what Load's in-memory ones give, for both kinds of split.
func TestOpenReadsAsLoad(t *testing.T) {
	dir := saveDataset(t, fakeDataset(23, 7))
	loaded, stored := openBoth(t, dir)
	sameAsLoaded(t, "train", stored.Train, loaded.Train)
	sameAsLoaded(t, "test", stored.Test, loaded.Test)
	for _, kind := range []SplitKind{SplitReference, SplitStandard} {
		tr, val, err := stored.Split([]int{7, 2, 3}, kind, 0.25)
		if err != nil {
			t.Fatal(err)
		}
		wantTr, wantVal, err := loaded.Split([]int{7, 2, 3}, kind, 0.25)
		if err != nil {
			t.Fatal(err)
		}
		sameAsLoaded(t, string(kind)+" train", tr, wantTr)
		sameAsLoaded(t, string(kind)+" val", val, wantVal)
	}
}

func TestOpen100ReadsAsLoad100(t *testing.T) {
	dir := newFixture100(30, 8).save(t)
	for _, coarse := range []bool{false, true} {
		loaded, err := Load100(dir, coarse)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := Open100(dir, coarse)
		if err != nil {
			t.Fatal(err)
		}
		sameAsLoaded(t, "train", stored.Train, loaded.Train)
		sameAsLoaded(t, "test", stored.Test, loaded.Test)
		if err := stored.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStoredFileChanged checks that a file shortened after Open makes
// reads fail with an error naming it and the record, never a panic.
func TestStoredFileChanged(t *testing.T) {
	dir := saveDataset(t, fakeDataset(20, 6))
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	tr, _, err := d.Split([]int{0, 1, 2, 3, 4}, SplitReference, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "data_batch_1.bin")
	if err := os.Truncate(path, RecordSize); err != nil {
		t.Fatal(err)
	}
	img, lab := make([]float32, 2*ImageSize), make([]float32, 2*5)
	err = tr.Source(1).FillTo([]int{0, 1}, img, lab) // data_batch_1.bin's record 0 is kept, 1 is gone
	var fe *FormatError
	if !errors.As(err, &fe) || fe.File != path || fe.Record != 1 || !strings.Contains(err.Error(), "shorter than when it was opened") {
		t.Errorf("FillTo after truncation: %v, want a *FormatError for %s, record 1", err, path)
	}
	if _, err := tr.Fingerprint(); !errors.As(err, &fe) {
		t.Errorf("Fingerprint after truncation: %v, want a *FormatError", err)
	}
	if _, err := tr.Histogram(); err == nil {
		t.Error("Histogram after truncation: no error")
	}
	b := tr.Batcher(4, 1, 1)
	for range b.Epoch(0, false) {
	}
	if !errors.As(b.Err(), &fe) {
		t.Errorf("Batcher.Err after truncation: %v, want a *FormatError", b.Err())
	}
}

func TestStoredClosed(t *testing.T) {
	d, err := Open(saveDataset(t, fakeDataset(10, 3)))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Test.ReadImage(0, make([]byte, ImageSize)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("ReadImage after Close: %v, want os.ErrClosed", err)
	}
	if err := (&Dataset{Train: fakeSet(1, 0), Test: fakeSet(1, 0)}).Close(); err != nil {
		t.Errorf("Close of a dataset in memory: %v", err)
	}
}

// TestStoredFillAllocs checks that filling batches from files allocates
// nothing per batch: the read buffers are pooled.
func TestStoredFillAllocs(t *testing.T) {
	d, err := Open(saveDataset(t, fakeDataset(200, 10)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	b := d.Train.Batcher(50, 1, 1)
	idx := b.Order(1, true)[:50]
	if a := testing.AllocsPerRun(20, func() { _, _ = b.Fill(idx) }); a != 0 {
		t.Errorf("Fill of a stored set: %v allocations per batch, want 0", a)
	}
}

// TestOpenRealData checks, on the real CIFAR-10 files, that the reference
// workflow's sets read from the files are those Load gives.
func TestOpenRealData(t *testing.T) {
	loaded, stored := openBoth(t, realDir(t))
	for _, classes := range [][]int{{0, 1, 2, 3, 4}, {5, 6, 7, 8, 9}} {
		wantTr, wantVal, err := loaded.Split(classes, SplitReference, 0.2)
		if err != nil {
			t.Fatal(err)
		}
		tr, val, err := stored.Split(classes, SplitReference, 0.2)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range [][2]*Set{{tr, wantTr}, {val, wantVal}} {
			fp, err := p[0].Fingerprint()
			want, _ := p[1].Fingerprint()
			if err != nil || fp != want || p[0].Len() != p[1].Len() {
				t.Errorf("classes %v: %d stored images with fingerprint %s (%v), want %d with %s", classes, p[0].Len(), fp, err, p[1].Len(), want)
			}
		}
	}
}
