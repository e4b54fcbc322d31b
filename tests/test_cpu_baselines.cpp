// The CPU baselines: every Device::Cpu variant of the registry, in each of its element types,
// against the reference where the CPU code has its own edges (test_variants covers the shapes
// all variants share): lengths around the SIMD vectors, the 16-bit conversion blocks and the
// thread split, the streaming-store path (outputs larger than a quarter of any last-level
// cache up to 512 MiB), misalignments of x and y (0..3 floats, 0..7 16-bit elements), special
// values, each type's own edges (f16's overflow at 65504, subnormal results, bf16 values beyond
// f16's range), and a sweep of the whole range of the type (every bit pattern of a 16-bit
// type); for the gated families, rows of one column, odd row counts and rows split across
// threads, with the type's edges and range as a (b as drawn); for the backward families, the
// same edges of their own (x, dy and dx placed apart), the saved tensor at its domain's edges
// (sigmoid's y at 0 and 1, tanh's at +-1) paired with dy's, NaN and inf in either, and for
// softmax_backward rows of zeros and one-hot rows, rows split across threads and dy across the
// type's range. Then the backward rules by value (ops.h's *Grad at special values, softmax
// backward's special rows), and softmax properties in every type, on the CPU variants and on
// the reference itself: rows sum to 1, exact shift invariance, outlier rows, single-element
// rows, and rows with +-inf or NaN behaving as torch.softmax does.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "test_support.h"
#include "host/cpu_baselines.h"
#include "host/inputs.h"
#include "host/reference.h"
#include "host/runner.h"
#include "kernels/registry.h"

namespace actbench {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

// Just past the length from which cpu_omp streams its output on this machine
// (streamed_output_min: a quarter of the last-level cache moved), and a multiple of no vector
// width: each streamed case streams on any machine and costs what its cache makes it (about
// 2^20 floats at 32 MiB, rather than one size for the largest caches at seconds a case).
int64_t streamed_length(DType t, int inputs) { return streamed_output_min(inputs, dtype_bytes(t)) + 37; }
// Rows of `cols` that pass it together.
int64_t streamed_rows(DType t, int64_t cols, int inputs) { return streamed_length(t, inputs) / cols + 1; }

// The CPU variants of the softmax families or of the others, forward or backward.
std::vector<const Variant*> cpu_variants(bool softmax, bool backward) {
  std::vector<const Variant*> out;
  for (const Variant& v : variants()) {
    if (v.device == Device::Cpu && (v.family->act == Activation::Softmax) == softmax &&
        v.family->backward == backward) {
      out.push_back(&v);
    }
  }
  return out;
}

std::string test_name(const Variant& v) {
  return std::string(v.family->name) + "_" + v.name + "_" + dtype_name(v.dtype);
}

// cpu_omp writes large outputs with streaming stores, and oneDNN may; cpu_scalar and
// cpu_memcpy (a plain memcpy per thread) have no such path of their own.
bool streams(const Variant& v) {
  return std::string(v.name) == "cpu_omp" || std::string(v.name) == "cpu_onednn";
}

// Elements past 16-byte alignment: up to 3 floats or 7 16-bit elements.
int last_offset(DType t) { return static_cast<int>(16 / dtype_bytes(t)) - 1; }

// ---- inputs ----------------------------------------------------------------------------------

// Floats over the whole range: a Weyl sequence over the 2^32 bit patterns touches every sign
// and exponent with evenly spread mantissas; NaN and inf patterns are skipped when `finite`.
std::vector<float> float_range(int64_t count, bool finite) {
  std::vector<float> v;
  v.reserve(count);
  for (uint32_t k = 0; static_cast<int64_t>(v.size()) < count; ++k) {
    const uint32_t u = k * 0x9E3779B1u;
    float f;
    std::memcpy(&f, &u, sizeof f);
    if (!finite || std::isfinite(f)) v.push_back(f);
  }
  return v;
}

// Every value of a 16-bit type, by bit pattern (NaN and inf skipped when `finite`), widened;
// but for the NaNs that are, or become once made quiet, host/runner.cpp's poison of the type
// (0x7ead in f16, 0x7fad in bf16), of either sign: an output holding those bits reads as never
// written, and a NaN's sign is no part of the rules (a NaN out of fabsf(x) has none; which
// operand's NaN an instruction passes on is the compiler's choice).
std::vector<float> all_patterns(DType t, bool finite) {
  const uint16_t poison = t == DType::F16 ? 0x7ead : 0x7fad, quiet = t == DType::F16 ? 0x0200 : 0x0040;
  std::vector<float> v;
  for (uint32_t h = 0; h < 65536; ++h) {
    const auto b = static_cast<uint16_t>(h);
    const float f = t == DType::F16 ? f16_bits_to_f32(b) : bf16_bits_to_f32(b);
    if (std::isnan(f) && ((b & 0x7fff) | quiet) == poison) continue;
    if (!finite || std::isfinite(f)) v.push_back(f);
  }
  return v;
}

// n points evenly from lo to hi.
void append_range(std::vector<float>& v, double lo, double hi, int n) {
  for (int i = 0; i < n; ++i) v.push_back(static_cast<float>(lo + (hi - lo) * i / (n - 1)));
}

// Finite float inputs at the edges of type t (test_support's type_edge_inputs), plus inputs
// whose results are subnormal in t: sigmoid's far negative tail (f16: sigmoid(x) < 2^-14 from
// x < -9.7, to the last subnormal near -17.3; bf16 and f32: below -87.3, to -92 and -103) and
// t's own subnormals (tanh(x) = x there; relu passes them through). Some may overflow to inf
// once rounded to t (f16: 65520 and up).
std::vector<float> edge_inputs(DType t) {
  std::vector<float> v = testing::type_edge_inputs(t);
  if (t == DType::F16) {
    append_range(v, -9.5, -18.0, 40);
  } else {
    append_range(v, -86.0, t == DType::BF16 ? -93.0 : -104.0, 40);
  }
  const double tiny = dtype_min_subnormal(t), smallest_normal = t == DType::F16 ? 0x1p-14 : 0x1p-126;
  for (double k : {1.0, 2.0, 3.0, 7.0, 100.0}) {
    v.push_back(static_cast<float>(k * tiny));
    v.push_back(static_cast<float>(-k * tiny));
  }
  v.push_back(static_cast<float>(smallest_normal - tiny));
  v.push_back(static_cast<float>(smallest_normal));
  return v;
}

bool all_finite_in(DType t, const std::vector<float>& x) {
  return std::all_of(x.begin(), x.end(), [t](float f) { return std::isfinite(round_float_to(t, f)); });
}

// ---- every CPU variant against the reference ------------------------------------------------

enum class Input { Generated, Specials, Edges, Range };

// One run of a variant: a shape, the placements of x and y (and a backward family's dy), the
// kind of input.
struct Trial {
  int64_t rows, cols;
  int x_offset = 0, y_offset = 0;
  Input input = Input::Generated;
  int dy_offset = 0;
};

// One test is a group of trials of one variant (a CTest test per trial would be thousands of
// processes); a failure names its trial.
struct CpuCase {
  const Variant* variant;
  std::string group;  // "shapes", "lengths", "misaligned", "streamed", "specials", "edges", "values", "range"
  std::vector<Trial> trials;
};

std::string trial_name(const Trial& r) {
  static const char* const kInput[] = {"", " specials", " edges", " range"};
  return std::to_string(r.rows) + "x" + std::to_string(r.cols) + " offsets " + std::to_string(r.x_offset) + "," +
         std::to_string(r.y_offset) + (r.dy_offset ? " dy " + std::to_string(r.dy_offset) : "") +
         kInput[static_cast<int>(r.input)];
}

// ---- backward inputs ---------------------------------------------------------------------------

// Saved values at the edges of what backward family f saves in type t: sigmoid's y at 0 and 1
// and the type's values next to them (its smallest subnormals and normal, epsilon, 1 - epsilon
// / 2, the largest below 1), tanh's the same with either sign (+-1, +-0), relu's x the forward
// edges and +-0.
std::vector<float> saved_edges(const Family& f, DType t) {
  if (saves_input(f)) {
    std::vector<float> v = edge_inputs(t);
    v.push_back(0.0f);
    v.push_back(-0.0f);
    return v;
  }
  const auto eps = static_cast<float>(dtype_epsilon(t)), tiny = static_cast<float>(dtype_min_subnormal(t));
  const float smallest_normal = t == DType::F16 ? 0x1p-14f : 0x1p-126f;
  std::vector<float> v = {0.0f, 1.0f, 0.5f, 0.25f, 0.75f, tiny, 3 * tiny, smallest_normal,
                          eps, 1e-3f, 1.0f - eps / 2, 1.0f - eps};
  if (f.act == Activation::Tanh) {
    for (size_t i = 0, n = v.size(); i < n; ++i) v.push_back(-v[i]);
  }
  return v;
}

// Drops the values beyond 2^126 in magnitude, for softmax backward's dy: dy_j - dot overflows
// f32 past float's largest value / 2, where the double reference does not (a limit of every
// f32 implementation, not a baseline's).
void keep_within_2_126(std::vector<float>& v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](float f) { return std::fabs(f) > 0x1p126f; }), v.end());
}

