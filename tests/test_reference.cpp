// The ground truth and the tools that judge against it: the double reference, the
// comparison (tolerance, special-value positions, error figures) and the seeded inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "host/compare.h"
#include "host/inputs.h"
#include "host/reference.h"
#include "host/runner.h"

namespace actbench {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<double> softmax_row(std::vector<float> x) {
  std::vector<double> out(x.size());
  reference_softmax_row(x.data(), static_cast<int64_t>(x.size()), out.data());
  return out;
}

TEST(Reference, SigmoidIsAccurateAndNeverOverflows) {
  EXPECT_DOUBLE_EQ(reference_activation(Activation::Sigmoid, 0.0), 0.5);
  EXPECT_DOUBLE_EQ(reference_activation(Activation::Sigmoid, 2.0), 1.0 / (1.0 + std::exp(-2.0)));
  // Deep in the negative tail the value is exp(x) to full relative precision, not 0.
  EXPECT_NEAR(reference_activation(Activation::Sigmoid, -700.0) / std::exp(-700.0), 1.0, 1e-15);
  EXPECT_EQ(reference_activation(Activation::Sigmoid, -kInf), 0.0);
  EXPECT_EQ(reference_activation(Activation::Sigmoid, kInf), 1.0);
  EXPECT_TRUE(std::isnan(reference_activation(Activation::Sigmoid, kNaN)));
}

TEST(Reference, ReluPropagatesNaNAndTanhSaturates) {
  EXPECT_TRUE(std::isnan(reference_activation(Activation::Relu, kNaN)));
  EXPECT_EQ(reference_activation(Activation::Relu, -3.0), 0.0);
  EXPECT_EQ(reference_activation(Activation::Relu, 3.0), 3.0);
  EXPECT_EQ(reference_activation(Activation::Tanh, kInf), 1.0);
  EXPECT_EQ(reference_activation(Activation::Tanh, -kInf), -1.0);
}

TEST(Reference, BiasIsAddedInFloatBeforeTheActivation) {
  // 1 + 2^-30 rounds to 1 in float; the reference must see exactly what every kernel sees.
  const std::vector<float> x = {1.0f}, b = {std::ldexp(1.0f, -30)};
  const std::vector<double> y = reference(family_named("bias_sigmoid"), DType::F32, x, b, 1, 1);
  EXPECT_EQ(y[0], round_to(DType::F32, reference_activation(Activation::Sigmoid, 1.0)));
}

// A gated family's output (r, c) is act(a) * b of x's row r, a at column c and b at cols + c,
// in double from the inputs as the type holds them, rounded once; the product is IEEE's.
TEST(Reference, GatedIsTheActivationOfTheFirstHalfTimesTheSecond) {
  // Two rows of three outputs: each row of x is a0 a1 a2 b0 b1 b2.
  const std::vector<float> x = {1.0f, -2.0f, 0.5f, 3.0f, -1.5f, 2.0f,  //
                                kInf, -kInf, 7.0f, 0.0f, kInf, 0.0f};
  const std::vector<double> y = reference(family_named("swiglu"), DType::F32, x, {}, 2, 3);
  ASSERT_EQ(y.size(), 6u);
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(y[c], round_to(DType::F32, reference_activation(Activation::Silu, x[c]) * x[3 + c])) << c;
  }
  EXPECT_TRUE(std::isnan(y[3]));  // silu(+inf) * 0
  EXPECT_TRUE(std::isnan(y[4]));  // silu(-inf) = -0, times +inf
  EXPECT_EQ(y[5], 0.0);           // silu(7) * 0
  EXPECT_EQ(reference_gated(Activation::Gelu, -kInf, 2.0), 0.0);
  EXPECT_TRUE(std::signbit(reference_gated(Activation::Gelu, -kInf, 2.0)));  // the limit -0, times 2
  EXPECT_TRUE(std::isnan(reference_gated(Activation::Gelu, kNaN, 0.0)));
  // In f16 from the values the type holds, rounded once from double: 0.1 and 3.3 are not f16
  // values, and gelu(0.1) * 3.3 is no f16 value either.
  const std::vector<float> g = {0.1f, 3.3f};
  const double a16 = round_float_to(DType::F16, 0.1f), b16 = round_float_to(DType::F16, 3.3f);
  EXPECT_EQ(reference(family_named("geglu"), DType::F16, g, {}, 1, 1)[0],
            round_to(DType::F16, reference_gated(Activation::Gelu, a16, b16)));
  // x must hold rows x 2 cols.
  EXPECT_THROW(reference(family_named("geglu"), DType::F32, std::vector<float>(6), {}, 2, 2), std::invalid_argument);
}

