// Double-precision reference. Deliberately plain: one obvious loop per op, no vectorization,
// so that it is easy to trust (OpenMP only splits rows across threads).
#include "host/reference.h"

#include "host/inputs.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

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

double reference_backward(Activation act, double s, double dy) {
  switch (act) {
    case Activation::Sigmoid:
      return dy * (s * (1.0 - s));
    case Activation::Tanh:
      return dy * ((1.0 - s) * (1.0 + s));
    case Activation::Relu:
      return s <= 0.0 ? 0.0 : dy;  // threshold_backward: NaN in s passes dy
    default:
      break;
  }
  throw std::logic_error("reference_backward: no backward family for this activation");
}

double summation_bound(int64_t terms, double magnitude) {
  return 0x1.0p-24 * (2.0 * std::sqrt(static_cast<double>(terms)) + 8.0) * magnitude;
}

void reference_softmax_backward_row(const float* y, const float* dy, int64_t cols, double* dx, double* bound) {
  double dot = 0.0, magnitude = 0.0;
  for (int64_t j = 0; j < cols; ++j) {
    dot += static_cast<double>(dy[j]) * y[j];
    magnitude += std::fabs(static_cast<double>(dy[j]) * y[j]);
  }
  const double b = summation_bound(cols, magnitude);
  for (int64_t j = 0; j < cols; ++j) {
    dx[j] = y[j] * (dy[j] - dot);
    bound[j] = std::fabs(static_cast<double>(y[j])) * b;
  }
}

namespace {

Expected reference_backward(const Family& family, DType t, const Case& c) {
  std::vector<float> s = c.x, dy = c.dy;
  round_to_type(t, s);
  round_to_type(t, dy);
  const int64_t rows = c.rows, cols = c.cols, count = rows * cols;
  if (static_cast<int64_t>(s.size()) != count || static_cast<int64_t>(dy.size()) != count) {
    throw std::invalid_argument("reference: a backward case needs rows * cols saved values and gradients, it holds " +
                                std::to_string(s.size()) + " and " + std::to_string(dy.size()));
  }
  Expected e;
  e.value.resize(static_cast<size_t>(output_count(family, rows, cols)));
  if (family.act == Activation::Softmax) {
    e.bound.resize(e.value.size());
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t r = 0; r < rows; ++r) {
      reference_softmax_backward_row(&s[r * cols], &dy[r * cols], cols, &e.value[r * cols], &e.bound[r * cols]);
      for (int64_t j = 0; j < cols; ++j) e.value[r * cols + j] = round_to(t, e.value[r * cols + j]);
    }
    return e;
  }
  std::vector<double> exact(static_cast<size_t>(count));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    exact[i] = reference_backward(family.act, s[i], dy[i]);
    e.value[i] = round_to(t, exact[i]);
  }
  if (!family.bias) return e;
  // dbias: exact column sums of the exact dx (a double sum of at most 2^28 terms of a few
  // units each keeps ~1e-8 relative: far inside the f32 bound it is checked with).
  e.bound.assign(e.value.size(), 0.0);
  const double type_part = t == DType::F32 ? 0.0 : 0.5 * dtype_epsilon(t);
#pragma omp parallel for schedule(static)
  for (int64_t col = 0; col < cols; ++col) {
    double sum = 0.0, magnitude = 0.0;
    for (int64_t r = 0; r < rows; ++r) {
      sum += exact[r * cols + col];
      magnitude += std::fabs(exact[r * cols + col]);
    }
    e.value[count + col] = round_to(t, sum);
    e.bound[count + col] = summation_bound(rows, magnitude) + type_part * magnitude;
  }
  return e;
}

}  // namespace

Expected reference(const Family& family, DType t, const Case& c) {
  if (family.backward) return reference_backward(family, t, c);
  return {reference(family, t, c.x, c.bias, c.rows, c.cols), {}};
}

std::vector<double> reference(const Family& family, DType t, const std::vector<float>& x_values,
                              const std::vector<float>& bias_values, int64_t rows, int64_t cols) {
  if (family.backward) {
    throw std::invalid_argument(std::string("reference: ") + family.name + " is a backward family: pass its Case");
  }
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
