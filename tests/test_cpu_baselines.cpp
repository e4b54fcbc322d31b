// The CPU baselines: every Device::Cpu variant of the registry against the double reference
// where the CPU code has its own edges (test_variants covers the shapes all variants share):
// lengths around the SIMD blocks and the thread split, the streaming-store path (outputs
// larger than a quarter of any last-level cache up to 512 MiB), misalignments of x and y,
// special values and a sweep of the whole float range. Then softmax properties, on the CPU
// variants and on the reference itself: rows sum to 1, exact shift invariance, outlier rows,
// single-element rows, and rows with +-inf or NaN behaving as torch.softmax does.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "test_support.h"
#include "host/inputs.h"
#include "host/reference.h"
#include "host/runner.h"
#include "kernels/registry.h"

namespace actbench {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();
// Past the streaming threshold of cpu_omp on any machine with up to 512 MiB of last-level
// cache, and not a multiple of any vector width.
constexpr int64_t kStreamed = (int64_t{1} << 24) + 37;

std::vector<const Variant*> cpu_variants(bool softmax) {
  std::vector<const Variant*> out;
  for (const Variant& v : variants()) {
    if (v.device == Device::Cpu && (v.family->act == Activation::Softmax) == softmax)
      out.push_back(&v);
  }
  return out;
}

std::string test_name(const Variant& v) { return std::string(v.family->name) + "_" + v.name; }

// ---- every CPU variant against the reference ------------------------------------------------

enum class Input { Generated, Specials, FloatRange };

struct CpuCase {
  const Variant* variant;
  int64_t rows, cols;
  int x_offset = 0, y_offset = 0;
  Input input = Input::Generated;
};

// Floats over the whole range: a Weyl sequence over the 2^32 bit patterns touches every sign
// and exponent with evenly spread mantissas; NaN and inf patterns are skipped when `finite`.
std::vector<float> float_range(int64_t count, bool finite) {
  std::vector<float> v;
  v.reserve(count);
  for (uint32_t k = 0; static_cast<int64_t>(v.size()) < count; ++k) {
    const uint32_t u = k * 0x9E3779B1u;
    float f;
    std::memcpy(&f, &u, sizeof f);
    if (!finite || std::isfinite(f)) v.push_back(f);
  }
  return v;
}

Case input_for(const CpuCase& c) {
  const uint64_t seed = 77 + static_cast<uint64_t>(c.rows * 131 + c.cols);
  const bool softmax = c.variant->family->act == Activation::Softmax;
  Case in = make_case(*c.variant->family, c.rows, c.cols, seed);
  if (c.input == Input::Specials) {
    // 2% of the values; sparse in long softmax rows, so that most rows stay finite and their
    // values still get checked.
    sprinkle_specials(in.x, softmax && c.cols > 1000 ? 1e-4 : 0.02, seed);
  } else if (c.input == Input::FloatRange) {
    // Softmax rows get finite values only: otherwise nearly every row would be NaN.
    in.x = float_range(c.rows * c.cols, softmax);
  }
  return in;
}

std::vector<CpuCase> all_cases() {
  std::vector<CpuCase> cases;
  for (const Variant* v : cpu_variants(false)) {
    // Around 16-float vectors, the 128-float store blocks, the 2^13 threading threshold.
    for (int64_t n : std::vector<int64_t>{1, 2, 3, 15, 16, 17, 31, 127, 129, 4099, 8191, 8193,
                                          65537, 1 << 20, kStreamed}) {
      cases.push_back({v, 1, n});
    }
    for (int off : {1, 2, 3}) cases.push_back({v, 1, 4099, off, 4 - off});
    cases.push_back({v, 1, 4099, 0, 1});
    cases.push_back({v, 1, kStreamed, 1, 3});  // the streamed path's unaligned head
    cases.push_back({v, 1, 4099, 0, 0, Input::Specials});
    cases.push_back({v, 1, kStreamed, 3, 1, Input::Specials});
    cases.push_back({v, 1, 1 << 22, 0, 0, Input::FloatRange});
  }
  for (const Variant* v : cpu_variants(true)) {
    // Single-element rows; many short rows (one thread per row); few long rows (each row
    // split across threads); a streamed output. Rows stay within the 2^20 columns the softmax
    // tolerance is stated for.
    const std::vector<std::pair<int64_t, int64_t>> shapes = {
        {1, 1},       {7, 1},    {1, 2},       {3, 7},      {1, 33},    {4096, 33},
        {1000, 1025}, {5, 4099}, {1, 1 << 20}, {3, 100003}, {2, 50257}, {4097, 4099}};
    for (auto [rows, cols] : shapes) cases.push_back({v, rows, cols});
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{5, 4099}, {1, 1 << 20}}) {
      cases.push_back({v, rows, cols, 1, 3});
      cases.push_back({v, rows, cols, 3, 0});
      cases.push_back({v, rows, cols, 2, 2, Input::Specials});
    }
    cases.push_back({v, 4097, 4099, 1, 3});  // streamed output, misaligned
    cases.push_back({v, 64, 1000, 0, 0, Input::Specials});
    cases.push_back({v, 256, 4096, 0, 0, Input::FloatRange});
  }
  return cases;
}

