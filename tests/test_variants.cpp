// Every variant of the registry against the double reference, over adversarial shapes,
// misaligned pointers (x and y misaligned differently), special values and poisoned outputs.
// CPU variants run everywhere; GPU variants skip with the reason when there is no device.
#include <gtest/gtest.h>

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

struct VariantCase {
  const Variant* variant;
  Shape shape;
  int x_offset, y_offset;
  bool specials;
};

// How CTest and failure messages show a case: "softmax/warp 16x1025 offsets 1,3".
void PrintTo(const VariantCase& c, std::ostream* os) {
  *os << c.variant->id() << " " << c.shape.rows << "x" << c.shape.cols << " offsets " << c.x_offset
      << "," << c.y_offset << (c.specials ? " with special values" : "");
}

// Lengths around warp, vector and block boundaries, plus one large enough for a full grid.
const std::vector<Shape>& shapes_for(const Family& f) {
  static const std::vector<Shape> flat = {{1, 1},  {1, 3},    {1, 31},   {1, 32},
                                          {1, 33}, {1, 1023}, {1, 4099}, {1, 1 << 20}};
  static const std::vector<Shape> bias = {{1, 1}, {3, 7}, {17, 33}, {64, 1000}, {1000, 1025}};
  static const std::vector<Shape> softmax = {{1, 1},    {3, 7},     {64, 32},   {5, 33},
                                             {16, 1000}, {16, 1024}, {16, 1025}, {4, 4096},
                                             {2, 50257}};
  if (f.act == Activation::Softmax) return softmax;
  return f.bias ? bias : flat;
}

// The cases of the variants that run on `device`: CPU and GPU cases are instantiated apart
// (Cpu/..., Gpu/...) so that CTest can label them (tests/CMakeLists.txt filters on Gpu/*).
std::vector<VariantCase> cases_on(Device device) {
  std::vector<VariantCase> cases;
  for (const Variant& v : variants()) {
    if (v.device != device) continue;
    for (const Shape& s : shapes_for(*v.family)) {
      if (!v.supports(s.cols)) continue;
      cases.push_back({&v, s, 0, 0, false});
      cases.push_back({&v, s, 1, 3, false});  // x and y misaligned differently
      cases.push_back({&v, s, 2, 2, true});   // equally misaligned, with special values
    }
  }
  return cases;
}

std::string case_name(const ::testing::TestParamInfo<VariantCase>& info) {
  const VariantCase& c = info.param;
  std::string name = std::string(c.variant->family->name) + "_" + c.variant->name + "_" +
                     std::to_string(c.shape.rows) + "x" + std::to_string(c.shape.cols) + "_off" +
                     std::to_string(c.x_offset) + std::to_string(c.y_offset);
  return c.specials ? name + "_specials" : name;
}

class VariantTest : public ::testing::TestWithParam<VariantCase> {};

TEST_P(VariantTest, MatchesReference) {
  const VariantCase& c = GetParam();
  if (c.variant->device == Device::Gpu) ACT_REQUIRE_GPU();
  if (c.specials) ACT_REQUIRE_SPECIAL_VALUE_RULES(*c.variant);
  const uint64_t seed = 1000 + static_cast<uint64_t>(c.shape.rows * 7919 + c.shape.cols);
  Case input = make_case(*c.variant->family, c.shape.rows, c.shape.cols, seed);
  if (c.specials) sprinkle_specials(input.x, 0.01, seed);
  const std::vector<double> want = reference(*c.variant->family, input.x, input.bias, input.rows, input.cols);
  testing::run_and_expect(*c.variant, input, want, ::testing::PrintToString(c), {c.x_offset, c.y_offset});
}

INSTANTIATE_TEST_SUITE_P(Cpu, VariantTest, ::testing::ValuesIn(cases_on(Device::Cpu)), case_name);
INSTANTIATE_TEST_SUITE_P(Gpu, VariantTest, ::testing::ValuesIn(cases_on(Device::Gpu)), case_name);

// The registry itself: ids unique, every family has a naive or reference GPU variant and its
// tolerances are sane, every variant has a launcher and a summary.
TEST(Registry, IdsAreUniqueAndComplete) {
  std::vector<std::string> ids;
  for (const Variant& v : variants()) {
    EXPECT_NE(v.launch, nullptr) << v.id();
    EXPECT_GT(std::string(v.summary).size(), 10u) << v.id();
    EXPECT_GE(v.tol.atol, 0.0) << v.id();
    EXPECT_GE(v.tol.rtol, 0.0) << v.id();
    EXPECT_LT(v.tol.rtol, 1e-2) << v.id() << ": a tolerance this loose hides bugs";
    EXPECT_EQ(find_variant(v.id()), &v);
    for (const std::string& seen : ids) EXPECT_NE(seen, v.id());
    ids.push_back(v.id());
  }
  EXPECT_EQ(find_variant("softmax/no_such_variant"), nullptr);
  EXPECT_EQ(&family_named("softmax"), find_variant("softmax/naive")->family);
  EXPECT_THROW(family_named("no_such_family"), std::invalid_argument);
}

TEST(Registry, EveryFamilyHasGpuAndCpuVariants) {
  for (const Family& f : families()) {
    int gpu = 0, cpu = 0;
    for (const Variant& v : variants()) {
      if (v.family != &f) continue;
      (v.device == Device::Gpu ? gpu : cpu) += 1;
    }
    EXPECT_GT(gpu, 0) << f.name;
    if (!f.bias) {
      EXPECT_GT(cpu, 0) << f.name << " has no CPU baseline";
    }
  }
}

}  // namespace
}  // namespace actbench
