// The ground truth: every variant of every family is checked against these, computed in
// double from the inputs as converted to the element type (exactly: every value of that type
// is a double), then rounded once to the type, to nearest even. The bias families add in
// float first (y = act(fl(x + b)), the op every implementation performs: 16-bit ones widen
// both to f32 and add there) and apply the activation in double. The gated families take
// act(a) * b in double, a and b the two halves of each row of x, rounded once.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/registry.h"

namespace actbench {

double reference_activation(Activation act, double x);

// A gated family's output for a and b: act(a) * b, the product IEEE's (silu(+inf) * 0 is NaN).
double reference_gated(Activation act, double a, double b);

// Softmax of one row in double with torch.softmax's special-value behaviour (see ops.h),
// unrounded.
void reference_softmax_row(const float* x, int64_t cols, double* out);

// Reference output of `family` in type t for rows x cols outputs from rows x
// input_cols(family, cols) inputs (bias: cols entries or empty), each input first rounded to t
// (a no-op for values already of that type).
std::vector<double> reference(const Family& family, DType t, const std::vector<float>& x,
                              const std::vector<float>& bias, int64_t rows, int64_t cols);

}  // namespace actbench
