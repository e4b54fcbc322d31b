// GPU tests specific to the softmax variants, over every GPU variant the registry lists for the
// softmax family (naive, fused, warp, block, cluster, online, auto, cub, cudnn when built), in each
// element type (inputs rounded to it, reference rounded to it); shapes a
// variant does not support (Variant::supports) are skipped. test_variants.cpp already runs
// every variant on a few shapes; these stress what is particular to a row-wise softmax:
//
//   SoftmaxSpecialRows.*   torch.softmax's special values, each pattern placed at the start,
//                          middle and end of a row, every special row followed by an ordinary
//                          one (rows that share a warp or a grid wave must not leak into each
//                          other), over row lengths that cross every lane, vector, register
//                          bucket and block-split boundary, up to 2^20 (online's merge of
//                          per-block states). Written expectations (all NaN, exact one-hot,
//                          exact 0, uniform) on top of the reference comparison.
//   SoftmaxShapes.*        cols {1, 2, 7, 31, 32, 33, 1000, 1023, 1024, 1025, 4096, 50257, 2^20}
//                          x rows {1, 3, 1000}, plus shapes that reach each path of `auto` and
//                          `online` (block rows, few long rows split over the GPU, several
//                          waves, rows longer than the GPU's shared memory), against the
//                          reference; small shapes also with x and y misaligned. Outputs are
//                          poisoned with NaN by run_once, so an element never written fails.
//   SoftmaxGpu.OutlierRows  logits far apart (+40, +88.7, +1e4 over the rest; -1e4, the type's lowest):
//                          no overflow, underflowed terms are exactly 0.
//   SoftmaxGpu.RowSums     every row of an output sums to 1 (no reference needed).
//   SoftmaxGpu.Repeatable  two runs give bitwise the same output: the cross-block merge and the
//                          double-buffered waves have no race.
//   SoftmaxGpu.EqualLogits  equal logits of a row give bitwise-equal outputs: every thread,
//                          warp and block of a row scales by the same (max, sum).
//
// And of softmax_backward's GPU variants (test_variants.cpp checks them on its shapes):
//
//   SoftmaxBackwardGpu.ZeroAndNanRows  a row of dy all 0 gives dx exactly 0; a NaN in one
//                          row's dy makes that row all NaN and leaves the rows around it finite.
//   SoftmaxBackwardGpu.Repeatable  two runs give bitwise the same dx.
//
// Every test starts with ACT_REQUIRE_GPU(); no CUDA call happens outside a test body. Shapes
// stay within kMaxElements so the double reference and the copies take seconds.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "host/inputs.h"
#include "host/reference.h"
#include "host/runner.h"
#include "kernels/registry.h"
#include "tests/test_support.h"

