package cifar

import "testing"

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
		bt.Fill(order[i : i+100])
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
