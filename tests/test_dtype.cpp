// The element types' conversions (kernels/common/dtype.h, host/cpu_baselines.h):
//   - dtype.h's exact software conversions against CUDA's own host conversions (cuda_fp16.h,
//     cuda_bf16.h): widening over all 65536 bit patterns of f16 and bf16, narrowing (round to
//     nearest even) over a dense sweep of float bit patterns that holds every rounding tie of
//     both types and its neighbours, the subnormals, the overflow edges, NaN and inf;
//   - cpu_omp's conversions (the CPU's instructions: F16C, AVX-512; and the portable code)
//     against dtype.h's, bit for bit, on every code path this CPU runs, at every length of a
//     vector tail;
//   - round_to(t, double) against a brute-force nearest-even search over all values of the
//     type, on random doubles, on every tie and its neighbours, and at the overflow edges;
//   - Accuracy::in(t): the registry's tolerances in units of each type.
// A NaN must stay NaN; its payload may differ.
#include <gtest/gtest.h>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "host/compare.h"
#include "host/cpu_baselines.h"
#include "kernels/common/dtype.h"
#include "kernels/registry.h"

namespace actbench {
namespace {

constexpr DType kHalfTypes[] = {DType::F16, DType::BF16};

std::string hex(uint32_t u, int digits) {
  std::ostringstream s;
  s << "0x" << std::hex << std::setw(digits) << std::setfill('0') << u;
  return s.str();
}

bool f16_is_nan(uint16_t h) { return (h & 0x7fffu) > 0x7c00u; }
bool bf16_is_nan(uint16_t h) { return (h & 0x7fffu) > 0x7f80u; }
bool is_nan_bits(DType t, uint16_t h) { return t == DType::F16 ? f16_is_nan(h) : bf16_is_nan(h); }

// Same bits, or both NaN.
bool same_float(float a, float b) {
  return std::isnan(a) ? std::isnan(b) : f32_bits(a) == f32_bits(b);
}
bool same_bits(DType t, uint16_t a, uint16_t b) { return is_nan_bits(t, a) ? is_nan_bits(t, b) : a == b; }

float widen_exact(DType t, uint16_t h) { return t == DType::F16 ? f16_bits_to_f32(h) : bf16_bits_to_f32(h); }
uint16_t narrow_exact(DType t, float f) { return t == DType::F16 ? f32_to_f16_bits(f) : f32_to_bf16_bits(f); }

// Float bit patterns for the narrowing tests, about 3.3 million:
//   - every upper half (2^16 of them: each sign, exponent and top mantissa bits) with lower
//     halves that make, for every cut a 16-bit type can round at (13 bits dropped for f16
//     normals, 16 for bf16, more for subnormal results: those cuts lie in the upper half and
//     the upper halves enumerate them), the exact tie with either parity, its two neighbours,
//     and the ends (0, 1, 0x7fff, 0x8000, 0xffff);
//   - a Weyl sequence over all 2^32 patterns (evenly spread mantissas), 2^20 of them;
//   - every pattern from 65504 to just past 65536 in float, both signs (f16's overflow edge).
std::vector<float> float_sweep() {
  std::vector<uint32_t> low = {0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xffff, 0x1234, 0xfedc};
  for (int cut = 13; cut <= 16; ++cut) {
    const uint32_t tie = 1u << (cut - 1);
    for (uint32_t odd : {0u, cut < 16 ? 1u << cut : 0u}) {
      for (uint32_t d : {0u, 1u, 0xffffffffu}) low.push_back((tie | odd) + d);
    }
  }
  std::sort(low.begin(), low.end());
  low.erase(std::unique(low.begin(), low.end()), low.end());
  std::vector<float> out;
  out.reserve((1u << 16) * low.size() + (1u << 20) + 2 * 8400);
  for (uint32_t high = 0; high < (1u << 16); ++high) {
    for (uint32_t l : low) out.push_back(f32_from_bits((high << 16) | (l & 0xffffu)));
  }
  for (uint32_t k = 0; k < (1u << 20); ++k) out.push_back(f32_from_bits(k * 0x9E3779B1u + 12345u));
  for (uint32_t u = f32_bits(65504.0f); u <= f32_bits(65536.0f) + 16; ++u) {
    out.push_back(f32_from_bits(u));
    out.push_back(-f32_from_bits(u));
  }
  return out;
}

const std::vector<float>& sweep() {
  static const std::vector<float> values = float_sweep();
  return values;
}

// ---- dtype.h against CUDA's host conversions ------------------------------------------------

TEST(SoftwareConversion, F16WideningMatchesCudaForAll65536Patterns) {
  int64_t bad = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    const float want = __half2float(__builtin_bit_cast(__half, static_cast<uint16_t>(h)));
    const float got = f16_bits_to_f32(static_cast<uint16_t>(h));
    if (!same_float(got, want) && ++bad <= 5) {
      ADD_FAILURE() << "f16 " << hex(h, 4) << ": got " << got << " want " << want;
    }
  }
  EXPECT_EQ(bad, 0);
}

TEST(SoftwareConversion, Bf16WideningMatchesCudaForAll65536Patterns) {
  int64_t bad = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    const float want = __bfloat162float(__builtin_bit_cast(__nv_bfloat16, static_cast<uint16_t>(h)));
    const float got = bf16_bits_to_f32(static_cast<uint16_t>(h));
    if (!same_float(got, want) && ++bad <= 5) {
      ADD_FAILURE() << "bf16 " << hex(h, 4) << ": got " << got << " want " << want;
    }
  }
  EXPECT_EQ(bad, 0);
}