// The backward references: PyTorch's formulas in double, threshold_backward's select for relu.
TEST(Reference, BackwardFollowsTheDerivatives) {
  EXPECT_EQ(reference_backward(Activation::Sigmoid, 0.25, 2.0), 2.0 * 0.25 * 0.75);
  EXPECT_EQ(reference_backward(Activation::Tanh, 0.5, -1.0), -0.75);
  EXPECT_EQ(reference_backward(Activation::Tanh, 1.0, 3.0), 0.0);
  EXPECT_TRUE(std::isnan(reference_backward(Activation::Sigmoid, 1.0, kInf)));  // inf * 0
  EXPECT_EQ(reference_backward(Activation::Relu, 0.0, 5.0), 0.0);              // x = 0: no gradient
  EXPECT_EQ(reference_backward(Activation::Relu, -2.0, kNaN), 0.0);            // selected away
  EXPECT_EQ(reference_backward(Activation::Relu, kNaN, 5.0), 5.0);             // NaN > 0 is false, <= 0 too
  EXPECT_THROW(reference_backward(Activation::Gelu, 0.0, 1.0), std::logic_error);
}

// bias_*_backward: dx elementwise, then dbias = the exact column sums, with bounds only there;
// softmax_backward's rows of dx sum to zero when y sums to one, and the forward form refuses.
TEST(Reference, BackwardCasesCarryTheirSumsAndBounds) {
  Case c;
  c.rows = 2;
  c.cols = 3;
  c.x = {0.5f, 0.25f, 0.75f, 0.5f, 0.125f, 0.0f};
  c.dy = {1.0f, -1.0f, 2.0f, 3.0f, 0.5f, -4.0f};
  const Expected e = reference(family_named("bias_sigmoid_backward"), DType::F32, c);
  ASSERT_EQ(e.value.size(), 9u);
  ASSERT_EQ(e.bound.size(), 9u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(e.value[i], reference_backward(Activation::Sigmoid, c.x[i], c.dy[i])) << i;
    EXPECT_EQ(e.bound[i], 0.0) << i;
  }
  for (int col = 0; col < 3; ++col) {
    const double sum = e.value[col] + e.value[3 + col];
    EXPECT_EQ(e.value[6 + col], round_to(DType::F32, sum)) << col;
    EXPECT_EQ(e.bound[6 + col], summation_bound(2, std::fabs(e.value[col]) + std::fabs(e.value[3 + col]))) << col;
  }
  // The bound grows as a random walk: four times the rows, about twice the bound.
  EXPECT_NEAR(summation_bound(4 << 20, 1.0) / summation_bound(1 << 20, 1.0), 2.0, 0.01);

  Case s;
  s.rows = 1;
  s.cols = 4;
  s.x = {0.125f, 0.25f, 0.5f, 0.125f};
  s.dy = {1.0f, -2.0f, 0.5f, 3.0f};
  const Expected d = reference(family_named("softmax_backward"), DType::F32, s);
  ASSERT_EQ(d.value.size(), 4u);
  EXPECT_NEAR(d.value[0] + d.value[1] + d.value[2] + d.value[3], 0.0, 1e-7);
  const double dot = 0.125 + -0.5 + 0.25 + 0.375;
  EXPECT_EQ(d.value[1], round_to(DType::F32, 0.25 * (-2.0 - dot)));
  EXPECT_GT(d.bound[2], d.bound[0]);  // proportional to y_j
  EXPECT_THROW(reference(family_named("softmax_backward"), DType::F32, s.x, {}, 1, 4), std::invalid_argument);
  s.dy.pop_back();
  EXPECT_THROW(reference(family_named("softmax_backward"), DType::F32, s), std::invalid_argument);
}

