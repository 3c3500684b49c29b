package session

import (
	"testing"

	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/tfcifar/tfcifar/config"
)

func TestConfig(t *testing.T) {
	cases := []struct {
		desc, device string
		gpu          bool
		visible      string
		hideGPUs     bool
	}{
		{"cpu hides GPUs", "cpu", false, "", true},
		{"empty means cpu", "", false, "", true},
		{"gpu", "gpu", true, "", false},
		{"full GPU device string", "/device:GPU:1", true, "1", false},
		{"short GPU device string", "/gpu:0", true, "0", false},
		{"gpu:N", "gpu:2", true, "2", false},
		{"auto lets TensorFlow choose", "auto", false, "", false},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			opt, gpu, err := Options(config.Run{Device: c.device, IntraOpThreads: 2, InterOpThreads: 1})
			if err != nil {
				t.Fatal(err)
			}
			var p pb.ConfigProto
			if err := proto.Unmarshal(opt.Config, &p); err != nil {
				t.Fatal(err)
			}
			if gpu != c.gpu || p.GetGpuOptions().GetVisibleDeviceList() != c.visible || (p.DeviceCount["GPU"] == 0 && p.DeviceCount != nil) != c.hideGPUs {
				t.Errorf("device %q: gpu %v, visible %q, device_count %v", c.device, gpu, p.GetGpuOptions().GetVisibleDeviceList(), p.DeviceCount)
			}
			if p.IntraOpParallelismThreads != 2 || p.InterOpParallelismThreads != 1 {
				t.Errorf("threads intra %d inter %d, want 2 and 1", p.IntraOpParallelismThreads, p.InterOpParallelismThreads)
			}
		})
	}
}

func TestConfigPrecision(t *testing.T) {
	for _, c := range []struct {
		precision string
		want      pb.RewriterConfig_Toggle
	}{{"float32", pb.RewriterConfig_DEFAULT}, {"mixed_bfloat16", pb.RewriterConfig_ON}} {
		p, _, err := Config(config.Run{Precision: c.precision})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.GetGraphOptions().GetRewriteOptions().GetAutoMixedPrecisionOnednnBfloat16(); got != c.want {
			t.Errorf("precision %s: bfloat16 rewrite %v, want %v", c.precision, got, c.want)
		}
	}
}

func TestConfigGPUOptions(t *testing.T) {
	for _, c := range []struct {
		device      string
		growth, xla bool
		wantGrowth  bool
		wantJIT     pb.OptimizerOptions_GlobalJitLevel
	}{
		{"gpu", true, false, true, pb.OptimizerOptions_DEFAULT},
		{"auto", true, true, true, pb.OptimizerOptions_ON_1},
		{"gpu:1", false, true, false, pb.OptimizerOptions_ON_1},
		{"cpu", true, false, false, pb.OptimizerOptions_DEFAULT},
	} {
		p, _, err := Config(config.Run{Device: c.device, XLA: c.xla, GPU: config.RunGPU{MemoryGrowth: c.growth}})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.GetGpuOptions().GetAllowGrowth(); got != c.wantGrowth {
			t.Errorf("%s, memory_growth %v: allow_growth %v, want %v", c.device, c.growth, got, c.wantGrowth)
		}
		if got := p.GetGraphOptions().GetOptimizerOptions().GetGlobalJitLevel(); got != c.wantJIT {
			t.Errorf("%s, xla %v: jit level %v, want %v", c.device, c.xla, got, c.wantJIT)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, d := range []string{"tpu", "/device:TPU:0", "/device:GPU:x", "/device:GPU:-1", "/job:worker/replica:0/task:3/device:CPU:0"} {
		t.Run(d, func(t *testing.T) {
			if _, _, err := Options(config.Run{Device: d}); err == nil {
				t.Errorf("device %q: got no error", d)
			}
		})
	}
}