TEST(SoftwareConversion, NarrowingMatchesCudaOnTheFloatSweep) {
  int64_t bad = 0;
  for (float f : sweep()) {
    const auto f16_want = __builtin_bit_cast(uint16_t, __float2half_rn(f));
    const auto bf16_want = __builtin_bit_cast(uint16_t, __float2bfloat16_rn(f));
    const uint16_t f16_got = f32_to_f16_bits(f), bf16_got = f32_to_bf16_bits(f);
    if (!same_bits(DType::F16, f16_got, f16_want) && ++bad <= 5) {
      ADD_FAILURE() << "f16 of " << hex(f32_bits(f), 8) << ": got " << hex(f16_got, 4) << " want " << hex(f16_want, 4);
    }
    if (!same_bits(DType::BF16, bf16_got, bf16_want) && ++bad <= 5) {
      ADD_FAILURE() << "bf16 of " << hex(f32_bits(f), 8) << ": got " << hex(bf16_got, 4) << " want "
                    << hex(bf16_want, 4);
    }
  }
  EXPECT_EQ(bad, 0) << "of " << sweep().size() << " floats";
}

TEST(SoftwareConversion, NarrowingEdges) {
  // f16: the largest finite value, the first float that rounds past it, overflow in f16 but
  // not in float, the subnormals and their ties (to even).
  EXPECT_EQ(f32_to_f16_bits(65504.0f), 0x7bffu);
  EXPECT_EQ(f32_to_f16_bits(std::nextafter(65520.0f, 0.0f)), 0x7bffu);
  EXPECT_EQ(f32_to_f16_bits(65520.0f), 0x7c00u);
  EXPECT_EQ(f32_to_f16_bits(-65520.0f), 0xfc00u);
  EXPECT_EQ(f32_to_f16_bits(1e5f), 0x7c00u);
  EXPECT_EQ(f32_to_f16_bits(0x1p-24f), 0x0001u);
  EXPECT_EQ(f32_to_f16_bits(0x1p-25f), 0x0000u);                        // tie, to even 0
  EXPECT_EQ(f32_to_f16_bits(std::nextafter(0x1p-25f, 1.0f)), 0x0001u);  // past the tie
  EXPECT_EQ(f32_to_f16_bits(0x3p-25f), 0x0002u);                        // tie, to even 2
  EXPECT_EQ(f32_to_f16_bits(-0x1p-26f), 0x8000u);                       // -0
  EXPECT_EQ(f32_to_f16_bits(std::nextafter(0x1p-14f, 0.0f)), 0x0400u);  // rounds up to the first normal
  EXPECT_EQ(f32_to_f16_bits(0x1p-149f), 0x0000u);
  EXPECT_TRUE(f16_is_nan(f32_to_f16_bits(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(f16_is_nan(f32_to_f16_bits(f32_from_bits(0x7f800001u))));  // payload only in the low bits
  EXPECT_EQ(f32_to_f16_bits(std::numeric_limits<float>::infinity()), 0x7c00u);
  // bf16: the largest finite value plus half an ulp ties to the even neighbour past it, inf;
  // float's subnormals stay subnormal; beyond f16's range is ordinary.
  EXPECT_EQ(f32_to_bf16_bits(0x1.fep127f), 0x7f7fu);
  EXPECT_EQ(f32_to_bf16_bits(0x1.ffp127f), 0x7f80u);
  EXPECT_EQ(f32_to_bf16_bits(std::nextafter(0x1.ffp127f, 0.0f)), 0x7f7fu);
  EXPECT_EQ(f32_to_bf16_bits(0x1p-133f), 0x0001u);
  EXPECT_EQ(f32_to_bf16_bits(0x1p-134f), 0x0000u);  // tie, to even 0
  EXPECT_EQ(bf16_bits_to_f32(f32_to_bf16_bits(1e30f)), 0x1.94p99f);
  EXPECT_TRUE(bf16_is_nan(f32_to_bf16_bits(f32_from_bits(0xff800001u))));
}

// ---- cpu_omp's conversions against dtype.h -----------------------------------------------------

struct PathCase {
  DType type;
  ConvertPath path;
};

std::string path_name(ConvertPath p) {
  switch (p) {
    case ConvertPath::Auto: return "auto";
    case ConvertPath::X86_64_v4: return "x86_64_v4";
    case ConvertPath::X86_64_v3: return "x86_64_v3";
    case ConvertPath::Portable: return "portable";
  }
  return "?";
}

std::vector<PathCase> path_cases() {
  std::vector<PathCase> out;
  for (DType t : kHalfTypes) {
    for (ConvertPath p : {ConvertPath::Auto, ConvertPath::X86_64_v4, ConvertPath::X86_64_v3, ConvertPath::Portable}) {
      out.push_back({t, p});
    }
  }
  return out;
}

void PrintTo(const PathCase& c, std::ostream* os) { *os << dtype_name(c.type) << "_" << path_name(c.path); }

class CpuConversion : public ::testing::TestWithParam<PathCase> {
 protected:
  Converter converter() const {
    const Converter c = cpu_converter(GetParam().type, GetParam().path);
    return c;
  }
};

#define ACT_REQUIRE_PATH(c)                                                              \
  do {                                                                                   \
    if (!(c).widen || !(c).narrow)                                                       \
      GTEST_SKIP() << "this CPU cannot run the " << path_name(GetParam().path) << " path"; \
  } while (0)

TEST_P(CpuConversion, WideningIsExactForAll65536Patterns) {
  const Converter c = converter();
  ACT_REQUIRE_PATH(c);
  const DType t = GetParam().type;
  std::vector<uint16_t> bits(65536);
  for (uint32_t h = 0; h < 65536; ++h) bits[h] = static_cast<uint16_t>(h);
  std::vector<float> got(bits.size());
  c.widen(bits.data(), got.data(), static_cast<int64_t>(bits.size()));
  int64_t bad = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    const float want = widen_exact(t, bits[h]);
    if (!same_float(got[h], want) && ++bad <= 5) {
      ADD_FAILURE() << dtype_name(t) << " " << hex(h, 4) << ": got " << got[h] << " want " << want;
    }
  }
  EXPECT_EQ(bad, 0);
}

TEST_P(CpuConversion, NarrowingIsExactOnTheFloatSweep) {
  const Converter c = converter();
  ACT_REQUIRE_PATH(c);
  const DType t = GetParam().type;
  const std::vector<float>& x = sweep();
  std::vector<uint16_t> got(x.size());
  c.narrow(x.data(), got.data(), static_cast<int64_t>(x.size()));
  int64_t bad = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const uint16_t want = narrow_exact(t, x[i]);
    if (!same_bits(t, got[i], want) && ++bad <= 5) {
      ADD_FAILURE() << dtype_name(t) << " of " << hex(f32_bits(x[i]), 8) << ": got " << hex(got[i], 4) << " want "
                    << hex(want, 4);
    }
  }
  EXPECT_EQ(bad, 0) << "of " << x.size() << " floats";
}

TEST_P(CpuConversion, EveryLengthAndOffsetWritesExactlyItsElements) {
  // Lengths across the vector widths (8, 16) and their tails, at every 2-byte misalignment
  // of a 16-byte vector; the elements around the span must be left as they were.
  const Converter c = converter();
  ACT_REQUIRE_PATH(c);
  const DType t = GetParam().type;
  constexpr uint16_t kGuard = 0x5a5a;
  constexpr float kGuardF = -1234.5f;
  for (int64_t n = 0; n <= 40; ++n) {
    for (int64_t off = 0; off < 8; ++off) {
      std::vector<uint16_t> h(n + 16, kGuard), h_out(n + 16, kGuard);
      std::vector<float> f(n + 16, kGuardF), f_back(n + 16, kGuardF);
      for (int64_t i = 0; i < n; ++i) {
        h[off + i] = static_cast<uint16_t>(0x3c00 + 37 * i + 0x8000 * (i % 3 == 0));
        f[off + i] = std::ldexp(1.0f + 0.3f * static_cast<float>(i), static_cast<int>(i % 9) - 4);
      }
      c.widen(h.data() + off, f_back.data() + off, n);
      c.narrow(f.data() + off, h_out.data() + off, n);
      for (int64_t i = 0; i < n + 16; ++i) {
        const bool inside = i >= off && i < off + n;
        if (inside) {
          ASSERT_TRUE(same_float(f_back[i], widen_exact(t, h[i]))) << "n " << n << " off " << off << " at " << i;
          ASSERT_EQ(h_out[i], narrow_exact(t, f[i])) << "n " << n << " off " << off << " at " << i;
        } else {
          ASSERT_EQ(f32_bits(f_back[i]), f32_bits(kGuardF)) << "widen wrote outside: n " << n << " off " << off;
          ASSERT_EQ(h_out[i], kGuard) << "narrow wrote outside: n " << n << " off " << off;
        }
      }
    }
  }
}

std::string path_case_name(const ::testing::TestParamInfo<PathCase>& info) {
  return std::string(dtype_name(info.param.type)) + "_" + path_name(info.param.path);
}

INSTANTIATE_TEST_SUITE_P(Paths, CpuConversion, ::testing::ValuesIn(path_cases()), path_case_name);

TEST(CpuConversionPaths, F32HasNoConverterAndThisCpuRunsSomePath) {
  EXPECT_THROW(cpu_converter(DType::F32, ConvertPath::Auto), std::invalid_argument);
  for (DType t : kHalfTypes) {
    EXPECT_NE(cpu_converter(t, ConvertPath::Auto).widen, nullptr);
    EXPECT_NE(cpu_converter(t, ConvertPath::Portable).narrow, nullptr);
  }
}

// ---- round_to against a brute-force nearest search ------------------------------------------------

// Every non-NaN value of a 16-bit type in increasing order, with its bit pattern; +-inf stand
// for the values one binade step past the largest finite (2^16 for f16, 2^128 for bf16), so
// that "nearest, ties to the even pattern" over this list is IEEE rounding with its overflow
// rule (past max + half an ulp, and at it, since max's pattern is odd, the result is inf).
struct Grid {
  std::vector<double> value;
  std::vector<uint16_t> pattern;
};

Grid grid_of(DType t) {
  std::vector<std::pair<double, uint16_t>> all;
  const double beyond = t == DType::F16 ? 0x1p16 : 0x1p128;
  for (uint32_t h = 0; h < 65536; ++h) {
    const auto b = static_cast<uint16_t>(h);
    if (is_nan_bits(t, b)) continue;
    double v = widen_exact(t, b);
    if (std::isinf(v)) v = std::copysign(beyond, v);
    if (v == 0.0 && std::signbit(v)) continue;  // -0: the same value as +0
    all.push_back({v, b});
  }
  std::sort(all.begin(), all.end());
  Grid g;
  for (auto [v, b] : all) {
    g.value.push_back(v);
    g.pattern.push_back(b);
  }
  return g;
}

// v rounded to nearest, ties to the even pattern, by searching the grid.
double brute_round(DType t, const Grid& g, double v) {
  const auto hi = std::lower_bound(g.value.begin(), g.value.end(), v);
  if (hi == g.value.end() || hi == g.value.begin()) return std::copysign(std::numeric_limits<double>::infinity(), v);
  if (*hi == v) {
    const size_t i = hi - g.value.begin();
    return std::isinf(widen_exact(t, g.pattern[i])) ? static_cast<double>(widen_exact(t, g.pattern[i])) : v;
  }
  const size_t i = hi - g.value.begin();
  const double below = g.value[i - 1], above = g.value[i];
  size_t pick;
  if (v - below < above - v) {
    pick = i - 1;
  } else if (above - v < v - below) {
    pick = i;
  } else {
    pick = (g.pattern[i - 1] & 1u) == 0 ? i - 1 : i;
  }
  return static_cast<double>(widen_exact(t, g.pattern[pick]));  // inf where the pick is past max
}

class RoundTo : public ::testing::TestWithParam<DType> {};

void expect_rounds_like_brute_force(DType t, const Grid& g, const std::vector<double>& values) {
  int64_t bad = 0;
  for (double v : values) {
    const double want = brute_round(t, g, v), got = round_to(t, v);
    // The grid holds +0 only: the sign of a zero result is checked apart (RoundToEdges).
    if (got != want && ++bad <= 5) {
      ADD_FAILURE() << dtype_name(t) << " round_to(" << std::setprecision(17) << v << ") = " << got << ", want " << want;
    }
  }
  EXPECT_EQ(bad, 0) << "of " << values.size();
}

TEST_P(RoundTo, MatchesBruteForceOnRandomDoubles) {
  const DType t = GetParam();
  const Grid g = grid_of(t);
  // Magnitudes from below the smallest subnormal to past the largest value, both signs.
  const double lo = std::log2(dtype_min_subnormal(t)) - 3, hi = std::log2(dtype_max(t)) + 2;
  std::mt19937_64 rng(20261201);
  std::uniform_real_distribution<double> exponent(lo, hi), unit(0.0, 1.0);
  std::vector<double> values;
  for (int i = 0; i < 5000; ++i) {
    const double v = std::exp2(exponent(rng));
    values.push_back(unit(rng) < 0.5 ? -v : v);
  }
  expect_rounds_like_brute_force(t, g, values);
}

TEST_P(RoundTo, MatchesBruteForceOnEveryTieAndItsNeighbours) {
  const DType t = GetParam();
  const Grid g = grid_of(t);
  std::vector<double> values;
  for (size_t i = 0; i + 1 < g.value.size(); ++i) {
    const double mid = 0.5 * (g.value[i] + g.value[i + 1]);  // exact in double
    for (double v : {mid, std::nextafter(mid, -INFINITY), std::nextafter(mid, INFINITY), g.value[i]}) {
      if (std::fabs(v) < (t == DType::F16 ? 0x1p16 : 0x1p128)) values.push_back(v);
    }
  }
  expect_rounds_like_brute_force(t, g, values);
}

TEST(RoundToEdges, OverflowAndSpecialValues) {
  EXPECT_EQ(round_to(DType::F16, 65520.0), INFINITY);
  EXPECT_EQ(round_to(DType::F16, -65520.0), -INFINITY);
  EXPECT_EQ(round_to(DType::F16, 65519.99), 65504.0);
  EXPECT_EQ(round_to(DType::F16, 65504.0), 65504.0);
  EXPECT_EQ(round_to(DType::F16, 1e5), INFINITY);
  EXPECT_EQ(round_to(DType::F16, 0x1p-25), 0.0);
  EXPECT_EQ(round_to(DType::F16, 0x1.0000000000001p-25), 0x1p-24);
  EXPECT_EQ(round_to(DType::F16, 0x1p-14 - 0x1p-40), 0x1p-14);
  const double bf16_max = 0x1.fep127, half_ulp = 0x1p119;
  EXPECT_EQ(round_to(DType::BF16, bf16_max), bf16_max);
  EXPECT_EQ(round_to(DType::BF16, bf16_max + half_ulp), INFINITY);
  EXPECT_EQ(round_to(DType::BF16, bf16_max + half_ulp * (1 - 0x1p-40)), bf16_max);
  EXPECT_EQ(round_to(DType::BF16, -(bf16_max + half_ulp)), -INFINITY);
  EXPECT_EQ(round_to(DType::BF16, 1e30), static_cast<double>(0x1.94p99f));
  EXPECT_EQ(round_to(DType::BF16, 0x1p-134), 0.0);
  EXPECT_EQ(round_to(DType::BF16, 0x3p-134), 0x1p-132);
  // Once, from double: 1 + 2^-11 + 2^-40 is above f16's tie at 1 + 2^-11; rounding through
  // float first (to 1 + 2^-11, the tie) would give 1.
  EXPECT_EQ(round_to(DType::F16, 1.0 + 0x1p-11 + 0x1p-40), 1.0 + 0x1p-10);
  EXPECT_EQ(round_to(DType::F32, 1.0 + 0x1p-24 + 0x1p-50), 1.0 + 0x1p-23);
  EXPECT_EQ(round_to(DType::F32, 1e300), INFINITY);
  for (DType t : kDTypes) {
    EXPECT_TRUE(std::isnan(round_to(t, std::nan(""))));
    EXPECT_EQ(round_to(t, INFINITY), INFINITY);
    EXPECT_EQ(round_to(t, -INFINITY), -INFINITY);
    EXPECT_TRUE(std::signbit(round_to(t, -0.0)));
    EXPECT_TRUE(std::signbit(round_to(t, -dtype_min_subnormal(t) / 4)));  // underflow keeps the sign
  }
}

TEST(RoundToEdges, F32IsOneRoundingToFloat) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(-152.0, 129.0);
  for (int i = 0; i < 5000; ++i) {
    const double v = std::exp2(exponent(rng)) * (i % 2 ? -1 : 1);
    const double r = round_to(DType::F32, v);
    if (std::isinf(r)) {
      ASSERT_GE(std::fabs(v), 0x1.ffffffp127) << v;
      continue;
    }
    const auto f = static_cast<float>(r);
    ASSERT_EQ(static_cast<double>(f), r);  // a float
    for (float neighbour : {std::nextafter(f, -INFINITY), std::nextafter(f, INFINITY)}) {
      ASSERT_LE(std::fabs(r - v), std::fabs(static_cast<double>(neighbour) - v)) << std::setprecision(17) << v;
    }
  }
}

