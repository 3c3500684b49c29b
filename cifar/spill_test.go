package cifar

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// randomRows returns n rows of w values from seed, each row with its own
// share of zeros (from none to all), some values negative, -0 or NaN, so
// that both sparse and dense rows occur.
func randomRows(seed uint64, n, w int) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	v := make([]float32, n*w)
	for i := range n {
		zeros := r.Float64()
		for j := range w {
			switch x := r.Float64(); {
			case x < zeros:
			case x < zeros+0.01:
				v[i*w+j] = float32(math.Copysign(0, -1))
			case x < zeros+0.02:
				v[i*w+j] = float32(math.NaN())
			default:
				v[i*w+j] = float32(r.NormFloat64())
			}
		}
	}
	return v
}

// TestPackedFileEqualMemory checks, over random rows of several seeds,
// that features packed in a temporary file fill the same bits as packed
// in memory and as dense, at several scales, also from two goroutines at
// once, and that the file takes their packed size on disk, not in memory.
func TestPackedFileEqualMemory(t *testing.T) {
	const n, w = 300, 40
	for seed := range uint64(4) {
		values := randomRows(seed, n, w)
		labels := make([]uint8, n)
		for i := range labels {
			labels[i] = uint8(i % 3)
		}
		dense := &Features{Values: values, Shape: []int{w}, Labels: labels}
		mem := &PackedFeatures{Shape: []int{w}, Labels: labels}
		file := &PackedFeatures{Shape: []int{w}, Labels: labels, Dir: t.TempDir()}
		for r := 0; r < n; r += 64 { // batches, the last one short
			batch := values[r*w : min(r+64, n)*w]
			if err := errors.Join(mem.Add(batch), file.Add(batch)); err != nil {
				t.Fatal(err)
			}
		}
		if file.FileBytes() != mem.Bytes()-int64(n)*24 || file.Bytes() > int64(n)*24+spillBuffer+8*w {
			t.Errorf("seed %d: file %d bytes on disk and %d in memory; in memory alone %d", seed, file.FileBytes(), file.Bytes(), mem.Bytes())
		}
		idx := make([]int, 2*n)
		for i := range idx {
			idx[i] = (i * 7919) % n
		}
		for _, scale := range []float32{1, 0.25, -1, -3} {
			want := fillBits(t, dense.Source(scale), idx)
			if got := fillBits(t, mem.Source(scale), idx); !slices.Equal(got, want) {
				t.Errorf("seed %d scale %g: packed in memory differs from dense", seed, scale)
			}
			var wg sync.WaitGroup
			got := make([][]uint32, 2)
			for g := range got {
				wg.Go(func() { got[g] = fillBits(t, file.Source(scale), idx) })
			}
			wg.Wait()
			for g := range got {
				if !slices.Equal(got[g], want) {
					t.Errorf("seed %d scale %g: goroutine %d: packed in a file differs from dense", seed, scale, g)
				}
			}
		}
		if err := file.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// fillBits fills the examples at idx from s and returns their bits.
func fillBits(t *testing.T, s *Source, idx []int) []uint32 {
	img, lab := make([]float32, len(idx)*s.Width()), make([]float32, len(idx)*s.NumClasses())
	if err := s.FillTo(idx, img, lab); err != nil {
		t.Error(err)
	}
	return bitsOf(img)
}

// TestPackedFileLeavesNothing checks that the temporary file has no name
// in its directory from the first Add on, that Close releases it and that
// FillTo after Close returns an error naming the directory.
func TestPackedFileLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	p := &PackedFeatures{Shape: []int{4}, Labels: []uint8{0, 1}, Dir: dir}
	if err := p.Add([]float32{1, 0, 0, 0, 0, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("after Add the directory holds %v (%v), want nothing", entries, err)
	}
	img, lab := make([]float32, 8), make([]float32, 4)
	if err := p.FillTo([]int{0, 1}, img, lab); err != nil || !slices.Equal(img, []float32{1, 0, 0, 0, 0, 2, 3, 4}) {
		t.Fatalf("FillTo: %v, %v", img, err)
	}
	if err := errors.Join(p.Close(), p.Close()); err != nil {
		t.Errorf("Close twice: %v", err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("after Close the directory holds %v (%v), want nothing", entries, err)
	}
	if err := p.FillTo([]int{1}, img, lab); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("FillTo after Close: error %v, want one naming %s", err, dir)
	}
}

// TestPackedFileTruncated checks that a temporary file cut short behind
// our back makes FillTo fail, naming the directory and the example.
func TestPackedFileTruncated(t *testing.T) {
	dir := t.TempDir()
	p := &PackedFeatures{Shape: []int{4}, Labels: []uint8{0, 1, 0}, Dir: dir}
	defer p.Close()
	if err := p.Add([]float32{1, 0, 0, 0, 0, 2, 3, 4, 0, 0, 5, 0}); err != nil {
		t.Fatal(err)
	}
	if err := p.file.f.Truncate(p.FileBytes() - 1); err != nil {
		t.Fatal(err)
	}
	img, lab := make([]float32, 4), make([]float32, 2)
	if err := p.FillTo([]int{1}, img, lab); err != nil {
		t.Errorf("example 1, whole in the file: %v", err)
	}
	err := p.FillTo([]int{2}, img, lab)
	if err == nil || !strings.Contains(err.Error(), "temporary file in "+dir) || !strings.Contains(err.Error(), "example 2") {
		t.Errorf("example 2, cut short: error %v, want one naming %s and example 2", err, dir)
	}
}

// TestPackedFileWriteError checks that a failed write is Add's error,
// naming the directory and how to avoid it, that later calls return it
// too and that Check reports it; that Dir set after the first Add and a
// directory where no file can be created fail Add.
func TestPackedFileWriteError(t *testing.T) {
	dir := t.TempDir()
	p := &PackedFeatures{Shape: []int{4}, Labels: []uint8{0, 1}, Dir: dir}
	if err := p.Add([]float32{1, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if err := p.file.f.Close(); err != nil { // as a full disk would, every write fails
		t.Fatal(err)
	}
	err := p.Add([]float32{0, 2, 3, 4})
	if err == nil || !strings.Contains(err.Error(), "writing the temporary file in "+dir) || !strings.Contains(err.Error(), "data.in_memory: true") {
		t.Fatalf("Add on a failing file: error %v, want one naming %s and data.in_memory", err, dir)
	}
	if again := p.Add([]float32{0, 0, 0, 5}); !errors.Is(again, err) && (again == nil || again.Error() != err.Error()) {
		t.Errorf("Add after a failed one: %v, want %v", again, err)
	}
	if err := p.Check(); err == nil {
		t.Error("Check accepted features whose Add failed")
	}
	late := &PackedFeatures{Shape: []int{4}}
	if err := late.Add([]float32{1, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	late.Dir = dir
	if err := late.Add([]float32{1, 0, 0, 0}); err == nil || late.Len() != 1 {
		t.Errorf("Add with Dir set after the first Add: %v, %d examples; want an error and 1", err, late.Len())
	}
	missing := filepath.Join(dir, "missing")
	q := &PackedFeatures{Shape: []int{4}, Dir: missing}
	if err := q.Add([]float32{1, 0, 0, 0}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Add in a missing directory: error %v, want one naming it", err)
	}
}
