package train

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/tfcifar/tfcifar/config"
)

// Options are the settings of a Trainer that do not come from the train
// section of the configuration. The zero value trains quietly, writes
// nothing and starts from the seeded initial values.
//
//   - Run gives the seed (used when the train seed is 0), the thread
//     counts and device of the session and the progress mode ("": auto).
//   - Out receives the progress and the per-epoch lines (nil: nothing is
//     printed).
//   - Dir is the directory where Fit writes checkpoint/, history.json and
//     history.png ("": nothing is written).
//   - Resume continues from Dir/checkpoint when there is one.
//   - Init holds initial values by Variable.Name (e.g. reused layers); they
//     replace the seeded initial values; a checkpoint, when resuming,
//     replaces both.
//   - Stage names the History.
//   - Clock gives the time for durations and the ETA (nil: time.Now).
//   - Spent is time spent on the model before Fit (e.g. computing cached
//     features); it counts in the history's and the printed time taken.
//   - LayerRates gives layers (by name) their own learning rate instead of
//     the optimizer's, e.g. fine-tuned reused layers; schedules scale it
//     as they scale the optimizer's rate.
//   - Cached holds, by Variable.Name, the values of the variables of
//     layers whose outputs were computed ahead (package transfer) and are
//     not part of the model: checkpoints keep them, so that they hold the
//     whole network whether or not its frozen layers are cached, and a
//     resume checks them.
//   - Identity describes what is trained for its checkpoints.
//
// Pixel scales belong to the Dataset, and how to resume an interrupted
// run to the caller (see Interrupted).
type Options struct {
	Run        config.Run
	Out        io.Writer
	Dir        string
	Resume     bool
	Init       map[string]*tf.Tensor
	Stage      string
	Clock      func() time.Time
	Spent      time.Duration
	LayerRates map[string]float64
	Cached     map[string]*tf.Tensor
	Identity   Identity
}

// sessionConfig returns the serialized ConfigProto for r: thread counts
// (0: TensorFlow chooses) of pools owned by the session, and the device. cpu hides all GPUs; gpu lets
// TensorFlow place ops on the first GPU; a device string selects a type and
// index, e.g. "/device:GPU:1" makes GPU 1 the only visible GPU. It also
// reports whether a GPU is required.
func sessionConfig(r config.Run) (cfg []byte, gpu bool, err error) {
	c := &pb.ConfigProto{
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
	b, err := proto.Marshal(c)
	if err != nil {
		return nil, false, fmt.Errorf("train: session config: %w", err)
	}
	return b, gpu, nil
}

// threadPoolEnv makes TensorFlow give every session its own intra-op
// thread pool sized by that session's config. Without it, the first CPU
// session of the process creates a global pool that all later sessions
// share, whatever thread count they ask for, and results then depend on
// which session came first.
const threadPoolEnv = "TF_OVERRIDE_GLOBAL_THREADPOOL"

// ownThreadPools sets threadPoolEnv unless the environment already sets it.
func ownThreadPools() {
	if _, ok := os.LookupEnv(threadPoolEnv); !ok {
		os.Setenv(threadPoolEnv, "1")
	}
}