// dy at the edges of type t: the forward edges and +-0, within 2^126 if `bounded`.
std::vector<float> dy_edges(DType t, bool bounded) {
  std::vector<float> v = edge_inputs(t);
  v.push_back(0.0f);
  v.push_back(-0.0f);
  if (bounded) keep_within_2_126(v);
  return v;
}

// v (any value of the type, NaN and inf included) folded into the domain of what f saves:
// sigmoid's y in [0, 1] (|v|, or 1 / |v| past 1), tanh's in [-1, 1] (v, or 1 / v), relu's x as
// it is. Outside it an f32 product may overflow where the double reference does not (y (1 - y)
// past |y| = 2^64), for saved values no forward pass gives.
float into_domain(const Family& f, float v) {
  if (saves_input(f)) return v;
  const float folded = std::fabs(v) > 1.0f ? 1.0f / v : v;
  return f.act == Activation::Sigmoid ? std::fabs(folded) : folded;
}

// make_case's backward inputs (the saved tensor from the forward reference, dy uniform in
// [-1, 1)), with the trial's specials, edges or range put in.
Case backward_input_for(const Variant& v, const Trial& r, uint64_t seed) {
  const Family& f = *v.family;
  const bool softmax = f.act == Activation::Softmax;
  const DType t = v.dtype;
  Case in = make_case(f, t, r.rows, r.cols, seed);
  std::vector<float>& s = in.x;
  std::vector<float>& dy = in.dy;
  const int64_t count = r.rows * r.cols, cols = r.cols;
  switch (r.input) {
    case Input::Generated:
      break;
    case Input::Specials:
      // Sparse in long softmax rows, as in the forward's: most rows stay finite.
      sprinkle_specials(s, softmax && cols > 1000 ? 1e-4 : 0.02, seed);
      sprinkle_specials(dy, softmax && cols > 1000 ? 1e-4 : 0.02, seed + 1);
      break;
    case Input::Edges:
      if (softmax) {
        // Rows in turn: one-hot (y 1 at a moving column, 0 elsewhere), all y 0, all dy 0, and
        // dy's edges at two moving columns with a subnormal y at a third.
        const std::vector<float> edges = dy_edges(t, true);
        for (int64_t row = 0; row < r.rows; ++row) {
          float* y = &s[row * cols];
          float* d = &dy[row * cols];
          switch (row % 4) {
            case 0:
              std::fill(y, y + cols, 0.0f);
              y[(row * 7) % cols] = 1.0f;
              break;
            case 1:
              std::fill(y, y + cols, 0.0f);
              break;
            case 2:
              std::fill(d, d + cols, 0.0f);
              break;
            case 3:
              d[(row * 7) % cols] = edges[row % edges.size()];
              d[(row * 5 + 1) % cols] = edges[(row + 7) % edges.size()];
              y[(row * 3 + 2) % cols] = static_cast<float>((1 + row % 5) * dtype_min_subnormal(t));
              break;
          }
        }
      } else {
        // Every pair of a saved edge and a dy edge, tiled over the whole length.
        const std::vector<float> saved = saved_edges(f, t), grads = dy_edges(t, false);
        for (int64_t i = 0; i < count; ++i) {
          s[i] = saved[i % saved.size()];
          dy[i] = grads[(i / saved.size()) % grads.size()];
        }
      }
      break;
    case Input::Range: {
      // dy over the type's whole range (softmax: finite and within 2^126), s over its domain (the
      // same range folded) in another order; softmax's y stays make_case's.
      std::vector<float> all = t == DType::F32 ? float_range(count, softmax) : all_patterns(t, softmax);
      if (softmax) keep_within_2_126(all);
      const auto n = static_cast<int64_t>(all.size());
      for (int64_t i = 0; i < count; ++i) {
        dy[i] = all[i % n];
        if (!softmax) s[i] = into_domain(f, all[(3 * i + 1) % n]);
      }
      round_to_type(t, s);
      break;
    }
  }
  return in;
}

