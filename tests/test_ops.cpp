// The shared scalar math of kernels/common/ops.h on the host: each activation functor on its
// edge cases and over the whole float range against double math, and the online-softmax state
// (softmax_term, SoftmaxMergeOp, softmax_push, softmax_output) on associativity, order
// independence and the torch.softmax special-value rules written at the top of ops.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "host/reference.h"
#include "kernels/common/dtype.h"
#include "kernels/common/ops.h"

namespace actbench {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kDenorm = 1e-40f;  // subnormal
// ops.h's precise functions use the C library's expf/tanhf: a few ulp, as the registry's
// kPrecise tolerance assumes.
constexpr double kRtol = 1e-6, kAtol = 1e-37;

// Every 4099th bit pattern (odd: every exponent, sign and many mantissas), ~1M floats,
// specials included.
std::vector<float> float_sweep() {
  std::vector<float> v;
  for (uint64_t b = 0; b < (uint64_t{1} << 32); b += 4099) {
    const uint32_t u = static_cast<uint32_t>(b);
    float f;
    std::memcpy(&f, &u, sizeof f);
    v.push_back(f);
  }
  return v;
}

template <class Op>
void expect_matches_double(Op op, Activation act, double atol = kAtol) {
  for (float x : float_sweep()) {
    const double want = reference_activation(act, x);
    const float got = op(x);
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << "x=" << x;
    } else {
      ASSERT_NEAR(got, want, atol + kRtol * std::fabs(want)) << "x=" << x;
    }
  }
}

// f(-inf) = -0 (the limit, not NaN), f(inf) = inf, f(NaN) = NaN, f(-0) = -0, and -0 again where
// the negative tail underflows: the rules ops.h states for gelu, gelu_tanh and silu.
template <class Op>
void expect_gelu_like_special_values(Op op) {
  for (float x : {-kInf, -1e4f, -1e30f, -0.0f}) {
    const float y = op(x);
    EXPECT_EQ(y, 0.0f) << "x=" << x;
    EXPECT_TRUE(std::signbit(y)) << "x=" << x << ": the limit from below is -0";
  }
  EXPECT_EQ(op(kInf), kInf);
  EXPECT_EQ(op(1e30f), 1e30f);
  EXPECT_TRUE(std::isnan(op(kNaN)));
  EXPECT_EQ(op(0.0f), 0.0f);
}

// ---- activations ----------------------------------------------------------------------------

TEST(Sigmoid, SpecialValues) {
  const Sigmoid s;
  EXPECT_EQ(s(0.0f), 0.5f);
  EXPECT_EQ(s(-0.0f), 0.5f);
  EXPECT_EQ(s(kInf), 1.0f);
  EXPECT_EQ(s(-kInf), 0.0f);
  EXPECT_TRUE(std::isnan(s(kNaN)));
  EXPECT_EQ(s(kDenorm), 0.5f);
  EXPECT_EQ(s(-kDenorm), 0.5f);
  EXPECT_EQ(s(1e4f), 1.0f);
  EXPECT_EQ(s(-1e4f), 0.0f);
  EXPECT_EQ(s(FLT_MAX), 1.0f);
  EXPECT_EQ(s(-FLT_MAX), 0.0f);
}

TEST(Sigmoid, NegativeTailKeepsRelativePrecision) {
  // e / (1 + e), not 1 - 1 / (1 + e): below -17 the latter is 0 or one ulp of 1.
  for (float x : {-17.0f, -30.0f, -60.0f, -87.0f}) {
    const double want = std::exp(static_cast<double>(x)) / (1.0 + std::exp(static_cast<double>(x)));
    EXPECT_NEAR(Sigmoid{}(x), want, kRtol * want) << "x=" << x;
  }
  // Past float exp's edge the result is subnormal and still positive, not NaN or negative.
  EXPECT_GT(Sigmoid{}(-88.7f), 0.0f);
  EXPECT_NEAR(Sigmoid{}(-88.7f), std::exp(-88.7), kAtol);
  EXPECT_EQ(Sigmoid{}(88.7f), 1.0f);
}

TEST(Sigmoid, NeverOverflowsAndStaysInUnitInterval) {
  for (float x : float_sweep()) {
    const float y = Sigmoid{}(x);
    if (std::isnan(x)) continue;
    ASSERT_GE(y, 0.0f) << "x=" << x;
    ASSERT_LE(y, 1.0f) << "x=" << x;
  }
}

