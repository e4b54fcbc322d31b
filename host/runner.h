// Runs one variant once on host data and returns its output: the path every correctness
// check takes (GPU tests, CPU tests, the benchmark's verify-before-timing step).
//   - the case's values are converted to the variant's element type (round to nearest even:
//     exact for values of make_case, which are already of that type) and the output is
//     widened back to float, exactly,
//   - x, y and bias each start `Placement` elements past a 256-byte aligned allocation
//     (misalignment tests; the three may differ),
//   - y sits between guard zones, and y and the guards are filled with a poison NaN of the
//     type first: an element of y left unwritten, or a guard overwritten, throws with the
//     position,
//   - GPU variants run on the current device on a non-blocking stream (a launcher that
//     ignores Problem::stream races and shows it), synchronized and checked.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/registry.h"

namespace actbench {

struct Case {
  std::vector<float> x;     // rows * input_cols(family, cols) values (gated: rows of a, then b;
                            // backward: the saved tensor, registry.h's saves_input)
  std::vector<float> bias;  // cols for forward bias families, else empty
  std::vector<float> dy;    // rows * cols upstream gradients for backward families, else empty
  int64_t rows = 1;
  int64_t cols = 0;
};

// Elements past 16-byte alignment of each array, 0 .. 16 / element size - 1 (0..3 floats,
// 0..7 16-bit elements).
struct Placement {
  int x = 0;
  int y = 0;   // also dbias's
  int bias = 0;
  int dy = 0;  // backward families
};

// Inputs for `family` at this shape (rows x cols outputs), from the generators of inputs.h,
// rounded to type t. A backward family's saved tensor is what its forward family gives (in
// double, rounded to t) on that family's inputs, or those inputs themselves (relu_backward);
// dy is uniform in [-1, 1).
Case make_case(const Family& family, DType t, int64_t rows, int64_t cols, uint64_t seed);

// The variant's output_count(family, rows, cols) outputs: y (dx), then a bias backward
// family's dbias (placed after its own guard zone, at the y placement).
std::vector<float> run_once(const Variant& v, const Case& c, Placement at = {});

}  // namespace actbench
