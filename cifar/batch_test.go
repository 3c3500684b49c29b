package cifar

import (
	"slices"
	"testing"

	"github.com/tfcifar/tfcifar/internal/tolerance"
)

func TestBatcherSteps(t *testing.T) {
	tests := []struct {
		desc        string
		n, size     int
		steps, last int
	}{
		{"exact multiple", 20, 5, 4, 5},
		{"partial last batch kept", 23, 5, 5, 3},
		{"batch larger than set", 3, 100, 1, 3},
		{"batch of one", 4, 1, 4, 1},
		{"empty set", 0, 10, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			b := NewBatcher(fakeSet(1, cycle(tc.n, 0, 1)...), tc.size, 0, 1)
			if got := b.Steps(); got != tc.steps {
				t.Errorf("Steps: got %d, want %d", got, tc.steps)
			}
			var sizes []int
			for batch := range b.Epoch(0, true) {
				sizes = append(sizes, batch.N)
			}
			if len(sizes) != tc.steps || (tc.steps > 0 && sizes[len(sizes)-1] != tc.last) {
				t.Errorf("batch sizes %v, want %d batches, the last of %d", sizes, tc.steps, tc.last)
			}
		})
	}
}

func TestBatcherValues(t *testing.T) {
	s := fakeSet(4, 3, 0, 4, 4, 1, 2, 0)
	s.Classes = s.Classes[:5]
	tests := []struct {
		desc  string
		scale float32
		want  func(p byte) float32
	}{
		{"raw pixels by default", 0, func(p byte) float32 { return float32(p) }},
		{"scaled to [0,1]", 1.0 / 255, func(p byte) float32 { return float32(p) * (1.0 / 255) }},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			b := NewBatcher(s, 3, tc.scale, 9)
			if b.Classes() != 5 {
				t.Fatalf("Classes: got %d, want 5", b.Classes())
			}
			next := 0
			for batch := range b.Epoch(0, false) {
				if len(batch.Images) != batch.N*ImageSize || len(batch.Labels) != batch.N*5 {
					t.Fatalf("batch of %d: %d image values, %d label values", batch.N, len(batch.Images), len(batch.Labels))
				}
				for i := range batch.N {
					img := s.Image(next)
					for p := range img {
						if got, want := batch.Images[i*ImageSize+p], tc.want(img[p]); !tolerance.EqualWithinAbs(float64(got), float64(want), 1e-6) {
							t.Fatalf("image %d value %d: got %g, want %g", next, p, got, want)
						}
					}
					for c := range 5 {
						want := float32(0)
						if c == int(s.Labels[next]) {
							want = 1
						}
						if got := batch.Labels[i*5+c]; got != want {
							t.Fatalf("image %d (label %d) one-hot column %d: got %g, want %g", next, s.Labels[next], c, got, want)
						}
					}
					next++
				}
			}
			if next != s.Len() {
				t.Errorf("epoch covered %d images, want %d", next, s.Len())
			}
		})
	}
}

// epochIDs returns the marker bytes of the images of one epoch, in order.
func epochIDs(b *Batcher, epoch int, shuffle bool) []byte {
	var out []byte
	for batch := range b.Epoch(epoch, shuffle) {
		for i := range batch.N {
			out = append(out, byte(batch.Images[i*ImageSize]))
		}
	}
	return out
}

func TestBatcherShuffle(t *testing.T) {
	s := fakeSet(5, cycle(200, 0, 1)...)
	b := NewBatcher(s, 32, 0, 42)
	e1 := epochIDs(b, 1, true)
	e2 := epochIDs(b, 2, true)
	again := epochIDs(NewBatcher(s, 32, 0, 42), 1, true) // fresh batcher, epoch 1 first
	otherSeed := epochIDs(NewBatcher(s, 32, 0, 43), 1, true)
	if want := epochIDs(b, 1, true); !slices.Equal(e1, want) || !slices.Equal(e1, again) {
		t.Error("epoch 1 order is not reproducible from (seed, epoch)")
	}
	if slices.Equal(e1, e2) {
		t.Error("epochs 1 and 2 have the same order")
	}
	if slices.Equal(e1, otherSeed) {
		t.Error("seeds 42 and 43 give the same order")
	}
	want := make([]byte, 200)
	for i := range want {
		want[i] = byte(i)
	}
	if plain := epochIDs(b, 1, false); !slices.Equal(plain, want) {
		t.Errorf("unshuffled epoch out of order: %v", plain)
	}
	if slices.Equal(e1, want) {
		t.Error("shuffled epoch is in file order")
	}
	sorted := slices.Clone(e1)
	slices.Sort(sorted)
	if !slices.Equal(sorted, want) {
		t.Error("shuffled epoch is not a permutation of the set")
	}
}

func TestBatcherBreak(t *testing.T) {
	b := NewBatcher(fakeSet(1, cycle(50, 0, 1)...), 10, 0, 1)
	n := 0
	for range b.Epoch(0, true) {
		if n++; n == 2 {
			break
		}
	}
	if n != 2 {
		t.Errorf("got %d batches before break, want 2", n)
	}
}

func TestBatcherFill(t *testing.T) {
	s := fakeSet(6, cycle(30, 0, 1)...)
	b := NewBatcher(s, 4, 0, 1)
	batch, err := b.Fill([]int{29, 0, 7})
	if err != nil {
		t.Fatal(err)
	}
	if batch.N != 3 || byte(batch.Images[0]) != 29 || byte(batch.Images[ImageSize]) != 0 || byte(batch.Images[2*ImageSize]) != 7 {
		t.Errorf("Fill(29, 0, 7): got N %d and markers %v, %v, %v", batch.N, batch.Images[0], batch.Images[ImageSize], batch.Images[2*ImageSize])
	}
	if batch.Labels[9] != 1 || batch.Labels[10] != 1 || batch.Labels[27] != 1 {
		t.Errorf("one-hot labels wrong: %v", batch.Labels)
	}
	defer func() {
		if recover() == nil {
			t.Error("Fill of 5 indices into a batch of 4 did not panic")
		}
	}()
	_, _ = b.Fill([]int{0, 1, 2, 3, 4})
}

func TestBatcherAllocs(t *testing.T) {
	s := fakeSet(7, cycle(1000, 0, 1)...)
	b := NewBatcher(s, 100, 0, 1)
	idx := b.Order(3, true)[:100]
	if a := testing.AllocsPerRun(20, func() { _, _ = b.Fill(idx) }); a != 0 {
		t.Errorf("Fill: %v allocations per batch, want 0", a)
	}
	// A whole epoch of 10 batches may allocate a constant few (the iterator
	// closure), never per batch.
	if a := testing.AllocsPerRun(5, func() {
		for range b.Epoch(1, true) {
		}
	}); a > 3 {
		t.Errorf("Epoch: %v allocations per epoch of 10 batches, want at most 3", a)
	}
}

func TestNewBatcherPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewBatcher with batch size 0 did not panic")
		}
	}()
	NewBatcher(&Set{}, 0, 0, 1)
}
