// Package tfgpu knows the CUDA build of libtensorflow: which build is
// loaded (CUDABuild, from its kernel registry), which op types have no GPU
// kernel (NoGPUKernel), the NVIDIA driver's GPUs with their memory and
// compute capability (CUDADriver, through libcuda.so.1, as the C API does
// not report them), and LoadCUDA, which readies a GPU run: it checks the
// driver and a GPU, then loads the NVIDIA CUDA libraries that
// scripts/install-libtensorflow.sh --gpu installs next to the library
// (PREFIX/nvidia/<name>/lib), so a binary needs no LD_LIBRARY_PATH.
//
// On the CPU build every query answers "no GPU" and LoadCUDA fails with
// ErrNoCUDABuild; nothing here needs a GPU to be called.
package tfgpu
