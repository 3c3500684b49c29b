package cifar

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestRealData checks Load and Split on the real CIFAR-10 files against
// the published facts about them (see realDir for where they are found).
func TestRealData(t *testing.T) {
	dir := realDir(t)
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.Len() != 50000 || d.Test.Len() != 10000 {
		t.Fatalf("got %d train and %d test images, want 50000 and 10000", d.Train.Len(), d.Test.Len())
	}
	if !slices.Equal(d.Train.Classes, names10) || !slices.Equal(d.Test.Classes, names10) {
		t.Errorf("classes %v, want %v", d.Train.Classes, names10)
	}
	if got, want := d.Train.Labels[:10], []uint8{6, 9, 9, 4, 1, 1, 2, 7, 8, 3}; !slices.Equal(got, want) {
		t.Errorf("first training labels %v, want %v", got, want)
	}
	batch1 := &Set{Labels: d.Train.Labels[:10000]}
	if got, want := batch1.Counts(), []int{1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981}; !slices.Equal(got, want) {
		t.Errorf("data_batch_1 class counts %v, want %v", got, want)
	}
	for c, n := range d.Train.Counts() {
		if n+d.Test.Counts()[c] != 6000 {
			t.Errorf("class %d: %d train + %d test images, want 6000 in all", c, n, d.Test.Counts()[c])
		}
	}

	// NHWC conversion against the raw bytes of record 1234 of data_batch_3.bin.
	raw, err := os.ReadFile(filepath.Join(dir, "data_batch_3.bin"))
	if err != nil {
		t.Fatal(err)
	}
	rec := raw[1234*RecordSize:]
	img := d.Train.Image(20000 + 1234)
	for _, p := range []int{0, 1, 31, 32, 517, 1023} {
		for c := range 3 {
			if img[p*3+c] != rec[1+c*1024+p] {
				t.Fatalf("pixel %d channel %d: got %d, want %d", p, c, img[p*3+c], rec[1+c*1024+p])
			}
		}
	}
	if d.Train.Labels[21234] != rec[0] {
		t.Errorf("label of record 1234 of data_batch_3.bin: got %d, want %d", d.Train.Labels[21234], rec[0])
	}

	halves := []struct {
		desc       string
		classes    []int
		firstTrain []uint8 // first labels of the split's training set
	}{
		{"below 5", []int{0, 1, 2, 3, 4}, []uint8{4, 1, 1, 2, 3}},
		{"other 5", []int{5, 6, 7, 8, 9}, []uint8{1, 4, 4, 2, 3}},
	}
	for _, h := range halves {
		t.Run(h.desc, func(t *testing.T) {
			train, val, err := d.Split(h.classes, SplitReference, 0.2)
			if err != nil {
				t.Fatal(err)
			}
			if train.Len() != 24000 || val.Len() != 6000 {
				t.Errorf("reference split: %d/%d images, want 24000/6000", train.Len(), val.Len())
			}
			if !slices.Equal(train.Labels[:5], h.firstTrain) {
				t.Errorf("first training labels %v, want %v", train.Labels[:5], h.firstTrain)
			}
			total := train.Counts()
			for c, n := range val.Counts() {
				total[c] += n
			}
			if !slices.Equal(total, []int{6000, 6000, 6000, 6000, 6000}) {
				t.Errorf("images per class over both parts: %v, want 6000 each", total)
			}
			// The validation set ends with the last selected test image.
			last := -1
			for i, l := range d.Test.Labels {
				if slices.Contains(h.classes, int(l)) {
					last = i
				}
			}
			if string(val.Image(val.Len()-1)) != string(d.Test.Image(last)) {
				t.Error("last validation image is not the last selected test image")
			}
			train, val, err = d.Split(h.classes, SplitStandard, 0.2)
			if err != nil {
				t.Fatal(err)
			}
			if train.Len() != 25000 || val.Len() != 5000 {
				t.Errorf("standard split: %d/%d images, want 25000/5000", train.Len(), val.Len())
			}
		})
	}
}
