package confusion

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/internal/golden"
	"github.com/tfcifar/tfcifar/internal/tolerance"
)

// fromCounts returns the matrix of classes a, b, c... with counts rows.
func fromCounts(t *testing.T, rows [][]int) *Matrix {
	t.Helper()
	names := []string{"a", "b", "c", "d"}[:len(rows)]
	m := New(names)
	for i, row := range rows {
		for j, n := range row {
			for range n {
				m.Add(i, j)
			}
		}
	}
	return m
}

// The expected values below were worked out by hand from the counts, as
// fractions: precision tp / column sum, recall tp / row sum, F1
// 2tp / (2tp + fp + fn), 0 where the denominator is 0.
func TestReport(t *testing.T) {
	tests := []struct {
		desc     string
		counts   [][]int
		accuracy float64
		classes  []Class // names filled in from a, b, c
		macro    Average
		weighted Average
	}{
		{
			desc:     "three classes, all predicted",
			counts:   [][]int{{5, 1, 0}, {2, 3, 1}, {0, 0, 4}},
			accuracy: 12.0 / 16,
			classes: []Class{
				{Precision: 5.0 / 7, Recall: 5.0 / 6, F1: 10.0 / 13, Support: 6},
				{Precision: 3.0 / 4, Recall: 3.0 / 6, F1: 6.0 / 10, Support: 6},
				{Precision: 4.0 / 5, Recall: 1, F1: 8.0 / 9, Support: 4},
			},
			macro: Average{
				Precision: (5.0/7 + 3.0/4 + 4.0/5) / 3, Recall: (5.0/6 + 3.0/6 + 1) / 3,
				F1: (10.0/13 + 6.0/10 + 8.0/9) / 3, Support: 16,
			},
			weighted: Average{
				Precision: (6*5.0/7 + 6*3.0/4 + 4*4.0/5) / 16, Recall: 12.0 / 16,
				F1: (6*10.0/13 + 6*6.0/10 + 4*8.0/9) / 16, Support: 16,
			},
		},
		{
			desc:     "a class never predicted",
			counts:   [][]int{{3, 0, 1}, {2, 0, 0}, {0, 0, 2}},
			accuracy: 5.0 / 8,
			classes: []Class{
				{Precision: 3.0 / 5, Recall: 3.0 / 4, F1: 6.0 / 9, Support: 4},
				{Precision: 0, Recall: 0, F1: 0, Support: 2},
				{Precision: 2.0 / 3, Recall: 1, F1: 4.0 / 5, Support: 2},
			},
			macro: Average{
				Precision: (3.0/5 + 2.0/3) / 3, Recall: (3.0/4 + 1) / 3, F1: (6.0/9 + 4.0/5) / 3, Support: 8,
			},
			weighted: Average{
				Precision: (4*3.0/5 + 2*2.0/3) / 8, Recall: 5.0 / 8, F1: (4*6.0/9 + 2*4.0/5) / 8, Support: 8,
			},
		},
		{
			desc:     "a class with no examples, predicted once",
			counts:   [][]int{{2, 0, 1}, {0, 3, 0}, {0, 0, 0}},
			accuracy: 5.0 / 6,
			classes: []Class{
				{Precision: 1, Recall: 2.0 / 3, F1: 4.0 / 5, Support: 3},
				{Precision: 1, Recall: 1, F1: 1, Support: 3},
				{Precision: 0, Recall: 0, F1: 0, Support: 0},
			},
			// The macro average counts the class without examples.
			macro:    Average{Precision: 2.0 / 3, Recall: (2.0/3 + 1) / 3, F1: (4.0/5 + 1) / 3, Support: 6},
			weighted: Average{Precision: 1, Recall: 5.0 / 6, F1: (3*4.0/5 + 3) / 6, Support: 6},
		},
		{
			desc:     "perfect",
			counts:   [][]int{{2, 0}, {0, 7}},
			accuracy: 1,
			classes:  []Class{{Precision: 1, Recall: 1, F1: 1, Support: 2}, {Precision: 1, Recall: 1, F1: 1, Support: 7}},
			macro:    Average{Precision: 1, Recall: 1, F1: 1, Support: 9},
			weighted: Average{Precision: 1, Recall: 1, F1: 1, Support: 9},
		},
		{
			desc:     "empty",
			counts:   [][]int{{0, 0}, {0, 0}},
			accuracy: 0,
			classes:  []Class{{}, {}},
		},
	}
	const tol = 1e-12
	near := func(a, b float64) bool { return tolerance.EqualWithinAbs(a, b, tol) }
	sameAvg := func(got, want Average) bool {
		return near(got.Precision, want.Precision) && near(got.Recall, want.Recall) && near(got.F1, want.F1) && got.Support == want.Support
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			m := fromCounts(t, tc.counts)
			r := m.Report()
			if !near(r.Accuracy, tc.accuracy) || !near(m.Accuracy(), tc.accuracy) {
				t.Errorf("accuracy %v (matrix %v), want %v", r.Accuracy, m.Accuracy(), tc.accuracy)
			}
			if len(r.Classes) != len(tc.classes) {
				t.Fatalf("%d classes, want %d", len(r.Classes), len(tc.classes))
			}
			for i, want := range tc.classes {
				want.Class = m.Classes[i]
				got := r.Classes[i]
				if got.Class != want.Class || !sameAvg(Average(got.metrics()), Average(want.metrics())) {
					t.Errorf("class %d: got %+v, want %+v", i, got, want)
				}
			}
			if !sameAvg(r.Macro, tc.macro) {
				t.Errorf("macro avg %+v, want %+v", r.Macro, tc.macro)
			}
			if !sameAvg(r.Weighted, tc.weighted) {
				t.Errorf("weighted avg %+v, want %+v", r.Weighted, tc.weighted)
			}
		})
	}
}

