// Launchers of every GPU variant: the only places that choose a grid and a block. Each one
// enqueues its kernels on problem.stream and checks every launch (ACT_CHECK_LAUNCH). The
// registry (registry.cu) is their one caller list. T is the element type (float, __half,
// __nv_bfloat16); templates are instantiated explicitly in the .cu file that defines them, for
// every type and the functors the registry uses.
#pragma once

#include <cstddef>
#include <cstdint>

#include "registry.h"

namespace actbench {

// kernels/elementwise.cu — Op is a functor of common/ops.h.
template <class T, class Op> void elementwise_naive(const Problem& p);
template <class T, class Op> void elementwise_warp(const Problem& p);
template <class T, class Op> void bias_unfused(const Problem& p);
template <class T, class Op> void bias_fused(const Problem& p);
template <class T, class Op> void bias_fused_warp(const Problem& p);
// The gated families: Op (Silu, Gelu) applies to the first half of each row of x.
template <class T, class Op> void gated_unfused(const Problem& p);
template <class T, class Op> void gated_fused(const Problem& p);
template <class T, class Op> void gated_fused_warp(const Problem& p);
template <class T> size_t gated_unfused_workspace(int64_t rows, int64_t cols);
// The backward families: elementwise_naive and elementwise_warp with a *Grad functor read the
// saved tensor (p.x) and p.dy. The bias ones also write p.dbias, deterministically, through the
// workspace (the tiles' counters and partial sums).
template <class T, class Grad> void bias_backward_unfused(const Problem& p);
template <class T, class Grad> void bias_backward_fused(const Problem& p);
template <class T, class Grad> void bias_backward_fused_warp(const Problem& p);
template <class T> size_t bias_backward_workspace(int64_t rows, int64_t cols);

// kernels/thrust.cu — Op of one argument (forward) or a *Grad of two (backward, with p.dy).
template <class T, class Op> void elementwise_thrust(const Problem& p);

// kernels/softmax.cu
template <class T> void softmax_naive(const Problem& p);
template <class T> void softmax_fused(const Problem& p);
template <class T> void softmax_warp(const Problem& p);
template <class T> void softmax_block(const Problem& p);
template <class T> void softmax_cluster(const Problem& p);
template <class T> void softmax_online(const Problem& p);
template <class T> void softmax_auto(const Problem& p);
size_t softmax_naive_workspace(int64_t rows, int64_t cols);
template <class T> size_t softmax_online_workspace(int64_t rows, int64_t cols);
template <class T> size_t softmax_auto_workspace(int64_t rows, int64_t cols);
// The longest rows `warp` holds in registers and `block` and `cluster` keep on chip: the same
// in every type, since the registers hold the row's exponentials in f32.
extern const int64_t kSoftmaxWarpMaxCols;
extern const int64_t kSoftmaxBlockMaxCols;
extern const int64_t kSoftmaxClusterMaxCols;

// kernels/softmax_backward.cu — p.x the saved softmax output y, p.dy the upstream gradient,
// p.y receives dx.
template <class T> void softmax_backward_naive(const Problem& p);
template <class T> void softmax_backward_fused(const Problem& p);
template <class T> void softmax_backward_warp(const Problem& p);
template <class T> void softmax_backward_block(const Problem& p);
template <class T> void softmax_backward_auto(const Problem& p);
size_t softmax_backward_naive_workspace(int64_t rows, int64_t cols);
// The longest rows `warp` and `block` hold in registers: y and dy, both in f32, the same in
// every type.
extern const int64_t kSoftmaxBackwardWarpMaxCols;
extern const int64_t kSoftmaxBackwardBlockMaxCols;

// kernels/cub.cu
template <class T> void softmax_cub(const Problem& p);
template <class T> void softmax_backward_cub(const Problem& p);

// kernels/copy.cu — the roofline: a device-to-device copy of the same bytes.
template <class T> void copy_cuda_memcpy(const Problem& p);

// kernels/fill.cu — a harness utility, not a variant: `count` elements of `bytes` bytes each
// (2 or 4) set to the bit pattern `bits` on `stream`.
void fill_bits(void* p, int64_t count, size_t bytes, uint32_t bits, cudaStream_t stream);

// kernels/timing.cu — the GPU timer's utilities, not variants: evict the L2 by reading `bytes`
// of `buffer` (leaving it clean; `sink` is one device unsigned the kernel may write), and keep
// `stream` busy for `ns` nanoseconds.
void l2_flush_read(const void* buffer, size_t bytes, unsigned* sink, cudaStream_t stream);
void gpu_sleep(uint64_t ns, cudaStream_t stream);

#if ACTBENCH_HAVE_CUDNN
// kernels/cudnn.cu — A is Sigmoid, Tanh or Relu.
template <class T, Activation A> void cudnn_activation(const Problem& p);
// A is Sigmoid, Tanh or Relu: dx from the saved tensor p.x and p.dy.
template <class T, Activation A> void cudnn_activation_backward(const Problem& p);
template <class T> void cudnn_softmax(const Problem& p);
template <class T> void cudnn_softmax_backward(const Problem& p);
#endif

}  // namespace actbench