// Inputs for one trial; `needs_rules` is set when they hold NaN or inf (in the variant's type).
// A gated family's edges and range go to a, the activation's argument, by output index; b stays
// make_case's bounded draw, as the tolerances assume (registry.cu). Special values go to both.
Case input_for(const Variant& v, const Trial& r, bool& needs_rules) {
  const uint64_t seed = 77 + static_cast<uint64_t>(r.rows * 131 + r.cols);
  const bool softmax = v.family->act == Activation::Softmax;
  const DType t = v.dtype;
  if (v.family->backward) {
    Case in = backward_input_for(v, r, seed);
    needs_rules = !all_finite_in(t, in.x) || !all_finite_in(t, in.dy);
    return in;
  }
  Case in = make_case(*v.family, t, r.rows, r.cols, seed);
  const int64_t count = r.rows * r.cols;
  auto arg = [&](int64_t i) -> float& {
    return v.family->gated ? in.x[i / r.cols * 2 * r.cols + i % r.cols] : in.x[i];
  };
  switch (r.input) {
    case Input::Generated:
      break;
    case Input::Specials:
      // 2% of the values; sparse in long softmax rows, so that most rows stay finite and their
      // values still get checked.
      sprinkle_specials(in.x, softmax && r.cols > 1000 ? 1e-4 : 0.02, seed);
      break;
    case Input::Edges: {
      const std::vector<float> edges = edge_inputs(t);
      if (softmax) {
        // One edge value in each row, at a column that moves from row to row, and a 12 (a row
        // maximum whose others' exp(x - 12), near e^-12, are subnormal in f16) every third row.
        for (int64_t row = 0; row < r.rows; ++row) {
          in.x[row * r.cols + (row * 7) % r.cols] = edges[row % edges.size()];
          if (row % 3 == 1) in.x[row * r.cols + (row * 5 + 1) % r.cols] = 12.0f;
        }
      } else {
        // Tiled over the whole length: the vector body, the tails and the threads all see them.
        for (int64_t i = 0; i < count; ++i) arg(i) = edges[i % edges.size()];
      }
      break;
    }
    case Input::Range:
      // Softmax rows get finite values only: otherwise nearly every row would be NaN.
      if (t == DType::F32) {
        const std::vector<float> range = float_range(count, softmax);
        for (int64_t i = 0; i < count; ++i) arg(i) = range[i];
      } else {
        const std::vector<float> all = all_patterns(t, softmax);
        for (int64_t i = 0; i < count; ++i) arg(i) = all[i % all.size()];
      }
      break;
  }
  needs_rules = !all_finite_in(t, in.x);
  return in;
}

// The backward baselines, smaller than the forward's: their loops are those loops with two
// inputs (the gated families' map_body, softmax's row split), so no streamed case of their own
// (the forward and gated ones run that loop; each is seconds), and test_variants already runs
// 2^20 elements and rows of 50257. Three tests a variant (a process each): shapes with x, dy
// and y placed apart, special and edge values, the type's range.
void add_backward_cases(std::vector<CpuCase>& cases) {
  for (const Variant* v : cpu_variants(false, true)) {
    const DType t = v->dtype;
    const int last = last_offset(t);
    std::vector<Trial> shapes;
    for (int64_t n : std::vector<int64_t>{1, 2, 3, 15, 16, 17, 31, 33, 129, 257, 4099, 8191, 8193, 65537}) {
      shapes.push_back({1, n});
    }
    for (int off = 1; off <= last; ++off) {
      shapes.push_back({1, 4099, off, last + 1 - off, Input::Generated, (2 * off) % (last + 1)});
    }
    shapes.push_back({1, 4099, 0, 1, Input::Generated, last});
    cases.push_back({v, "shapes", shapes});
    cases.push_back({v, "values",
                     {{1, 4099, 0, 0, Input::Specials},
                      {1, 100003, 1, 2, Input::Specials, 3},
                      {1, 4099, 0, 0, Input::Edges},
                      {1, 65537, last, 1, Input::Edges, 1}}});
    // 16-bit: every pattern as dy, twice over, each with two saved values of the domain.
    cases.push_back({v, "range", {{1, t == DType::F32 ? int64_t{1} << 18 : 65536 * 2 + 5, 0, 0, Input::Range}}});
  }
  for (const Variant* v : cpu_variants(true, true)) {
    const DType t = v->dtype;
    const int last = last_offset(t);
    // As softmax's: single-element rows, many short rows (a thread per row), few long rows
    // (each split across threads, their partial dot products added), then placed apart.
    std::vector<Trial> shapes;
    for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{
             {1, 1}, {7, 1}, {1, 2}, {3, 7}, {1, 33}, {4096, 33}, {300, 1025}, {5, 4099}, {3, 100003}}) {
      shapes.push_back({rows, cols});
    }
    shapes.push_back({64, 1025, 1, last, Input::Generated, 0});
    shapes.push_back({3, 65537, last, 0, Input::Generated, 1});
    cases.push_back({v, "shapes", shapes});
    cases.push_back({v, "values",
                     {{64, 1000, 0, 0, Input::Specials},
                      {3, 100003, 2, 2, Input::Specials, 1},
                      {97, 33, 0, 0, Input::Edges},
                      {8, 4099, 1, last, Input::Edges, 2}}});
    cases.push_back({v, "range", {{64, 4096, 0, 0, Input::Range}}});
  }
}