std::string type_name(const ::testing::TestParamInfo<DType>& info) { return dtype_name(info.param); }

INSTANTIATE_TEST_SUITE_P(Types, RoundTo, ::testing::ValuesIn(kHalfTypes), type_name);

// ---- tolerances in units of the type ------------------------------------------------------------------

TEST(Accuracy, InEachTypeIsItsOwnUnits) {
  const Accuracy a{{1e-37, 1e-6}, 1.0, 2.0};
  const Tolerance f32 = a.in(DType::F32), f16 = a.in(DType::F16), bf16 = a.in(DType::BF16);
  EXPECT_EQ(f32.atol, 1e-37);
  EXPECT_EQ(f32.rtol, 1e-6);
  EXPECT_EQ(f16.rtol, 0x1p-10);
  EXPECT_EQ(f16.atol, 0x1p-24 + 2 * 0x1p-10);
  EXPECT_EQ(bf16.rtol, 0x1p-7);
  EXPECT_EQ(bf16.atol, 0x1p-133 + 2 * 0x1p-7);
  // A floor (a library that flushes subnormals) raises atol where the type's own is smaller.
  const Accuracy floored{{1e-37, 1e-6}, 1.0, 0.0, 1e-37};
  EXPECT_EQ(floored.in(DType::F32).atol, 1e-37);
  EXPECT_EQ(floored.in(DType::F16).atol, 0x1p-24);
  EXPECT_EQ(floored.in(DType::BF16).atol, 1e-37);
  EXPECT_EQ(floored.in(DType::BF16).rtol, 0x1p-7);
  const Accuracy exact{{0.0, 0.0}};
  for (DType t : kDTypes) {
    EXPECT_EQ(exact.in(t).atol, 0.0);
    EXPECT_EQ(exact.in(t).rtol, 0.0);
  }
}

