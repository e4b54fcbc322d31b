// 16-byte vector access for the memory-bound kernels, with scalar edges for any n and any
// 4-byte alignment. Pieces:
//
//   VecSplit              an n-element output split into a scalar head (0-3 elements, until
//                         the output is 16-byte aligned), `vecs` aligned float4 and a scalar
//                         tail (0-3 elements). Computed on the host from the output pointer.
//   LoadVec4              one 16-byte read-only load, ld.global.nc.v4.f32: the source is
//                         16-byte aligned wherever the output is (same misalignment).
//   LoadScalar4           four 4-byte read-only loads: the source is misaligned relative to
//                         the output (x and y offset by different amounts). Stores stay 16
//                         bytes wide; each warp load still covers one contiguous 512-byte
//                         span, so DRAM traffic is unchanged and L1 serves the partial reads.
//   store4                one 16-byte streaming store (st.global.cs.v4.f32): written once.
//   for_each_edge_element the head and tail elements, done by the grid's first threads.
//   grid_stride_tiles     the vector body: a grid-stride loop over tiles of kBlock * kUnroll
//                         float4; each thread issues all kUnroll loads before the first use,
//                         and every load and store instruction of a warp touches 32
//                         consecutive 16-byte vectors (fully coalesced).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

namespace actbench {

struct VecSplit {
  int64_t n;     // elements in all
  int64_t head;  // elements [0, head) are scalar, then 16-byte vectors start
  int64_t vecs;  // float4 in [head, head + 4 * vecs)
  // Elements [head + 4 * vecs, n) are the scalar tail.
};

// Splits n elements written through `y` (a float pointer, so 4-byte aligned) at y's first
// 16-byte boundary.
inline VecSplit split_at_alignment(const float* y, int64_t n) {
  const auto misalign = static_cast<int64_t>(reinterpret_cast<uintptr_t>(y) & 15u);
  const int64_t head = std::min<int64_t>(((16 - misalign) & 15) / 4, n);
  return VecSplit{n, head, (n - head) / 4};
}

inline bool is_aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

struct LoadVec4 {
  static __device__ __forceinline__ float4 load(const float* p) {
    return __ldg(reinterpret_cast<const float4*>(p));
  }
};

struct LoadScalar4 {
  static __device__ __forceinline__ float4 load(const float* p) {
    return make_float4(__ldg(p), __ldg(p + 1), __ldg(p + 2), __ldg(p + 3));
  }
};

__device__ __forceinline__ void store4(float4* p, float4 v) { __stcs(p, v); }

template <class Op>
__device__ __forceinline__ float4 apply4(const Op& op, float4 v) {
  return make_float4(op(v.x), op(v.y), op(v.z), op(v.w));
}

__device__ __forceinline__ float4 add4(float4 a, float4 b) {
  return make_float4(a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w);
}

// Calls f(e) once for every head and tail element of s (at most 3 + 3), from the first
// threads of block 0.
template <class F>
__device__ __forceinline__ void for_each_edge_element(const VecSplit& s, F f) {
  if (blockIdx.x != 0 || threadIdx.x >= 4) return;
  const int64_t t = threadIdx.x;
  if (t < s.head) f(t);
  const int64_t e = s.head + 4 * s.vecs + t;
  if (e < s.n) f(e);
}

// For every i in [0, count): v = load(i), then store(i, v). A block owns a tile of
// kBlock * kUnroll consecutive indices per step: thread t handles t, t + kBlock, ... so each
// warp-wide access is consecutive, and the kUnroll loads are independent and issued together.
template <int kBlock, int kUnroll, class Load, class Store>
__device__ __forceinline__ void grid_stride_tiles(int64_t count, Load load, Store store) {
  static_assert(kUnroll >= 1 && kBlock % 32 == 0, "whole warps, at least one load per thread");
  using T = decltype(load(int64_t{0}));
  constexpr int64_t kTile = int64_t{kBlock} * kUnroll;
  const int64_t step = kTile * gridDim.x;
  for (int64_t first = kTile * blockIdx.x + threadIdx.x; first < count; first += step) {
    T v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t i = first + int64_t{u} * kBlock;
      v[u] = i < count ? load(i) : T{};
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t i = first + int64_t{u} * kBlock;
      if (i < count) store(i, v[u]);
    }
  }
}

}  // namespace actbench
