package graph

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tfcifar/tfcifar/internal/textfmt"
)

// Summary writes a table like Keras' model.summary(): per layer its name
// and type, output shape (None for the batch), parameter count and whether
// it is trainable; then the total, trainable and non-trainable counts.
func (m *Model) Summary(w io.Writer) error {
	const rule = "─────────────────────────────────────────────────────────────────────────────"
	var b strings.Builder
	row := func(a, s, p, t string) {
		b.WriteString(strings.TrimRight(fmt.Sprintf("%-32s %-22s %11s  %s", a, s, p, t), " ") + "\n")
	}
	b.WriteString(rule + "\n")
	row("Layer (type)", "Output Shape", "Param #", "Trainable")
	b.WriteString(strings.ReplaceAll(rule, "─", "═") + "\n")
	for _, l := range m.Layers {
		t := "Y"
		if !l.Trainable {
			t = "N"
		}
		if l.Params == 0 {
			t = "-"
		}
		row(fmt.Sprintf("%s (%s)", l.Name, l.Type.Keras()), shape(l.OutputShape), textfmt.Thousands(l.Params), t)
	}
	b.WriteString(strings.ReplaceAll(rule, "─", "═") + "\n")
	total, trainable := m.Params()
	fmt.Fprintf(&b, "Total params: %s\nTrainable params: %s\nNon-trainable params: %s\n",
		textfmt.Thousands(total), textfmt.Thousands(trainable), textfmt.Thousands(total-trainable))
	b.WriteString(rule + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Params returns the total and trainable parameter counts.
func (m *Model) Params() (total, trainable int64) {
	for _, v := range m.Variables {
		total += v.Size()
		if v.Trainable {
			trainable += v.Size()
		}
	}
	return total, trainable
}

func shape(s []int64) string {
	parts := []string{"None"}
	for _, d := range s {
		parts = append(parts, strconv.FormatInt(d, 10))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
