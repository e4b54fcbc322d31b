// Row-wise softmax backward kernels: per row, dx_j = y_j (dy_j - sum_k dy_k y_k) (PyTorch's
// _softmax_backward_data), y the saved softmax output, dy the upstream gradient, dx never
// aliasing either; rows x cols elements of type T (float, __half, __nv_bfloat16), row-major.
// One kernel body per strategy, templated on T; the launchers in softmax_backward.cu pick each
// template's parameters, the grid and the block. Inputs are widened to f32 as they are read,
// the dot product is accumulated in f32, and each dx is rounded once to T as it is written
// (softmax_backward_output of common/ops.h).
//
//   naive  softmax_backward_naive_{dot,update}_kernel: two kernels, the dot products one thread
//          per row (into the workspace), then the update one thread per element
//   fused  softmax_backward_fused_kernel: one block per row, a shared-memory tree reduction,
//          y and dy read twice (dot, output)
//   warp   softmax_backward_warp_kernel: a group of kGroup lanes per row (32 / kGroup rows per
//          warp for short rows), the row's y and dy in registers, shuffle reductions: one read
//          of each, one write
//   block  softmax_backward_block_kernel: one block per row, its y and dy in registers,
//          shuffle + shared-memory reductions: one read of each, one write
//
// Numerics: IEEE's throughout, no term skipped: NaN anywhere in a row's y or dy makes its dot
// NaN and so the whole row of dx NaN, as inf * 0 does; the double reference does the same.
// The register kernels pad the columns past a row with y = dy = 0, which adds 0 to the dot.
#pragma once

#include <cstdint>

#include "common/ops.h"
#include "common/reduce.cuh"
#include "common/vec.cuh"
#include "softmax.cuh"

namespace actbench {

// ---- naive: two kernels ----------------------------------------------------------------------

// One thread adds up a whole row in order, compensated (Kahan) as softmax's naive sum is: a
// plain float sum of 2^20 terms drifts by ~1e-5 relative. The compensation stops once the sum
// is no longer finite (an infinite or NaN term): (inf - sum) - inf is NaN, which would turn an
// infinite dot product, and so a row of infinite dx, into NaN.
template <class T>
__global__ void softmax_backward_naive_dot_kernel(const T* __restrict__ y, const T* __restrict__ dy,
                                                  float* __restrict__ row_dot, int64_t rows, int64_t cols) {
  const int64_t row = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (row >= rows) return;
  const T* yr = y + row * cols;
  const T* dyr = dy + row * cols;
  CompensatedSum dot;
  for (int64_t c = 0; c < cols; ++c) dot.add(widen(dyr[c]) * widen(yr[c]));
  row_dot[row] = dot.sum;
}

template <class T>
__global__ void softmax_backward_naive_update_kernel(const T* __restrict__ y, const T* __restrict__ dy,
                                                     const float* __restrict__ row_dot, T* __restrict__ dx,
                                                     int64_t rows, int64_t cols) {
  const int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (i >= rows * cols) return;
  dx[i] = narrow<T>(softmax_backward_output(widen(y[i]), widen(dy[i]), row_dot[i / cols]));
}

// ---- fused: one block per row, a shared-memory tree ------------------------------------------

template <class T, int kThreads>
__global__ void __launch_bounds__(kThreads)
    softmax_backward_fused_kernel(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx,
                                  int64_t rows, int64_t cols) {
  __shared__ float tree[kThreads];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* yr = y + row * cols;
    const T* dyr = dy + row * cols;
    float dot = SumOp{}.identity();
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) dot += widen(dyr[c]) * widen(yr[c]);
    dot = block_reduce_tree<kThreads>(dot, SumOp{}, tree);
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) {
      dx[row * cols + c] = narrow<T>(softmax_backward_output(widen(yr[c]), widen(dyr[c]), dot));
    }
  }
}

// ---- warp: kGroup lanes per row, y and dy in registers ---------------------------------------

// Each group of kGroup lanes holds kPerLane elements of y and of dy of each of its rows
// (WarpRows of softmax.cuh), all loads issued before the first use.
template <class T, int kVec, int kPerLane, int kGroup, int kRows>
__global__ void __launch_bounds__(kSoftmaxWarpKernelThreads)
    softmax_backward_warp_kernel(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx,
                                 int64_t rows, int cols) {
  static_assert(kPerLane % kVec == 0, "softmax_backward_warp_kernel: kPerLane must be a multiple of kVec");
  const WarpRows<kGroup, kRows> w;
  for (int64_t first = w.begin; first < rows; first += w.stride) {
    RowSlice<T, kVec, kPerLane / kVec> ys[kRows], dys[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const int64_t row = w.row(first, r);
      ys[r].load(y + row * cols, cols, w.index, kGroup, row < rows, 0.0f);
      dys[r].load(dy + row * cols, cols, w.index, kGroup, row < rows, 0.0f);
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const int64_t row = w.row(first, r);
      const float dot = warp_reduce<kGroup>(dys[r].dot(ys[r]), SumOp{});
      if (row < rows) {
        ys[r].store_each(dx + row * cols, cols, w.index, kGroup,
                         [&](int i, float yv) { return softmax_backward_output(yv, dys[r].v[i], dot); });
      }
    }
  }
}

// ---- block: one block per row, y and dy in registers -----------------------------------------

template <class T, int kVec, int kThreads, int kPerThread>
__global__ void __launch_bounds__(kThreads)
    softmax_backward_block_kernel(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx,
                                  int64_t rows, int cols) {
  static_assert(kPerThread % kVec == 0, "softmax_backward_block_kernel: kPerThread must be a multiple of kVec");
  __shared__ BlockReduceStorage<float, kThreads> storage;
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    RowSlice<T, kVec, kPerThread / kVec> ys, dys;
    ys.load(y + row * cols, cols, threadIdx.x, kThreads, true, 0.0f);
    dys.load(dy + row * cols, cols, threadIdx.x, kThreads, true, 0.0f);
    const float dot = block_reduce<kThreads>(dys.dot(ys), SumOp{}, storage);
    ys.store_each(dx + row * cols, cols, threadIdx.x, kThreads,
                  [&](int i, float yv) { return softmax_backward_output(yv, dys.v[i], dot); });
  }
}

}  // namespace actbench
