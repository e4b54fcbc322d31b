// Seeded, reproducible inputs. Every value depends only on (seed, index), so inputs are the
// same whatever the thread count and can be generated in parallel for 2^28 elements.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/common/dtype.h"

namespace actbench {

// The special values every op is tested on: +-0, +-inf, NaN, +-88.7 (float exp's edge), +-1e4.
const std::vector<float>& special_values();

// Uniform in [lo, hi).
std::vector<float> uniform_input(int64_t count, float lo, float hi, uint64_t seed);

// Benchmark input for the elementwise activations: uniform in [-12, 12) (where sigmoid and
// tanh are not saturated) with about 1 in 1000 outliers at +-88.7 and +-1e4. Never all zeros.
std::vector<float> activation_input(int64_t count, uint64_t seed);

// Softmax input: N(0, 2) logits; about 1 row in 16 is an outlier row in which a few entries
// sit 40 above the rest (what a confident classifier emits). rows * cols values.
std::vector<float> softmax_input(int64_t rows, int64_t cols, uint64_t seed);

// Input of the gated families, rows x 2 cols: each row's first half (a) from activation_input,
// its second (b) uniform in [-4, 4), each value by (seed, its output's index). b stands for an
// up-projection's output, O(1) in a model; bounded, so that the rounding of act(a) to a 16-bit
// type in the unfused pipeline has a finite bound (registry.cu's tolerances take |b| < 4).
std::vector<float> gated_input(int64_t rows, int64_t cols, uint64_t seed);

// Bias vector for the bias families: uniform in [-2, 2).
std::vector<float> bias_input(int64_t cols, uint64_t seed);

// Overwrites about `fraction` of the values (at least one when count > 0) with special values.
void sprinkle_specials(std::vector<float>& values, double fraction, uint64_t seed);

// Every value rounded to nearest even in type t (exact software conversion, dtype.h): the
// values a t-typed array holds. f32 leaves them as they are.
void round_to_type(DType t, std::vector<float>& values);

// n values as n elements of type t (each rounded to nearest even) at `elements`, or in a new
// vector of bytes; and back (exact). f32 is a plain copy.
void encode(DType t, const float* values, int64_t n, void* elements);
std::vector<unsigned char> encode(DType t, const float* values, int64_t n);
void decode(DType t, const void* elements, int64_t n, float* values);

}  // namespace actbench
