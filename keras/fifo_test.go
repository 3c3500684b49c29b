package keras

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tfcifar/tfcifar/keras/h5"
)

// TestReadRefusesPipes checks that a named pipe given as a model or a
// weights file is refused at once instead of blocking until a writer comes.
func TestReadRefusesPipes(t *testing.T) {
	pipe := filepath.Join(t.TempDir(), "m.keras")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, read := range map[string]func() error{
		"Read":    func() error { _, err := Read(pipe); return err },
		"h5.Open": func() error { _, err := h5.Open(pipe); return err },
	} {
		done := make(chan error, 1)
		go func() { done <- read() }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s(pipe): %v, want an error saying it is not a regular file", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s(pipe) blocks", name)
		}
	}
}
