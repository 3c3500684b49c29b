package confusion

// Class is how well one class was recognised. Precision is the share of
// the examples predicted as the class that belong to it, Recall the share
// of the class's examples predicted as it, F1 their harmonic mean and
// Support the number of examples of the class. A ratio whose denominator
// is 0 (a class never predicted, a class with no examples) is 0.
type Class struct {
	Class     string  `json:"class"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// Average is the precision, recall and F1 of the classes averaged, and
// the total support.
type Average struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// Report is the classification report of a matrix: per class in the
// matrix's order, the macro average (every class counts the same, those
// without examples included) and the weighted average (each class
// weighted by its support), as scikit-learn's classification_report
// computes them with zero_division=0.
type Report struct {
	Accuracy float64 `json:"accuracy"`
	Classes  []Class `json:"per_class"`
	Macro    Average `json:"macro_avg"`
	Weighted Average `json:"weighted_avg"`
}

// Report computes the classification report of m.
func (m *Matrix) Report() Report {
	k := len(m.Classes)
	r := Report{Accuracy: m.Accuracy(), Classes: make([]Class, k)}
	predicted := make([]int, k) // column sums
	for _, row := range m.Counts {
		for j, c := range row {
			predicted[j] += c
		}
	}
	for i, name := range m.Classes {
		support := 0
		for _, c := range m.Counts[i] {
			support += c
		}
		tp := m.Counts[i][i]
		fp, fn := predicted[i]-tp, support-tp
		c := Class{
			Class:     name,
			Precision: ratio(tp, predicted[i]),
			Recall:    ratio(tp, support),
			F1:        ratio(2*tp, 2*tp+fp+fn),
			Support:   support,
		}
		r.Classes[i] = c
		r.Macro.Precision += c.Precision
		r.Macro.Recall += c.Recall
		r.Macro.F1 += c.F1
		r.Weighted.Precision += c.Precision * float64(support)
		r.Weighted.Recall += c.Recall * float64(support)
		r.Weighted.F1 += c.F1 * float64(support)
		r.Weighted.Support += support
	}
	r.Macro.Support = r.Weighted.Support
	if k > 0 {
		r.Macro.Precision /= float64(k)
		r.Macro.Recall /= float64(k)
		r.Macro.F1 /= float64(k)
	}
	if n := float64(r.Weighted.Support); n > 0 {
		r.Weighted.Precision /= n
		r.Weighted.Recall /= n
		r.Weighted.F1 /= n
	} else {
		r.Weighted = Average{}
	}
	return r
}