std::vector<CpuCase> all_cases() {
  std::vector<CpuCase> cases;
  for (const Variant* v : cpu_variants(false, false)) {
    const DType t = v->dtype;
    const int last = last_offset(t);
    if (v->family->gated) {
      // Rows of one column, odd row counts, rows no SIMD vector or conversion block divides, a
      // row longer than a thread's share (1 x 65537) and many short rows per thread (4096 x
      // 33): cpu_omp walks each thread's share row by row.
      std::vector<Trial> shapes;
      for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{
               {1, 1}, {7, 1}, {3, 7}, {1, 33}, {17, 33}, {5, 256}, {3, 257}, {1000, 1}, {1, 65537}, {4096, 33}}) {
        shapes.push_back({rows, cols});
      }
      cases.push_back({v, "shapes", shapes});
      std::vector<Trial> misaligned;
      for (int off = 1; off <= last; ++off) misaligned.push_back({5, 4099, off, last + 1 - off});
      misaligned.push_back({33, 257, 0, 1});
      misaligned.push_back({33, 257, last, 0});
      cases.push_back({v, "misaligned", misaligned});
      // Streamed rows, each with its own unaligned head, in one case: map_body's streaming loop
      // is sigmoid's and relu's (their streamed cases), the row walk around it the same for both
      // families and every type.
      if (streams(*v) && std::string(v->family->name) == "swiglu" && t == DType::F32) {
        cases.push_back({v, "streamed", {{streamed_rows(t, 4099, 2), 4099, 1, 3}}});
      }
      cases.push_back({v, "specials", {{37, 129, 0, 0, Input::Specials}, {3, 40001, 1, 2, Input::Specials}}});
      cases.push_back({v, "edges", {{1, 4099, 0, 0, Input::Edges}, {65, 1025, last, 1, Input::Edges}}});
      // Every 16-bit pattern as a, twice over and more; f32: 2^20 floats across the range.
      cases.push_back({v, "range", {t == DType::F32 ? Trial{256, 4096, 0, 0, Input::Range}
                                                    : Trial{5, 26215, 0, 0, Input::Range}}});
      continue;
    }
    const int64_t streamed = streamed_length(t, 1);
    // Around 16-float and 32-element vectors, the 16-bit conversion blocks of 256, the 128-float
    // store blocks, the 2^13 threading threshold.
    std::vector<Trial> lengths;
    for (int64_t n : std::vector<int64_t>{1, 2, 3, 15, 16, 17, 31, 33, 127, 129, 255, 257, 4099, 8191, 8193, 65537,
                                          1 << 20}) {
      lengths.push_back({1, n});
    }
    cases.push_back({v, "lengths", lengths});
    std::vector<Trial> misaligned;
    for (int off = 1; off <= last; ++off) misaligned.push_back({1, 4099, off, last + 1 - off});
    misaligned.push_back({1, 4099, 0, 1});
    misaligned.push_back({1, 4099, last, 0});
    cases.push_back({v, "misaligned", misaligned});
    // The streamed path (aligned, its unaligned head, special values) of the variants with a
    // streaming path of their own. cpu_omp's is one loop for every activation (map_body), and
    // cpu_onednn's one wrapper around oneDNN's eltwise for every algorithm (an elementwise
    // result does not depend on n), so sigmoid's and relu's cases stand for the others' (each
    // case is a streamed output; CTest must stay within its 3 minutes); in f32 all three
    // placements, in 16-bit its unaligned head. oneDNN's own streaming threshold is its own:
    // its cases are as long as cpu_omp's.
    const std::string family = v->family->name;
    if (streams(*v) && (family == "sigmoid" || family == "relu")) {
      if (t == DType::F32) {
        cases.push_back({v, "streamed",
                         {{1, streamed}, {1, streamed, 1, 3}, {1, streamed, 3, 1, Input::Specials}}});
      } else {
        cases.push_back({v, "streamed", {{1, streamed, 3, last}}});
      }
    }
    cases.push_back({v, "specials", {{1, 4099, 0, 0, Input::Specials}, {1, 100003, 1, 2, Input::Specials}}});
    cases.push_back({v, "edges", {{1, 4099, 0, 0, Input::Edges}, {1, 65537, last, 1, Input::Edges}}});
    cases.push_back({v, "range", {{1, t == DType::F32 ? int64_t{1} << 22 : 65536 * 2 + 5, 0, 0, Input::Range}}});
  }
  for (const Variant* v : cpu_variants(true, false)) {
    const DType t = v->dtype;
    const int last = last_offset(t);
    // Single-element rows; many short rows (one thread per row); few long rows (each row
    // split across threads). Rows stay within the 2^20 columns the softmax tolerance is
    // stated for.
    std::vector<Trial> shapes;
    for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{1, 1},
                                                                      {7, 1},
                                                                      {1, 2},
                                                                      {3, 7},
                                                                      {1, 33},
                                                                      {4096, 33},
                                                                      {1000, 1025},
                                                                      {5, 4099},
                                                                      {1, 1 << 20},
                                                                      {3, 100003},
                                                                      {2, 50257}}) {
      shapes.push_back({rows, cols});
    }
    cases.push_back({v, "shapes", shapes});
    std::vector<Trial> misaligned;
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{5, 4099}, {1, 1 << 20}}) {
      misaligned.push_back({rows, cols, 1, last});
      misaligned.push_back({rows, cols, last, 0});
    }
    cases.push_back({v, "misaligned", misaligned});
    // A streamed output, in rows of 4099.
    const int64_t rows_streamed = streamed_rows(t, 4099, 1);
    if (t == DType::F32) {
      cases.push_back({v, "streamed", {{rows_streamed, 4099}, {rows_streamed, 4099, 1, 3}}});
    } else if (streams(*v)) {
      cases.push_back({v, "streamed", {{rows_streamed, 4099, 3, last}}});
    }
    cases.push_back({v, "specials",
                     {{64, 1000, 0, 0, Input::Specials},
                      {5, 4099, 2, 2, Input::Specials},
                      {1, 1 << 20, last, 1, Input::Specials}}});
    cases.push_back({v, "edges", {{97, 33, 0, 0, Input::Edges}, {64, 1025, 1, last, Input::Edges}}});
    cases.push_back({v, "range", {{256, 4096, 0, 0, Input::Range}}});
  }
  add_backward_cases(cases);
  return cases;
}

