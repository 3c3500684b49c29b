package savedmodel

import "testing"

func TestScaleMatches(t *testing.T) {
	tests := []struct {
		scale, f float64
		want     bool
	}{
		{1.0 / 255, 0.00392156862745098, true},
		{1.0 / 255, 0.003921568627451, true},
		{1.0 / 255, 0.004, false},
		{1, 1, true},
		{0, 0, true},
		{0, 1.0 / 255, false},
		{1.0 / 255, 0, false},
	}
	for _, tc := range tests {
		if got := (Meta{Scale: tc.scale}).ScaleMatches(tc.f); got != tc.want {
			t.Errorf("Meta{Scale: %g}.ScaleMatches(%g) = %v, want %v", tc.scale, tc.f, got, tc.want)
		}
	}
}
