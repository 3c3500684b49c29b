package session

import (
	"os"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tfgpu"
)

// noGPUReason is what the device auto says on this machine when it finds
// no GPU, or "" when the driver sees one: the build (the default tests), or
// the missing driver (make test GPU=1 on a machine without a GPU).
func noGPUReason(t *testing.T) string {
	t.Helper()
	if os.Getenv("TFCIFAR_GPU_BUILD") != "1" {
		return "CPU build of libtensorflow"
	}
	if !tfgpu.CUDABuild() {
		t.Fatal("TFCIFAR_GPU_BUILD=1 but the CPU build is loaded")
	}
	if d, err := tfgpu.CUDADriver(); err == nil && len(d.GPUs) > 0 {
		return ""
	}
	return "libcuda.so.1 is not found"
}

func TestResolve(t *testing.T) {
	reason := noGPUReason(t)
	r := config.DefaultRun()
	got, line, err := Resolve(r)
	if err != nil || got != r || line != "device: cpu" {
		t.Errorf("cpu: %+v, %q, %v", got, line, err)
	}

	r.Device = config.Auto
	got, line, err = Resolve(r)
	switch {
	case err != nil:
		t.Fatalf("auto: %v", err)
	case reason == "":
		if got.Device != config.GPU || !strings.HasPrefix(line, "device: gpu (") {
			t.Errorf("auto with a GPU: device %q, line %q", got.Device, line)
		}
	case got.Device != config.CPU || !strings.HasPrefix(line, "device: cpu (no GPU visible: ") || !strings.Contains(line, reason):
		t.Errorf("auto: device %q, line %q; want cpu, no GPU visible: %s", got.Device, line, reason)
	}
	t.Log(line)

	for _, d := range []string{"gpu", "gpu:0", "/device:GPU:0"} {
		r.Device = d
		_, line, err := Resolve(r)
		if reason == "" {
			if err != nil {
				t.Errorf("%s with a GPU: %v", d, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "run.device: \""+d+"\" asks for a GPU") || !strings.Contains(err.Error(), strings.TrimPrefix(reason, "CPU build of ")) {
			t.Errorf("%s: %q, %v; want a refusal naming %q", d, line, err, reason)
		}
	}
}

// TestOpenRefusesGPU checks that every session refuses a GPU that is not
// there, and that auto runs on the CPU then.
func TestOpenRefusesGPU(t *testing.T) {
	if noGPUReason(t) == "" {
		t.Log("a GPU is visible: scripts/gpu-check covers this machine")
		return
	}
	_, err := Open(tf.NewGraph(), config.Run{Device: "gpu"})
	if err == nil || !strings.Contains(err.Error(), "asks for a GPU") {
		t.Errorf("gpu session: %v, want a refusal", err)
	}
	sess, err := Open(tf.NewGraph(), config.Run{Device: config.Auto})
	if err != nil {
		t.Fatalf("auto session: %v", err)
	}
	defer sess.Close()
	devs, err := sess.ListDevices()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Type != "CPU" {
			t.Errorf("auto session without a GPU has device %v", d)
		}
	}
	if ops := CPUOps(); len(ops) != 0 {
		t.Errorf("CPU-placed ops noted without a GPU: %v", ops)
	}
}
