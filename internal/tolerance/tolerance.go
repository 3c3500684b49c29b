package tolerance

import "math"

// minNormal is the smallest normal float64.
const minNormal = 0x1p-1022

// EqualWithinAbs reports whether a and b are equal or differ by at most
// tol. NaN equals nothing.
func EqualWithinAbs(a, b, tol float64) bool {
	return a == b || math.Abs(a-b) <= tol
}

// EqualWithinRel reports whether a and b are equal or differ by at most
// tol times the larger of their magnitudes. NaN equals nothing.
func EqualWithinRel(a, b, tol float64) bool {
	if a == b {
		return true
	}
	d := math.Abs(a - b)
	if d <= minNormal {
		return d <= tol*minNormal
	}
	return d/math.Max(math.Abs(a), math.Abs(b)) <= tol
}

// EqualWithinAbsOrRel reports whether a and b are equal within the
// absolute tolerance abs or the relative tolerance rel: abs serves values
// near zero, rel large ones.
func EqualWithinAbsOrRel(a, b, abs, rel float64) bool {
	return EqualWithinAbs(a, b, abs) || EqualWithinRel(a, b, rel)
}