std::string case_name(const ::testing::TestParamInfo<CpuCase>& info) {
  return test_name(*info.param.variant) + "_" + info.param.group;
}

// Failure messages name the case rather than dump its bytes.
void PrintTo(const CpuCase& c, std::ostream* os) { *os << c.variant->id() << " " << c.group; }

class CpuVariant : public ::testing::TestWithParam<CpuCase> {};

TEST_P(CpuVariant, MatchesReference) {
  const CpuCase& c = GetParam();
  const Variant& v = *c.variant;
  int skipped = 0;
  for (const Trial& r : c.trials) {
    bool needs_rules = false;
    const Case in = input_for(v, r, needs_rules);
    if (needs_rules && v.special_values) {
      ++skipped;  // departs from ops.h's rules on purpose (the registry says how)
      continue;
    }
    testing::run_and_expect(v, in, reference(*v.family, v.dtype, in), trial_name(r),
                            {r.x_offset, r.y_offset, 0, r.dy_offset});
  }
  if (skipped == static_cast<int>(c.trials.size())) {
    GTEST_SKIP() << v.id() << " departs from the special-value rules: " << v.special_values;
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, CpuVariant, ::testing::ValuesIn(all_cases()), case_name);

// ---- the 16-bit edges, by value ------------------------------------------------------------

// The variant of `family` named `name` in type t, or nullptr where the registry has none.
const Variant* variant_of(const char* family, const char* name, DType t) {
  return find_variant(std::string(family) + "/" + name + "/" + dtype_name(t));
}

std::vector<float> run_values(const Variant& v, const std::vector<float>& x, int64_t rows = 1) {
  Case c;
  c.x = x;
  c.rows = rows;
  c.cols = static_cast<int64_t>(x.size()) / rows;
  return run_once(v, c);
}

const char* const kCpuStrategies[] = {"cpu_scalar", "cpu_omp", "cpu_onednn"};

TEST(CpuEdges, F16OverflowsPast65504) {
  // 65504 is f16's largest finite value; from 65520 (half an ulp past it) the input is inf in
  // f16 but finite in f32 and bf16. relu passes each through exactly; sigmoid and tanh
  // saturate at 1 either way.
  const std::vector<float> x = {65504.0f, 65519.0f, 65520.0f, 1e5f, -65504.0f, -65520.0f, -1e5f};
  for (const char* name : kCpuStrategies) {
    if (const Variant* v = variant_of("relu", name, DType::F16)) {
      const std::vector<float> y = run_values(*v, x);
      const std::vector<float> want = {65504.0f, 65504.0f, kInf, kInf, 0.0f, 0.0f, 0.0f};
      EXPECT_EQ(y, want) << v->id();
    }
    for (const char* family : {"sigmoid", "tanh"}) {
      if (const Variant* v = variant_of(family, name, DType::F16)) {
        const std::vector<float> y = run_values(*v, x);
        for (size_t i = 0; i < 4; ++i) EXPECT_EQ(y[i], 1.0f) << v->id() << " at " << x[i];
        EXPECT_EQ(y[4], std::string(family) == "tanh" ? -1.0f : 0.0f) << v->id();
      }
    }
    if (const Variant* v = variant_of("relu", name, DType::BF16)) {
      // bf16 keeps these finite, 1e5 rounded to its 8 bits.
      const std::vector<float> y = run_values(*v, {65520.0f, 1e5f, 1e30f, 3e38f});
      EXPECT_EQ(y, (std::vector<float>{65536.0f, round_float_to(DType::BF16, 1e5f), round_float_to(DType::BF16, 1e30f),
                                       round_float_to(DType::BF16, 3e38f)}))
          << v->id();
    }
  }
}

TEST(CpuEdges, SigmoidTailIsSubnormalInF16) {
  // sigmoid(x) ~ e^x falls below f16's smallest normal (2^-14) near x = -9.7 and below half its
  // smallest subnormal (2^-25) near -17.3: the results in between are subnormals, within one
  // of them (2^-24) of the correctly rounded value, and not flushed to zero.
  std::vector<float> x;
  for (float f = -10.0f; f >= -17.0f; f -= 0.25f) x.push_back(f);
  const std::vector<double> want = reference(family_named("sigmoid"), DType::F16, x, {}, 1, static_cast<int64_t>(x.size()));
  for (const char* name : kCpuStrategies) {
    const Variant* v = variant_of("sigmoid", name, DType::F16);
    if (!v) continue;
    const std::vector<float> y = run_values(*v, x);
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_LT(want[i], 0x1p-14) << x[i];
      EXPECT_GT(y[i], 0.0f) << v->id() << " at " << x[i];
      EXPECT_LE(std::fabs(y[i] - want[i]), 0x1p-24) << v->id() << " at " << x[i];
    }
  }
}