TEST(Sigmoid, IsSymmetric) {
  // sigmoid(-x) = 1 - sigmoid(x); 1 - s is exact in double, so the gap is the two roundings.
  for (float x = 0.0f; x < 20.0f; x += 0.0625f) {
    const double one_minus = 1.0 - static_cast<double>(Sigmoid{}(x));
    EXPECT_NEAR(Sigmoid{}(-x), one_minus, FLT_EPSILON + kRtol * one_minus) << "x=" << x;
  }
}

TEST(Sigmoid, MatchesDoubleOverTheFloatRange) {
  expect_matches_double(Sigmoid{}, Activation::Sigmoid);
}

TEST(Tanh, SpecialValues) {
  const Tanh t;
  EXPECT_EQ(t(0.0f), 0.0f);
  EXPECT_TRUE(std::signbit(t(-0.0f)));
  EXPECT_EQ(t(kInf), 1.0f);
  EXPECT_EQ(t(-kInf), -1.0f);
  EXPECT_TRUE(std::isnan(t(kNaN)));
  EXPECT_EQ(t(kDenorm), kDenorm);  // tanh x = x to float precision
  EXPECT_EQ(t(88.7f), 1.0f);
  EXPECT_EQ(t(-88.7f), -1.0f);
  EXPECT_EQ(t(1e4f), 1.0f);
  EXPECT_EQ(t(-FLT_MAX), -1.0f);
}

TEST(Tanh, IsOddAndBounded) {
  for (float x : float_sweep()) {
    if (std::isnan(x)) continue;
    ASSERT_EQ(Tanh{}(-x), -Tanh{}(x)) << "x=" << x;
    ASSERT_LE(std::fabs(Tanh{}(x)), 1.0f) << "x=" << x;
  }
}

TEST(Tanh, MatchesDoubleOverTheFloatRange) { expect_matches_double(Tanh{}, Activation::Tanh); }

TEST(Gelu, SpecialValues) { expect_gelu_like_special_values(Gelu{}); }
TEST(GeluTanh, SpecialValues) { expect_gelu_like_special_values(GeluTanh{}); }
TEST(Silu, SpecialValues) { expect_gelu_like_special_values(Silu{}); }

// Over every exponent: gelu keeps f32 precision in the negative tail, where 1 + erf cancels
// (gelu(-10) = -7.6e-23): what the hi + lo argument and erfc buy.
TEST(Gelu, MatchesDoubleOverTheFloatRange) { expect_matches_double(Gelu{}, Activation::Gelu); }
TEST(Gelu, NegativeTailKeepsRelativePrecision) {
  for (float x = -1.0f; x > -13.0f; x -= 0.37f) {  // below -13 the result is subnormal
    const double want = reference_activation(Activation::Gelu, x);
    EXPECT_NEAR(Gelu{}(x) / want, 1.0, kRtol) << "x=" << x;
  }
}
// gelu_tanh's tail carries |2u| times the rounding of u (registry: kGeluTanhPrecise's 1e-7
// absolute); everywhere else f32 precision.
TEST(GeluTanh, MatchesDoubleOverTheFloatRange) {
  expect_matches_double(GeluTanh{}, Activation::GeluTanh, 1e-7);
}
TEST(Silu, MatchesDoubleOverTheFloatRange) { expect_matches_double(Silu{}, Activation::Silu); }
// The approximate twins (GPU intrinsics; on the host they fall back to the precise functions,
// which the registry's approximate tolerances hold with room) and the tanh formula's distance
// from the erf GELU, which gelu's warp_approx tolerance (5e-4 absolute) is stated from.
TEST(Gelu, TanhFormulaIsWithinItsStatedDistance) {
  double worst = 0.0;
  for (double x = -20.0; x < 20.0; x += 1e-3) {
    worst = std::max(worst, std::fabs(reference_activation(Activation::Gelu, x) -
                                      reference_activation(Activation::GeluTanh, x)));
  }
  EXPECT_GT(worst, 4.6e-4);
  EXPECT_LT(worst, 4.8e-4);
}

// ---- gated forms ------------------------------------------------------------------------------

// Gated<Op>(a, b) against the reference's act(a) * b: NaN where it is NaN, an exact zero with
// its sign, +-inf where its float rounding overflows, else within the activation's accuracy.
template <class Op>
void expect_gated_matches(Activation act, float a, float b) {
  const double exact = reference_gated(act, a, b), want = round_to(DType::F32, exact);
  const float got = Gated<Op>{}(a, b);
  if (std::isnan(exact)) {
    ASSERT_TRUE(std::isnan(got)) << "a=" << a << " b=" << b << ": " << got;
  } else if (exact == 0.0 || std::isinf(want)) {
    ASSERT_EQ(got, want) << "a=" << a << " b=" << b;
    ASSERT_EQ(std::signbit(got), std::signbit(want)) << "a=" << a << " b=" << b << ": the sign of zero";
  } else {
    ASSERT_NEAR(got, want, kAtol + kRtol * std::fabs(want)) << "a=" << a << " b=" << b;
  }
}

