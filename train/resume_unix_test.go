//go:build unix

package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestResumeRefusesFIFOState checks that a state.json that is a named pipe
// makes a resume fail at once, naming the file, instead of blocking on it.
func TestResumeRefusesFIFOState(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := fitTiny(t, &stopAfter{Context: context.Background(), n: 3}, dir, 1, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}
	path := filepath.Join(CheckpointDir(dir), stateFile)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	opt := testOptions()
	opt.Dir, opt.Resume = dir, true
	g, s := newGraph()
	m := tiny{k: 3, seed: 4}.build(t, s)
	done := make(chan error, 1)
	go func() {
		tr, err := New(g, m, resumeCfg(1), opt)
		if err == nil {
			_ = tr.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("error %v, want one naming %s as not a regular file", err, path)
		}
	case <-time.After(30 * time.Second):
		// Unblock the reader so the test process can end.
		if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			_ = f.Close()
		}
		t.Fatal("resume blocked on a named pipe state.json")
	}
}
