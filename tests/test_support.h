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
inline std::vector<float> run_and_expect(const Variant& v, const Case& c, const std::vector<double>& want,
                                         const std::string& what, Placement at = {}) {
  std::vector<float> got = run_once(v, c, at);
  if (got.size() != want.size()) {
    ADD_FAILURE() << v.id() << " " << what << ": " << got.size() << " outputs, reference has " << want.size();
    return got;
  }
  const Comparison cmp = compare(got, want, v.tol);
  EXPECT_TRUE(cmp.ok()) << v.id() << " " << what << ": " << cmp.describe(v.tol);
  return got;
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
