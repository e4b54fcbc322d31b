// The paths of this project's kernels that a small test never reaches, each checked against the
// reference, at shapes chosen to reach them: the cases scripts/gpu_check.sh runs under
// compute-sanitizer (memcheck over all; racecheck and synccheck over the row kernels at the
// shapes marked kBarriers, which are sized for those slower tools). Library references
// (Variant::library_reference) are left out: their code is not this project's to fix.
//
//   Elementwise/RiskyPaths.*  n = 2^23 + 3: past one grid-stride round of the warp kernels
//                             (resident blocks x threads x vector x loads in flight is ~2^22
//                             on an H100/H200), with a misaligned head and a ragged tail;
//                             bias and gated families 2049 x 4097: odd rows that start
//                             misaligned.
//   Rows/RiskyPaths.*         softmax 300 x 16385: `block` at 1024 threads, `online` in
//                             several waves of rows split in two parts (the double buffer and
//                             the alternating partial-state halves); 1000 x 4096: `warp` at
//                             its longest row; 1 x 2^22: `online` streamed (a row longer than
//                             the GPU's shared memory holds); 8 x 2^20 and 2 x 2^22: online's
//                             resident and streamed plans over several waves. softmax_backward
//                             on the same shapes: fused over the long rows, block at 1000 x 4096.
//
// Types: f32 and bf16. f16's kernels are bf16's with other conversion instructions: the same
// element size, so the same addressing, vectors, heads and tails, which is all a sanitizer
// checks; leaving them out keeps the sanitizer runs within the GPU check's budget.
//
// Every test starts with ACT_REQUIRE_GPU(); no CUDA call happens outside a test body.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "host/reference.h"
#include "host/runner.h"
#include "kernels/registry.h"
#include "tests/test_support.h"

namespace actbench {
namespace {

struct Shape {
  int64_t rows, cols;
  bool barriers;  // also run under racecheck and synccheck
};

constexpr bool kBarriers = true, kMemcheckOnly = false;

struct PathCase {
  const Variant* variant;
  Shape shape;
};

const std::vector<Shape>& risky_shapes(const Family& f) {
  static const std::vector<Shape> flat = {{1, (int64_t{1} << 23) + 3, kMemcheckOnly}};
  static const std::vector<Shape> odd_rows = {{2049, 4097, kMemcheckOnly}};
  static const std::vector<Shape> rows = {{300, 16385, kBarriers},     {1000, 4096, kBarriers},
                                          {1, int64_t{1} << 22, kBarriers}, {8, int64_t{1} << 20, kMemcheckOnly},
                                          {2, int64_t{1} << 22, kMemcheckOnly}};
  if (f.act == Activation::Softmax) return rows;
  return f.row_shaped ? odd_rows : flat;
}

// The softmax kernels that share rows through shared memory and barriers: what racecheck and
// synccheck can say anything about (naive and warp have neither; auto runs these kernels).
bool uses_barriers(const Variant& v) {
  const std::string name = v.name;
  return name == "fused" || name == "block" || name == "cluster" || name == "online";
}

std::vector<PathCase> cases(bool row_reductions) {
  std::vector<PathCase> out;
  for (const Variant& v : variants()) {
    if (v.device != Device::Gpu || v.library_reference() || v.dtype == DType::F16) continue;
    if ((v.family->act == Activation::Softmax) != row_reductions) continue;
    for (Shape s : risky_shapes(*v.family)) {
      if (!v.supports(s.cols)) continue;
      // One thread walks each row of `naive` three times: seconds at 2^22 columns, minutes
      // under a sanitizer, and no path the 16385-column rows do not already reach.
      if (std::string(v.name) == "naive" && s.cols > 16385) continue;
      s.barriers = s.barriers && uses_barriers(v);
      out.push_back({&v, s});
    }
  }
  return out;
}

// "softmax_online_bf16_300x16385", or "..._300x16385_barriers" for the cases racecheck and synccheck
// also run: kernels with shared memory and barriers at the shapes sized for those tools
// (scripts/gpu_check.sh selects them with the filter Rows/RiskyPaths.*_barriers).
std::string case_name(const ::testing::TestParamInfo<PathCase>& info) {
  const PathCase& c = info.param;
  std::string name = std::string(c.variant->family->name) + "_" + c.variant->name + "_" +
                     dtype_name(c.variant->dtype) + "_" + std::to_string(c.shape.rows) + "x" +
                     std::to_string(c.shape.cols);
  return c.shape.barriers ? name + "_barriers" : name;
}

void PrintTo(const PathCase& c, std::ostream* os) {
  *os << c.variant->id() << " " << c.shape.rows << "x" << c.shape.cols;
}

class RiskyPaths : public ::testing::TestWithParam<PathCase> {};

TEST_P(RiskyPaths, MatchReference) {
  ACT_REQUIRE_GPU();
  const PathCase& c = GetParam();
  const Variant& v = *c.variant;
  const Case in = make_case(*v.family, v.dtype, c.shape.rows, c.shape.cols, 20261201);
  const Expected want = reference(*v.family, v.dtype, in);
  testing::run_and_expect(v, in, want, "aligned");
  // Misaligned so that no two arrays share a phase and x and y are off by an odd element.
  const Placement off = v.dtype == DType::F32 ? Placement{1, 3, 2} : Placement{5, 2, 7};
  testing::run_and_expect(v, in, want, "misaligned x " + std::to_string(off.x) + ", y " + std::to_string(off.y) +
                                           ", bias " + std::to_string(off.bias), off);
}

INSTANTIATE_TEST_SUITE_P(Elementwise, RiskyPaths, ::testing::ValuesIn(cases(false)), case_name);
INSTANTIATE_TEST_SUITE_P(Rows, RiskyPaths, ::testing::ValuesIn(cases(true)), case_name);

// The classification the sanitizer runs rely on, checked without a GPU: every GPU variant that
// calls a library is marked, and none of the project's kernels is.
TEST(RegistryTiers, LibraryReferencesAreMarked) {
  int marked = 0;
  for (const Variant& v : variants()) {
    const std::string name = v.name;
    const bool library = v.device == Device::Gpu && (name == "thrust" || name == "cub" || name == "cudnn");
    EXPECT_EQ(v.library_reference(), library) << v.id() << " (step " << v.step << ")";
    marked += v.library_reference();
  }
  EXPECT_GE(marked, 4) << "thrust for each elementwise family and cub for softmax at least";
}

}  // namespace
}  // namespace actbench