TEST(Accuracy, OneUlpPassesAndTwoFailInEveryBinade) {
  // ulps = 1: the neighbour of the correctly rounded result is accepted, subnormals included,
  // and the value two ulps above is not (at a power of two the ulp above is the larger one).
  for (DType t : kHalfTypes) {
    const Tolerance tol = Accuracy{{0.0, 0.0}, 1.0}.in(t);
    const double eps = dtype_epsilon(t), tiny = dtype_min_subnormal(t);
    for (double ref : {1.0, 0.75, 3.0, 1000.0, std::ldexp(1.0, t == DType::F16 ? -14 : -126), 5 * tiny}) {
      const double ulp = std::max(tiny, std::ldexp(eps, std::ilogb(ref)));
      const std::vector<double> want = {ref};
      EXPECT_TRUE(compare(std::vector<float>{static_cast<float>(ref + ulp)}, want, tol, t).ok()) << ref;
      EXPECT_TRUE(compare(std::vector<float>{static_cast<float>(ref - ulp)}, want, tol, t).ok()) << ref;
      EXPECT_FALSE(compare(std::vector<float>{static_cast<float>(ref + 2.5 * ulp)}, want, tol, t).ok()) << ref;
    }
  }
}

static_assert(Element<float>::kType == DType::F32 && Element<__half>::kType == DType::F16 &&
                  Element<__nv_bfloat16>::kType == DType::BF16,
              "Element<T> names each element type");
static_assert(dtype_bytes(DType::F32) == 4 && dtype_bytes(DType::F16) == 2 && dtype_bytes(DType::BF16) == 2,
              "element sizes");

}  // namespace
}  // namespace actbench
