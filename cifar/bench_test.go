package cifar

import (
	"errors"
	"testing"
)

// BenchmarkLoad loads all 60,000 real images.
func BenchmarkLoad(b *testing.B) {
	dir := realDir(b)
	b.SetBytes(6 * 10000 * RecordSize)
	for b.Loop() {
		if _, err := Load(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatch fills one shuffled batch of 100 images.
func BenchmarkBatch(b *testing.B) {
	s := fakeSet(1, cycle(1000, 0, 1)...)
	bt := NewBatcher(s, 100, 0, 1)
	order := bt.Order(1, true)
	b.SetBytes(100 * ImageSize)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_, _ = bt.Fill(order[i : i+100])
		i = (i + 100) % len(order)
	}
}

// BenchmarkEpoch runs one shuffled epoch over 1,000 images in batches of 100.
func BenchmarkEpoch(b *testing.B) {
	bt := NewBatcher(fakeSet(1, cycle(1000, 0, 1)...), 100, 0, 1)
	b.ReportAllocs()
	e := 0
	for b.Loop() {
		for range bt.Epoch(e, true) {
		}
		e++
	}
}

// sparseRows returns n rows of w values, 85 % of them 0, as the cached
// flatten outputs of the reference network are.
func sparseRows(n, w int) []float32 {
	v := make([]float32, n*w)
	x := uint32(1)
	for i := range v {
		x = x*1664525 + 1013904223
		if x>>24 < 38 { // 38/256: about 15 % non-zero
			v[i] = float32(x>>8) / (1 << 24)
		}
	}
	return v
}

// BenchmarkPackedAdd packs batches of 250 sparse rows of 3200 values, in
// memory and in a temporary file.
func BenchmarkPackedAdd(b *testing.B) {
	rows := sparseRows(250, 3200)
	for _, dir := range []string{"", b.TempDir()} {
		name := map[bool]string{true: "memory", false: "file"}[dir == ""]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(8 * int64(len(rows)) * 4)
			for b.Loop() {
				p := &PackedFeatures{Shape: []int{3200}, Dir: dir}
				for range 8 {
					if err := p.Add(rows); err != nil {
						b.Fatal(err)
					}
				}
				if err := p.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPackedFill fills batches of 100 of packed sparse rows, in
// memory and in a temporary file, as a training step on cached features
// does.
func BenchmarkPackedFill(b *testing.B) {
	const n, w = 2000, 3200
	p := &PackedFeatures{Shape: []int{w}, Labels: make([]uint8, n), Classes: []string{"a", "b"}}
	file := &PackedFeatures{Shape: []int{w}, Labels: p.Labels, Classes: p.Classes, Dir: b.TempDir()}
	defer file.Close()
	if err := errors.Join(p.Add(sparseRows(n, w)), file.Add(sparseRows(n, w))); err != nil {
		b.Fatal(err)
	}
	f := &Features{Values: sparseRows(n, w), Shape: []int{w}, Labels: p.Labels, Classes: p.Classes}
	images, labels := make([]float32, 100*w), make([]float32, 100*2)
	idx := make([]int, 100)
	for i := range idx {
		idx[i] = (i * 37) % n
	}
	b.Run("packed", func(b *testing.B) {
		for b.Loop() {
			_ = p.FillTo(idx, images, labels)
		}
	})
	b.Run("file", func(b *testing.B) {
		src := file.Source(1) // as training reads it: no allocation per batch
		b.ReportAllocs()
		for b.Loop() {
			if err := src.FillTo(idx, images, labels); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("dense", func(b *testing.B) {
		for b.Loop() {
			_ = f.FillTo(idx, images, labels)
		}
	})
}
