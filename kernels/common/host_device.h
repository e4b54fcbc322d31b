// Host/device portability for code shared by the CUDA kernels and the CPU paths.
// ACT_HD marks a function callable from both; it is force-inlined on the device
// (functors sit in the innermost loop of every kernel) and plain inline on the host.
#pragma once

#if defined(__CUDACC__)
#define ACT_HD __host__ __device__ __forceinline__
#else
#define ACT_HD inline
#endif

// True while compiling device code (the __CUDA_ARCH__ pass of nvcc), where the
// hardware-approximate intrinsics exist. Host compilations fall back to precise math.
#if defined(__CUDA_ARCH__)
#define ACT_DEVICE_PASS 1
#else
#define ACT_DEVICE_PASS 0
#endif
