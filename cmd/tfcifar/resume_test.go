package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/internal/cifartest"
)

// TestRefusedResumeIsUsageError checks that resuming a run with other
// classes exits with the usage code and says why.
func TestRefusedResumeIsUsageError(t *testing.T) {
	args := []string{"-data", cifartest.Write(t, 100, 20), "-out", filepath.Join(t.TempDir(), "run"), "-progress", "off",
		"-set", "stages.base.train.epochs=1", "-set", "stages.transfer.train.epochs=1"}
	if err := run(context.Background(), args, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), append(args, "-resume", "-set", "stages.base.classes=[0,1,2,3,5]"), &bytes.Buffer{})
	if got := exitCode(err); got != exitUsage {
		t.Fatalf("exit code %d (err %v), want %d", got, err, exitUsage)
	}
	if !strings.Contains(err.Error(), "classes") {
		t.Errorf("error %q does not name the classes", err)
	}
}