// metrics drops the name, for comparing as an Average.
func (c Class) metrics() Average {
	return Average{Precision: c.Precision, Recall: c.Recall, F1: c.F1, Support: c.Support}
}

func TestCounts(t *testing.T) {
	m := fromCounts(t, [][]int{{5, 1, 0}, {2, 3, 1}, {0, 0, 4}})
	if m.Total() != 16 || m.Correct() != 12 {
		t.Errorf("total %d, correct %d; want 16 and 12", m.Total(), m.Correct())
	}
	if m.Counts[1][0] != 2 || m.Counts[0][1] != 1 {
		t.Errorf("counts %v: want row 1 (true b) column 0 (predicted a) = 2", m.Counts)
	}
	names := []string{"x", "y"}
	n := New(names)
	names[0] = "changed"
	if n.Classes[0] != "x" {
		t.Error("New keeps the caller's slice of names")
	}
}

func TestAddOutsidePanics(t *testing.T) {
	for _, c := range [][2]int{{-1, 0}, {0, 2}, {2, 0}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Add(%d, %d) on 2 classes did not panic", c[0], c[1])
				}
			}()
			New([]string{"a", "b"}).Add(c[0], c[1])
		}()
	}
}

func TestCheck(t *testing.T) {
	bad := []struct {
		desc string
		m    Matrix
		want string
	}{
		{"missing row", Matrix{Classes: []string{"a", "b"}, Counts: [][]int{{1, 2}}}, "1 rows for 2 classes"},
		{"short row", Matrix{Classes: []string{"a", "b"}, Counts: [][]int{{1, 2}, {3}}}, "row 1 (b) has 1 columns, want 2"},
		{"negative", Matrix{Classes: []string{"a"}, Counts: [][]int{{-1}}}, "count [0][0] is -1"},
	}
	for _, tc := range bad {
		if err := tc.m.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want one containing %q", tc.desc, err, tc.want)
		}
	}
	if err := New([]string{"a", "b"}).Check(); err != nil {
		t.Errorf("new matrix: %v", err)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name  string
		width int
		want  string
	}{
		{"cat", 10, "cat"},
		{"automobile", 10, "automobile"},
		{"automobiles", 10, "automobil…"},
		{"éléphant de mer", 8, "éléphan…"},
		{"ab", 1, "…"},
	}
	for _, tc := range tests {
		if got := Truncate(tc.name, tc.width); got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.name, tc.width, got, tc.want)
		}
	}
}

// longNames is a matrix whose class names are longer than the tables'
// widths, one of them not ASCII.
func longNames(t *testing.T) *Matrix {
	t.Helper()
	m := fromCounts(t, [][]int{{5, 1, 0}, {2, 3, 1}, {0, 0, 1004}})
	m.Classes = []string{"airplane", "a very long class name indeed", "éléphant de mer"}
	return m
}

func TestWriteText(t *testing.T) {
	m := longNames(t)
	var b bytes.Buffer
	if err := m.Report().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\n")
	if err := m.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "long_names.golden.txt"), b.Bytes())
	// Every line of each table has the same width in characters.
	for _, table := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n\n") {
		lines := strings.Split(table, "\n")
		for _, l := range lines {
			if w, w0 := len([]rune(l)), len([]rune(lines[0])); w != w0 && l != "" {
				t.Errorf("line %q is %d characters wide, the table's first %d", l, w, w0)
			}
		}
	}
}

// TestPNGSize checks the image's side: 700 pixels up to eight classes, 70
// more per class beyond, at most 2400.
func TestPNGSize(t *testing.T) {
	for k, want := range map[int]int{1: 700, 10: 840, 100: 2400} {
		path := filepath.Join(t.TempDir(), "c.png")
		if err := New(make([]string, k)).WritePNG(path, ""); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width != want || cfg.Height != want {
			t.Errorf("%d classes: %d x %d (%v), want %d x %d", k, cfg.Width, cfg.Height, err, want, want)
		}
	}
}

func TestWritePNG(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "confusion.png")
	m := longNames(t)
	if err := m.WritePNG(path, "base on test"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 700 || b.Dy() != 700 {
		t.Errorf("image %v, want 700 x 700 for 3 classes", b)
	}
	// Cells are shaded by their share of the row: c predicted as c holds
	// 1004 of 1004, a predicted as a 5 of 6.
	if !hasColor(img, shade(1)) || !hasColor(img, shade(5.0/6)) {
		t.Error("the heatmap lacks the shades of the cells with shares 1 and 5/6")
	}

	bad := []struct {
		desc string
		m    *Matrix
		want string
	}{
		{"no classes", New(nil), "0 classes"},
		{"too many classes", New(make([]string, MaxPlotClasses+1)), "101 classes"},
		{"malformed", &Matrix{Classes: []string{"a"}, Counts: nil}, "0 rows for 1 classes"},
	}
	for _, tc := range bad {
		p := filepath.Join(dir, "bad.png")
		if err := tc.m.WritePNG(p, ""); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want one containing %q", tc.desc, err, tc.want)
		}
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: a refused plot left %s (stat: %v)", tc.desc, p, err)
		}
	}
}

// hasColor reports whether some pixel of img is c.
func hasColor(img image.Image, c interface{ RGBA() (r, g, b, a uint32) }) bool {
	r0, g0, b0, _ := c.RGBA()
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if r == r0 && g == g0 && b == b0 {
				return true
			}
		}
	}
	return false
}
