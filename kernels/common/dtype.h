// Element types. Every variant moves one of them; the math is always done in f32 (16-bit
// values are widened on load and rounded once on store, round-to-nearest-even), except in the
// variants that exist to show packed 16-bit math.
//
//   DType            f32, f16 (IEEE binary16, CUDA's __half), bf16 (bfloat16, __nv_bfloat16):
//                    name, bytes, epsilon (the spacing at 1), smallest subnormal, largest finite
//   Element<T>       the DType of a C++ element type, for the templates of kernels and CPU code
//   *_bits_to_f32,   exact conversions in software, for the host: widening is exact, narrowing
//   f32_to_*_bits    rounds to nearest even, with overflow to inf, gradual underflow to the
//                    subnormals and NaN kept NaN (quiet). The CPU baselines' scalar paths and
//                    the test data use them; the kernels use CUDA's own conversion instructions.
//   round_to         a double rounded once, correctly, to a type (the reference's last step:
//                    rounding through float first would round twice)
//
// Compiles with g++ and nvcc; the CUDA headers give __half and __nv_bfloat16 on the host too,
// where they are plain 2-byte storage.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

namespace actbench {

enum class DType { F32, F16, BF16 };

constexpr DType kDTypes[] = {DType::F32, DType::F16, DType::BF16};

constexpr const char* dtype_name(DType t) {
  return t == DType::F32 ? "f32" : t == DType::F16 ? "f16" : "bf16";
}
constexpr size_t dtype_bytes(DType t) { return t == DType::F32 ? 4 : 2; }
// 2^-(significand bits): the gap between 1 and the next value.
constexpr double dtype_epsilon(DType t) {
  return t == DType::F32 ? 0x1p-23 : t == DType::F16 ? 0x1p-10 : 0x1p-7;
}
constexpr double dtype_min_subnormal(DType t) {
  return t == DType::F32 ? 0x1p-149 : t == DType::F16 ? 0x1p-24 : 0x1p-133;
}
constexpr double dtype_max(DType t) {
  return t == DType::F32 ? 0x1.fffffep127 : t == DType::F16 ? 65504.0 : 0x1.fep127;
}

// Significant bits (the leading one included) and the exponent of the smallest normal value.
constexpr int dtype_digits(DType t) { return t == DType::F32 ? 24 : t == DType::F16 ? 11 : 8; }
constexpr int dtype_min_exponent(DType t) { return t == DType::F16 ? -14 : -126; }

// The spacing of type t's values at |v| (v finite) is 2^dtype_spacing_exponent(t, v): the
// ulp of v's binade, down to the subnormals' fixed quantum.
inline int dtype_spacing_exponent(DType t, double v) {
  int exponent;
  std::frexp(v, &exponent);  // |v| in [2^(exponent-1), 2^exponent)
  return std::max(exponent - 1, dtype_min_exponent(t)) - (dtype_digits(t) - 1);
}

template <class T> struct Element;
template <> struct Element<float> { static constexpr DType kType = DType::F32; };
template <> struct Element<__half> { static constexpr DType kType = DType::F16; };
template <> struct Element<__nv_bfloat16> { static constexpr DType kType = DType::BF16; };

// ---- exact software conversions (host) ------------------------------------------------------

inline uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float f32_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline float bf16_bits_to_f32(uint16_t b) { return f32_from_bits(uint32_t{b} << 16); }

// The upper half of the float, rounded to nearest even on the 16 bits dropped; a NaN keeps
// its sign and top payload bits and is made quiet (a payload that lives only in the low half
// would otherwise truncate to inf).
inline uint16_t f32_to_bf16_bits(float f) {
  const uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

inline float f16_bits_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return f32_from_bits(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN
  // Normal: rebias the exponent; subnormal (exponent 0): mantissa * 2^-24, exact in float.
  const float magnitude = exponent != 0 ? f32_from_bits(((exponent + 112u) << 23) | (mantissa << 13))
                                        : static_cast<float>(mantissa) * 0x1p-24f;
  return f32_from_bits(sign | f32_bits(magnitude));
}

// Round to nearest even at f16's precision: 11 significant bits for |f| >= 2^-14, a fixed
// quantum of 2^-24 below (the subnormals); 65520 and up (half way past the largest finite,
// 65504, tying to the even 65536) overflow to inf.
inline uint16_t f32_to_f16_bits(float f) {
  const uint32_t u = f32_bits(f);
  const auto sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u | ((a >> 13) & 0x3ffu));  // NaN
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520: inf
  if (a < 0x38800000u) {  // below 2^-14: a multiple of 2^-24, rounded (exact in float arithmetic)
    const float q = std::nearbyint(f32_from_bits(a) * 0x1p24f);  // the default mode: to nearest even
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(q));  // q = 1024 is 2^-14, the first normal
  }
  // Normal: drop 13 mantissa bits, rounding to nearest even; a carry into the exponent is right.
  const uint32_t rebased = a - (112u << 23);
  return static_cast<uint16_t>(sign | ((rebased + 0xfffu + ((rebased >> 13) & 1u)) >> 13));
}

// ---- correct rounding of a double ----------------------------------------------------------

// v rounded once to nearest even in type t, returned as a double (exact in every type). Above
// the largest finite value the boundary is max + half an ulp, which ties to the even neighbour
// past max, so it and all beyond become inf.
inline double round_to(DType t, double v) {
  if (t == DType::F32) return static_cast<double>(static_cast<float>(v));  // one IEEE rounding
  if (!std::isfinite(v) || v == 0.0) return v;
  const int quantum = dtype_spacing_exponent(t, v);
  const double r = std::ldexp(std::nearbyint(std::ldexp(v, -quantum)), quantum);
  return std::fabs(r) > dtype_max(t) ? std::copysign(std::numeric_limits<double>::infinity(), v) : r;
}

// A float value rounded to type t and widened back (exact when it is representable).
inline float round_float_to(DType t, float f) {
  switch (t) {
    case DType::F32:
      return f;
    case DType::F16:
      return f16_bits_to_f32(f32_to_f16_bits(f));
    case DType::BF16:
      return bf16_bits_to_f32(f32_to_bf16_bits(f));
  }
  return f;
}

}  // namespace actbench
