// The ground truth: every variant of every family is checked against these, computed in
// double from the same float inputs. The bias families add in float first (y = act(fl(x + b)),
// the op every implementation performs) and apply the activation in double.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/registry.h"

namespace actbench {

double reference_activation(Activation act, double x);

// Softmax of one row in double with torch.softmax's special-value behaviour (see ops.h).
void reference_softmax_row(const float* x, int64_t cols, double* out);

// Reference output of `family` for rows x cols inputs (bias: cols entries or empty).
std::vector<double> reference(const Family& family, const std::vector<float>& x,
                              const std::vector<float>& bias, int64_t rows, int64_t cols);

}  // namespace actbench
