// Runs one variant once on host data and returns its output: the path every correctness
// check takes (GPU tests, CPU tests, the benchmark's verify-before-timing step).
//   - x (and bias) are placed x_offset floats, y y_offset floats, past an aligned allocation
//     (misalignment tests; the two may differ),
//   - the output is poisoned with NaN first, so an element the variant forgot is a mismatch,
//     and a canary after it must survive (a write out of bounds throws),
//   - GPU variants run on the current device and are synchronized and checked.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/registry.h"

namespace actbench {

struct Case {
  std::vector<float> x;     // rows * cols
  std::vector<float> bias;  // cols for bias families, else empty
  int64_t rows = 1;
  int64_t cols = 0;
};

// Inputs for `family` at this shape, from the generators of inputs.h.
Case make_case(const Family& family, int64_t rows, int64_t cols, uint64_t seed);

std::vector<float> run_once(const Variant& v, const Case& c, int x_offset = 0, int y_offset = 0);

}  // namespace actbench
