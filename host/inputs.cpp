// Counter-based generators: value i is a pure function of (seed, i) through splitmix64, so
// the inputs are identical for any thread count and cost no serial RNG state.
#include "host/inputs.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace actbench {

namespace {

uint64_t splitmix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Uniform in [0, 1) from 53 random bits; `stream` separates independent draws per index.
double unit(uint64_t seed, uint64_t index, uint64_t stream = 0) {
  const uint64_t bits = splitmix64(seed ^ splitmix64(index * 4 + stream));
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

// Standard normal by Box-Muller from two independent uniforms.
double normal(uint64_t seed, uint64_t index) {
  const double u1 = 1.0 - unit(seed, index, 1);  // in (0, 1]: log is finite
  const double u2 = unit(seed, index, 2);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace

const std::vector<float>& special_values() {
  static const std::vector<float> values = {
      0.0f,   -0.0f,   std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
      std::numeric_limits<float>::quiet_NaN(), 88.7f, -88.7f, 1e4f, -1e4f};
  return values;
}

std::vector<float> uniform_input(int64_t count, float lo, float hi, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(count));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    v[i] = static_cast<float>(lo + (hi - lo) * unit(seed, i));
  }
  return v;
}

std::vector<float> activation_input(int64_t count, uint64_t seed) {
  static const float outliers[] = {88.7f, -88.7f, 1e4f, -1e4f};
  std::vector<float> v = uniform_input(count, -12.0f, 12.0f, seed);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    if (unit(seed, i, 3) < 1e-3) v[i] = outliers[splitmix64(seed + i) % 4];
  }
  return v;
}

std::vector<float> softmax_input(int64_t rows, int64_t cols, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(rows * cols));
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const bool outlier_row = unit(seed, r, 3) < 1.0 / 16;
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t i = r * cols + c;
      double value = 2.0 * normal(seed, i);
      if (outlier_row && unit(seed ^ 0x5eed, i, 3) < 4.0 / static_cast<double>(cols)) value += 40.0;
      v[i] = static_cast<float>(value);
    }
  }
  return v;
}

std::vector<float> gated_input(int64_t rows, int64_t cols, uint64_t seed) {
  const std::vector<float> a = activation_input(rows * cols, seed);
  const std::vector<float> b = uniform_input(rows * cols, -4.0f, 4.0f, seed ^ 0x6a7e);
  std::vector<float> x(static_cast<size_t>(2 * rows * cols));
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    std::copy_n(&a[r * cols], cols, &x[2 * r * cols]);
    std::copy_n(&b[r * cols], cols, &x[(2 * r + 1) * cols]);
  }
  return x;
}

std::vector<float> bias_input(int64_t cols, uint64_t seed) {
  return uniform_input(cols, -2.0f, 2.0f, seed ^ 0xb1a5);
}

void sprinkle_specials(std::vector<float>& values, double fraction, uint64_t seed) {
  const std::vector<float>& specials = special_values();
  const int64_t count = static_cast<int64_t>(values.size());
  for (int64_t i = 0; i < count; ++i) {
    if (unit(seed, i, 3) < fraction) values[i] = specials[splitmix64(seed + i) % specials.size()];
  }
  if (count > 0) {  // at least one, at a seeded position
    values[splitmix64(seed) % count] = specials[splitmix64(~seed) % specials.size()];
  }
}

void round_to_type(DType t, std::vector<float>& values) {
  if (t == DType::F32) return;
  for (float& v : values) v = round_float_to(t, v);
}

void encode(DType t, const float* values, int64_t n, void* elements) {
  if (n == 0) return;
  if (t == DType::F32) {
    std::memcpy(elements, values, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  const auto convert = t == DType::F16 ? f32_to_f16_bits : f32_to_bf16_bits;
  auto* bits = static_cast<uint16_t*>(elements);
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) bits[i] = convert(values[i]);
}

std::vector<unsigned char> encode(DType t, const float* values, int64_t n) {
  std::vector<unsigned char> out(static_cast<size_t>(n) * dtype_bytes(t));
  encode(t, values, n, out.data());
  return out;
}

void decode(DType t, const void* elements, int64_t n, float* values) {
  if (t == DType::F32) {
    if (n > 0) std::memcpy(values, elements, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  const auto convert = t == DType::F16 ? f16_bits_to_f32 : bf16_bits_to_f32;
  const auto* bits = static_cast<const uint16_t*>(elements);
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) values[i] = convert(bits[i]);
}

}  // namespace actbench