// The products where the rules bite: a at +-inf, NaN, +-0, large |a| (gelu's erf saturated,
// silu's sigmoid underflowed: -0 at -1e4, x at +1e4), -88.7 (silu's tiny tail), -13 (gelu's,
// near f32's subnormals), against b = +-0, +-inf, NaN and ordinary or tiny values.
template <class Op>
void expect_gated_special_values(Activation act) {
  for (float a : {-kInf, kInf, kNaN, -0.0f, 0.0f, 1.0f, -1.0f, 88.7f, -88.7f, 1e4f, -1e4f, -13.0f, 30.0f, kDenorm}) {
    for (float b : {0.0f, -0.0f, 1.0f, -3.5f, kInf, -kInf, kNaN, 1e-30f}) expect_gated_matches<Op>(act, a, b);
  }
}

TEST(Gated, SpecialValuesFollowIeeeOnTheProduct) {
  expect_gated_special_values<Silu>(Activation::Silu);
  expect_gated_special_values<Gelu>(Activation::Gelu);
  // No limit is taken: silu(+inf) * 0 and gelu(-inf) * inf are NaN; gelu(-inf) * 3 is -0.
  EXPECT_TRUE(std::isnan(Gated<Silu>{}(kInf, 0.0f)));
  EXPECT_TRUE(std::isnan(Gated<Gelu>{}(-kInf, kInf)));
  EXPECT_EQ(Gated<Gelu>{}(-kInf, 3.0f), 0.0f);
  EXPECT_TRUE(std::signbit(Gated<Gelu>{}(-kInf, 3.0f)));
  EXPECT_EQ(Gated<Gelu>{}(1e4f, 2.0f), 2e4f);
  EXPECT_EQ(Gated<Silu>{}(-1e4f, 2.0f), 0.0f);
  // Gated<Identity> is unfused's multiply pass: the plain product.
  EXPECT_EQ(Gated<Identity>{}(3.0f, -0.5f), -1.5f);
}

// Over every exponent of a, with b a fixed gate: the product adds its rounding to the
// activation's (a few ulp: kRtol holds), and overflows where the reference's float does.
TEST(Gated, MatchesDoubleOverTheFloatRange) {
  for (float a : float_sweep()) {
    expect_gated_matches<Silu>(Activation::Silu, a, -2.5f);
    expect_gated_matches<Gelu>(Activation::Gelu, a, 3.75f);
  }
}

TEST(Relu, PropagatesNaNAndClampsNegatives) {
  const Relu r;
  EXPECT_TRUE(std::isnan(r(kNaN)));  // fmaxf(NaN, 0) would be 0
  EXPECT_TRUE(std::isnan(r(-kNaN)));
  EXPECT_EQ(r(-kInf), 0.0f);
  EXPECT_EQ(r(kInf), kInf);
  EXPECT_EQ(r(-0.0f), 0.0f);
  EXPECT_EQ(r(-kDenorm), 0.0f);
  EXPECT_EQ(r(kDenorm), kDenorm);
  EXPECT_EQ(r(FLT_MAX), FLT_MAX);
  EXPECT_EQ(r(-1e4f), 0.0f);
}

TEST(Relu, IsExactOverTheFloatRange) {
  for (float x : float_sweep()) {
    const float y = Relu{}(x);
    if (std::isnan(x)) {
      ASSERT_TRUE(std::isnan(y));
    } else {
      ASSERT_EQ(y, x > 0.0f ? x : 0.0f) << "x=" << x;
    }
  }
}

// On the host the approximate twins are the precise functions, bit for bit.
TEST(ApproxTwins, AreThePreciseFunctionsOnTheHost) {
  for (float x : float_sweep()) {
    const float s = SigmoidApprox{}(x), t = TanhApprox{}(x);
    if (std::isnan(x)) {
      ASSERT_TRUE(std::isnan(s) && std::isnan(t));
      continue;
    }
    ASSERT_EQ(s, Sigmoid{}(x)) << "x=" << x;
    ASSERT_EQ(t, Tanh{}(x)) << "x=" << x;
  }
  EXPECT_EQ(SigmoidApprox{}(-kInf), 0.0f);
  EXPECT_EQ(TanhApprox{}(kInf), 1.0f);
}