TEST(CpuEdges, ReluIsExactOnEveryPatternOfEveryType) {
  // Every 16-bit pattern (NaN stays NaN, -0 and negatives become +0), and floats across
  // their whole range: bit for bit.
  for (DType t : kDTypes) {
    const std::vector<float> x = t == DType::F32 ? float_range(1 << 18, false) : all_patterns(t, false);
    for (const char* name : kCpuStrategies) {
      const Variant* v = variant_of("relu", name, t);
      if (!v || v->special_values) continue;
      const std::vector<float> y = run_values(*v, x);
      for (size_t i = 0; i < x.size(); ++i) {
        const float want = std::isnan(x[i]) ? x[i] : x[i] > 0.0f ? x[i] : 0.0f;
        if (std::isnan(want)) {
          ASSERT_TRUE(std::isnan(y[i])) << v->id() << " at " << x[i];
        } else {
          ASSERT_EQ(std::memcmp(&y[i], &want, sizeof want), 0) << v->id() << " at " << x[i] << ": " << y[i];
        }
      }
    }
  }
}

TEST(CpuEdges, NaNPropagatesInEveryType) {
  const std::vector<float> x = {1.0f, kNaN, -kNaN, 0.5f, kNaN};
  for (DType t : kDTypes) {
    for (const char* family : {"sigmoid", "tanh", "relu"}) {
      for (const char* name : kCpuStrategies) {
        const Variant* v = variant_of(family, name, t);
        if (!v || v->special_values) continue;
        const std::vector<float> y = run_values(*v, x);
        for (size_t i : {1u, 2u, 4u}) EXPECT_TRUE(std::isnan(y[i])) << v->id() << " at " << i;
        EXPECT_FALSE(std::isnan(y[0]) || std::isnan(y[3])) << v->id();
      }
    }
  }
}

// ---- the backward rules, by value -------------------------------------------------------------

// One row of saved values s and gradients dy through an elementwise backward variant.
std::vector<float> run_backward(const Variant& v, const std::vector<float>& s, const std::vector<float>& dy) {
  Case c;
  c.x = s;
  c.dy = dy;
  c.cols = static_cast<int64_t>(s.size());
  return run_once(v, c);
}

// dx = Grad(s, dy) for one element, by ops.h's rules.
struct GradRule {
  float s, dy, dx;
};

TEST(CpuBackward, FollowsTheSpecialValueRules) {
  // Values of every type, and results exact in every type: IEEE's products for sigmoid and tanh
  // (inf * 0 is NaN where y is 0 or 1, or tanh's +-1), relu's select (x <= 0 gives 0 whatever
  // dy holds; NaN in x passes dy through).
  const std::vector<std::pair<const char*, std::vector<GradRule>>> rules = {
      {"sigmoid_backward",
       {{0.5f, 1.0f, 0.25f}, {0.0f, 1.0f, 0.0f}, {1.0f, -1.0f, 0.0f}, {0.0f, kInf, kNaN}, {1.0f, -kInf, kNaN},
        {0.5f, kInf, kInf}, {0.25f, -kInf, -kInf}, {kNaN, 1.0f, kNaN}, {0.5f, kNaN, kNaN}}},
      {"tanh_backward",
       {{0.5f, 1.0f, 0.75f}, {0.0f, -2.0f, -2.0f}, {1.0f, 1.0f, 0.0f}, {-1.0f, 1.0f, 0.0f}, {1.0f, kInf, kNaN},
        {-1.0f, -kInf, kNaN}, {0.0f, kInf, kInf}, {-0.5f, -kInf, -kInf}, {kNaN, 1.0f, kNaN}, {0.5f, kNaN, kNaN}}},
      {"relu_backward",
       {{1.0f, 2.0f, 2.0f}, {-1.0f, 2.0f, 0.0f}, {0.0f, 2.0f, 0.0f}, {-0.0f, 2.0f, 0.0f}, {-1.0f, kNaN, 0.0f},
        {0.0f, kInf, 0.0f}, {-kInf, -kInf, 0.0f}, {kNaN, 2.0f, 2.0f}, {kNaN, kNaN, kNaN}, {kInf, 3.0f, 3.0f},
        {1.0f, kNaN, kNaN}, {1.0f, -kInf, -kInf}}},
  };
  for (const auto& [family, cases] : rules) {
    std::vector<float> s, dy;
    for (const GradRule& g : cases) {
      s.push_back(g.s);
      dy.push_back(g.dy);
    }
    for (DType t : kDTypes) {
      for (const char* name : kCpuStrategies) {
        const Variant* v = variant_of(family, name, t);
        if (!v || v->special_values) continue;
        const std::vector<float> dx = run_backward(*v, s, dy);
        for (size_t i = 0; i < cases.size(); ++i) {
          const GradRule& g = cases[i];
          if (std::isnan(g.dx)) {
            EXPECT_TRUE(std::isnan(dx[i])) << v->id() << " at s " << g.s << ", dy " << g.dy << ": " << dx[i];
          } else {
            EXPECT_EQ(dx[i], g.dx) << v->id() << " at s " << g.s << ", dy " << g.dy;
          }
        }
      }
    }
  }
}