// A backward case is the forward's output (relu: its input) with a uniform dy in [-1, 1).
TEST(Reference, BackwardCasesStartFromTheForward) {
  const Case c = make_case(family_named("bias_tanh_backward"), DType::BF16, 5, 9, 3);
  const Case f = make_case(family_named("bias_tanh"), DType::BF16, 5, 9, 3);
  const std::vector<double> y = reference(family_named("bias_tanh"), DType::BF16, f.x, f.bias, 5, 9);
  ASSERT_EQ(c.x.size(), 45u);
  ASSERT_EQ(c.dy.size(), 45u);
  EXPECT_TRUE(c.bias.empty());
  for (size_t i = 0; i < y.size(); ++i) {
    EXPECT_EQ(c.x[i], static_cast<float>(y[i])) << i;
    EXPECT_TRUE(c.dy[i] >= -1.0f && c.dy[i] < 1.0f) << i;
  }
  EXPECT_EQ(make_case(family_named("relu_backward"), DType::F32, 1, 9, 3).x,
            make_case(family_named("relu"), DType::F32, 1, 9, 3).x);
}

// In a 16-bit type the inputs are taken as the type holds them, and each result is rounded once
// from double to the type (never through float, which would round twice).
TEST(Reference, RoundsOnceToTheType) {
  const Family& sigmoid = family_named("sigmoid");
  const std::vector<float> x = {0.1f, -12.0f, 3.0f};
  const std::vector<double> f16 = reference(sigmoid, DType::F16, x, {}, 1, 3);
  const std::vector<double> bf16 = reference(sigmoid, DType::BF16, x, {}, 1, 3);
  for (size_t i = 0; i < x.size(); ++i) {
    const double in16 = round_float_to(DType::F16, x[i]), in_b = round_float_to(DType::BF16, x[i]);
    EXPECT_EQ(f16[i], round_to(DType::F16, reference_activation(Activation::Sigmoid, in16))) << x[i];
    EXPECT_EQ(bf16[i], round_to(DType::BF16, reference_activation(Activation::Sigmoid, in_b))) << x[i];
  }
  // sigmoid(-12) = 6.1e-6 is an f16 subnormal: a multiple of 2^-24.
  EXPECT_EQ(f16[1], std::ldexp(std::nearbyint(std::ldexp(f16[1], 24)), -24));
  // 1e5 overflows f16 (inf) but not bf16; relu keeps it.
  const std::vector<double> big = reference(family_named("relu"), DType::F16, {1e5f}, {}, 1, 1);
  EXPECT_TRUE(std::isinf(big[0]));
  EXPECT_EQ(reference(family_named("relu"), DType::BF16, {1e5f}, {}, 1, 1)[0], round_to(DType::BF16, 1e5));
}

// Ulp errors count in the spacing of the type compared.
TEST(Compare, CountsUlpsInTheType) {
  const Comparison c = compare(std::vector<float>{1.0f + 0x1p-9f}, std::vector<double>{1.0}, Tolerance{0, 1}, DType::F16);
  EXPECT_DOUBLE_EQ(c.max_ulp_err, 2.0);
  const Comparison b = compare(std::vector<float>{1.0f + 0x1p-7f}, std::vector<double>{1.0}, Tolerance{0, 1}, DType::BF16);
  EXPECT_DOUBLE_EQ(b.max_ulp_err, 1.0);
  // Below f16's normal range the spacing is the subnormal quantum 2^-24.
  const Comparison sub = compare(std::vector<float>{0x1p-23f}, std::vector<double>{0x1p-24}, Tolerance{1, 0}, DType::F16);
  EXPECT_DOUBLE_EQ(sub.max_ulp_err, 1.0);
}

