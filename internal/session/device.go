package session

import (
	"errors"
	"fmt"
	"strings"

	tf "github.com/galeone/tensorflow/tensorflow/go"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/closer"
	"github.com/tfcifar/tfcifar/internal/tfgpu"
)

// Resolve settles r.Device before a run: auto becomes gpu when TensorFlow
// sees a GPU, else cpu; gpu and gpu:N fail unless TensorFlow sees that GPU,
// naming what is missing (the CUDA build, the driver, a GPU). It returns r
// with the device settled and a line saying where the run goes, e.g.
// "device: cpu (no GPU visible: CPU build of libtensorflow)".
func Resolve(r config.Run) (config.Run, string, error) {
	kind, _, err := config.ParseDevice(r.Device)
	if err != nil {
		return r, "", err
	}
	if kind == config.CPU {
		return r, "device: cpu", nil
	}
	if _, err := tfgpu.LoadCUDA(); err != nil {
		if kind == config.GPU {
			return r, "", fmt.Errorf("run.device: %q asks for a GPU: %w", r.Device, err)
		}
		r.Device = config.CPU
		return r, "device: cpu (no GPU visible: " + whyNoGPU(err) + ")", nil
	}
	gpus, err := sessionGPUs(r)
	if err != nil {
		return r, "", err
	}
	if len(gpus) == 0 {
		if kind == config.GPU {
			return r, "", fmt.Errorf("run.device: %q asks for a GPU but TensorFlow sees none, though the driver does (is the GPU's compute capability supported by TensorFlow 2.21? see tfcifar version)", r.Device)
		}
		r.Device = config.CPU
		return r, "device: cpu (no GPU visible: TensorFlow sees none, though the driver does)", nil
	}
	if kind == config.Auto {
		r.Device = config.GPU
	}
	return r, fmt.Sprintf("device: %s (%s, %.1f GiB for TensorFlow)", r.Device, gpus[0].Name, float64(gpus[0].MemoryLimitBytes)/(1<<30)), nil
}

// whyNoGPU shortens the error of tfgpu.LoadCUDA for the auto device's line.
func whyNoGPU(err error) string {
	if errors.Is(err, tfgpu.ErrNoCUDABuild) {
		return "CPU build of libtensorflow"
	}
	msg := err.Error()
	if i := strings.Index(msg, " ("); i > 0 && strings.Contains(msg, "libcuda.so.1 is not found") {
		msg = msg[:i]
	}
	return msg
}

// sessionGPUs returns the GPUs a session configured from r sees.
func sessionGPUs(r config.Run) ([]tf.Device, error) {
	devs, err := Devices(r)
	if err != nil {
		return nil, err
	}
	var gpus []tf.Device
	for _, d := range devs {
		if d.Type == gpuType {
			gpus = append(gpus, d)
		}
	}
	return gpus, nil
}

// Devices lists what TensorFlow sees with r's settings (all GPUs for the
// device auto): the CPU and each GPU, with their memory.
func Devices(r config.Run) (_ []tf.Device, err error) {
	if kind, _, _ := config.ParseDevice(r.Device); kind != config.CPU {
		_, _ = tfgpu.LoadCUDA() // without it, TensorFlow sees no GPU, which Devices reports
	}
	opt, _, err := Options(r)
	if err != nil {
		return nil, err
	}
	sess, err := tf.NewSession(tf.NewGraph(), opt)
	if err != nil {
		return nil, fmt.Errorf("open session: %w", err)
	}
	defer closer.Join(&err, sess)
	return sess.ListDevices()
}
