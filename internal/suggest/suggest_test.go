package suggest

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "ab", 2}, {"eval", "eval", 0},
		{"evl", "eval", 1}, {"trian", "train", 2}, {"kitten", "sitting", 3},
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestClosest(t *testing.T) {
	names := []string{"eval", "predict", "preview", "version", "help"}
	for _, c := range []struct{ word, want string }{
		{"evl", "eval"},
		{"EVAL", "eval"},
		{"Eval", "eval"},
		{"eval", "eval"},
		{"predcit", "predict"},
		{"versoin", "version"},
		{"train", ""},
		{"", ""},
		{"prevew", "preview"},
		{"frobnicate", ""},
		{"x", ""},
		{strings.Repeat("a", 300), ""},
	} {
		if got := Closest(c.word, names, nil); got != c.want {
			t.Errorf("Closest(%.20q) = %q, want %q", c.word, got, c.want)
		}
	}
	keys := []string{"stages.0.train.epochs", "stages.0.train.batch_size"}
	last := func(n string) string { return n[strings.LastIndex(n, ".")+1:] }
	if got := Closest("batchsize", keys, last); got != keys[1] {
		t.Errorf("Closest by key = %q, want %q", got, keys[1])
	}
}