TEST(Reference, SoftmaxRowsSumToOneAndAreShiftInvariant) {
  const std::vector<float> x = uniform_input(1000, -30.0f, 30.0f, 7);
  std::vector<float> shifted(x);
  for (float& v : shifted) v += 64.0f;  // rounds by up to 3.8e-6: outputs agree to 1e-5 relative
  const std::vector<double> a = softmax_row(x), b = softmax_row(shifted);
  EXPECT_NEAR(std::accumulate(a.begin(), a.end(), 0.0), 1.0, 1e-12);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5 * a[i] + 1e-300);
}

TEST(Reference, SoftmaxSpecialRowsFollowTorch) {
  const std::vector<double> minus_inf = softmax_row({-kInf, 0.0f, -kInf, 0.0f});
  EXPECT_EQ(minus_inf[0], 0.0);
  EXPECT_DOUBLE_EQ(minus_inf[1], 0.5);
  for (double v : softmax_row({1.0f, kInf, 2.0f})) EXPECT_TRUE(std::isnan(v));  // exp(inf - inf)
  for (double v : softmax_row({1.0f, kNaN, 2.0f})) EXPECT_TRUE(std::isnan(v));
  for (double v : softmax_row({-kInf, -kInf})) EXPECT_TRUE(std::isnan(v));  // 0 / 0
  EXPECT_EQ(softmax_row({-5.0f})[0], 1.0);
  EXPECT_EQ(softmax_row({3e38f, -3e38f})[0], 1.0);  // max-subtracted: no overflow
}

TEST(Compare, AcceptsWithinToleranceAndRejectsBeyond) {
  const Tolerance tol{1e-6, 1e-3};
  const std::vector<double> ref = {1.0, 100.0};
  EXPECT_TRUE(compare(std::vector<float>{1.0009f, 100.09f}, ref, tol, DType::F32).ok());
  const Comparison c = compare(std::vector<float>{1.0f, 100.2f}, ref, tol, DType::F32);
  EXPECT_EQ(c.mismatches, 1);
  ASSERT_EQ(c.first.size(), 1u);
  EXPECT_EQ(c.first[0].index, 1);
  EXPECT_NEAR(c.max_abs_err, 0.2, 1e-5);
  EXPECT_NE(c.describe(tol).find("[1] got 100.199997"), std::string::npos) << c.describe(tol);
}

TEST(Compare, SpecialValuesMustMatchByPosition) {
  const Tolerance loose{1.0, 1.0};
  const std::vector<double> ref = {std::nan(""), 1.0, -INFINITY};
  EXPECT_TRUE(compare(std::vector<float>{kNaN, 1.0f, -kInf}, ref, loose, DType::F32).ok());
  EXPECT_FALSE(compare(std::vector<float>{0.0f, 1.0f, -kInf}, ref, loose, DType::F32).ok());  // lost NaN
  EXPECT_FALSE(compare(std::vector<float>{kNaN, kNaN, -kInf}, ref, loose, DType::F32).ok());  // extra NaN
  EXPECT_FALSE(compare(std::vector<float>{kNaN, 1.0f, kInf}, ref, loose, DType::F32).ok());   // wrong sign
  EXPECT_FALSE(compare(std::vector<float>{kNaN, kInf, -kInf}, ref, loose, DType::F32).ok());  // extra inf
  // The maxima are over finite pairs: the message says how many mismatches they leave out.
  const Comparison c = compare(std::vector<float>{kNaN, 1.5f, kInf}, ref, loose, DType::F32);
  EXPECT_EQ(c.mismatches, 1);
  EXPECT_EQ(c.special_mismatches, 1);
  EXPECT_NE(c.describe(loose).find("mismatch: 1 of 3 outside atol=1 rtol=1 (1 NaN or inf, which the maxima leave "
                                   "out); max_abs_err=0.5"),
            std::string::npos)
      << c.describe(loose);
  EXPECT_EQ(compare(std::vector<float>{kNaN, 3.5f, -kInf}, ref, loose, DType::F32).describe(loose).find("NaN or inf"),
            std::string::npos);  // a finite mismatch alone
}

