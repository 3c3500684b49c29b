//go:build unix

package config

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoadNamedPipe checks that a config that is a named pipe with no
// writer does not make Load wait forever.
func TestLoadNamedPipe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo.yaml")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := Load(path, nil); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "want at least one stage") {
			t.Errorf("Load = %v, want the error of an empty config", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Load waits for a writer")
	}
}
