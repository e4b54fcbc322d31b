// Shared by the GPU tests: skip with the stated reason when there is no device. No CUDA call
// happens before a test body runs, so test discovery works on any machine.
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
