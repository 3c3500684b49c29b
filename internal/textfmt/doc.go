// Package textfmt formats numbers for the tables tfcifar prints and
// writes (model summaries, run reports).
package textfmt