TEST(Compare, ChunkedPassReportsTheFirstMismatchesInIndexOrder) {
  // Mismatches in the third 2^20-element chunk and then the first: the report must list the
  // first chunk's ones first, as a sequential pass would, and count all of them.
  const int64_t n = (int64_t{3} << 20) + 5;
  std::vector<double> ref(n, 1.0);
  std::vector<float> got(n, 1.0f);
  for (int64_t i : {(int64_t{2} << 20) + 1, (int64_t{2} << 20) + 2, int64_t{7}, int64_t{9}, n - 1}) got[i] = 2.0f;
  const Comparison c = compare(got, ref, Tolerance{0, 0}, DType::F32);
  EXPECT_EQ(c.count, n);
  EXPECT_EQ(c.mismatches, 5);
  ASSERT_EQ(c.first.size(), 5u);
  EXPECT_EQ(c.first[0].index, 7);
  EXPECT_EQ(c.first[1].index, 9);
  EXPECT_EQ(c.first[2].index, (int64_t{2} << 20) + 1);
  EXPECT_EQ(c.first[4].index, n - 1);
  EXPECT_DOUBLE_EQ(c.max_abs_err, 1.0);
}

TEST(Compare, CountsUlpsAtTheReference) {
  const float one_up = std::nextafter(1.0f, 2.0f);
  const Comparison c = compare(std::vector<float>{one_up}, std::vector<double>{1.0}, Tolerance{0, 0}, DType::F32);
  EXPECT_DOUBLE_EQ(c.max_ulp_err, 1.0);
  EXPECT_FALSE(c.ok());
}

TEST(Compare, ToleranceUsedIsTheWorstElementAgainstItsOwnBound) {
  // Bounds 1e-6 + 1e-3 * |ref|: 1.0009 uses 0.0009 / 0.001001 of its bound, 100.05 uses
  // 0.05 / 0.100001: the larger relative error is not the one nearer failing.
  const Tolerance tol{1e-6, 1e-3};
  const Comparison c = compare(std::vector<float>{1.0009f, 100.05f}, std::vector<double>{1.0, 100.0}, tol, DType::F32);
  EXPECT_TRUE(c.ok());
  EXPECT_NEAR(c.tol_used, (1.0009f - 1.0) / (1e-6 + 1e-3), 1e-6);
  EXPECT_NE(c.describe(tol).find("tol_used=0.89"), std::string::npos) << c.describe(tol);
  // A subnormal output flushed to 0: relative error 1, a million ulps, 1% of atol.
  const double tiny = 1e-39;
  const Comparison flushed = compare(std::vector<float>{0.0f}, std::vector<double>{tiny}, Tolerance{1e-37, 1e-6}, DType::F32);
  EXPECT_TRUE(flushed.ok());
  EXPECT_DOUBLE_EQ(flushed.max_rel_err, 1.0);
  EXPECT_GT(flushed.max_ulp_err, 1e5);
  EXPECT_NEAR(flushed.tol_used, tiny / (1e-37 + 1e-6 * tiny), 1e-12);
  // Beyond the bound it exceeds 1; a bit-exact tolerance is used up by any error, not by none.
  EXPECT_GT(compare(std::vector<float>{1.1f}, std::vector<double>{1.0}, tol, DType::F32).tol_used, 1.0);
  EXPECT_TRUE(std::isinf(compare(std::vector<float>{1.5f}, std::vector<double>{1.0}, Tolerance{0, 0}, DType::F32).tol_used));
  EXPECT_EQ(compare(std::vector<float>{1.0f, kNaN}, std::vector<double>{1.0, NAN}, Tolerance{0, 0}, DType::F32).tol_used, 0.0);
}

