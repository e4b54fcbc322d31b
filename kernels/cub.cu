// Library reference for softmax:
//
//   cub      one block of 256 threads per row; the row max and the row sum are each one
//            cub::BlockReduce over the functors of common/ops.h (MaxOp keeps NaN), and x is
//            read three times (max, sum, output) as in `fused`, so the two differ only in
//            the reduction; elements of T are widened to f32 as they are read
//   cub      of softmax_backward: the same block per row; the dot product sum_k dy_k y_k is
//            one cub::BlockReduce (SumOp), y and dy are read twice (dot, output) as in its
//            `fused`, and dx_j = softmax_backward_output(y_j, dy_j, dot)
//
// Kernels, then launchers.
#include <cub/block/block_reduce.cuh>

#include <algorithm>
#include <cstdint>

#include "common/cuda_check.h"
#include "common/occupancy.h"
#include "common/ops.h"
#include "common/vec.cuh"
#include "launchers.h"

namespace actbench {

namespace {

constexpr int kCubThreads = 256;

template <class T, int kThreads>
__global__ void __launch_bounds__(kThreads)
    softmax_cub_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t cols) {
  using BlockReduce = cub::BlockReduce<float, kThreads>;
  __shared__ typename BlockReduce::TempStorage temp;
  __shared__ float row_max, row_sum;  // BlockReduce's result lands in thread 0 only
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * cols;
    float m = MaxOp{}.identity();
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) m = MaxOp{}(m, widen(xr[c]));
    m = BlockReduce(temp).Reduce(m, MaxOp{});
    if (threadIdx.x == 0) row_max = m;
    __syncthreads();  // publishes row_max; `temp` may be reused
    m = row_max;      // read before the next barrier, which thread 0 passes before rewriting it
    float s = SumOp{}.identity();
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) s += softmax_term(widen(xr[c]), m);
    s = BlockReduce(temp).Reduce(s, SumOp{});
    if (threadIdx.x == 0) row_sum = s;
    __syncthreads();  // publishes row_sum; `temp` may be reused
    const SoftmaxState state{m, row_sum};  // read before the next row's first barrier
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) {
      y[row * cols + c] = narrow<T>(softmax_output(widen(xr[c]), state));
    }
  }
}

template <class T, int kThreads>
__global__ void __launch_bounds__(kThreads)
    softmax_backward_cub_kernel(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx,
                                int64_t rows, int64_t cols) {
  using BlockReduce = cub::BlockReduce<float, kThreads>;
  __shared__ typename BlockReduce::TempStorage temp;
  __shared__ float row_dot;  // BlockReduce's result lands in thread 0 only
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* yr = y + row * cols;
    const T* dyr = dy + row * cols;
    float dot = SumOp{}.identity();
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) dot += widen(dyr[c]) * widen(yr[c]);
    dot = BlockReduce(temp).Reduce(dot, SumOp{});
    if (threadIdx.x == 0) row_dot = dot;
    __syncthreads();  // publishes row_dot; `temp` may be reused
    dot = row_dot;    // read before the next barrier (the next row's Reduce), which thread 0 passes before rewriting it
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) {
      dx[row * cols + c] = narrow<T>(softmax_backward_output(widen(yr[c]), widen(dyr[c]), dot));
    }
  }
}

// Blocks for p's rows, capped at what the device holds at once.
template <class Kernel>
int cub_grid(Kernel kernel, const Problem& p) {
  return static_cast<int>(std::min<int64_t>(p.rows, resident_blocks(kernel, kCubThreads)));
}

}  // namespace

template <class T>
void softmax_cub(const Problem& p) {
  if (p.rows == 0 || p.cols == 0) return;
  const auto kernel = softmax_cub_kernel<T, kCubThreads>;
  kernel<<<cub_grid(kernel, p), kCubThreads, 0, p.stream>>>(static_cast<const T*>(p.x), static_cast<T*>(p.y), p.rows,
                                                            p.cols);
  ACT_CHECK_LAUNCH();
}

template <class T>
void softmax_backward_cub(const Problem& p) {
  if (p.rows == 0 || p.cols == 0) return;
  const auto kernel = softmax_backward_cub_kernel<T, kCubThreads>;
  kernel<<<cub_grid(kernel, p), kCubThreads, 0, p.stream>>>(static_cast<const T*>(p.x), static_cast<const T*>(p.dy),
                                                            static_cast<T*>(p.y), p.rows, p.cols);
  ACT_CHECK_LAUNCH();
}

template void softmax_cub<float>(const Problem&);
template void softmax_cub<__half>(const Problem&);
template void softmax_cub<__nv_bfloat16>(const Problem&);
template void softmax_backward_cub<float>(const Problem&);
template void softmax_backward_cub<__half>(const Problem&);
template void softmax_backward_cub<__nv_bfloat16>(const Problem&);

}  // namespace actbench