std::string case_name(const ::testing::TestParamInfo<CpuCase>& info) {
  const CpuCase& c = info.param;
  static const char* const kInput[] = {"", "_specials", "_float_range"};
  return test_name(*c.variant) + "_" + std::to_string(c.rows) + "x" + std::to_string(c.cols) +
         "_off" + std::to_string(c.x_offset) + std::to_string(c.y_offset) +
         kInput[static_cast<int>(c.input)];
}

// Failure messages name the case rather than dump its bytes.
void PrintTo(const CpuCase& c, std::ostream* os) { *os << case_name({c, 0}); }

class CpuVariant : public ::testing::TestWithParam<CpuCase> {};

TEST_P(CpuVariant, MatchesReference) {
  const CpuCase& c = GetParam();
  if (c.input != Input::Generated) ACT_REQUIRE_SPECIAL_VALUE_RULES(*c.variant);
  const Case in = input_for(c);
  const std::vector<double> want = reference(*c.variant->family, in.x, in.bias, in.rows, in.cols);
  testing::run_and_expect(*c.variant, in, want, ::testing::PrintToString(c), {c.x_offset, c.y_offset});
}

INSTANTIATE_TEST_SUITE_P(Registry, CpuVariant, ::testing::ValuesIn(all_cases()), case_name);

// ---- softmax properties -----------------------------------------------------------------------

// A softmax under test: a CPU variant of the registry, or the double reference itself.
struct Softmax {
  std::string name;
  std::function<std::vector<double>(const std::vector<float>& x, int64_t rows, int64_t cols)> run;
  double rtol;  // accepted relative error of each output
  const char* special_values = nullptr;  // the registry's note when it departs from torch's rules
  std::string id() const { return name; }
};

std::vector<Softmax> softmaxes() {
  std::vector<Softmax> out = {{"reference",
                               [](const std::vector<float>& x, int64_t rows, int64_t cols) {
                                 return reference(family_named("softmax"), x, {}, rows, cols);
                               },
                               1e-14}};
  for (const Variant* v : cpu_variants(true)) {
    out.push_back({test_name(*v),
                   [v](const std::vector<float>& x, int64_t rows, int64_t cols) {
                     Case c;
                     c.x = x;
                     c.rows = rows;
                     c.cols = cols;
                     const std::vector<float> y = run_once(*v, c);
                     return std::vector<double>(y.begin(), y.end());
                   },
                   v->tol.rtol, v->special_values});
  }
  return out;
}

void PrintTo(const Softmax& s, std::ostream* os) { *os << s.name; }

class SoftmaxProperty : public ::testing::TestWithParam<Softmax> {
 protected:
  std::vector<double> run(const std::vector<float>& x, int64_t rows, int64_t cols) const {
    return GetParam().run(x, rows, cols);
  }
};

TEST_P(SoftmaxProperty, RowsSumToOne) {
  // Each output within rtol of the truth, so each row's sum is within rtol of 1 (plus the
  // rounding of a double sum), whatever the row length.
  for (auto [rows, cols] :
       {std::pair<int64_t, int64_t>{512, 7}, {64, 1025}, {3, 100003}, {1, 1 << 20}}) {
    const std::vector<double> y = run(softmax_input(rows, cols, 5), rows, cols);
    for (int64_t r = 0; r < rows; ++r) {
      const double sum = std::accumulate(y.begin() + r * cols, y.begin() + (r + 1) * cols, 0.0);
      ASSERT_NEAR(sum, 1.0, GetParam().rtol + 1e-12)
          << "row " << r << " of " << rows << "x" << cols;
    }
  }
}

TEST_P(SoftmaxProperty, IsExactlyShiftInvariant) {
  // Inputs on a 2^-10 grid within +-32 and a shift of 1024 keep every x + c and every
  // (x + c) - (m + c) exact, so the outputs must be identical, not merely close.
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{64, 33}, {2, 100003}}) {
    std::vector<float> x = uniform_input(rows * cols, -32.0f, 32.0f, 9), shifted(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = std::round(x[i] * 1024.0f) / 1024.0f;
      shifted[i] = x[i] + 1024.0f;
    }
    EXPECT_EQ(run(x, rows, cols), run(shifted, rows, cols)) << rows << "x" << cols;
  }
}