TEST(Compare, ToleranceUsedIsTheSameWhicheverChunkHoldsTheWorst) {
  const int64_t n = (int64_t{2} << 20) + 3;
  const std::vector<double> ref(n, 1.0);
  std::vector<float> got(n, 1.0f);
  got[n - 1] = 1.0005f;         // the last chunk's is the worst
  got[5] = 1.0002f;
  const Tolerance tol{0, 1e-3};
  EXPECT_NEAR(compare(got, ref, tol, DType::F32).tol_used, (1.0005f - 1.0) / 1e-3, 1e-9);
}

// The runner is what makes a wrong kernel fail: broken CPU launchers prove it does.
const Family kCopyFamily{"copy", Activation::Identity, false, false, false};

Variant cpu_variant(const char* name, Launcher launch, DType t = DType::F32) {
  return Variant{&kCopyFamily, name, t, 0, Device::Cpu, launch, Tolerance{0, 0}, "a deliberately broken copy"};
}

template <class T>
void copy_elements(const Problem& p) {
  for (int64_t i = 0; i < p.rows * p.cols; ++i) static_cast<T*>(p.y)[i] = static_cast<const T*>(p.x)[i];
}

TEST(Runner, PlacesInputsAndReturnsTheOutput) {
  const Variant good = cpu_variant("good", copy_elements<float>);
  Case c;
  c.x = uniform_input(37, -1.0f, 1.0f, 3);
  c.cols = 37;
  for (Placement at : {Placement{}, Placement{1, 3, 0}, Placement{3, 2, 1}}) {
    EXPECT_EQ(run_once(good, c, at), c.x);
  }
  EXPECT_THROW(run_once(good, c, {4, 0, 0}), std::invalid_argument);
}

// A 16-bit variant sees its inputs rounded to the type and may be placed 0..7 elements off.
TEST(Runner, ConvertsToTheVariantsTypeAndBack) {
  const Variant good = cpu_variant("good", copy_elements<uint16_t>, DType::F16);
  Case c;
  c.x = {1.0f, 1.0f + 0x1p-11f, 1.0f + 0x1p-11f + 0x1p-20f, 65519.0f, 65520.0f, 0x1p-25f, -0x1.8p-25f};
  c.cols = static_cast<int64_t>(c.x.size());
  const std::vector<float> want = {1.0f, 1.0f, 1.0f + 0x1p-10f, 65504.0f, std::numeric_limits<float>::infinity(),
                                   0.0f, -0x1p-24f};
  for (Placement at : {Placement{}, Placement{7, 5, 0}}) EXPECT_EQ(run_once(good, c, at), want);
  EXPECT_THROW(run_once(good, c, {8, 0, 0}), std::invalid_argument);
}

// A case whose x does not hold rows x input_cols values is refused before anything runs: a
// gated family's x holds two halves per row.
TEST(Runner, AnInputOfTheWrongSizeThrows) {
  const Variant* swiglu = find_variant("swiglu/cpu_scalar/f32");
  ASSERT_NE(swiglu, nullptr);
  Case c;
  c.x = std::vector<float>(8, 1.0f);
  c.rows = 2;
  c.cols = 4;  // 8 outputs need 16 inputs
  EXPECT_THROW(run_once(*swiglu, c), std::invalid_argument);
  c.cols = 2;
  EXPECT_EQ(run_once(*swiglu, c).size(), 4u);
}

