// Shared by the tests: skip with the stated reason when there is no device (no CUDA call
// happens before a test body runs, so test discovery works on any machine), or when a
// variant's registry entry says it departs from the special-value rules of common/ops.h.
#pragma once

#include <gtest/gtest.h>

#include "host/gpu.h"

namespace actbench::testing {

// Probed once per process; device 0 (CUDA_VISIBLE_DEVICES picks another).
inline const GpuStatus& gpu_status() {
  static const GpuStatus status = probe_gpu(0);
  return status;
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