TEST(MaxNan, PropagatesNaNFromEitherSide) {
  EXPECT_TRUE(std::isnan(max_nan(kNaN, 1.0f)));
  EXPECT_TRUE(std::isnan(max_nan(1.0f, kNaN)));
  EXPECT_TRUE(std::isnan(max_nan(kInf, kNaN)));
  EXPECT_EQ(max_nan(-kInf, 3.0f), 3.0f);
  EXPECT_EQ(max_nan(2.0f, -1.0f), 2.0f);
  EXPECT_EQ(MaxOp{}(MaxOp{}.identity(), -FLT_MAX), -FLT_MAX);
  EXPECT_EQ(SumOp{}(SumOp{}.identity(), 2.5f), 2.5f);
}

// ---- softmax state ----------------------------------------------------------------------------

TEST(SoftmaxTerm, MinusInfinityContributesZeroEvenAgainstMinusInfinity) {
  EXPECT_EQ(softmax_term(-kInf, -kInf), 0.0f);  // not exp(-inf + inf) = NaN
  EXPECT_EQ(softmax_term(-kInf, 5.0f), 0.0f);
  EXPECT_EQ(softmax_term(3.0f, 3.0f), 1.0f);
  EXPECT_EQ(softmax_term(-1e4f, 0.0f), 0.0f);
  EXPECT_FLOAT_EQ(softmax_term(1.0f, 2.0f), std::exp(-1.0f));
  EXPECT_TRUE(std::isnan(softmax_term(kInf, kInf)));  // exp(inf - inf), as torch
  EXPECT_TRUE(std::isnan(softmax_term(1.0f, kNaN)));
  EXPECT_TRUE(std::isnan(softmax_term(kNaN, 1.0f)));
}

SoftmaxState fold(const std::vector<float>& x) {
  SoftmaxState st = SoftmaxMergeOp{}.identity();
  for (float v : x) st = softmax_push(st, v);
  return st;
}

// Random partial states: m spread over +-30, s in [1, 1000) as a real partial sum would be.
std::vector<SoftmaxState> random_states(int count, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> m(-30.0f, 30.0f), s(1.0f, 1000.0f);
  std::vector<SoftmaxState> v(count);
  for (SoftmaxState& st : v) st = {m(gen), s(gen)};
  return v;
}

// Two states describe the same row when the max agrees and the sums agree within rounding.
void expect_same_state(SoftmaxState a, SoftmaxState b, double rtol) {
  EXPECT_EQ(a.m, b.m);
  EXPECT_NEAR(a.s, b.s, rtol * b.s);
}

TEST(SoftmaxMerge, IdentityIsNeutral) {
  const SoftmaxMergeOp op;
  for (const SoftmaxState& st : random_states(100, 1)) {
    const SoftmaxState l = op(op.identity(), st), r = op(st, op.identity());
    EXPECT_EQ(l.m, st.m);
    EXPECT_EQ(l.s, st.s);
    EXPECT_EQ(r.m, st.m);
    EXPECT_EQ(r.s, st.s);
  }
  const SoftmaxState both = op(op.identity(), op.identity());  // an empty row stays empty
  EXPECT_EQ(both.m, -kInf);
  EXPECT_EQ(both.s, 0.0f);
}

TEST(SoftmaxMerge, IsAssociativeAndCommutativeWithinRounding) {
  const SoftmaxMergeOp op;
  const std::vector<SoftmaxState> st = random_states(300, 2);
  for (size_t i = 0; i + 2 < st.size(); i += 3) {
    const SoftmaxState a = st[i], b = st[i + 1], c = st[i + 2];
    expect_same_state(op(op(a, b), c), op(a, op(b, c)), 4 * FLT_EPSILON);
    expect_same_state(op(a, b), op(b, a), 2 * FLT_EPSILON);
  }
}

