package session

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tfgpu"
)

// Config returns the ConfigProto for r: thread counts (0: TensorFlow
// chooses) of pools owned by the session, the device, precision, XLA and
// GPU memory growth. mixed_bfloat16 turns on the oneDNN bfloat16 graph
// rewrite, mixed_float16 grappler's float16 rewrite for GPUs (none on the
// device cpu: there only the training graph's loss scaling differs). cpu hides all GPUs; gpu and auto let TensorFlow place
// ops on the first GPU (ops with no GPU kernel go to the CPU); gpu:N or a
// device string such as "/device:GPU:1" makes GPU N the only visible GPU.
// gpu reports whether r demands a GPU (auto does not).
func Config(r config.Run) (c *pb.ConfigProto, gpu bool, err error) {
	c = &pb.ConfigProto{
		IntraOpParallelismThreads: int32(r.IntraOpThreads),
		InterOpParallelismThreads: int32(r.InterOpThreads),
		AllowSoftPlacement:        true,
		// Per-session pools: otherwise the first session of the process
		// fixes the thread counts of all later ones.
		UsePerSessionThreads: true,
	}
	kind, index, err := config.ParseDevice(r.Device)
	if err != nil {
		return nil, false, err
	}
	float16 := r.Precision == config.MixedFloat16 && kind != config.CPU
	if r.Precision == config.MixedBfloat16 || float16 || r.XLA {
		c.GraphOptions = &pb.GraphOptions{}
	}
	switch {
	case r.Precision == config.MixedBfloat16:
		c.GraphOptions.RewriteOptions = &pb.RewriterConfig{
			AutoMixedPrecisionOnednnBfloat16: pb.RewriterConfig_ON,
		}
	case float16:
		// The GPU pass: convolutions and matrix products in float16,
		// variables and losses in float32. On the CPU, TensorFlow 2.21's
		// float16 emulation pass (auto_mixed_precision_cpu) aborts the
		// process on training graphs, so the CPU computes in float32.
		c.GraphOptions.RewriteOptions = &pb.RewriterConfig{AutoMixedPrecision: pb.RewriterConfig_ON}
	}
	if r.XLA {
		c.GraphOptions.OptimizerOptions = &pb.OptimizerOptions{GlobalJitLevel: pb.OptimizerOptions_ON_1}
	}
	switch kind {
	case config.CPU:
		c.DeviceCount = map[string]int32{gpuType: 0}
	case config.GPU, config.Auto:
		gpu = kind == config.GPU
		c.GpuOptions = &pb.GPUOptions{AllowGrowth: r.GPU.MemoryGrowth}
		if index >= 0 {
			c.GpuOptions.VisibleDeviceList = strconv.Itoa(index)
		}
	}
	return c, gpu, nil
}

// gpuType is TensorFlow's device type of GPUs.
const gpuType = "GPU"

// Options returns the session options for r (see Config) and whether r
// asks for a GPU. It makes sure sessions own their thread pools (see the
// package documentation) before returning.
func Options(r config.Run) (opt *tf.SessionOptions, gpu bool, err error) {
	c, gpu, err := Config(r)
	if err != nil {
		return nil, false, err
	}
	b, err := proto.Marshal(c)
	if err != nil {
		return nil, false, fmt.Errorf("session config: %w", err)
	}
	if err := ownThreadPools(); err != nil {
		return nil, false, err
	}
	return &tf.SessionOptions{Config: b}, gpu, nil
}

// ThreadPoolEnv is the variable that makes TensorFlow give every session
// its own intra-op thread pool sized by that session's config.
const ThreadPoolEnv = "TF_OVERRIDE_GLOBAL_THREADPOOL"

// ownThreadPools sets ThreadPoolEnv unless the environment does, once per
// process, and returns the error of that once.
var ownThreadPools = sync.OnceValue(func() error {
	if _, ok := os.LookupEnv(ThreadPoolEnv); ok {
		return nil
	}
	if err := os.Setenv(ThreadPoolEnv, "1"); err != nil {
		return fmt.Errorf("session: set %s: %w", ThreadPoolEnv, err)
	}
	return nil
})

// Open opens a session on g configured from r. When r asks for a GPU it
// readies the CUDA libraries (tfgpu.LoadCUDA) and fails when the session has
// no GPU, naming what is missing; it records the ops of g that have no GPU
// kernel (see CPUOps).
func Open(g *tf.Graph, r config.Run) (*tf.Session, error) {
	opt, gpu, err := Options(r)
	if err != nil {
		return nil, err
	}
	kind, _, _ := config.ParseDevice(r.Device) // Options checked it
	if gpu {
		if _, err := tfgpu.LoadCUDA(); err != nil {
			return nil, fmt.Errorf("run.device: %q asks for a GPU: %w", r.Device, err)
		}
	} else if kind == config.Auto {
		_, _ = tfgpu.LoadCUDA() // without a GPU, auto runs on the CPU
	}
	sess, err := tf.NewSession(g, opt)
	if err != nil {
		return nil, fmt.Errorf("open session: %w", err)
	}
	if kind == config.CPU {
		return sess, nil
	}
	onGPU, err := checkGPU(sess, r.Device, gpu)
	if err == nil && onGPU {
		err = noteCPUOps(g)
	}
	if err != nil {
		_ = sess.Close() // the GPU check's error is the one to report
		return nil, err
	}
	return sess, nil
}

// checkGPU reports whether sess has a GPU, and fails when it has none and
// must have one.
func checkGPU(sess *tf.Session, device string, must bool) (bool, error) {
	devs, err := sess.ListDevices()
	if err != nil {
		return false, fmt.Errorf("list devices: %w", err)
	}
	var names []string
	for _, d := range devs {
		if d.Type == gpuType {
			return true, nil
		}
		names = append(names, d.Name)
	}
	if !must {
		return false, nil
	}
	return false, fmt.Errorf("run.device: %q asks for a GPU but TensorFlow sees none (devices: %v)", device, names)
}

// cpuOps are the op types without a GPU kernel in the graphs of sessions
// opened on a GPU.
var cpuOps struct {
	sync.Mutex
	types []string
}

// noteCPUOps adds the op types of g that have no GPU kernel to cpuOps.
func noteCPUOps(g *tf.Graph) error {
	var types []string
	for _, o := range g.Operations() {
		types = append(types, o.Type())
	}
	slices.Sort(types)
	cpu, err := tfgpu.NoGPUKernel(slices.Compact(types))
	if err != nil {
		return err
	}
	cpuOps.Lock()
	defer cpuOps.Unlock()
	for _, t := range cpu {
		if !slices.Contains(cpuOps.types, t) {
			cpuOps.types = append(cpuOps.types, t)
		}
	}
	slices.Sort(cpuOps.types)
	return nil
}

// CPUOps returns the op types, sorted, that sessions opened on a GPU so far
// hold but that have no GPU kernel: soft placement runs them on the CPU.
// (Saving and restoring variables are among them by design.)
func CPUOps() []string {
	cpuOps.Lock()
	defer cpuOps.Unlock()
	return slices.Clone(cpuOps.types)
}
