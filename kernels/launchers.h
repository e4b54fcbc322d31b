// Launchers of every GPU variant: the only places that choose a grid and a block. Each one
// enqueues its kernels on problem.stream and checks every launch (ACT_CHECK_LAUNCH). The
// registry (registry.cu) is their one caller list; templates are instantiated explicitly in
// the .cu file that defines them for the functors the registry uses.
#pragma once

#include <cstddef>
#include <cstdint>

#include "registry.h"

namespace actbench {

// kernels/elementwise.cu — Op is a functor of common/ops.h.
template <class Op> void elementwise_naive(const Problem& p);
template <class Op> void elementwise_warp(const Problem& p);
template <class Op> void bias_unfused(const Problem& p);
template <class Op> void bias_fused(const Problem& p);
template <class Op> void bias_fused_warp(const Problem& p);

// kernels/thrust.cu
template <class Op> void elementwise_thrust(const Problem& p);

// kernels/softmax.cu
void softmax_naive(const Problem& p);
void softmax_fused(const Problem& p);
void softmax_warp(const Problem& p);
void softmax_block(const Problem& p);
void softmax_online(const Problem& p);
void softmax_auto(const Problem& p);
size_t softmax_naive_workspace(int64_t rows, int64_t cols);
size_t softmax_online_workspace(int64_t rows, int64_t cols);
size_t softmax_auto_workspace(int64_t rows, int64_t cols);
extern const int64_t kSoftmaxWarpMaxCols;   // longest row `warp` holds in registers
extern const int64_t kSoftmaxBlockMaxCols;  // longest row `block` keeps on chip

// kernels/cub.cu
void softmax_cub(const Problem& p);

// kernels/copy.cu — the roofline: a device-to-device copy of the same bytes.
void copy_cuda_memcpy(const Problem& p);

// kernels/fill.cu — a harness utility, not a variant: n floats set to `value` on `stream`.
void fill_floats(float* p, int64_t n, float value, cudaStream_t stream);

// kernels/timing.cu — the GPU timer's utilities, not variants: evict the L2 by reading `bytes`
// of `buffer` (leaving it clean; `sink` is one device unsigned the kernel may write), and keep
// `stream` busy for `ns` nanoseconds.
void l2_flush_read(const void* buffer, size_t bytes, unsigned* sink, cudaStream_t stream);
void gpu_sleep(uint64_t ns, cudaStream_t stream);

#if ACTBENCH_HAVE_CUDNN
// kernels/cudnn.cu — A is Sigmoid, Tanh or Relu.
template <Activation A> void cudnn_activation(const Problem& p);
void cudnn_softmax(const Problem& p);
#endif

}  // namespace actbench
