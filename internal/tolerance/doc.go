// Package tolerance compares floats in tests, with the tolerance named at
// the call (after gonum's floats/scalar): every float comparison of the
// tests goes through it.
package tolerance