namespace actbench {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr int64_t kMaxElements = int64_t{1} << 26;

const Family& softmax() { return family_named("softmax"); }
const Family& softmax_backward() { return family_named("softmax_backward"); }

// The GPU variants of `family` (softmax or softmax_backward) in type t.
std::vector<const Variant*> gpu_variants_of(const Family& family, DType t) {
  std::vector<const Variant*> out;
  for (const Variant& v : variants()) {
    if (v.device == Device::Gpu && v.family == &family && v.dtype == t) out.push_back(&v);
  }
  return out;
}

std::vector<const Variant*> gpu_softmax_variants(DType t) { return gpu_variants_of(softmax(), t); }

std::string describe(const Variant& v, const Case& c, int x_offset = 0, int y_offset = 0) {
  std::string s = v.id() + " rows=" + std::to_string(c.rows) + " cols=" + std::to_string(c.cols);
  if (x_offset || y_offset) s += " offsets x+" + std::to_string(x_offset) + " y+" + std::to_string(y_offset);
  return s;
}

// Runs v on c and compares with the reference; returns the output.
std::vector<float> run_and_compare(const Variant& v, const Case& c, const std::vector<double>& ref,
                                   int x_offset = 0, int y_offset = 0) {
  return testing::run_and_expect(v, c, ref, describe(v, c, x_offset, y_offset), {x_offset, y_offset});
}

// ---- special-value rows ------------------------------------------------------------------

// What torch.softmax gives for a row, beyond matching the reference.
void expect_all_nan(const float* y, int64_t cols, int64_t, DType) {
  for (int64_t i = 0; i < cols; ++i) ASSERT_TRUE(std::isnan(y[i])) << "column " << i << " is " << y[i];
}

void expect_one_hot(const float* y, int64_t cols, int64_t pos, DType) {
  for (int64_t i = 0; i < cols; ++i) ASSERT_EQ(y[i], i == pos ? 1.0f : 0.0f) << "column " << i;
}

void expect_zero_at_pos(const float* y, int64_t cols, int64_t pos, DType t) {
  if (cols == 1) return expect_all_nan(y, cols, pos, t);  // the whole row is -inf
  EXPECT_EQ(y[pos], 0.0f);
  for (int64_t i = 0; i < cols; ++i) ASSERT_FALSE(std::isnan(y[i])) << "column " << i;
}

// Equal outputs, each 1 / cols to within f32's rounding (1e-6) or an ulp of the 16-bit type.
void expect_uniform(const float* y, int64_t cols, int64_t, DType t) {
  for (int64_t i = 0; i < cols; ++i) ASSERT_EQ(y[i], y[0]) << "column " << i;
  const double relative = t == DType::F32 ? 1e-6 : dtype_epsilon(t);
  EXPECT_NEAR(y[0], 1.0 / static_cast<double>(cols), relative / static_cast<double>(cols));
}

void expect_no_nan(const float* y, int64_t cols, int64_t, DType) {
  for (int64_t i = 0; i < cols; ++i) ASSERT_FALSE(std::isnan(y[i])) << "column " << i;
  if (cols == 1) {
    EXPECT_EQ(y[0], 1.0f);
  }
}

// fill writes the pattern over a row of ordinary logits; `largest` is the type's largest
// finite value. expect checks the output row in that type.
struct SpecialRow {
  const char* name;
  void (*fill)(float* row, int64_t cols, int64_t pos, float largest);
  void (*expect)(const float* y, int64_t cols, int64_t pos, DType t);
};

const std::vector<SpecialRow>& special_rows() {
  static const std::vector<SpecialRow> rows = {
      {"plus_inf", [](float* r, int64_t, int64_t pos, float) { r[pos] = kInf; }, expect_all_nan},
      {"nan", [](float* r, int64_t, int64_t pos, float) { r[pos] = kNaN; }, expect_all_nan},
      {"minus_inf", [](float* r, int64_t, int64_t pos, float) { r[pos] = -kInf; }, expect_zero_at_pos},
      {"all_minus_inf",
       [](float* r, int64_t cols, int64_t, float) {
         for (int64_t i = 0; i < cols; ++i) r[i] = -kInf;
       },
       expect_all_nan},
      {"one_finite_among_minus_inf",
       [](float* r, int64_t cols, int64_t pos, float) {
         for (int64_t i = 0; i < cols; ++i) r[i] = i == pos ? 3.0f : -kInf;
       },
       expect_one_hot},
      {"plus_inf_and_minus_inf",
       [](float* r, int64_t cols, int64_t pos, float) {
         r[(pos + 1) % cols] = -kInf;
         r[pos] = kInf;
       },
       expect_all_nan},
      {"nan_and_minus_inf",
       [](float* r, int64_t cols, int64_t pos, float) {
         r[(pos + cols / 2) % cols] = -kInf;
         r[pos] = kNaN;
       },
       expect_all_nan},
      {"nan_after_all_minus_inf",  // a NaN must survive merging with all -inf parts
       [](float* r, int64_t cols, int64_t pos, float) {
         for (int64_t i = 0; i < cols; ++i) r[i] = -kInf;
         r[pos] = kNaN;
       },
       expect_all_nan},
      {"type_max_among_lowest",  // x - max overflows to -inf: those terms are exactly 0
       [](float* r, int64_t cols, int64_t pos, float largest) {
         for (int64_t i = 0; i < cols; ++i) r[i] = i == pos ? largest : -largest;
       },
       expect_one_hot},
      {"dominant_1e4", [](float* r, int64_t, int64_t pos, float) { r[pos] = 1e4f; }, expect_one_hot},
      {"constant",
       [](float* r, int64_t cols, int64_t, float) {
         for (int64_t i = 0; i < cols; ++i) r[i] = 7.25f;
       },
       expect_uniform},
      {"minus_inf_prefix",  // the first parts of a split row hold only -inf
       [](float* r, int64_t, int64_t pos, float) {
         for (int64_t i = 0; i < pos; ++i) r[i] = -kInf;
       },
       expect_no_nan},
  };
  return rows;
}

// Where a pattern goes: first, middle and last column (first and last only for rows over
// 2^16, which keeps the 2^20 case within kMaxElements; patterns that touch two columns still
// reach the middle).
std::vector<int64_t> positions(int64_t cols) {
  std::vector<int64_t> out = {0};
  if (cols / 2 != 0 && cols <= (int64_t{1} << 16)) out.push_back(cols / 2);
  if (cols - 1 != cols / 2 && cols - 1 != 0) out.push_back(cols - 1);
  return out;
}

class SoftmaxSpecialRows : public ::testing::TestWithParam<int64_t> {};

TEST_P(SoftmaxSpecialRows, FollowTorchSoftmax) {
  ACT_REQUIRE_GPU();
  const int64_t cols = GetParam();
  const std::vector<int64_t> pos = positions(cols);
  // Pattern p at position k fills row 2 * (p * |pos| + k); the row after it stays ordinary.
  const int64_t rows = 2 * static_cast<int64_t>(special_rows().size() * pos.size());
  for (DType t : kDTypes) {
    Case c = make_case(softmax(), t, rows, cols, 7000 + static_cast<uint64_t>(cols));
    for (size_t p = 0; p < special_rows().size(); ++p) {
      for (size_t k = 0; k < pos.size(); ++k) {
        special_rows()[p].fill(&c.x[2 * (p * pos.size() + k) * cols], cols, pos[k], static_cast<float>(dtype_max(t)));
      }
    }
    round_to_type(t, c.x);
    const std::vector<double> ref = reference(softmax(), t, c.x, c.bias, c.rows, c.cols);

    for (const Variant* v : gpu_softmax_variants(t)) {
      // A library's own special-value convention is registry data (Variant::special_values).
      if (!v->supports(cols) || v->special_values) continue;
      SCOPED_TRACE(describe(*v, c));
      const std::vector<float> y = run_and_compare(*v, c, ref);
      for (size_t p = 0; p < special_rows().size(); ++p) {
        for (size_t k = 0; k < pos.size(); ++k) {
          const int64_t row = 2 * static_cast<int64_t>(p * pos.size() + k);
          SCOPED_TRACE(std::string("row ") + std::to_string(row) + ": " + special_rows()[p].name +
                       " at column " + std::to_string(pos[k]));
          special_rows()[p].expect(&y[row * cols], cols, pos[k], t);
          expect_no_nan(&y[(row + 1) * cols], cols, 0, t);  // the ordinary row after it
        }
      }
    }
  }
}

std::string cols_name(const ::testing::TestParamInfo<int64_t>& info) {
  return "cols" + std::to_string(info.param);
}

// Lane, float4, register-bucket, warp/block/online and split boundaries; 2^20: online splits
// each row over many blocks in several waves.
INSTANTIATE_TEST_SUITE_P(Cols, SoftmaxSpecialRows,
                         ::testing::Values(1, 2, 3, 4, 5, 31, 32, 33, 127, 128, 129, 1000, 1023, 1024,
                                           1025, 4096, 4097, 12289, 16385, 50257, int64_t{1} << 20),
                         cols_name);

// ---- shapes ------------------------------------------------------------------------------

struct Shape {
  int64_t rows, cols;
};

void PrintTo(const Shape& s, std::ostream* os) { *os << s.rows << " x " << s.cols; }

class SoftmaxShapes : public ::testing::TestWithParam<Shape> {};

TEST_P(SoftmaxShapes, MatchReference) {
  ACT_REQUIRE_GPU();
  const Shape s = GetParam();
  // Misaligned x and/or y force the scalar paths; large shapes run aligned only, for time.
  std::vector<std::pair<int, int>> offsets = {{0, 0}};
  if (s.rows * s.cols <= (int64_t{1} << 22)) offsets.insert(offsets.end(), {{1, 1}, {0, 3}, {2, 0}});
  for (DType t : kDTypes) {
    const Case c = make_case(softmax(), t, s.rows, s.cols, 100 + static_cast<uint64_t>(s.rows * 31 + s.cols));
    const std::vector<double> ref = reference(softmax(), t, c.x, c.bias, c.rows, c.cols);
    for (const Variant* v : gpu_softmax_variants(t)) {
      if (!v->supports(s.cols)) continue;
      for (const auto& [x_offset, y_offset] : offsets) run_and_compare(*v, c, ref, x_offset, y_offset);
    }
  }
}

std::vector<Shape> grid_shapes() {
  std::vector<Shape> out;
  for (int64_t cols : {1, 2, 7, 31, 32, 33, 1000, 1023, 1024, 1025, 4096, 50257, 1 << 20}) {
    for (int64_t rows : {1, 3, 1000}) {
      if (rows * cols <= kMaxElements) out.push_back({rows, cols});
    }
  }
  return out;
}

std::string shape_name(const ::testing::TestParamInfo<Shape>& info) {
  return "rows" + std::to_string(info.param.rows) + "_cols" + std::to_string(info.param.cols);
}

INSTANTIATE_TEST_SUITE_P(Grid, SoftmaxShapes, ::testing::ValuesIn(grid_shapes()), shape_name);

// Each path of auto and online: block rows with rows enough for every SM (4097, 16384);
// online with one part per row (2000 x 8192), two parts per row in several waves (16385, odd:
// scalar), few rows spread over the GPU (8 x 8192, 1 x 12289), many waves of split rows
// (64 x 2^20, the benchmark's long-row shape), and rows longer than all shared memory holds,
// read twice (2^22 columns: once misaligned, once over two waves).
INSTANTIATE_TEST_SUITE_P(Paths, SoftmaxShapes,
                         ::testing::Values(Shape{300, 4097}, Shape{300, 16384}, Shape{300, 16385},
                                           Shape{2000, 8192}, Shape{8, 8192}, Shape{1, 12289},
                                           Shape{64, 1 << 20}, Shape{1, 1 << 22}, Shape{2, 1 << 22}),
                         shape_name);

// ---- outliers, sums, repeatability -------------------------------------------------------

TEST(SoftmaxGpu, OutlierRows) {
  ACT_REQUIRE_GPU();
  for (DType t : kDTypes) {
    for (int64_t cols : {5, 33, 1025, 20000}) {
      Case c = make_case(softmax(), t, 8, cols, 900 + static_cast<uint64_t>(cols));
      const float lifts[] = {40.0f, 88.7f, 1e4f};
      for (int r = 0; r < 3; ++r) {  // a few logits far above the rest
        for (int64_t i = r; i < cols; i += 7) c.x[r * cols + i] += lifts[r];
      }
      for (int64_t i = 0; i < cols; i += 3) c.x[3 * cols + i] = -1e4f;      // far below the rest
      for (int64_t i = 1; i < cols; i += 2) c.x[4 * cols + i] = -static_cast<float>(dtype_max(t));  // as low as it goes
      for (int64_t i = 0; i < cols; ++i) c.x[5 * cols + i] = 1e4f + static_cast<float>(i % 5);  // large, close
      for (int64_t i = 0; i < cols; ++i) c.x[6 * cols + i] = -88.7f - static_cast<float>(i % 3);  // all tiny
      round_to_type(t, c.x);
      const std::vector<double> ref = reference(softmax(), t, c.x, c.bias, c.rows, c.cols);
      for (const Variant* v : gpu_softmax_variants(t)) {
        if (v->supports(cols)) run_and_compare(*v, c, ref);
      }
    }
  }
}

TEST(SoftmaxGpu, RowSums) {
  ACT_REQUIRE_GPU();
  for (const Shape s : {Shape{1000, 7}, Shape{257, 1000}, Shape{64, 5000}, Shape{4, 1 << 20}}) {
    for (DType t : kDTypes) {
      const Case c = make_case(softmax(), t, s.rows, s.cols, 500 + static_cast<uint64_t>(s.cols));
      for (const Variant* v : gpu_softmax_variants(t)) {
        if (!v->supports(s.cols)) continue;
        const std::vector<float> y = run_once(*v, c);
        // Each output within rtol of the reference (whose row sums are 1) bounds the sum's error.
        const double tolerance = v->tol.rtol + static_cast<double>(s.cols) * v->tol.atol + 1e-6;
        for (int64_t r = 0; r < s.rows; ++r) {
          double sum = 0.0;
          for (int64_t i = 0; i < s.cols; ++i) sum += y[r * s.cols + i];
          ASSERT_NEAR(sum, 1.0, tolerance) << describe(*v, c) << " row " << r;
        }
      }
    }
  }
}

TEST(SoftmaxGpu, Repeatable) {
  ACT_REQUIRE_GPU();
  for (const Shape s : {Shape{1, 1 << 20}, Shape{8, 1 << 20}, Shape{300, 16385}, Shape{1000, 1025}}) {
    for (DType t : kDTypes) {
      const Case c = make_case(softmax(), t, s.rows, s.cols, 42);
      for (const Variant* v : gpu_softmax_variants(t)) {
        if (!v->supports(s.cols)) continue;
        const std::vector<float> first = run_once(*v, c);
        const std::vector<float> second = run_once(*v, c);
        EXPECT_EQ(std::memcmp(first.data(), second.data(), first.size() * sizeof(float)), 0)
            << describe(*v, c) << ": two runs differ";
      }
    }
  }
}

// Rows repeat a period of kPeriod logits, so column i must equal column i % kPeriod bit for bit
// (same numerator, same scale). Shapes: online with rows split over many blocks (1 x 2^20,
// 8 x 100000), over two blocks (300 x 16385, scalar), block rows (300 x 16384), warp rows.
TEST(SoftmaxGpu, EqualLogits) {
  ACT_REQUIRE_GPU();
  constexpr int64_t kPeriod = 13;
  for (const Shape s :
       {Shape{1, 1 << 20}, Shape{8, 100000}, Shape{300, 16385}, Shape{300, 16384}, Shape{1000, 1000}}) {
    for (DType t : kDTypes) {
      Case c = make_case(softmax(), t, s.rows, s.cols, 300 + static_cast<uint64_t>(s.cols));
      for (int64_t r = 0; r < s.rows; ++r) {
        for (int64_t i = kPeriod; i < s.cols; ++i) c.x[r * s.cols + i] = c.x[r * s.cols + i % kPeriod];
      }
      for (const Variant* v : gpu_softmax_variants(t)) {
        if (!v->supports(s.cols)) continue;
        const std::vector<float> y = run_once(*v, c);
        for (int64_t r = 0; r < s.rows; ++r) {
          const float* yr = &y[r * s.cols];
          for (int64_t i = kPeriod; i < s.cols; ++i) {
            ASSERT_EQ(yr[i], yr[i % kPeriod]) << describe(*v, c) << " row " << r << " column " << i;
          }
        }
      }
    }
  }
}

// ---- softmax_backward ----------------------------------------------------------------------

// Per shape: row 1 of dy all 0 (dx = y (0 - 0): exactly 0), a NaN in the middle of row 3's dy
// (its dot is NaN: the whole row NaN), the other rows ordinary and finite. Six rows put
// neighbours in one lane group's step for short rows and in one grid-stride round otherwise;
// the lengths reach each of warp's group widths and buckets, block and fused.
TEST(SoftmaxBackwardGpu, ZeroAndNanRows) {
  ACT_REQUIRE_GPU();
  constexpr int64_t kRows = 6, kZeroRow = 1, kNanRow = 3;
  for (int64_t cols : {1, 7, 33, 1000, 2048, 5000, 20000}) {
    for (DType t : kDTypes) {
      Case c = make_case(softmax_backward(), t, kRows, cols, 1300 + static_cast<uint64_t>(cols));
      for (int64_t i = 0; i < cols; ++i) c.dy[kZeroRow * cols + i] = 0.0f;
      c.dy[kNanRow * cols + cols / 2] = kNaN;
      const Expected want = reference(softmax_backward(), t, c);
      for (const Variant* v : gpu_variants_of(softmax_backward(), t)) {
        if (!v->supports(cols) || v->special_values) continue;
        const std::vector<float> dx = testing::run_and_expect(*v, c, want, describe(*v, c));
        for (int64_t r = 0; r < kRows; ++r) {
          for (int64_t i = 0; i < cols; ++i) {
            const float d = dx[r * cols + i];
            if (r == kZeroRow) {
              ASSERT_EQ(d, 0.0f) << describe(*v, c) << " row " << r << " column " << i;
            } else if (r == kNanRow) {
              ASSERT_TRUE(std::isnan(d)) << describe(*v, c) << " row " << r << " column " << i << " is " << d;
            } else {
              ASSERT_TRUE(std::isfinite(d)) << describe(*v, c) << " row " << r << " column " << i << " is " << d;
            }
          }
        }
      }
    }
  }
}

// Two runs give bitwise the same dx (auto's pick and every reduction order are fixed).
TEST(SoftmaxBackwardGpu, Repeatable) {
  ACT_REQUIRE_GPU();
  for (const Shape s : {Shape{1000, 33}, Shape{64, 2048}, Shape{300, 16385}, Shape{3, 50257}}) {
    for (DType t : kDTypes) {
      const Case c = make_case(softmax_backward(), t, s.rows, s.cols, 43);
      for (const Variant* v : gpu_variants_of(softmax_backward(), t)) {
        if (!v->supports(s.cols)) continue;
        const std::vector<float> first = run_once(*v, c);
        const std::vector<float> second = run_once(*v, c);
        EXPECT_EQ(std::memcmp(first.data(), second.data(), first.size() * sizeof(float)), 0)
            << describe(*v, c) << ": two runs differ";
      }
    }
  }
}

}  // namespace
}  // namespace actbench
