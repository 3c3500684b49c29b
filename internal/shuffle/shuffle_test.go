package shuffle

import (
	"slices"
	"testing"
)

func TestOrder(t *testing.T) {
	o := New(50, 7)
	if got := o.Order(3, false); !slices.Equal(got, identity(50)) {
		t.Fatalf("Order without shuffle = %v, want the identity", got)
	}
	a := slices.Clone(o.Order(1, true))
	if slices.Equal(a, identity(50)) {
		t.Fatal("Order(1, true) is the identity")
	}
	sorted := slices.Sorted(slices.Values(a))
	if !slices.Equal(sorted, identity(50)) {
		t.Fatalf("Order(1, true) = %v is not a permutation", a)
	}
	b := slices.Clone(o.Order(2, true))
	if slices.Equal(a, b) {
		t.Error("epochs 1 and 2 have the same order")
	}
	if again := New(50, 7).Order(1, true); !slices.Equal(again, a) {
		t.Error("the same seed and epoch gave another order")
	}
	if other := New(50, 8).Order(1, true); slices.Equal(other, a) {
		t.Error("another seed gave the same order")
	}
}

func identity(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
