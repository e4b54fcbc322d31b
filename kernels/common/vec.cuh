// 16-byte vector access for the memory-bound kernels, for any element type of dtype.h, with
// scalar edges for any n and any element alignment. A 16-byte vector is a Pack<T>: 4 floats
// or 8 halves / bfloat16s. Pieces:
//
//   widen, narrow<T>      one element to f32 and back (round to nearest even); widen_pack and
//                         narrow_pack do a whole Pack, two elements per conversion instruction
//                         for the 16-bit types (cvt.rn.f16x2.f32 / .bf16x2.f32)
//   VecSplit              an n-element output split into a scalar head (until the output is
//                         16-byte aligned), `vecs` aligned Packs and a scalar tail, computed on
//                         the host from the output pointer
//   LoadPack              one 16-byte read-only load (ld.global.nc.v4): the source is 16-byte
//                         aligned wherever the output is (same misalignment)
//   LoadScalars           Pack<T>::kN element loads: the source is misaligned relative to the
//                         output. Stores stay 16 bytes wide; each warp load still covers one
//                         contiguous 512-byte span, so DRAM traffic is unchanged and L1 serves
//                         the partial reads
//   store_pack            one 16-byte streaming store (st.global.cs.v4): written once
//   for_each_edge_element the head and tail elements, done by the grid's first threads
//   grid_stride_tiles     the vector body: a grid-stride loop over tiles of kBlock * kUnroll
//                         Packs; each thread issues all kUnroll loads before the first use, and
//                         every load and store instruction of a warp touches 32 consecutive
//                         16-byte vectors (fully coalesced)
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace actbench {

// ---- conversions ----------------------------------------------------------------------------

__device__ __forceinline__ float widen(float v) { return v; }
__device__ __forceinline__ float widen(__half v) { return __half2float(v); }
__device__ __forceinline__ float widen(__nv_bfloat16 v) { return __bfloat162float(v); }

template <class T> __device__ __forceinline__ T narrow(float v);
template <> __device__ __forceinline__ float narrow<float>(float v) { return v; }
template <> __device__ __forceinline__ __half narrow<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 narrow<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// 16 bytes of T.
template <class T>
struct alignas(16) Pack {
  static_assert(16 % sizeof(T) == 0, "Pack: the element size must divide 16 bytes");
  static constexpr int kN = 16 / static_cast<int>(sizeof(T));
  T e[kN];
};

// The kN elements of a Pack as floats (Floats<T> = float[kN]).
template <class T>
struct Floats {
  float f[Pack<T>::kN];
};

template <class T>
__device__ __forceinline__ Floats<T> widen_pack(const Pack<T>& p) {
  Floats<T> out;  // widening is exact: a shift (bf16) or a cvt (f16) each
#pragma unroll
  for (int i = 0; i < Pack<T>::kN; ++i) out.f[i] = widen(p.e[i]);
  return out;
}

template <class T>
__device__ __forceinline__ Pack<T> narrow_pack(const Floats<T>& v) {
  Pack<T> out;
  if constexpr (sizeof(T) == 4) {
#pragma unroll
    for (int i = 0; i < Pack<T>::kN; ++i) out.e[i] = narrow<T>(v.f[i]);
  } else {
    // One paired conversion per two elements, each rounded to nearest even.
#pragma unroll
    for (int i = 0; i < Pack<T>::kN; i += 2) {
      if constexpr (std::is_same_v<T, __half>) {
        const __half2 h = __floats2half2_rn(v.f[i], v.f[i + 1]);
        out.e[i] = __low2half(h);
        out.e[i + 1] = __high2half(h);
      } else {
        const __nv_bfloat162 b = __floats2bfloat162_rn(v.f[i], v.f[i + 1]);
        out.e[i] = __low2bfloat16(b);
        out.e[i + 1] = __high2bfloat16(b);
      }
    }
  }
  return out;
}

// f applied to every element of a Pack through f32.
template <class T, class F>
__device__ __forceinline__ Pack<T> map_widened(const Pack<T>& p, F f) {
  Floats<T> v = widen_pack(p);
#pragma unroll
  for (int i = 0; i < Pack<T>::kN; ++i) v.f[i] = f(v.f[i]);
  return narrow_pack<T>(v);
}

// ---- splitting n elements at the output's alignment ---------------------------------------

struct VecSplit {
  int64_t n;     // elements in all
  int64_t head;  // elements [0, head) are scalar, then 16-byte vectors start
  int64_t vecs;  // Packs in [head, head + kN * vecs)
  // Elements [head + kN * vecs, n) are the scalar tail.
};

// Splits n elements written through `y` (a T pointer, so aligned to sizeof(T)) at y's first
// 16-byte boundary.
template <class T>
VecSplit split_at_alignment(const T* y, int64_t n) {
  constexpr int64_t kN = Pack<T>::kN;
  const auto misalign = static_cast<int64_t>(reinterpret_cast<uintptr_t>(y) & 15u);
  const int64_t head = std::min<int64_t>(((16 - misalign) & 15) / static_cast<int64_t>(sizeof(T)), n);
  return VecSplit{n, head, (n - head) / kN};
}

inline bool is_aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

// ---- loads and stores -----------------------------------------------------------------------

// The bits of `s` as a Dst of the same size. By value: bound to a reference, a loaded value
// would let the compiler copy its bytes from memory one at a time.
template <class Dst, class Src>
__device__ __forceinline__ Dst bits_as(Src s) {
  static_assert(sizeof(Dst) == sizeof(Src), "bits_as: the two types differ in size");
  Dst d;
  memcpy(&d, &s, sizeof d);
  return d;
}

struct LoadPack {
  template <class T>
  static __device__ __forceinline__ Pack<T> load(const T* p) {
    return bits_as<Pack<T>>(__ldg(reinterpret_cast<const uint4*>(p)));
  }
};

struct LoadScalars {
  template <class T>
  static __device__ __forceinline__ Pack<T> load(const T* p) {
    Pack<T> out;
#pragma unroll
    for (int i = 0; i < Pack<T>::kN; ++i) out.e[i] = __ldg(p + i);
    return out;
  }
};

template <class T>
__device__ __forceinline__ void store_pack(Pack<T>* p, const Pack<T>& v) {
  __stcs(reinterpret_cast<uint4*>(p), bits_as<uint4>(v));
}

// Calls f(e) once for every head and tail element of s (fewer than kN each), from the first
// threads of block 0.
template <int kN, class F>
__device__ __forceinline__ void for_each_edge_element(const VecSplit& s, F f) {
  if (blockIdx.x != 0 || threadIdx.x >= kN) return;
  const int64_t t = threadIdx.x;
  if (t < s.head) f(t);
  const int64_t e = s.head + kN * s.vecs + t;
  if (e < s.n) f(e);
}

// For every i in [0, count): v = load(i), then store(i, v). A block owns a tile of
// kBlock * kUnroll consecutive indices per step: thread t handles t, t + kBlock, ... so each
// warp-wide access is consecutive, and the kUnroll loads are independent and issued together.
template <int kBlock, int kUnroll, class Load, class Store>
__device__ __forceinline__ void grid_stride_tiles(int64_t count, Load load, Store store) {
  static_assert(kUnroll >= 1 && kBlock % 32 == 0, "whole warps, at least one load per thread");
  using V = decltype(load(int64_t{0}));
  constexpr int64_t kTile = int64_t{kBlock} * kUnroll;
  const int64_t step = kTile * gridDim.x;
  for (int64_t first = kTile * blockIdx.x + threadIdx.x; first < count; first += step) {
    V v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t i = first + int64_t{u} * kBlock;
      if (i < count) v[u] = load(i);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t i = first + int64_t{u} * kBlock;
      if (i < count) store(i, v[u]);
    }
  }
}

}  // namespace actbench