TEST(CpuBackward, OneDnnReluDepartsAsTheRegistrySays) {
  // Its note, measured: dy times the mask, so NaN and inf in dy make NaN where x <= 0 (ops.h:
  // 0). Fails once a oneDNN follows the rule, and the note should go.
  int checked = 0;
  for (DType t : kDTypes) {
    const Variant* v = variant_of("relu_backward", "cpu_onednn", t);
    if (!v) continue;
    ASSERT_NE(v->special_values, nullptr) << v->id();
    const std::vector<float> dx = run_backward(*v, {-1.0f, 0.0f, -0.0f, -kInf}, {kNaN, kInf, -kInf, kNaN});
    for (float d : dx) EXPECT_TRUE(std::isnan(d)) << v->id() << ": " << d;
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no cpu_onednn relu_backward in this build";
}

TEST(CpuBackward, SoftmaxBackwardSpecialRows) {
  // dx_j = y_j (dy_j - sum_k dy_k y_k), exactly: a one-hot row has dx = 0 (its dot is dy at the
  // hot column, times 1), a row of y = 0 and a row of dy = 0 have dx = 0; NaN in dy makes the
  // row NaN; +inf in dy makes the dot +inf, so dx is -inf where y > 0 and NaN at the inf itself
  // (inf - inf). A short row, and a long one that cpu_omp splits across threads (5 rows).
  for (const int64_t cols : {int64_t{5}, int64_t{100003}}) {
    for (DType t : kDTypes) {
      for (const char* name : kCpuStrategies) {
        const Variant* v = variant_of("softmax_backward", name, t);
        if (!v || v->special_values) continue;
        Case c = make_case(*v->family, t, 5, cols, 31);
        const int64_t hot = cols / 3;
        std::fill(c.x.begin(), c.x.begin() + 2 * cols, 0.0f);
        c.x[hot] = 1.0f;
        std::fill(c.dy.begin() + 2 * cols, c.dy.begin() + 3 * cols, 0.0f);
        c.dy[3 * cols + hot] = kNaN;
        c.x[4 * cols + hot] = 0.5f;
        c.dy[4 * cols + hot] = kInf;
        const std::vector<float> dx = run_once(*v, c);
        for (int64_t j = 0; j < cols; ++j) {
          for (int64_t row = 0; row < 3; ++row) {
            ASSERT_EQ(dx[row * cols + j], 0.0f) << v->id() << " row " << row << " at " << j;
          }
          ASSERT_TRUE(std::isnan(dx[3 * cols + j])) << v->id() << " at " << j;
          const float y = c.x[4 * cols + j], got = dx[4 * cols + j];
          if (j == hot || y == 0.0f) {
            ASSERT_TRUE(std::isnan(got)) << v->id() << " at " << j << ": " << got;
          } else {
            ASSERT_EQ(got, -kInf) << v->id() << " at " << j;
          }
        }
      }
    }
  }
}

// ---- softmax properties -----------------------------------------------------------------------

// A softmax under test, in one type: a CPU variant of the registry, or the reference itself.
struct Softmax {
  std::string name;
  DType type;
  std::function<std::vector<double>(const std::vector<float>& x, int64_t rows, int64_t cols)> run;
  Tolerance tol;                         // accepted error of each output against the rounded truth
  const char* special_values = nullptr;  // the registry's note when it departs from torch's rules
  std::string id() const { return name; }
};

std::vector<Softmax> softmaxes() {
  std::vector<Softmax> out;
  for (DType t : kDTypes) {
    // The reference is the truth rounded once to the type: within half an ulp of it.
    const Tolerance rounding{0.5 * dtype_min_subnormal(t), 0.5 * dtype_epsilon(t)};
    out.push_back({std::string("reference_") + dtype_name(t), t,
                   [t](const std::vector<float>& x, int64_t rows, int64_t cols) {
                     return reference(family_named("softmax"), t, x, {}, rows, cols);
                   },
                   rounding});
  }
  for (const Variant* v : cpu_variants(true, false)) {
    out.push_back({test_name(*v), v->dtype,
                   [v](const std::vector<float>& x, int64_t rows, int64_t cols) {
                     Case c;
                     c.x = x;
                     c.rows = rows;
                     c.cols = cols;
                     const std::vector<float> y = run_once(*v, c);
                     return std::vector<double>(y.begin(), y.end());
                   },
                   v->tol, v->special_values});
  }
  return out;
}

void PrintTo(const Softmax& s, std::ostream* os) { *os << s.name; }

class SoftmaxProperty : public ::testing::TestWithParam<Softmax> {
 protected:
  std::vector<double> run(const std::vector<float>& x, int64_t rows, int64_t cols) const {
    return GetParam().run(x, rows, cols);
  }
  DType type() const { return GetParam().type; }
  // How far an output may be from the unrounded truth: its tolerance against the rounded
  // reference, plus the reference's own rounding (half an ulp of the type).
  double bound(double truth) const {
    const Tolerance& tol = GetParam().tol;
    return tol.atol + dtype_min_subnormal(type()) + (tol.rtol + dtype_epsilon(type())) * std::fabs(truth);
  }
};

TEST_P(SoftmaxProperty, RowsSumToOne) {
  // Each output within rtol + epsilon of the truth relatively, or within two subnormal steps of
  // it where it is that small (one for the variant, up to half a step for the reference), so
  // each row's sum is within rtol + epsilon of 1 plus two steps a column: a 16-bit type's long
  // rows are mostly subnormal outputs.
  const Tolerance& tol = GetParam().tol;
  for (auto [rows, cols] :
       {std::pair<int64_t, int64_t>{512, 7}, {64, 1025}, {3, 100003}, {1, 1 << 20}}) {
    const std::vector<double> y = run(softmax_input(rows, cols, 5), rows, cols);
    const double slack = tol.rtol + dtype_epsilon(type()) + 2.0 * cols * dtype_min_subnormal(type()) + 1e-12;
    for (int64_t r = 0; r < rows; ++r) {
      const double sum = std::accumulate(y.begin() + r * cols, y.begin() + (r + 1) * cols, 0.0);
      ASSERT_NEAR(sum, 1.0, slack) << "row " << r << " of " << rows << "x" << cols;
    }
  }
}

TEST_P(SoftmaxProperty, IsExactlyShiftInvariant) {
  // Inputs on a grid within +-range and a shift that keep every x, every x + c and every
  // (x + c) - (m + c) exact in the type (f32: 2^-10 steps within +-32, shifted by 1024; f16:
  // 2^-4, +-32, 64; bf16: 2^-2, +-16, 32), so the outputs must be identical, not merely close.
  const DType t = type();
  const float range = t == DType::BF16 ? 16.0f : 32.0f;
  const float step = t == DType::F32 ? 0x1p-10f : t == DType::F16 ? 0x1p-4f : 0x1p-2f;
  const float shift = t == DType::F32 ? 1024.0f : t == DType::F16 ? 64.0f : 32.0f;
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{64, 33}, {2, 100003}}) {
    std::vector<float> x = uniform_input(rows * cols, -range, range, 9), shifted(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = std::round(x[i] / step) * step;
      shifted[i] = x[i] + shift;
      ASSERT_EQ(round_float_to(t, shifted[i]), shifted[i]) << "the test's own grid";
    }
    EXPECT_EQ(run(x, rows, cols), run(shifted, rows, cols)) << rows << "x" << cols;
  }
}

