package workflow

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// TestDevice checks that a run says where it goes: auto falls back to the
// CPU naming why (the CPU build in the default tests; the missing driver
// under make test GPU=1 on a machine without a GPU), and gpu is refused
// before the run dir is made.
func TestDevice(t *testing.T) {
	reason := "CPU build of libtensorflow"
	if os.Getenv("TFCIFAR_GPU_BUILD") == "1" {
		reason = "the NVIDIA driver library libcuda.so.1 is not found"
	}
	data := fixture(t, 100)

	cfg := smallConfig(t, data, "run.device=gpu")
	var out bytes.Buffer
	_, err := Run(context.Background(), cfg, Options{Out: &out})
	if err == nil || !strings.Contains(err.Error(), `run.device: "gpu" asks for a GPU`) || !strings.Contains(err.Error(), strings.TrimPrefix(reason, "CPU build of ")) {
		t.Errorf("device gpu: %v, want a refusal naming %q", err, reason)
	}
	if _, err := os.Stat(cfg.Run.Out); !os.IsNotExist(err) {
		t.Errorf("device gpu: the refused run made its run dir (stat: %v)", err)
	}

	cfg = smallConfig(t, data, "run.device=auto", "stages.base.train.batch_size=50")
	out.Reset()
	if _, err := Run(context.Background(), cfg, Options{Out: &out}); err != nil {
		t.Fatalf("device auto: %v\n%s", err, out.String())
	}
	first, _, _ := strings.Cut(out.String(), "\n")
	if want := "device: cpu (no GPU visible: " + reason + ")"; first != want {
		t.Errorf("device auto: first line %q, want %q", first, want)
	}
	if strings.Contains(out.String(), "no GPU kernel") {
		t.Errorf("a CPU run listed ops without GPU kernels:\n%s", out.String())
	}
}
