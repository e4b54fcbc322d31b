// Runs one variant once on host data and returns its output: the path every correctness
// check takes (GPU tests, CPU tests, the benchmark's verify-before-timing step).
//   - x, y and bias each start `Placement` floats past a 256-byte aligned allocation
//     (misalignment tests; the three may differ),
//   - y sits between guard zones, and y and the guards are filled with a poison NaN first:
//     an element of y left unwritten, or a guard overwritten, throws with the position,
//   - GPU variants run on the current device on a non-blocking stream (a launcher that
//     ignores Problem::stream races and shows it), synchronized and checked.
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

// Floats past alignment of each array, 0..3.
struct Placement {
  int x = 0;
  int y = 0;
  int bias = 0;
};

// Inputs for `family` at this shape, from the generators of inputs.h.
Case make_case(const Family& family, int64_t rows, int64_t cols, uint64_t seed);

std::vector<float> run_once(const Variant& v, const Case& c, Placement at = {});

}  // namespace actbench
