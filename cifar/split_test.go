package cifar

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// ids returns the marker byte (first pixel byte) of every image of s.
func ids(s *Set) []byte {
	out := make([]byte, s.Len())
	for i := range out {
		out[i] = s.Image(i)[0]
	}
	return out
}

func TestSplit(t *testing.T) {
	// Train labels 0,5,1,6,2,7,3; test labels 7,3,5,9. Test images are marked 100+i.
	d := &Dataset{Train: fakeSet(1, 0, 5, 1, 6, 2, 7, 3), Test: fakeSet(2, 7, 3, 5, 9)}
	for i := range d.Test.Len() {
		d.Test.Image(i)[0] = byte(100 + i)
	}
	tests := []struct {
		desc               string
		classes            []int
		kind               SplitKind
		frac               float64
		trainIDs, trainLab []byte
		valIDs, valLab     []byte
		names              []string
	}{
		{"reference, cut inside the training images", []int{5, 6, 7}, SplitReference, 0.5,
			[]byte{1, 3}, []byte{0, 1}, []byte{5, 100, 102}, []byte{2, 2, 0}, []string{"dog", "frog", "horse"}},
		{"reference, cut inside the test images", []int{5, 6, 7}, SplitReference, 0.2,
			[]byte{1, 3, 5, 100}, []byte{0, 1, 2, 2}, []byte{102}, []byte{0}, []string{"dog", "frog", "horse"}},
		{"reference, order of classes sets labels", []int{7, 0}, SplitReference, 0.25,
			[]byte{0, 5}, []byte{1, 0}, []byte{100}, []byte{0}, []string{"horse", "airplane"}},
		{"reference, no validation", []int{3, 9}, SplitReference, 0,
			[]byte{6, 101, 103}, []byte{0, 0, 1}, nil, nil, []string{"cat", "truck"}},
		{"standard ignores the fraction", []int{3, 5, 7}, SplitStandard, 0.9,
			[]byte{1, 5, 6}, []byte{1, 2, 0}, []byte{100, 101, 102}, []byte{2, 0, 1}, []string{"cat", "dog", "horse"}},
		{"standard, class only in training", []int{1}, SplitStandard, 0,
			[]byte{2}, []byte{0}, nil, nil, []string{"automobile"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			train, val, err := d.Split(tc.classes, tc.kind, tc.frac)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, s *Set, ids_, labels []byte) {
				if got := ids(s); string(got) != string(ids_) {
					t.Errorf("%s images: got %v, want %v", what, got, ids_)
				}
				if string(s.Labels) != string(labels) {
					t.Errorf("%s labels: got %v, want %v", what, s.Labels, labels)
				}
				if strings.Join(s.Classes, ",") != strings.Join(tc.names, ",") {
					t.Errorf("%s classes: got %v, want %v", what, s.Classes, tc.names)
				}
			}
			check("train", train, tc.trainIDs, tc.trainLab)
			check("val", val, tc.valIDs, tc.valLab)
		})
	}
}

// TestSplitCopies checks that split sets own their memory and match the
// source images byte for byte.
func TestSplitCopies(t *testing.T) {
	d := fakeDataset(40, 20)
	train, val, err := d.Split([]int{2, 4, 6}, SplitReference, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	var want []int // source index, test images offset by 1000
	for i, l := range d.Train.Labels {
		if l == 2 || l == 4 || l == 6 {
			want = append(want, i)
		}
	}
	for i, l := range d.Test.Labels {
		if l == 2 || l == 4 || l == 6 {
			want = append(want, 1000+i)
		}
	}
	cut := int(math.Floor(float64(len(want)) * 0.7))
	if train.Len() != cut || val.Len() != len(want)-cut {
		t.Fatalf("got %d/%d images, want %d/%d", train.Len(), val.Len(), cut, len(want)-cut)
	}
	for k, src := range want {
		s, i := train, k
		if k >= cut {
			s, i = val, k-cut
		}
		from := d.Train
		if src >= 1000 {
			from, src = d.Test, src-1000
		}
		if string(s.Image(i)) != string(from.Image(src)) {
			t.Fatalf("image %d differs from its source", k)
		}
	}
	train.Images[0]++
	if train.Images[0] == d.Train.Images[2*ImageSize] {
		t.Error("split shares memory with the dataset")
	}
}

func TestSplitErrors(t *testing.T) {
	d := fakeDataset(10, 3)
	tests := []struct {
		desc    string
		d       *Dataset
		classes []int
		kind    SplitKind
		frac    float64
		reason  string
	}{
		{"nil dataset", nil, []int{0}, SplitStandard, 0, "needs both Train and Test"},
		{"missing test set", &Dataset{Train: d.Train}, []int{0}, SplitStandard, 0, "needs both"},
		{"no classes", d, nil, SplitReference, 0.2, "no classes selected"},
		{"class 10", d, []int{0, 10}, SplitReference, 0.2, "class 10 (position 1) outside 0-9"},
		{"negative class", d, []int{-1}, SplitReference, 0.2, "class -1"},
		{"class listed twice", d, []int{3, 4, 3}, SplitReference, 0.2, "class 3 listed twice"},
		{"unknown kind", d, []int{0}, "random", 0.2, `kind "random"`},
		{"fraction 1", d, []int{0}, SplitReference, 1, "fraction 1 outside [0, 1)"},
		{"negative fraction", d, []int{0}, SplitReference, -0.1, "outside [0, 1)"},
		{"NaN fraction", d, []int{0}, SplitReference, math.NaN(), "outside [0, 1)"},
		{"nothing left to train", d, []int{0}, SplitReference, 0.9, "leaves no training images"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, _, err := tc.d.Split(tc.classes, tc.kind, tc.frac)
			if err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("got %v, want an error containing %q", err, tc.reason)
			}
		})
	}
}

func ExampleDataset_Split() {
	d := fakeDataset(100, 50)
	train, val, err := d.Split([]int{5, 6, 7, 8, 9}, SplitReference, 0.2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d %d %v %v\n", train.Len(), val.Len(), train.Classes, train.Labels[:5])
	// Output: 60 15 [dog frog horse ship truck] [0 1 2 3 4]
}
