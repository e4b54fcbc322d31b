// Double-precision reference. Deliberately plain: one obvious loop per op, no vectorization,
// so that it is easy to trust (OpenMP only splits rows across threads).
#include "host/reference.h"

#include "host/inputs.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace actbench {

double reference_activation(Activation act, double x) {
  switch (act) {
    case Activation::Identity:
      return x;
    case Activation::Sigmoid: {
      if (std::isnan(x)) return x;
      const double e = std::exp(-std::fabs(x));
      return x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    }
    case Activation::Tanh:
      return std::tanh(x);
    case Activation::Relu:
      return (x > 0.0 || std::isnan(x)) ? x : 0.0;
    // gelu, gelu_tanh, silu: -inf gives -0, the limit (ops.h); erfc and the sigmoid keep the
    // negative tails' relative precision.
    case Activation::Gelu:
      if (std::isinf(x)) return x > 0.0 ? x : -0.0;
      return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
    case Activation::GeluTanh: {
      if (std::isinf(x)) return x > 0.0 ? x : -0.0;
      const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
      return x * reference_activation(Activation::Sigmoid, 2.0 * u);
    }
    case Activation::Silu:
      if (std::isinf(x)) return x > 0.0 ? x : -0.0;
      return x * reference_activation(Activation::Sigmoid, x);
    case Activation::Softmax:
      break;
  }
  throw std::logic_error("reference_activation: softmax is row-wise, use reference_softmax_row");
}

double reference_gated(Activation act, double a, double b) { return reference_activation(act, a) * b; }

void reference_softmax_row(const float* x, int64_t cols, double* out) {
  // Same special-value rules as ops.h, in double: NaN-propagating max; -inf terms are 0;
  // exp(+inf - +inf) is NaN.
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < cols; ++j) {
    const double v = x[j];
    if (v > m || std::isnan(v)) m = v;
    if (std::isnan(m)) break;
  }
  auto term = [m](double v) { return std::isinf(v) && v < 0 ? 0.0 : std::exp(v - m); };
  double s = 0.0;
  for (int64_t j = 0; j < cols; ++j) s += term(x[j]);
  for (int64_t j = 0; j < cols; ++j) out[j] = term(x[j]) / s;
}

std::vector<double> reference(const Family& family, DType t, const std::vector<float>& x_values,
                              const std::vector<float>& bias_values, int64_t rows, int64_t cols) {
  std::vector<float> x = x_values, bias = bias_values;
  round_to_type(t, x);
  round_to_type(t, bias);
  const int64_t count = rows * cols, inputs = rows * input_cols(family, cols);
  if (static_cast<int64_t>(x.size()) != inputs) {
    throw std::invalid_argument("reference: x holds " + std::to_string(x.size()) +
                                " values, shape needs " + std::to_string(inputs));
  }
  if (family.bias && static_cast<int64_t>(bias.size()) != cols) {
    throw std::invalid_argument("reference: bias must hold cols values");
  }
  std::vector<double> out(static_cast<size_t>(count));
  // Rows are independent: threads only split the work, every value is computed the same way.
  if (family.act == Activation::Softmax) {
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t r = 0; r < rows; ++r) {
      reference_softmax_row(&x[r * cols], cols, &out[r * cols]);
      for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = round_to(t, out[r * cols + c]);
    }
    return out;
  }
  if (family.gated) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; ++i) {
      const float* a = &x[i / cols * 2 * cols + i % cols];
      out[i] = round_to(t, reference_gated(family.act, a[0], a[cols]));
    }
    return out;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    // The bias add is a float op in every implementation: round it to float first.
    const float z = family.bias ? x[i] + bias[i % cols] : x[i];
    out[i] = round_to(t, reference_activation(family.act, z));
  }
  return out;
}

}  // namespace actbench