TEST(Runner, AnUnwrittenElementThrows) {
  const Variant lazy = cpu_variant("lazy", [](const Problem& p) {
    for (int64_t i = 0; i + 1 < p.rows * p.cols; ++i) static_cast<float*>(p.y)[i] = static_cast<const float*>(p.x)[i];
  });
  Case c;
  c.x = std::vector<float>(10, kNaN);  // NaN in, NaN out: only the poison's bits can tell
  c.cols = 10;
  try {
    run_once(lazy, c);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("unwritten, first at y[9]"), std::string::npos) << e.what();
  }
}

TEST(Runner, AWriteOutsideTheOutputThrows) {
  const Variant sloppy = cpu_variant("sloppy", [](const Problem& p) {
    for (int64_t i = -1; i <= p.rows * p.cols; ++i) static_cast<float*>(p.y)[i] = 0.0f;  // one before, one after
  });
  Case c;
  c.x = std::vector<float>(8, 1.0f);
  c.cols = 8;
  try {
    run_once(sloppy, c, {0, 2, 0});
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("outside its output, at y[-1]"), std::string::npos) << e.what();
  }
}

TEST(Inputs, AreSeededAndReproducible) {
  EXPECT_EQ(activation_input(4099, 42), activation_input(4099, 42));
  EXPECT_NE(activation_input(4099, 42), activation_input(4099, 43));
  EXPECT_EQ(softmax_input(3, 1000, 5), softmax_input(3, 1000, 5));
}

TEST(Inputs, ActivationInputCoversTheRangeWithOutliersAndNoZeros) {
  const std::vector<float> x = activation_input(1 << 16, 9);
  int outliers = 0, zeros = 0;
  for (float v : x) {
    ASSERT_TRUE(std::isfinite(v));
    outliers += std::fabs(v) > 12.0f;
    zeros += v == 0.0f;
  }
  EXPECT_GT(outliers, 10);
  EXPECT_LT(outliers, 200);
  EXPECT_EQ(zeros, 0);
}

// make_case's gated input: rows x 2 cols, a as activation_input by output index, b in [-4, 4)
// (the bound the tolerances take), both the same for every thread count.
TEST(Inputs, GatedInputIsActivationsThenBoundedGates) {
  const int64_t rows = 33, cols = 257;
  const Case c = make_case(family_named("swiglu"), DType::F32, rows, cols, 5);
  ASSERT_EQ(static_cast<int64_t>(c.x.size()), rows * 2 * cols);
  const std::vector<float> a = activation_input(rows * cols, 5);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t col = 0; col < cols; ++col) {
      ASSERT_EQ(c.x[r * 2 * cols + col], a[r * cols + col]) << r << "," << col;
      const float b = c.x[r * 2 * cols + cols + col];
      ASSERT_TRUE(b >= -4.0f && b < 4.0f) << b;
    }
  }
  EXPECT_EQ(gated_input(rows, cols, 5), c.x);
  EXPECT_NE(gated_input(rows, cols, 6), c.x);
}

TEST(Inputs, SoftmaxInputHasOutlierRows) {
  const int64_t rows = 256, cols = 512;
  const std::vector<float> x = softmax_input(rows, cols, 3);
  int outlier_rows = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = &x[r * cols];
    outlier_rows += *std::max_element(row, row + cols) > 30.0f;
  }
  EXPECT_GT(outlier_rows, 4);
  EXPECT_LT(outlier_rows, 64);
}

TEST(Inputs, SprinkleSpecialsPlantsAtLeastOne) {
  std::vector<float> one = {1.0f};
  sprinkle_specials(one, 0.0, 11);
  EXPECT_NE(one[0], 1.0f);  // the only value was replaced by a special (NaN compares unequal too)
  std::vector<float> many = uniform_input(10000, 1.0f, 2.0f, 1);
  sprinkle_specials(many, 0.05, 2);
  const auto specials = std::count_if(many.begin(), many.end(), [](float v) { return !(v >= 1.0f && v < 2.0f); });
  EXPECT_GT(specials, 300);
  EXPECT_LT(specials, 700);
}

}  // namespace
}  // namespace actbench
