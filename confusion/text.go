package confusion

import (
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Widths of class names in the text tables: longer names are cut to
// this many characters, the last one an ellipsis, so that the columns
// stay aligned.
const (
	ReportNameWidth = 20 // the classification report's first column
	MatrixNameWidth = 10 // the confusion matrix's row and column labels
)

// Truncate returns name cut to at most width characters (runes), the
// last one "…" when it was cut. width must be at least 1.
func Truncate(name string, width int) string {
	if utf8.RuneCountInString(name) <= width {
		return name
	}
	r := []rune(name)
	return string(r[:width-1]) + "…"
}

// pad returns s (at most width runes) padded with spaces to width runes,
// on the left when right is set (right-aligned), else on the right.
func pad(s string, width int, right bool) string {
	fill := strings.Repeat(" ", max(0, width-utf8.RuneCountInString(s)))
	if right {
		return fill + s
	}
	return s + fill
}

// WriteText writes r as a table in the layout of scikit-learn's
// classification_report: one row per class (names cut to
// ReportNameWidth) with precision, recall, F1 and support, then the
// accuracy and the macro and weighted averages. Ratios have four
// decimals.
func (r Report) WriteText(w io.Writer) error {
	nameW := len("weighted avg")
	for _, c := range r.Classes {
		nameW = max(nameW, utf8.RuneCountInString(Truncate(c.Class, ReportNameWidth)))
	}
	supW := max(len("support"), len(strconv.Itoa(r.Weighted.Support)))
	const numW = 9 // "precision"
	var b strings.Builder
	row := func(name string, cells ...string) {
		b.WriteString(pad(name, nameW, false))
		for i, c := range cells {
			width := numW
			if i == len(cells)-1 {
				width = supW
			}
			b.WriteString("  " + pad(c, width, true))
		}
		b.WriteString("\n")
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	row("", "precision", "recall", "f1-score", "support")
	for _, c := range r.Classes {
		row(Truncate(c.Class, ReportNameWidth), f(c.Precision), f(c.Recall), f(c.F1), strconv.Itoa(c.Support))
	}
	b.WriteString("\n")
	row("accuracy", "", "", f(r.Accuracy), strconv.Itoa(r.Weighted.Support))
	row("macro avg", f(r.Macro.Precision), f(r.Macro.Recall), f(r.Macro.F1), strconv.Itoa(r.Macro.Support))
	row("weighted avg", f(r.Weighted.Precision), f(r.Weighted.Recall), f(r.Weighted.F1), strconv.Itoa(r.Weighted.Support))
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteText writes m as an aligned table: a header line naming the axes,
// then one row per true class and one column per predicted class, class
// names cut to MatrixNameWidth as labels.
func (m *Matrix) WriteText(w io.Writer) error {
	labels := make([]string, len(m.Classes))
	rowW := len("true \\ predicted")
	colW := 1
	for i, c := range m.Classes {
		labels[i] = Truncate(c, MatrixNameWidth)
		rowW = max(rowW, utf8.RuneCountInString(labels[i]))
		colW = max(colW, utf8.RuneCountInString(labels[i]))
		for _, n := range m.Counts[i] {
			colW = max(colW, len(strconv.Itoa(n)))
		}
	}
	var b strings.Builder
	b.WriteString(pad("true \\ predicted", rowW, false))
	for _, l := range labels {
		b.WriteString("  " + pad(l, colW, true))
	}
	b.WriteString("\n")
	for i, l := range labels {
		b.WriteString(pad(l, rowW, false))
		for _, n := range m.Counts[i] {
			b.WriteString("  " + pad(strconv.Itoa(n), colW, true))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
