// Shared by the tests: skip with the stated reason when there is no device (no CUDA call
// happens before a test body runs, so test discovery works on any machine), or when a
// variant's registry entry says it departs from the special-value rules of common/ops.h;
// the one check of a variant's output against the reference; and how a variant parameter prints.
#pragma once

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "host/compare.h"
#include "host/gpu.h"
#include "host/reference.h"
#include "host/runner.h"
#include "kernels/registry.h"

namespace actbench {

// GoogleTest prints a `const Variant*` parameter (test lists, failure messages) by this, found
// by argument-dependent lookup: the variant's id rather than an address that changes each run.
inline void PrintTo(const Variant* v, std::ostream* os) { *os << v->id(); }

}  // namespace actbench

namespace actbench::testing {

// Probed once per process; device 0 (CUDA_VISIBLE_DEVICES picks another).
inline const GpuStatus& gpu_status() {
  static const GpuStatus status = probe_gpu(0);
  return status;
}

// Runs v on c at `at` and expects the output within v's tolerance of `want`; `what` names the
// case in a failure message. Returns the output.
inline std::vector<float> run_and_expect(const Variant& v, const Case& c, const Expected& want,
                                         const std::string& what, Placement at = {}) {
  std::vector<float> got = run_once(v, c, at);
  if (got.size() != want.value.size()) {
    ADD_FAILURE() << v.id() << " " << what << ": " << got.size() << " outputs, reference has " << want.value.size();
    return got;
  }
  const Comparison cmp = compare(got, want, v.tol, v.dtype);
  EXPECT_TRUE(cmp.ok()) << v.id() << " " << what << ": " << cmp.describe(v.tol);
  return got;
}
inline std::vector<float> run_and_expect(const Variant& v, const Case& c, const std::vector<double>& want,
                                         const std::string& what, Placement at = {}) {
  return run_and_expect(v, c, Expected{want, {}}, what, at);
}

// Inputs at the edges of type t (f32 values, exact in t once rounded): for f16 its largest
// finite value and the values that round past it, values whose sigmoid or tanh lands in the
// subnormals; for bf16 values beyond f16's range; for all, float's own large values.
inline std::vector<float> type_edge_inputs(DType t) {
  std::vector<float> v = {88.7f, -88.7f, 1e4f, -1e4f, -16.0f, -17.0f, -10.5f, 1e-5f, -3e-5f, 6e-8f};
  if (t == DType::F16) {
    for (float f : {65504.0f, -65504.0f, 65519.0f, 65520.0f, -65520.0f, 1e5f, 6.1e-5f, -6.0e-5f}) v.push_back(f);
  } else {
    for (float f : {1e30f, -1e30f, 3e38f, -3e38f, 1e-30f, 65536.0f, 70000.0f}) v.push_back(f);
  }
  return v;
}

}  // namespace actbench::testing

// First statement of every GPU test.
#define ACT_REQUIRE_GPU()                                                            \
  do {                                                                               \
    if (!::actbench::testing::gpu_status().available)                                \
      GTEST_SKIP() << "no GPU: " << ::actbench::testing::gpu_status().reason;        \
  } while (0)

// First statement of a test that feeds NaN or +-inf to `variant` (a const Variant&).
#define ACT_REQUIRE_SPECIAL_VALUE_RULES(variant)                                     \
  do {                                                                               \
    if ((variant).special_values)                                                    \
      GTEST_SKIP() << (variant).id() << " departs from the special-value rules: "    \
                   << (variant).special_values;                                      \
  } while (0)
