// Every variant of the registry, in its element type, against the reference, over
// adversarial shapes, misaligned pointers (x and y misaligned differently), special values and
// poisoned outputs.
// CPU variants run everywhere; GPU variants skip with the reason when there is no device.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.h"
#include "host/inputs.h"
#include "host/reference.h"
#include "host/runner.h"
#include "kernels/registry.h"

namespace actbench {
namespace {

struct Shape {
  int64_t rows, cols;
};

// Lengths around warp, vector and block boundaries, plus one large enough for a full grid.
const std::vector<Shape>& shapes_for(const Family& f) {
  static const std::vector<Shape> flat = {{1, 1},  {1, 3},    {1, 31},   {1, 32},
                                          {1, 33}, {1, 1023}, {1, 4099}, {1, 1 << 20}};
  static const std::vector<Shape> bias = {{1, 1}, {3, 7}, {17, 33}, {64, 1000}, {1000, 1025}};
  // Gated: one column, odd row counts, rows no 16-byte vector fits (7, 33, 1025), rows of whole
  // vectors in every type (64, 1000: fused_warp's 16-byte loads of both halves).
  static const std::vector<Shape> gated = {{1, 1}, {7, 1}, {3, 7}, {17, 33}, {9, 64}, {64, 1000}, {1000, 1025}};
  static const std::vector<Shape> softmax = {{1, 1},    {3, 7},     {64, 32},   {5, 33},
                                             {16, 1000}, {16, 1024}, {16, 1025}, {4, 4096},
                                             {2, 50257}};
  if (f.act == Activation::Softmax) return softmax;
  if (f.gated) return gated;
  return f.bias ? bias : flat;
}

// Placements of x and y in elements: aligned; misaligned differently (1 and the last
// element of a 16-byte vector); equally misaligned by half a vector, with special values.
struct Placing {
  int x_offset, y_offset;
  bool specials;
};
std::vector<Placing> placings_for(DType t) {
  const int per_vector = static_cast<int>(16 / dtype_bytes(t));
  return {{0, 0, false}, {1, per_vector - 1, false}, {per_vector / 2, per_vector / 2, true}};
}

// The variants that run on `device`: CPU and GPU ones are instantiated apart (Cpu/...,
// Gpu/...) so that CTest can label them (tests/CMakeLists.txt filters on Gpu/*). One test per
// variant runs all its shapes and placements (a CTest test per case would be thousands of
// processes); a failure names the case.
std::vector<const Variant*> variants_on(Device device) {
  std::vector<const Variant*> out;
  for (const Variant& v : variants()) {
    if (v.device == device) out.push_back(&v);
  }
  return out;
}

std::string variant_name(const ::testing::TestParamInfo<const Variant*>& info) {
  const Variant& v = *info.param;
  return std::string(v.family->name) + "_" + v.name + "_" + dtype_name(v.dtype);
}

class VariantTest : public ::testing::TestWithParam<const Variant*> {};

TEST_P(VariantTest, MatchesReference) {
  const Variant& v = *GetParam();
  if (v.device == Device::Gpu) ACT_REQUIRE_GPU();
  for (const Shape& s : shapes_for(*v.family)) {
    if (!v.supports(s.cols)) continue;
    for (const Placing& at : placings_for(v.dtype)) {
      if (at.specials && v.special_values) continue;  // departs from ops.h's rules on purpose
      const std::string what = std::to_string(s.rows) + "x" + std::to_string(s.cols) + " offsets " +
                               std::to_string(at.x_offset) + "," + std::to_string(at.y_offset) +
                               (at.specials ? " with special values" : "");
      const uint64_t seed = 1000 + static_cast<uint64_t>(s.rows * 7919 + s.cols);
      Case input = make_case(*v.family, v.dtype, s.rows, s.cols, seed);
      if (at.specials) {
        sprinkle_specials(input.x, 0.01, seed);
        sprinkle_specials(input.dy, 0.01, seed + 1);  // backward: NaN and +-inf in dy too
      }
      // dy placed as x is, or (the second placing) aligned while x is not.
      const int dy_offset = at.x_offset == 1 ? 0 : at.x_offset;
      testing::run_and_expect(v, input, reference(*v.family, v.dtype, input), what,
                              {at.x_offset, at.y_offset, 0, dy_offset});
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cpu, VariantTest, ::testing::ValuesIn(variants_on(Device::Cpu)), variant_name);
INSTANTIATE_TEST_SUITE_P(Gpu, VariantTest, ::testing::ValuesIn(variants_on(Device::Gpu)), variant_name);

// The registry itself: ids unique, every family has a naive or reference GPU variant and its
// tolerances are sane, every variant has a launcher and a summary.
TEST(Registry, IdsAreUniqueAndComplete) {
  std::vector<std::string> ids;
  for (const Variant& v : variants()) {
    EXPECT_NE(v.launch, nullptr) << v.id();
    EXPECT_GT(std::string(v.summary).size(), 10u) << v.id();
    EXPECT_GE(v.tol.atol, 0.0) << v.id();
    EXPECT_GE(v.tol.rtol, 0.0) << v.id();
    // A few ulps of the type at most: anything looser hides bugs.
    EXPECT_LE(v.tol.rtol, v.dtype == DType::F32 ? 1e-2 : 2.0 * dtype_epsilon(v.dtype)) << v.id();
    EXPECT_EQ(find_variant(v.id()), &v);
    for (const std::string& seen : ids) EXPECT_NE(seen, v.id());
    ids.push_back(v.id());
  }
  EXPECT_EQ(find_variant("softmax/no_such_variant/f32"), nullptr);
  EXPECT_EQ(find_variant("softmax/naive"), nullptr) << "an id names its type";
  EXPECT_EQ(&family_named("softmax"), find_variant("softmax/naive/bf16")->family);
  EXPECT_THROW(family_named("no_such_family"), std::invalid_argument);
}

// Every family in every type: GPU variants, and CPU baselines for all but the bias families.
// Every gated family is row-shaped, without a bias.
TEST(Registry, EveryFamilyHasGpuAndCpuVariantsInEveryType) {
  for (const Family& f : families()) {
    if (f.gated) {
      EXPECT_TRUE(f.row_shaped && !f.bias) << f.name;
    }
    for (DType t : kDTypes) {
      int gpu = 0, cpu = 0;
      for (const Variant& v : variants()) {
        if (v.family != &f || v.dtype != t) continue;
        (v.device == Device::Gpu ? gpu : cpu) += 1;
      }
      EXPECT_GT(gpu, 0) << f.name << " in " << dtype_name(t);
      if (!f.bias) {
        EXPECT_GT(cpu, 0) << f.name << " has no CPU baseline in " << dtype_name(t);
      }
    }
  }
}

// The table is generated: each strategy has the same step, device, summary and limits in every
// type it exists in, and its tolerance in a 16-bit type is in units of that type.
TEST(Registry, StrategiesAgreeAcrossTypes) {
  for (const Variant& v : variants()) {
    for (const Variant& w : variants()) {
      if (w.family != v.family || std::string(w.name) != v.name || &w == &v) continue;
      EXPECT_EQ(w.step, v.step) << v.id() << " vs " << w.id();
      EXPECT_EQ(w.device, v.device) << v.id() << " vs " << w.id();
      EXPECT_STREQ(w.summary, v.summary) << v.id() << " vs " << w.id();
      EXPECT_EQ(w.max_cols, v.max_cols) << v.id() << " vs " << w.id();
    }
    if (v.dtype != DType::F32 && v.tol.rtol > 0) {
      const double ulps = v.tol.rtol / dtype_epsilon(v.dtype);
      EXPECT_EQ(ulps, std::round(ulps)) << v.id() << ": rtol is not a whole number of epsilons";
    }
  }
}

// What the registry would list but cannot run here says why, and is not also listed as runnable.
TEST(Registry, AbsentVariantsSayWhy) {
  for (const Absent& a : absent_variants()) {
    EXPECT_FALSE(a.why.empty()) << a.id;
    EXPECT_EQ(find_variant(a.id), nullptr) << a.id;
  }
}

}  // namespace
}  // namespace actbench
