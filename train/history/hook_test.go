package history

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tfcifar/tfcifar/train"
)

func TestHookWritesOnlyOnSuccess(t *testing.T) {
	cases := []struct {
		desc  string
		err   error
		wrote bool
	}{
		{"success", nil, true},
		{"diverged", train.ErrDiverged, false},
		{"interrupted", &train.Interrupted{Epoch: 2, Epochs: 3, Err: errors.New("canceled")}, false},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			dir := t.TempDir()
			if err := Hook(dir, "base").End(train.End{History: sampleHistory(), Err: c.err}); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{JSONFile, ChartFile} {
				_, err := os.Stat(filepath.Join(dir, f))
				if c.wrote != (err == nil) {
					t.Errorf("%s: written %v, want %v", f, err == nil, c.wrote)
				}
			}
			if !c.wrote {
				return
			}
			h, err := train.ReadHistory(filepath.Join(dir, JSONFile))
			if err != nil {
				t.Fatal(err)
			}
			if h.Stage != "base" || len(h.Epochs) != 3 {
				t.Errorf("history of stage %q with %d epochs, want base and 3", h.Stage, len(h.Epochs))
			}
		})
	}
}
