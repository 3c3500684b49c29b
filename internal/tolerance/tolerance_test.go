package tolerance

import (
	"math"
	"testing"
)

func TestEqual(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		desc             string
		a, b, abs, rel   float64
		wantAbs, wantRel bool
	}{
		{"equal", 1, 1, 0, 0, true, true},
		{"within abs", 1, 1.05, 0.1, 0, true, false},
		{"within rel", 1000, 1001, 0.1, 1e-3, false, true},
		{"outside both", 1, 2, 0.1, 0.1, false, false},
		{"near zero", 0, 1e-12, 1e-9, 1e-9, true, false},
		{"NaN", nan, nan, 1, 1, false, false},
		{"infinities", inf, inf, 0, 0, true, true},
		{"infinity and a number", inf, 1, 1e300, 1, false, false},
		{"tiny", 0, 1e-310, 0, 1, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := EqualWithinAbs(tt.a, tt.b, tt.abs); got != tt.wantAbs {
				t.Errorf("EqualWithinAbs(%g, %g, %g) = %v, want %v", tt.a, tt.b, tt.abs, got, tt.wantAbs)
			}
			if got := EqualWithinRel(tt.a, tt.b, tt.rel); got != tt.wantRel {
				t.Errorf("EqualWithinRel(%g, %g, %g) = %v, want %v", tt.a, tt.b, tt.rel, got, tt.wantRel)
			}
			if got, want := EqualWithinAbsOrRel(tt.a, tt.b, tt.abs, tt.rel), tt.wantAbs || tt.wantRel; got != want {
				t.Errorf("EqualWithinAbsOrRel = %v, want %v", got, want)
			}
		})
	}
}