TEST_P(SoftmaxProperty, OutlierDominatesItsRow) {
  // One entry 100 above the rest: it takes 1 - O(n e^-100), the rest e^-100 (subnormal or 0 in
  // float), none of which may overflow or turn into NaN.
  const int64_t cols = 4099;
  std::vector<float> x = uniform_input(cols, -1.0f, 1.0f, 13);
  x[1234] = 100.0f;
  const std::vector<double> y = run(x, 1, cols);
  EXPECT_NEAR(y[1234], 1.0, GetParam().rtol);
  for (int64_t i = 0; i < cols; ++i) {
    if (i != 1234) {
      ASSERT_NEAR(y[i], 0.0, 1e-40) << i;
    }
  }
}

TEST_P(SoftmaxProperty, SingleElementRowsAreOne) {
  const std::vector<float> x = {
      -1e30f, -5.0f, 0.0f, 3.0f, 88.7f, 1e30f, std::numeric_limits<float>::max()};
  for (double v : run(x, static_cast<int64_t>(x.size()), 1)) EXPECT_EQ(v, 1.0);
}

// Rows of `cols` values in which `special` sits at the front, in the middle or at the end, and
// the expected torch.softmax row: NaN everywhere.
void expect_nan_rows(const Softmax& s, float special, int64_t cols) {
  std::vector<float> x = uniform_input(3 * cols, -4.0f, 4.0f, 21);
  x[0] = special;
  x[cols + cols / 2] = special;
  x[3 * cols - 1] = special;
  const std::vector<double> y = s.run(x, 3, cols);
  for (int64_t i = 0; i < 3 * cols; ++i)
    ASSERT_TRUE(std::isnan(y[i])) << "element " << i << ": " << y[i];
}

// Lengths: a short row, and one long enough to be split across threads.
constexpr int64_t kRowLengths[] = {5, 100003};

TEST_P(SoftmaxProperty, NaNMakesTheRowNaN) {
  ACT_REQUIRE_SPECIAL_VALUE_RULES(GetParam());
  for (int64_t cols : kRowLengths) expect_nan_rows(GetParam(), kNaN, cols);
}

TEST_P(SoftmaxProperty, PlusInfinityMakesTheRowNaN) {
  ACT_REQUIRE_SPECIAL_VALUE_RULES(GetParam());
  // torch.softmax: exp(inf - inf) is NaN.
  for (int64_t cols : kRowLengths) expect_nan_rows(GetParam(), kInf, cols);
}

TEST_P(SoftmaxProperty, AllMinusInfinityRowIsNaN) {
  ACT_REQUIRE_SPECIAL_VALUE_RULES(GetParam());
  for (int64_t cols : kRowLengths) {
    const std::vector<double> y = run(std::vector<float>(cols, -kInf), 1, cols);
    for (double v : y) ASSERT_TRUE(std::isnan(v)) << v;  // 0 / 0
  }
}

TEST_P(SoftmaxProperty, MinusInfinityEntriesGetZero) {
  ACT_REQUIRE_SPECIAL_VALUE_RULES(GetParam());
  // A -inf prefix longer than any thread's share, then finite values and more -inf: the -inf
  // entries are 0 and the rest is the softmax of the finite values alone.
  for (int64_t cols : kRowLengths) {
    const int64_t prefix = cols * 3 / 4;
    std::vector<float> x = uniform_input(cols, -3.0f, 3.0f, 17);
    std::fill(x.begin(), x.begin() + prefix, -kInf);
    x[cols - 2] = -kInf;
    const std::vector<double> y = run(x, 1, cols);
    std::vector<float> finite;
    for (float v : x) {
      if (v != -kInf) finite.push_back(v);
    }
    std::vector<double> want(finite.size());
    reference_softmax_row(finite.data(), static_cast<int64_t>(finite.size()), want.data());
    size_t k = 0;
    for (int64_t i = 0; i < cols; ++i) {
      if (x[i] == -kInf) {
        ASSERT_EQ(y[i], 0.0) << i;
      } else {
        ASSERT_NEAR(y[i], want[k], 1e-9 + GetParam().rtol * want[k]) << i;
        ++k;
      }
    }
  }
}

std::string softmax_name(const ::testing::TestParamInfo<Softmax>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Cpu, SoftmaxProperty, ::testing::ValuesIn(softmaxes()), softmax_name);

}  // namespace
}  // namespace actbench