TEST(SoftmaxMerge, FoldIsOrderAndGroupingIndependent) {
  std::mt19937 gen(3);
  std::normal_distribution<float> logits(0.0f, 4.0f);
  std::vector<float> x(4096);
  for (float& v : x) v = logits(gen);
  const double max = *std::max_element(x.begin(), x.end());
  double exact = 0.0;
  for (float v : x) exact += std::exp(v - max);

  const SoftmaxState forward = fold(x);
  std::vector<float> reversed(x.rbegin(), x.rend()), shuffled(x);
  std::shuffle(shuffled.begin(), shuffled.end(), gen);
  // Pairwise tree of single-element states: the grouping a block reduction uses.
  std::vector<SoftmaxState> level;
  for (float v : x) level.push_back({v, 1.0f});
  while (level.size() > 1) {
    std::vector<SoftmaxState> next;
    for (size_t i = 0; i < level.size(); i += 2)
      next.push_back(SoftmaxMergeOp{}(level[i], level[i + 1]));
    level.swap(next);
  }
  // Chunks folded separately, then merged: the grouping of the split-row CPU path.
  SoftmaxState chunked = SoftmaxMergeOp{}.identity();
  for (size_t c = 0; c < x.size(); c += 1000) {
    const std::vector<float> part(x.begin() + c, x.begin() + std::min(x.size(), c + 1000));
    chunked = SoftmaxMergeOp{}(chunked, fold(part));
  }
  EXPECT_EQ(forward.m, max);
  // Float running sums of 4096 terms: 55 eps off the exact sum at worst here; 128 allowed.
  const double rtol = 128 * FLT_EPSILON;
  for (const SoftmaxState& st : {forward, fold(reversed), fold(shuffled), level[0], chunked}) {
    expect_same_state(st, {static_cast<float>(max), static_cast<float>(exact)}, rtol);
  }
}

TEST(SoftmaxPush, EqualsTheTwoPassState) {
  const std::vector<float> x = {0.5f, -3.0f, 7.25f, 7.0f, -100.0f, 2.0f};
  const SoftmaxState st = fold(x);
  float s = 0.0f;
  for (float v : x) s += softmax_term(v, 7.25f);
  EXPECT_EQ(st.m, 7.25f);
  EXPECT_NEAR(st.s, s, 4 * FLT_EPSILON * s);
}

// One row through the state and softmax_output, as every softmax variant computes it.
std::vector<float> softmax_row(const std::vector<float>& x) {
  const SoftmaxState st = fold(x);
  std::vector<float> y;
  for (float v : x) y.push_back(softmax_output(v, st));
  return y;
}

void expect_all_nan(const std::vector<float>& y) {
  for (float v : y) EXPECT_TRUE(std::isnan(v)) << v;
}

TEST(SoftmaxRow, MatchesTheDoubleReference) {
  const std::vector<float> x = {1.0f, -2.0f, 30.0f, 29.5f, -1e4f, 0.0f, 88.0f, -88.0f};
  std::vector<double> want(x.size());
  reference_softmax_row(x.data(), static_cast<int64_t>(x.size()), want.data());
  const std::vector<float> got = softmax_row(x);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-9 + 1e-5 * want[i]) << i;
}

TEST(SoftmaxRow, SpecialValuesFollowTorch) {
  expect_all_nan(softmax_row({1.0f, kNaN, 2.0f}));  // NaN anywhere: the row is NaN
  expect_all_nan(softmax_row({kNaN, 1.0f}));
  expect_all_nan(softmax_row({1.0f, kInf, 2.0f}));  // exp(inf - inf)
  expect_all_nan(softmax_row({kInf, kInf}));
  expect_all_nan(softmax_row({-kInf, -kInf, -kInf}));  // 0 / 0
  expect_all_nan(softmax_row({-kInf, kNaN}));
}

TEST(SoftmaxRow, MinusInfinityEntriesGetZero) {
  // A -inf prefix must not poison the running state before the first finite value.
  const std::vector<float> y = softmax_row({-kInf, -kInf, 0.0f, -kInf, 0.0f});
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], 0.5f);
  EXPECT_EQ(y[3], 0.0f);
  EXPECT_EQ(y[4], 0.5f);
}

TEST(SoftmaxRow, SingleElementAndHugeSpreads) {
  EXPECT_EQ(softmax_row({-5.0f})[0], 1.0f);
  EXPECT_EQ(softmax_row({FLT_MAX})[0], 1.0f);
  EXPECT_EQ(softmax_row({-FLT_MAX})[0], 1.0f);
  expect_all_nan(softmax_row({kNaN}));
  expect_all_nan(softmax_row({kInf}));
  expect_all_nan(softmax_row({-kInf}));
  const std::vector<float> spread =
      softmax_row({3e38f, -3e38f, 0.0f});  // max-subtracted: no overflow
  EXPECT_EQ(spread[0], 1.0f);
  EXPECT_EQ(spread[1], 0.0f);
  EXPECT_EQ(spread[2], 0.0f);
}

}  // namespace
}  // namespace actbench
