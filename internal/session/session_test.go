package session

import (
	"errors"
	"slices"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"github.com/galeone/tensorflow/tensorflow/go/op"
	"google.golang.org/protobuf/proto"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tftest"
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
	on, off := pb.RewriterConfig_ON, pb.RewriterConfig_DEFAULT
	for _, c := range []struct {
		precision, device  string
		bf16, gpu16, cpu16 pb.RewriterConfig_Toggle
	}{
		{"float32", "cpu", off, off, off},
		{"float32", "gpu", off, off, off},
		{"mixed_bfloat16", "cpu", on, off, off},
		{"mixed_float16", "cpu", off, off, off},
		{"mixed_float16", "gpu", off, on, off},
		{"mixed_float16", "/device:GPU:1", off, on, off},
		{"mixed_float16", "auto", off, on, off},
	} {
		p, _, err := Config(config.Run{Precision: c.precision, Device: c.device})
		if err != nil {
			t.Fatal(err)
		}
		if c.device == "cpu" && c.precision != "mixed_bfloat16" && p.GraphOptions != nil {
			t.Errorf("precision %s on the CPU: graph options %v, want none", c.precision, p.GraphOptions)
		}
		rw := p.GetGraphOptions().GetRewriteOptions()
		got := []pb.RewriterConfig_Toggle{rw.GetAutoMixedPrecisionOnednnBfloat16(), rw.GetAutoMixedPrecision(), rw.GetAutoMixedPrecisionCpu()}
		if want := []pb.RewriterConfig_Toggle{c.bf16, c.gpu16, c.cpu16}; !slices.Equal(got, want) {
			t.Errorf("precision %s on %s: rewrites (bfloat16, float16 GPU, float16 CPU) %v, want %v", c.precision, c.device, got, want)
		}
	}
}

// TestMixedFloat16OnCPU checks that a session of mixed_float16 on the CPU
// computes a matrix product in float32 (1+2^-12 has no float16 value and
// would round to 1), where float16 emulation would round its inputs.
func TestMixedFloat16OnCPU(t *testing.T) {
	const x = 1 + 1.0/4096
	for _, c := range []struct {
		precision string
		want      float32
	}{{config.Float32, x * 3}, {config.MixedFloat16, x * 3}} {
		s := op.NewScope()
		a := op.Placeholder(s.SubScope("a"), tf.Float, op.PlaceholderShape(tf.MakeShape(2, 2)))
		b := op.Placeholder(s.SubScope("b"), tf.Float, op.PlaceholderShape(tf.MakeShape(2, 2)))
		prod := op.Relu(s, op.MatMul(s, op.Relu(s.SubScope("in"), a), b))
		out := op.Sum(s, prod, op.Const(s.SubScope("axes"), []int32{0, 1}))
		g, err := s.Finalize()
		if err != nil {
			t.Fatal(err)
		}
		sess, err := Open(g, config.Run{Device: "cpu", Precision: c.precision})
		if err != nil {
			t.Fatal(err)
		}
		res, err := sess.Run(map[tf.Output]*tf.Tensor{
			a: tftest.Tensor(t, [][]float32{{x, 0}, {0, x}}),
			b: tftest.Tensor(t, [][]float32{{1, 1}, {1, 0}}),
		}, []tf.Output{out}, nil)
		if err := errors.Join(err, sess.Close()); err != nil {
			t.Fatal(err)
		}
		if got, _ := res[0].Value().(float32); got != c.want {
			t.Errorf("precision %s: sum of the product %v, want %v", c.precision, got, c.want)
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
