package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/cifartest"
)

// TestRunDirGuards runs the command into one run dir: a second run of a
// finished run is a usage error until -overwrite, the export lands in its
// version dir, and a run dir another process holds is refused with its PID.
func TestRunDirGuards(t *testing.T) {
	data := cifartest.Write(t, 100, 20)
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"-data", data, "-out", out, "-progress", "off",
		"-set", "stages=[{name: base, classes: [0, 1], model: {input: [32, 32, 3], layers: [" +
			"{type: conv2d, filters: 2, kernel: 3, strides: 4}, {type: flatten}, {type: dense, units: 2, activation: softmax}]}, " +
			"train: {epochs: 1}, export: {dir: models/base, version: 2}}]"}
	var buf bytes.Buffer
	if err := run(context.Background(), args, &buf); err != nil {
		t.Fatalf("first run: %v\n%s", err, buf.String())
	}
	if _, err := os.Stat(filepath.Join(out, "models", "base", "2", "saved_model.pb")); err != nil {
		t.Errorf("export not in its version dir: %v", err)
	}
	err := run(context.Background(), args, &buf)
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "holds a finished run") || !strings.Contains(err.Error(), "-overwrite") {
		t.Fatalf("second run: exit %d, err %v; want %d and a message pointing to -overwrite", exitCode(err), err, exitUsage)
	}
	if err := run(context.Background(), append(args, "-overwrite"), &buf); err != nil {
		t.Fatalf("run with -overwrite: %v", err)
	}

	// Another process holds the run dir: the lock file protocol is a flock
	// on run.out/tfcifar.lock holding the holder's PID.
	f, err := os.OpenFile(filepath.Join(out, config.LockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("4242\n"); err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), append(args, "-overwrite"), &buf)
	if exitCode(err) != exitFailure || !strings.Contains(err.Error(), "in use by another tfcifar run (pid 4242)") {
		t.Errorf("run into a held run dir: exit %d, err %v; want %d naming pid 4242", exitCode(err), err, exitFailure)
	}
}
