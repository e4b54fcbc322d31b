// Elementwise activation kernels, one body per strategy, templated on a functor of
// common/ops.h (Sigmoid, Tanh, Relu, their *Approx twins, Identity):
//
//   elementwise_naive_kernel  one thread per element, scalar, if (i < n). No __restrict__:
//                             bias_unfused runs it in place (x == y).
//   elementwise_warp_kernel   16-byte vectors, grid-stride over tiles, kWarpUnroll loads in
//                             flight per thread, scalar head/tail (common/vec.cuh). XLoad is
//                             LoadVec4 when x shares y's 16-byte alignment, else LoadScalar4.
//   bias_fused_kernel         y = op(x + bias[col]), one thread per element; with Identity it
//                             is the bias-add pass of the unfused pipeline.
//   bias_fused_warp_kernel    the same over the flattened rows x cols array with the warp
//                             kernel's vectors: rows need not be aligned (odd cols), each
//                             vector finds its first column with one multiply-high and takes
//                             its four bias values from L1 (BiasWrap4), or as one 16-byte load
//                             when every vector starts on an aligned column (BiasVec4).
//
// Indices are 64-bit throughout: the arrays hold up to 2^28 floats, 2^30 bytes, and nothing
// here assumes a bound.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "common/vec.cuh"

namespace actbench {

constexpr int kNaiveBlock = 256;
constexpr int kWarpBlock = 256;
// Four 16-byte loads per thread in flight: 64 bytes per thread, tens of KB per SM, well over
// what Hopper's bandwidth-latency product asks (~25 KB per SM at 4.8 TB/s and ~700 ns).
constexpr int kWarpUnroll = 4;

// e mod cols for 0 <= e < 2^63 and 1 <= cols < 2^63 without a 64-bit division: the quotient
// is (mulhi(e, magic) + e) >> shift with shift = ceil(log2(cols)) and
// magic = floor(2^64 * (2^shift - cols) / cols) + 1 (Granlund & Montgomery, 1994, round-up
// method, their Theorem 4.2: exact for every e below 2^64; mulhi(e, magic) <= e, so the sum
// stays below 2^64 for the e < 2^63 used here).
struct ColumnOf {
  uint64_t magic;
  unsigned shift;
  int64_t cols;

  static ColumnOf make(int64_t cols) {
    unsigned shift = 0;
    while ((uint64_t{1} << shift) < static_cast<uint64_t>(cols)) ++shift;
    const auto d = static_cast<unsigned __int128>(cols);
    const auto excess = static_cast<unsigned __int128>((uint64_t{1} << shift) - cols);
    return ColumnOf{static_cast<uint64_t>((excess << 64) / d + 1), shift, cols};
  }

  __device__ __forceinline__ int64_t operator()(int64_t e) const {
    const uint64_t u = static_cast<uint64_t>(e);
    const uint64_t row = (__umul64hi(u, magic) + u) >> shift;
    return e - static_cast<int64_t>(row) * cols;
  }
};

// The four bias values of a vector whose first element sits in column `col`.
struct BiasVec4 {  // col is a multiple of 4, bias is 16-byte aligned, cols is a multiple of 4
  static __device__ __forceinline__ float4 load(const float* bias, int64_t col, int64_t) {
    return LoadVec4::load(bias + col);
  }
};

struct BiasWrap4 {  // any cols >= 1: a vector may span a row end (several, when cols < 4)
  static __device__ __forceinline__ float4 load(const float* bias, int64_t col, int64_t cols) {
    float b[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      b[k] = __ldg(bias + col);
      col = col + 1 == cols ? 0 : col + 1;
    }
    return make_float4(b[0], b[1], b[2], b[3]);
  }
};

template <class Op>
__global__ void __launch_bounds__(kNaiveBlock)
    elementwise_naive_kernel(const float* x, float* y, int64_t n, Op op) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = op(x[i]);
}

template <class Op, class XLoad>
__global__ void __launch_bounds__(kWarpBlock)
    elementwise_warp_kernel(const float* __restrict__ x, float* __restrict__ y, VecSplit s,
                            Op op) {
  for_each_edge_element(s, [&](int64_t e) { y[e] = op(__ldg(x + e)); });
  const float* xv = x + s.head;
  float4* yv = reinterpret_cast<float4*>(y + s.head);
  grid_stride_tiles<kWarpBlock, kWarpUnroll>(
      s.vecs, [&](int64_t i) { return XLoad::load(xv + 4 * i); },
      [&](int64_t i, float4 v) { store4(yv + i, apply4(op, v)); });
}

template <class Op>
__global__ void __launch_bounds__(kNaiveBlock)
    bias_fused_kernel(const float* __restrict__ x, const float* __restrict__ bias,
                      float* __restrict__ y, int64_t n, ColumnOf col_of, Op op) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = op(x[i] + bias[col_of(i)]);
}

template <class Op, class XLoad, class BiasLoad>
__global__ void __launch_bounds__(kWarpBlock)
    bias_fused_warp_kernel(const float* __restrict__ x, const float* __restrict__ bias,
                           float* __restrict__ y, VecSplit s, ColumnOf col_of, Op op) {
  for_each_edge_element(s, [&](int64_t e) { y[e] = op(__ldg(x + e) + __ldg(bias + col_of(e))); });
  const float* xv = x + s.head;
  float4* yv = reinterpret_cast<float4*>(y + s.head);
  grid_stride_tiles<kWarpBlock, kWarpUnroll>(
      s.vecs,
      [&](int64_t i) {
        const float4 b = BiasLoad::load(bias, col_of(s.head + 4 * i), col_of.cols);
        return add4(XLoad::load(xv + 4 * i), b);
      },
      [&](int64_t i, float4 v) { store4(yv + i, apply4(op, v)); });
}

}  // namespace actbench
