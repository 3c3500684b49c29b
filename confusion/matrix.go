package confusion

import (
	"fmt"
	"slices"
)

// Matrix counts classifications: Counts[i][j] is the number of examples
// of true class i that were predicted as class j (rows true, columns
// predicted), both indices into Classes.
type Matrix struct {
	Classes []string
	Counts  [][]int
}

// New returns an empty matrix of the classes (a copy of the slice is
// kept).
func New(classes []string) *Matrix {
	m := &Matrix{Classes: slices.Clone(classes), Counts: make([][]int, len(classes))}
	for i := range m.Counts {
		m.Counts[i] = make([]int, len(classes))
	}
	return m
}

// Add counts one example of true class truth predicted as predicted. It
// panics when either is not an index into m.Classes: callers check
// class ids read from a model before they count them.
func (m *Matrix) Add(truth, predicted int) {
	k := len(m.Classes)
	if truth < 0 || truth >= k || predicted < 0 || predicted >= k {
		panic(fmt.Sprintf("confusion: Add(%d, %d) outside the %d classes", truth, predicted, k))
	}
	m.Counts[truth][predicted]++
}

// Total is the number of examples counted.
func (m *Matrix) Total() int {
	n := 0
	for _, row := range m.Counts {
		for _, c := range row {
			n += c
		}
	}
	return n
}

// Correct is the number of examples predicted as their true class (the
// diagonal's sum).
func (m *Matrix) Correct() int {
	n := 0
	for i := range m.Counts {
		n += m.Counts[i][i]
	}
	return n
}

// Accuracy is Correct over Total (0 for an empty matrix).
func (m *Matrix) Accuracy() float64 { return ratio(m.Correct(), m.Total()) }

// Check reports whether m is well formed: one row and one column per
// class and no negative count. A matrix read from a file or decoded from
// JSON is checked before use; New's always is.
func (m *Matrix) Check() error {
	k := len(m.Classes)
	if len(m.Counts) != k {
		return fmt.Errorf("confusion: %d rows for %d classes", len(m.Counts), k)
	}
	for i, row := range m.Counts {
		if len(row) != k {
			return fmt.Errorf("confusion: row %d (%s) has %d columns, want %d", i, m.Classes[i], len(row), k)
		}
		for j, c := range row {
			if c < 0 {
				return fmt.Errorf("confusion: count [%d][%d] is %d, want at least 0", i, j, c)
			}
		}
	}
	return nil
}

// ratio is a/b, or 0 when b is 0.
func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
