package tfgpu

/*
#cgo LDFLAGS: -ltensorflow -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include "tensorflow/c/c_api.h"

// tfcifar_library_path returns the path of the shared object holding
// TF_Version: the libtensorflow this process loaded.
static const char *tfcifar_library_path(void) {
	Dl_info info;
	if (dladdr((void *)TF_Version, &info) == 0 || info.dli_fname == NULL) return "";
	return info.dli_fname;
}

// tfcifar_kernels returns the serialized KernelList of op, or NULL with
// *len = 0 when TensorFlow knows no such op.
static void *tfcifar_kernels(const char *op, size_t *len) {
	TF_Status *s = TF_NewStatus();
	TF_Buffer *b = TF_GetRegisteredKernelsForOp(op, s);
	void *out = NULL;
	*len = 0;
	if (TF_GetCode(s) == TF_OK && b != NULL && b->length > 0) {
		out = malloc(b->length);
		if (out != NULL) {
			memcpy(out, b->data, b->length);
			*len = b->length;
		}
	}
	if (b != NULL) TF_DeleteBuffer(b);
	TF_DeleteStatus(s);
	return out;
}

// tfcifar_dlopen loads path globally, so that a later dlopen of its soname
// by TensorFlow finds it loaded; it returns dlerror() on failure.
static const char *tfcifar_dlopen(const char *path) {
	if (dlopen(path, RTLD_NOW | RTLD_GLOBAL) == NULL) return dlerror();
	return NULL;
}

// The CUDA driver API calls tfcifar makes, looked up in libcuda.so.1.
typedef int (*tfcifar_cu_int)(int *);
typedef int (*tfcifar_cu_init)(unsigned);
typedef int (*tfcifar_cu_get)(int *, int);
typedef int (*tfcifar_cu_name)(char *, int, int);
typedef int (*tfcifar_cu_mem)(size_t *, int);
typedef int (*tfcifar_cu_attr)(int *, int, int);

static void *tfcifar_cuda;

// tfcifar_cuda_open loads the driver; it returns dlerror() on failure.
static const char *tfcifar_cuda_open(void) {
	if (tfcifar_cuda == NULL) tfcifar_cuda = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
	return tfcifar_cuda == NULL ? dlerror() : NULL;
}

// tfcifar_cuda_devices fills the driver version and device count; it
// returns the CUresult of the first call that fails, -1 when a function is
// missing.
static int tfcifar_cuda_devices(int *driver, int *count) {
	tfcifar_cu_init init = (tfcifar_cu_init)dlsym(tfcifar_cuda, "cuInit");
	tfcifar_cu_int version = (tfcifar_cu_int)dlsym(tfcifar_cuda, "cuDriverGetVersion");
	tfcifar_cu_int n = (tfcifar_cu_int)dlsym(tfcifar_cuda, "cuDeviceGetCount");
	if (init == NULL || version == NULL || n == NULL) return -1;
	int r = init(0);
	if (r == 0) r = version(driver);
	if (r == 0) r = n(count);
	return r;
}

// tfcifar_cuda_device describes device i: name, memory, compute capability.
static int tfcifar_cuda_device(int i, char *name, int len, size_t *mem, int *major, int *minor) {
	tfcifar_cu_get get = (tfcifar_cu_get)dlsym(tfcifar_cuda, "cuDeviceGet");
	tfcifar_cu_name nm = (tfcifar_cu_name)dlsym(tfcifar_cuda, "cuDeviceGetName");
	tfcifar_cu_mem total = (tfcifar_cu_mem)dlsym(tfcifar_cuda, "cuDeviceTotalMem_v2");
	tfcifar_cu_attr attr = (tfcifar_cu_attr)dlsym(tfcifar_cuda, "cuDeviceGetAttribute");
	if (get == NULL || nm == NULL || total == NULL || attr == NULL) return -1;
	int dev, r = get(&dev, i);
	if (r == 0) r = nm(name, len, dev);
	if (r == 0) r = total(mem, dev);
	if (r == 0) r = attr(major, 75, dev); // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
	if (r == 0) r = attr(minor, 76, dev); // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR
	return r;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unsafe"

	kpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/kernel_def_go_proto"
	"google.golang.org/protobuf/proto"
)

// LibraryPath returns the file of the libtensorflow this process loaded
// (libtensorflow_cc.so.2), or "" when the loader does not say.
func LibraryPath() string { return C.GoString(C.tfcifar_library_path()) }

// KernelDevices returns the device types ("CPU", "GPU", ...) that have a
// kernel for op in the loaded libtensorflow, sorted; none for an op
// TensorFlow does not know.
func KernelDevices(op string) ([]string, error) {
	cop := C.CString(op)
	defer C.free(unsafe.Pointer(cop))
	var n C.size_t
	p := C.tfcifar_kernels(cop, &n)
	if p == nil {
		return nil, nil
	}
	defer C.free(p)
	var list kpb.KernelList
	if err := proto.Unmarshal(C.GoBytes(p, C.int(n)), &list); err != nil {
		return nil, fmt.Errorf("kernels of %s: %w", op, err)
	}
	var types []string
	for _, k := range list.GetKernel() {
		if !slices.Contains(types, k.GetDeviceType()) {
			types = append(types, k.GetDeviceType())
		}
	}
	slices.Sort(types)
	return types, nil
}

// CUDABuild reports whether the loaded libtensorflow is the CUDA build:
// whether it has GPU kernels (for MatMul, which every GPU build has).
var CUDABuild = sync.OnceValue(func() bool {
	types, err := KernelDevices("MatMul")
	return err == nil && slices.Contains(types, "GPU")
})

// Build names the loaded libtensorflow build: "CUDA" or "CPU".
func Build() string {
	if CUDABuild() {
		return "CUDA"
	}
	return "CPU"
}

// NoGPUKernel returns the op types of ops that have no GPU kernel in the
// loaded libtensorflow: on a GPU, TensorFlow places them on the CPU.
func NoGPUKernel(ops []string) ([]string, error) {
	var cpu []string
	for _, op := range ops {
		types, err := KernelDevices(op)
		if err != nil {
			return nil, err
		}
		if len(types) > 0 && !slices.Contains(types, "GPU") && !slices.Contains(cpu, op) {
			cpu = append(cpu, op)
		}
	}
	slices.Sort(cpu)
	return cpu, nil
}

// ErrNoCUDABuild is the error of a GPU asked of the CPU build.
var ErrNoCUDABuild = errors.New("the loaded libtensorflow is the CPU build, which has no GPU support: build tfcifar against the CUDA build (make build GPU=1, which installs it with scripts/install-libtensorflow.sh --gpu)")

// Driver is the NVIDIA driver's view of the machine.
type Driver struct {
	Version int // CUDA version the driver supports, e.g. 12040 for 12.4
	GPUs    []DriverGPU
}

// DriverGPU is one GPU as the driver reports it.
type DriverGPU struct {
	Index        int
	Name         string
	MemoryBytes  int64
	Major, Minor int // compute capability
}

// String describes g, e.g. "GPU 0: NVIDIA L4, 22.5 GiB, compute capability 8.9".
func (g DriverGPU) String() string {
	return fmt.Sprintf("GPU %d: %s, %.1f GiB, compute capability %d.%d", g.Index, g.Name, float64(g.MemoryBytes)/(1<<30), g.Major, g.Minor)
}

// cudaMutex serialises the driver calls.
var cudaMutex sync.Mutex

// CUDADriver loads the NVIDIA driver (libcuda.so.1) and lists the GPUs it
// sees. It fails naming what is missing: the driver library, or a driver
// that cannot start (no GPU, driver and kernel module out of step, ...).
func CUDADriver() (Driver, error) {
	cudaMutex.Lock()
	defer cudaMutex.Unlock()
	if msg := C.tfcifar_cuda_open(); msg != nil {
		return Driver{}, fmt.Errorf("the NVIDIA driver library libcuda.so.1 is not found (%s): install the NVIDIA driver, or run where the GPU and its driver are visible (in a container: --gpus)", C.GoString(msg))
	}
	var version, count C.int
	if r := C.tfcifar_cuda_devices(&version, &count); r != 0 {
		return Driver{}, fmt.Errorf("the NVIDIA driver (libcuda.so.1) does not start: %s", cudaError(int(r)))
	}
	d := Driver{Version: int(version)}
	for i := range int(count) {
		var name [256]C.char
		var mem C.size_t
		var major, minor C.int
		if r := C.tfcifar_cuda_device(C.int(i), &name[0], C.int(len(name)), &mem, &major, &minor); r != 0 {
			return Driver{}, fmt.Errorf("the NVIDIA driver cannot describe GPU %d: %s", i, cudaError(int(r)))
		}
		d.GPUs = append(d.GPUs, DriverGPU{Index: i, Name: C.GoString(&name[0]), MemoryBytes: int64(mem), Major: int(major), Minor: int(minor)})
	}
	return d, nil
}

// cudaError names the CUresults a driver gives when it cannot start.
func cudaError(r int) string {
	switch r {
	case -1:
		return "libcuda.so.1 lacks the driver API functions"
	case 100:
		return "CUDA_ERROR_NO_DEVICE (no GPU visible)"
	case 35:
		return "CUDA_ERROR_INSUFFICIENT_DRIVER (the driver is older than its CUDA library)"
	case 999:
		return "CUDA_ERROR_UNKNOWN (is the kernel module loaded?)"
	}
	return fmt.Sprintf("CUresult %d", r)
}

// cudaLibraries are the NVIDIA libraries the CUDA build of libtensorflow
// opens by name, as <directory under nvidia/>/<soname>, dependencies first.
var cudaLibraries = []string{
	"nvjitlink/libnvJitLink.so.12",
	"cuda_nvrtc/libnvrtc.so.12",
	"cuda_runtime/libcudart.so.12",
	"cublas/libcublasLt.so.12",
	"cublas/libcublas.so.12",
	"cudnn/libcudnn.so.9",
	"cufft/libcufft.so.11",
	"curand/libcurand.so.10",
	"cusparse/libcusparse.so.12",
	"cusolver/libcusolver.so.11",
	"cuda_cupti/libcupti.so.12",
	"nccl/libnccl.so.2",
}

// CUDAPrefix returns the prefix of the loaded CUDA build of libtensorflow:
// the directory holding lib/ and, from the installer, nvidia/.
func CUDAPrefix() string {
	lib := LibraryPath()
	if lib == "" {
		return ""
	}
	if real, err := filepath.EvalSymlinks(lib); err == nil {
		lib = real
	}
	return filepath.Dir(filepath.Dir(lib))
}

// LoadCUDA readies the CUDA build for a GPU: it checks the driver sees a
// GPU, then loads the NVIDIA libraries installed next to libtensorflow
// (PREFIX/nvidia/<name>/lib), so that TensorFlow finds them whatever its run
// path and LD_LIBRARY_PATH say, and points XLA at the CUDA compiler tools
// there (unless XLA_FLAGS names a CUDA directory). It fails naming what is
// missing: the CUDA build, the driver, a GPU, or a library.
func LoadCUDA() (Driver, error) {
	if !CUDABuild() {
		return Driver{}, ErrNoCUDABuild
	}
	d, err := CUDADriver()
	if err != nil {
		return Driver{}, err
	}
	if len(d.GPUs) == 0 {
		return d, errors.New("the NVIDIA driver sees no GPU")
	}
	return d, loadCUDALibraries()
}

// loadCUDALibraries loads cudaLibraries once.
var loadCUDALibraries = sync.OnceValue(func() error {
	nvidia := filepath.Join(CUDAPrefix(), "nvidia")
	if _, err := os.Stat(nvidia); err != nil {
		// Another install of the CUDA build: TensorFlow finds the libraries
		// the way that install arranged (LD_LIBRARY_PATH, ldconfig).
		return nil
	}
	for _, l := range cudaLibraries {
		dir, name, _ := strings.Cut(l, "/")
		path := filepath.Join(nvidia, dir, "lib", name)
		cpath := C.CString(path)
		msg := C.tfcifar_dlopen(cpath)
		C.free(unsafe.Pointer(cpath))
		if msg != nil {
			return fmt.Errorf("load the CUDA library %s: %s (reinstall with scripts/install-libtensorflow.sh --gpu)", path, C.GoString(msg))
		}
	}
	if flags := os.Getenv("XLA_FLAGS"); !strings.Contains(flags, "xla_gpu_cuda_data_dir") {
		dir := filepath.Join(nvidia, "cuda_nvcc")
		if err := os.Setenv("XLA_FLAGS", strings.TrimSpace(flags+" --xla_gpu_cuda_data_dir="+dir)); err != nil {
			return fmt.Errorf("set XLA_FLAGS: %w", err)
		}
	}
	return nil
})
