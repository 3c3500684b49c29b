package session

import (
	"fmt"
	"os"
	"strconv"
	"sync"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/tfcifar/tfcifar/config"
)

// Config returns the ConfigProto for r: thread counts (0: TensorFlow
// chooses) of pools owned by the session, and the device. cpu hides all
// GPUs; gpu lets TensorFlow place ops on the first GPU; a device string
// selects a type and index, e.g. "/device:GPU:1" makes GPU 1 the only
// visible GPU. gpu reports whether r asks for a GPU.
func Config(r config.Run) (c *pb.ConfigProto, gpu bool, err error) {
	c = &pb.ConfigProto{
		IntraOpParallelismThreads: int32(r.IntraOpThreads),
		InterOpParallelismThreads: int32(r.InterOpThreads),
		AllowSoftPlacement:        true,
		// Per-session pools: otherwise the first session of the process
		// fixes the thread counts of all later ones.
		UsePerSessionThreads: true,
	}
	if r.Precision == "mixed_bfloat16" {
		c.GraphOptions = &pb.GraphOptions{RewriteOptions: &pb.RewriterConfig{
			AutoMixedPrecisionOnednnBfloat16: pb.RewriterConfig_ON,
		}}
	}
	kind, index, err := config.ParseDevice(r.Device)
	if err != nil {
		return nil, false, err
	}
	switch kind {
	case "cpu":
		c.DeviceCount = map[string]int32{"GPU": 0}
	case "gpu":
		gpu = true
		if index >= 0 {
			c.GpuOptions = &pb.GPUOptions{VisibleDeviceList: strconv.Itoa(index)}
		}
	}
	return c, gpu, nil
}

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

// Open opens a session on g configured from r. When r asks for a GPU and
// the session has none, it fails naming the devices it has.
func Open(g *tf.Graph, r config.Run) (*tf.Session, error) {
	opt, gpu, err := Options(r)
	if err != nil {
		return nil, err
	}
	sess, err := tf.NewSession(g, opt)
	if err != nil {
		return nil, fmt.Errorf("open session: %w", err)
	}
	if gpu {
		if err := checkGPU(sess, r.Device); err != nil {
			_ = sess.Close() // the GPU check's error is the one to report
			return nil, err
		}
	}
	return sess, nil
}

// checkGPU fails when sess has no GPU.
func checkGPU(sess *tf.Session, device string) error {
	devs, err := sess.ListDevices()
	if err != nil {
		return fmt.Errorf("list devices: %w", err)
	}
	var names []string
	for _, d := range devs {
		if d.Type == "GPU" {
			return nil
		}
		names = append(names, d.Name)
	}
	return fmt.Errorf("run.device: %q asks for a GPU but TensorFlow sees none (devices: %v)", device, names)
}
