// The ground truth: every variant of every family is checked against these, computed in
// double from the inputs as converted to the element type (exactly: every value of that type
// is a double), then rounded once to the type, to nearest even. The bias families add in
// float first (y = act(fl(x + b)), the op every implementation performs: 16-bit ones widen
// both to f32 and add there) and apply the activation in double. The gated families take
// act(a) * b in double, a and b the two halves of each row of x, rounded once. The backward
// families take the derivative in double from the saved tensor and dy (common/ops.h's *Grad
// rules), dbias and softmax_backward's row dot product as exact sums.
#pragma once

#include <cstdint>
#include <vector>

#include "host/runner.h"
#include "kernels/registry.h"

namespace actbench {

double reference_activation(Activation act, double x);

// A gated family's output for a and b: act(a) * b, the product IEEE's (silu(+inf) * 0 is NaN).
double reference_gated(Activation act, double a, double b);

// Softmax of one row in double with torch.softmax's special-value behaviour (see ops.h),
// unrounded.
void reference_softmax_row(const float* x, int64_t cols, double* out);

// dx of a backward family at one element from the saved value s and dy, unrounded.
double reference_backward(Activation act, double s, double dy);

// The accepted error of a sum of `terms` f32 values whose magnitudes add up to `magnitude`,
// as computed by any variant in f32 in any order of blocked or tree sums: 2^-24 (2 sqrt(terms)
// + 8) magnitude. A statistical bound, not a worst case: the rounding errors of a sum of
// random-signed or same-signed terms grow as a random walk (Higham, "Accuracy and Stability of
// Numerical Algorithms", 4.2, and his probabilistic analysis with Mary, 2019); the worst case,
// (terms - 1) 2^-24 magnitude, would accept a dbias missing a whole row once rows exceed a few
// thousand, and this bound does not (a missing row moves it by magnitude / rows). The 8 covers
// each term's own few f32 roundings.
double summation_bound(int64_t terms, double magnitude);

// Softmax backward of one row in double (dx_j = y_j (dy_j - sum_k dy_k y_k)), unrounded, and
// each element's summation bound: |y_j| summation_bound(cols, sum_k |dy_k y_k|), the error the
// f32 dot product carries into dx_j.
void reference_softmax_backward_row(const float* y, const float* dy, int64_t cols, double* dx, double* bound);

// What a variant's output on a case is checked against: output_count(family, rows, cols)
// reference values rounded to the type, and, for the families whose outputs are sums
// (dbias, softmax_backward), a bound per output added to the variant's tolerance (empty for
// every other family). A bias backward family's dbias is summed from dx in f32, or from dx
// as rounded to a 16-bit type (as a framework's sum over the stored gradient): its bound adds
// half the type's epsilon times the magnitude.
struct Expected {
  std::vector<double> value;
  std::vector<double> bound;
};
Expected reference(const Family& family, DType t, const Case& c);

// Reference output of forward `family` in type t for rows x cols outputs from rows x
// input_cols(family, cols) inputs (bias: cols entries or empty), each input first rounded to t
// (a no-op for values already of that type). Throws for a backward family (it needs dy: use
// the Case form).
std::vector<double> reference(const Family& family, DType t, const std::vector<float>& x,
                              const std::vector<float>& bias, int64_t rows, int64_t cols);

}  // namespace actbench