TEST_P(SoftmaxProperty, OutlierDominatesItsRow) {
  // One entry 100 above the rest: it takes 1 - O(n e^-100), the rest e^-100 (subnormal or 0 in
  // float, 0 in the 16-bit types), none of which may overflow or turn into NaN.
  const int64_t cols = 4099;
  std::vector<float> x = uniform_input(cols, -1.0f, 1.0f, 13);
  x[1234] = 100.0f;
  const std::vector<double> y = run(x, 1, cols);
  EXPECT_NEAR(y[1234], 1.0, bound(1.0));
  for (int64_t i = 0; i < cols; ++i) {
    if (i != 1234) {
      ASSERT_NEAR(y[i], 0.0, 1e-40) << i;
    }
  }
}

TEST_P(SoftmaxProperty, SingleElementRowsAreOne) {
  // Values finite in the type (f16 has no 1e30: it would be inf, and the row NaN).
  std::vector<float> x;
  for (float f : {-1e30f, -65504.0f, -5.0f, 0.0f, 3.0f, 88.7f, 65504.0f, 1e30f, std::numeric_limits<float>::max()}) {
    if (std::isfinite(round_float_to(type(), f))) x.push_back(f);
  }
  for (double v : run(x, static_cast<int64_t>(x.size()), 1)) EXPECT_EQ(v, 1.0);
}

// Rows of `cols` values in which `special` sits at the front, in the middle or at the end, and
// the expected torch.softmax row: NaN everywhere.
void expect_nan_rows(const Softmax& s, float special, int64_t cols) {
  std::vector<float> x = uniform_input(3 * cols, -4.0f, 4.0f, 21);
  x[0] = special;
  x[cols + cols / 2] = special;
  x[3 * cols - 1] = special;
  const std::vector<double> y = s.run(x, 3, cols);
  for (int64_t i = 0; i < 3 * cols; ++i)
    ASSERT_TRUE(std::isnan(y[i])) << "element " << i << ": " << y[i];
}

// Lengths: a short row, and one long enough to be split across threads.
constexpr int64_t kRowLengths[] = {5, 100003};

TEST_P(SoftmaxProperty, NaNMakesTheRowNaN) {
  ACT_REQUIRE_SPECIAL_VALUE_RULES(GetParam());
  for (int64_t cols : kRowLengths) expect_nan_rows(GetParam(), kNaN, cols);
}

TEST_P(SoftmaxProperty, PlusInfinityMakesTheRowNaN) {
  ACT_REQUIRE_SPECIAL_VALUE_RULES(GetParam());
  // torch.softmax: exp(inf - inf) is NaN. In f16, 65520 is +inf too.
  for (int64_t cols : kRowLengths) {
    expect_nan_rows(GetParam(), kInf, cols);
    if (type() == DType::F16) expect_nan_rows(GetParam(), 65520.0f, cols);
  }
}

TEST_P(SoftmaxProperty, AllMinusInfinityRowIsNaN) {
  ACT_REQUIRE_SPECIAL_VALUE_RULES(GetParam());
  for (int64_t cols : kRowLengths) {
    const std::vector<double> y = run(std::vector<float>(cols, -kInf), 1, cols);
    for (double v : y) ASSERT_TRUE(std::isnan(v)) << v;  // 0 / 0
  }
}

TEST_P(SoftmaxProperty, MinusInfinityEntriesGetZero) {
  ACT_REQUIRE_SPECIAL_VALUE_RULES(GetParam());
  // A -inf prefix longer than any thread's share, then finite values and more -inf: the -inf
  // entries are 0 and the rest is the softmax of the finite values alone (as the type holds
  // them).
  for (int64_t cols : kRowLengths) {
    const int64_t prefix = cols * 3 / 4;
    std::vector<float> x = uniform_input(cols, -3.0f, 3.0f, 17);
    round_to_type(type(), x);
    std::fill(x.begin(), x.begin() + prefix, -kInf);
    x[cols - 2] = -kInf;
    const std::vector<double> y = run(x, 1, cols);
    std::vector<float> finite;
    for (float v : x) {
      if (v != -kInf) finite.push_back(v);
    }
    std::vector<double> want(finite.size());
    reference_softmax_row(finite.data(), static_cast<int64_t>(finite.size()), want.data());
    size_t k = 0;
    for (int64_t i = 0; i < cols; ++i) {
      if (x[i] == -kInf) {
        ASSERT_EQ(y[i], 0.0) << i;
      } else {
        ASSERT_NEAR(y[i], want[k], bound(want[k])) << i;
        ++k;
      }
    }
  }
}

std::string softmax_name(const ::testing::TestParamInfo<Softmax>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Cpu, SoftmaxProperty, ::testing::ValuesIn(softmaxes()), softmax_name);

}  // namespace
}  // namespace actbench
