package tfgpu

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// cudaWanted reports whether the test binary is meant to be linked against
// the CUDA build: make test GPU=1 sets TFCIFAR_GPU_BUILD=1; the default
// tests run on the CPU build.
func cudaWanted() bool { return os.Getenv("TFCIFAR_GPU_BUILD") == "1" }

func TestBuild(t *testing.T) {
	t.Logf("libtensorflow %s build at %s", Build(), LibraryPath())
	if CUDABuild() != cudaWanted() {
		t.Fatalf("loaded the %s build from %s; TFCIFAR_GPU_BUILD=%q", Build(), LibraryPath(), os.Getenv("TFCIFAR_GPU_BUILD"))
	}
	if !strings.HasSuffix(LibraryPath(), "libtensorflow_cc.so.2") {
		t.Errorf("library path %q, want a libtensorflow_cc.so.2", LibraryPath())
	}
}

func TestNoGPUKernel(t *testing.T) {
	got, err := NoGPUKernel([]string{"Conv2D", "MatMul", "SaveV2", "NoSuchOp", "SaveV2"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Conv2D", "MatMul", "SaveV2"} // the CPU build has no GPU kernel at all
	if cudaWanted() {
		want = []string{"SaveV2"} // checkpoints are written on the CPU
	}
	if !slices.Equal(got, want) {
		t.Errorf("ops without a GPU kernel: %v, want %v", got, want)
	}
	if types, err := KernelDevices("Conv2D"); err != nil || !slices.Contains(types, "CPU") {
		t.Errorf("Conv2D kernels: %v, %v; want CPU among them", types, err)
	}
}

// TestLoadCUDA checks that a GPU run is refused naming what is missing: the
// CUDA build on the CPU build, the driver on a machine without one. Where a
// driver and a GPU are present, it checks the GPU is described instead.
func TestLoadCUDA(t *testing.T) {
	d, err := LoadCUDA()
	switch {
	case !cudaWanted():
		if !errors.Is(err, ErrNoCUDABuild) || !strings.Contains(err.Error(), "make build GPU=1") {
			t.Errorf("CPU build: LoadCUDA = %v, want ErrNoCUDABuild", err)
		}
	case err != nil:
		if _, derr := CUDADriver(); derr == nil {
			t.Fatalf("the driver starts, yet LoadCUDA fails: %v", err)
		}
		if !strings.Contains(err.Error(), "libcuda.so.1") {
			t.Errorf("LoadCUDA without a driver: %v, want the missing libcuda.so.1 named", err)
		}
		t.Logf("refused as expected: %v", err)
	default:
		if len(d.GPUs) == 0 || d.GPUs[0].Major < 3 || d.GPUs[0].MemoryBytes <= 0 {
			t.Errorf("driver GPUs %v, want at least one described", d.GPUs)
		}
		t.Logf("driver CUDA %d: %v", d.Version, d.GPUs)
	}
}

func TestDriverGPUString(t *testing.T) {
	g := DriverGPU{Index: 1, Name: "NVIDIA L4", MemoryBytes: 23 << 30, Major: 8, Minor: 9}
	if got, want := g.String(), "GPU 1: NVIDIA L4, 23.0 GiB, compute capability 8.9"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestCUDALibraries loads the NVIDIA libraries the installer put next to
// the CUDA build (they need no driver to load), so a missing or misnamed
// one shows here rather than on a GPU machine. The CPU build has none.
func TestCUDALibraries(t *testing.T) {
	if err := loadCUDALibraries(); err != nil {
		t.Fatal(err)
	}
	if !cudaWanted() {
		return
	}
	if _, err := os.Stat(CUDAPrefix() + "/nvidia/cuda_nvcc/bin/ptxas"); err != nil {
		t.Errorf("XLA's ptxas: %v", err)
	}
	if flags := os.Getenv("XLA_FLAGS"); !strings.Contains(flags, "--xla_gpu_cuda_data_dir="+CUDAPrefix()+"/nvidia/cuda_nvcc") {
		t.Errorf("XLA_FLAGS = %q, want the CUDA data dir of %s", flags, CUDAPrefix())
	}
}
