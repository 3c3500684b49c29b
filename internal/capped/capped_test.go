package capped

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := ReadFile(small, 5)
	if err != nil || string(b) != "12345" {
		t.Errorf("ReadFile at the limit = %q, %v; want the content", b, err)
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 2048), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc, name string
		limit      int64
		want       string
	}{
		{"larger than the limit", big, 1024, "big is larger than the 1 KiB limit"},
		{"device", "/dev/zero", 1 << 20, "/dev/zero is not a regular file"},
		{"directory", dir, 1 << 20, "is not a regular file"},
		{"missing", filepath.Join(dir, "none"), 10, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := ReadFile(tc.name, tc.limit)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestReadStream(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadStream(path, 1<<20, "config files"); err != nil || len(b) != 1<<20 {
		t.Errorf("ReadStream of a file at the cap: %d bytes, %v", len(b), err)
	}
	if err := os.Truncate(path, 1<<40); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadStream(path, 1<<20, "config files"); err == nil || !strings.Contains(err.Error(), path+": larger than 1 MiB, the cap for config files") {
		t.Errorf("ReadStream of a sparse 1 TiB file = %v, want an error naming the file and the cap", err)
	}
	if _, err := ReadStream("/dev/zero", 10, "config files"); err == nil || !strings.Contains(err.Error(), "/dev/zero: larger than 10 bytes") {
		t.Errorf("ReadStream of /dev/zero = %v, want an error naming the file and the cap", err)
	}
}

// TestReadFileFIFO checks that a named pipe with no writer is refused at
// once instead of blocking the open.
func TestReadFileFIFO(t *testing.T) {
	name := filepath.Join(t.TempDir(), "saved_model.pb")
	if err := syscall.Mkfifo(name, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := ReadFile(name, 1<<20)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), name) {
			t.Errorf("ReadFile(fifo) = %v, want %q naming it", err, "not a regular file")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadFile(fifo) blocks")
	}
}
