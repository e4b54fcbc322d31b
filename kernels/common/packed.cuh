// Packed 16-bit math for the `warp_approx` variants of f16 and bf16: the elements stay in
// their type, two to a 32-bit register, on the hardware paths sm_90 has. PackedMath<Op, T>
// says whether an op of common/ops.h has such a path for element type T and applies it to a
// whole Pack; the warp kernel takes it where it exists and widens to f32 everywhere else (the
// scalar head and tail elements included, which therefore take the f32 approximation).
//
//   TanhApprox     tanh.approx.f16x2 / tanh.approx.bf16x2. ptxas splits each into two
//                  MUFU.TANH.F16 / .BF16, one per element (measured in the SASS): the MUFU
//                  rate is f32's; what is saved is the widening and the rounding.
//   SigmoidApprox  0.5 * tanh(x / 2) + 0.5 in the same tanh, a packed multiply and a packed
//                  FMA. Its absolute error is the tanh's halved, but on the negative side,
//                  where sigmoid is small, 0.5 - 0.5 * |tanh| cancels: its relative error there
//                  is large, and the registry's tolerance says so (absolute, not relative).
//
// Everything rounds in the 16-bit type at every step (x / 2 is exact but for the subnormals,
// where sigmoid is 0.5 either way); no f32 is involved. tanh.approx.bf16x2 needs sm_90: built
// for an older architecture, bf16 widens its two halves to tanh.approx.f32 instead.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "ops.h"
#include "vec.cuh"

namespace actbench {

template <class Op, class T>
struct PackedMath {
  static constexpr bool kPacked = false;
};

// The pair type of a 16-bit element type, and its tanh.approx.
template <class T> struct Pair;
template <> struct Pair<__half> {
  using Type = __half2;
  static __device__ __forceinline__ Type splat(float v) { return __float2half2_rn(v); }
  static __device__ __forceinline__ uint32_t tanh(uint32_t v) {
    uint32_t r;
    asm("tanh.approx.f16x2 %0, %1;" : "=r"(r) : "r"(v));
    return r;
  }
};
template <> struct Pair<__nv_bfloat16> {
  using Type = __nv_bfloat162;
  static __device__ __forceinline__ Type splat(float v) { return __float2bfloat162_rn(v); }
  static __device__ __forceinline__ uint32_t tanh(uint32_t v) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
    const float2 f = __bfloat1622float2(bits_as<__nv_bfloat162>(v));
    float lo, hi;
    asm("tanh.approx.f32 %0, %1;" : "=f"(lo) : "f"(f.x));
    asm("tanh.approx.f32 %0, %1;" : "=f"(hi) : "f"(f.y));
    return bits_as<uint32_t>(__floats2bfloat162_rn(lo, hi));
#else
    uint32_t r;
    asm("tanh.approx.bf16x2 %0, %1;" : "=r"(r) : "r"(v));
    return r;
#endif
  }
};

// f over the four 32-bit pairs of a 16-bit Pack.
template <class T, class F>
__device__ __forceinline__ Pack<T> map_pairs(const Pack<T>& p, F f) {
  static_assert(sizeof(T) == 2, "map_pairs: 16-bit element types only");
  uint4 w = bits_as<uint4>(p);
  w.x = f(w.x);
  w.y = f(w.y);
  w.z = f(w.z);
  w.w = f(w.w);
  return bits_as<Pack<T>>(w);
}

template <class T>
struct PackedMath<TanhApprox, T> {
  static constexpr bool kPacked = sizeof(T) == 2;
  static __device__ __forceinline__ Pack<T> apply(const Pack<T>& p) {
    return map_pairs(p, [](uint32_t v) { return Pair<T>::tanh(v); });
  }
};

template <class T>
struct PackedMath<SigmoidApprox, T> {
  static constexpr bool kPacked = sizeof(T) == 2;
  static __device__ __forceinline__ Pack<T> apply(const Pack<T>& p) {
    using T2 = typename Pair<T>::Type;
    return map_pairs(p, [](uint32_t v) {
      const T2 half = Pair<T>::splat(0.5f);
      const T2 t = bits_as<T2>(Pair<T>::tanh(bits_as<uint32_t>(__hmul2(bits_as<T2>(v), half))));
      return bits_as<uint32_t>(__hfma2(t, half, half));
    });
  }
};

}  // namespace actbench
