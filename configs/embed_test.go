package configs

import (
	"bytes"
	"testing"
)

// TestFilesAreCopies checks that a caller changing the bytes it got does
// not change the shipped config files.
func TestFilesAreCopies(t *testing.T) {
	for name, get := range map[string]func() []byte{"transfer.yaml": Transfer, "reference.yaml": Reference, "folder-transfer.yaml": FolderTransfer} {
		want := get()
		if len(want) == 0 {
			t.Fatalf("%s: empty", name)
		}
		b := get()
		clear(b)
		if got := get(); !bytes.Equal(got, want) {
			t.Errorf("%s: changed by a caller's edit of an earlier result", name)
		}
	}
}
