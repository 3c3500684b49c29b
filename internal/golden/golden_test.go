package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records failures instead of stopping.
type recorder struct {
	testing.TB
	msgs  []string
	fatal bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

// Fatalf records the message; callers return right after it, as Want does.
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = true
	r.Errorf(format, args...)
}

func (r *recorder) Fatal(args ...any) {
	r.fatal = true
	r.msgs = append(r.msgs, fmt.Sprint(args...))
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.golden.txt")
	if err := os.WriteFile(path, []byte("line 1\nline 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		path string
		got  string
		want string // substring of the failure, "" for a pass
	}{
		{"same bytes pass", path, "line 1\nline 2\n", ""},
		{"a changed line fails", path, "line 1\nline 3\n", "output differs from " + path},
		{"a missing newline fails", path, "line 1\nline 2", "run go test -update after checking it"},
		{"a missing file fails", filepath.Join(dir, "none.golden.txt"), "x", "run go test -update to create it"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := &recorder{TB: t}
			Check(r, tc.path, []byte(tc.got))
			msg := strings.Join(r.msgs, "\n")
			switch {
			case tc.want == "" && msg != "":
				t.Errorf("got failure %q, want a pass", msg)
			case tc.want != "" && !strings.Contains(msg, tc.want):
				t.Errorf("got failure %q, want one containing %q", msg, tc.want)
			}
		})
	}
}

func TestUpdateRewrites(t *testing.T) {
	defer func(old bool) { *update = old }(*update)
	*update = true
	path := filepath.Join(t.TempDir(), "testdata", "new.golden.txt")
	r := &recorder{TB: t}
	Check(r, path, []byte("fresh\n"))
	if len(r.msgs) != 0 {
		t.Fatalf("Check under -update failed: %v", r.msgs)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "fresh\n" {
		t.Errorf("golden file holds %q (%v), want %q", b, err, "fresh\n")
	}
}
