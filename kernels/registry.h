// THE list of variants. Every benchmark, GPU test, CPU test, `actbench --list` and the C
// interface used by scripts/torch_compare.py iterate over variants(); nothing else names a
// variant. A variant is one strategy of one family in one element type (common/dtype.h); the
// table in registry.cu has one row per strategy, crossed with the types it supports. To add
// one: write its launcher (templated on the element type), add one row to that table.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/dtype.h"

namespace actbench {

enum class Activation { Identity, Sigmoid, Tanh, Relu, Gelu, GeluTanh, Silu, Softmax };
enum class Device { Gpu, Cpu };

// A family is one mathematical operation; all its variants compute the same function.
struct Family {
  const char* name;  // "sigmoid", "gelu_tanh", "bias_relu", "swiglu", "softmax", "copy"
  Activation act;
  bool bias;         // y = act(x + bias[col])
  bool row_shaped;   // benchmarked as rows x cols (bias_*, gated, softmax) rather than n
  // y[r][c] = act(a) * b with a = x[r][c], b = x[r][cols + c]: x is rows x 2 cols, its two
  // halves split as PyTorch models split them (a, b = x.chunk(2, dim=-1)); swiglu, geglu.
  bool gated;
  // The gradient of the forward family of the same act and bias ("sigmoid_backward", ...):
  // reads the saved tensor (Problem::x, see saves_input) and the upstream gradient dy, writes
  // dx (Problem::y) and, with bias, dbias = the column sums of dx (Problem::dbias).
  bool backward = false;
};

// Which tensor a backward family differentiates from: the forward's input x for relu_backward
// (PyTorch's threshold_backward convention: dx = 0 where x <= 0, dy elsewhere, NaN included),
// the forward's output y for every other (sigmoid: y (1 - y), tanh: 1 - y^2, softmax; bias_*:
// y = act(x + bias), for relu the same mask as from x + bias, since y > 0 exactly where it is).
constexpr bool saves_input(const Family& f) { return f.backward && f.act == Activation::Relu && !f.bias; }

// Outputs of one call for rows x cols: dx (or y), then for a bias backward family the cols
// entries of dbias (the runner returns, and the reference gives, the two one after the other).
constexpr int64_t output_count(const Family& f, int64_t rows, int64_t cols) {
  return rows * cols + (f.backward && f.bias ? cols : 0);
}

// The length of one row of x for rows of `cols` outputs: twice cols for a gated family. Every
// input size is rows * input_cols(family, cols).
constexpr int64_t input_cols(const Family& f, int64_t cols) { return f.gated ? 2 * cols : cols; }

// One call of a variant. Pointers are device pointers for Device::Gpu variants and host
// pointers for Device::Cpu ones, to elements of the variant's type (float, __half or
// __nv_bfloat16). Elementwise families use rows = 1, cols = n; cols is the output's row length.
// A backward family reads x (its saved tensor) and dy, both rows x cols, and writes dx to y
// (and dbias); bias is unused.
struct Problem {
  const void* x = nullptr;     // rows * input_cols(family, cols) inputs, row-major
  const void* bias = nullptr;  // cols entries (bias families only)
  void* y = nullptr;           // rows * cols outputs; never aliases x
  int64_t rows = 0;
  int64_t cols = 0;
  void* workspace = nullptr;    // workspace_bytes(rows, cols) bytes, allocated by the caller
  cudaStream_t stream = nullptr;
  const void* dy = nullptr;     // backward families: rows * cols upstream gradients
  void* dbias = nullptr;        // bias backward families: cols entries, sum over rows of dx
};

using Launcher = void (*)(const Problem&);
using WorkspaceBytes = size_t (*)(int64_t rows, int64_t cols);

// Accepted error against the reference (computed in double, rounded once to the output type):
// |got - ref| <= atol + rtol * |ref|, plus, where an output is a sum (dbias, softmax_backward's
// row dot product), the reference's bound on f32 summation for that element
// (host/reference.h, Expected::bound): the same for every variant of the family.
struct Tolerance {
  double atol;
  double rtol;
};

// A strategy's accepted error in every element type. f32 states its Tolerance directly. The
// 16-bit types count in units of the type: `ulps` epsilons relative (1: within an ulp of the
// correctly rounded result) and as many smallest subnormals absolute, plus `abs_eps` epsilons
// absolute where the strategy rounds an intermediate whose error the function amplifies in
// relative terms (a subnormal-free absolute floor).
struct Accuracy {
  Tolerance f32;
  double ulps = 0.0;
  double abs_eps = 0.0;
  double atol_floor = 0.0;  // an absolute tolerance in every type (a library that flushes subnormals)

  Tolerance in(DType t) const {
    if (t == DType::F32) return f32;
    const double atol = ulps * dtype_min_subnormal(t) + abs_eps * dtype_epsilon(t);
    return {atol > atol_floor ? atol : atol_floor, ulps * dtype_epsilon(t)};
  }
};

// Tiers of Variant::step: the project's own kernels climb the ladder from 0, library
// references (Thrust, CUB, cuDNN) start at kLibraryStep, CPU baselines at kCpuStep.
constexpr int kLibraryStep = 10;
constexpr int kCpuStep = 20;

struct Variant {
  const Family* family;
  const char* name;       // stable identity within the family: "naive", "warp", "cpu_omp", ...
  DType dtype;            // the element type of x, bias and y
  int step;               // position on the family's ladder (report order; tiers above)
  Device device;
  Launcher launch;        // enqueues the work on problem.stream (CPU: runs it) and checks the launch
  Tolerance tol;          // the strategy's Accuracy in this type
  const char* summary;    // one line, shown by --list and the report
  WorkspaceBytes workspace_bytes = nullptr;  // nullptr: needs none
  int64_t max_cols = 0;                      // longest supported row; 0: any
  // nullptr when the variant follows common/ops.h on NaN and +-inf; else how it departs (a
  // library's own convention, reported rather than hidden). Special-value tests skip such a
  // variant with this reason; benchmark inputs hold no NaN or inf.
  const char* special_values = nullptr;

  // "family/name/type", e.g. "softmax/warp/bf16": benchmark names start with it.
  std::string id() const { return std::string(family->name) + "/" + name + "/" + dtype_name(dtype); }
  // A GPU library's code rather than this project's kernels (left out of compute-sanitizer
  // runs: findings there are not this project's to fix).
  bool library_reference() const { return device == Device::Gpu && step >= kLibraryStep && step < kCpuStep; }
  bool supports(int64_t cols) const { return max_cols == 0 || cols <= max_cols; }
  size_t workspace(int64_t rows, int64_t cols) const {
    return workspace_bytes ? workspace_bytes(rows, cols) : 0;
  }
};

// A variant the registry would list but this build or machine cannot run (a library that
// does not support the type on this CPU), with the reason: --list shows these too.
struct Absent {
  std::string id;
  std::string why;
};

const std::vector<Family>& families();
const std::vector<Variant>& variants();
const std::vector<Absent>& absent_variants();
// The family of this name; throws std::invalid_argument when there is none.
const Family& family_named(const std::string& name);
// nullptr when no variant has this "family/name/type" id.
const Variant* find_variant(const std::string& id);

}  // namespace actbench
