package cifar

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

var names10 = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// fakeSet returns a set with the given labels and pseudo-random pixels;
// the first byte of image i is byte(i) so tests can tell images apart.
func fakeSet(seed uint64, labels ...uint8) *Set {
	r := rand.New(rand.NewPCG(seed, 1))
	s := &Set{Images: make([]byte, len(labels)*ImageSize), Labels: append([]uint8(nil), labels...), Classes: append([]string(nil), names10...)}
	for i := range s.Images {
		s.Images[i] = byte(r.Uint32())
	}
	for i := range labels {
		s.Images[i*ImageSize] = byte(i)
	}
	return s
}

// cycle returns n labels start, start+step, … modulo 10.
func cycle(n, start, step int) []uint8 {
	l := make([]uint8, n)
	for i := range l {
		l[i] = uint8((start + i*step) % NumClasses)
	}
	return l
}

// fakeDataset returns a small dataset: nTrain training images with labels
// i mod 10 and nTest test images with labels 3i mod 10.
func fakeDataset(nTrain, nTest int) *Dataset {
	return &Dataset{Train: fakeSet(1, cycle(nTrain, 0, 1)...), Test: fakeSet(2, cycle(nTest, 0, 3)...)}
}

// saveDataset writes d to a fresh directory and returns it.
func saveDataset(t testing.TB, d *Dataset) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), DirName)
	if err := Save(dir, d); err != nil {
		t.Fatal(err)
	}
	return dir
}

// loadsAs checks that Load(dir) gives want.
func loadsAs(t *testing.T, dir string, want *Dataset) {
	t.Helper()
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := sameSet(got.Train, want.Train); d != "" {
		t.Errorf("Train: %s", d)
	}
	if d := sameSet(got.Test, want.Test); d != "" {
		t.Errorf("Test: %s", d)
	}
}

// sameSet reports the first difference between two sets, or "".
func sameSet(got, want *Set) string {
	switch {
	case got.Len() != want.Len():
		return "lengths differ"
	case string(got.Images) != string(want.Images):
		return "images differ"
	case string(got.Labels) != string(want.Labels):
		return "labels differ"
	case len(got.Classes) != len(want.Classes):
		return "class counts differ"
	}
	for i := range got.Classes {
		if got.Classes[i] != want.Classes[i] {
			return "class names differ"
		}
	}
	return ""
}

// realDir returns the directory of the real CIFAR-10 files, found as
// tfcifar finds them (Locate): $TFCIFAR_DATA, the user cache, or a
// download into it (not under -short). Without the data the test fails,
// unless -short is given, where it is skipped. (internal/cifartest.RealDir
// does the same for other packages; it cannot be imported here.)
func realDir(tb testing.TB) string {
	tb.Helper()
	dir, err := Locate(context.Background(), os.Getenv("TFCIFAR_DATA"), "", !testing.Short(), nil)
	if err != nil {
		if testing.Short() {
			tb.Skipf("real CIFAR-10 data not available (%v); skipped under -short", err)
		}
		tb.Fatalf("real CIFAR-10 data not available: %v\n(tests find it through TFCIFAR_DATA, make test DATA=DIR, or the user cache)", err)
	}
	return dir
}
