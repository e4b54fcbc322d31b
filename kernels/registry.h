// THE list of variants. Every benchmark, GPU test, CPU test, `actbench --list` and the C
// interface used by scripts/torch_compare.py iterate over variants(); nothing else names a
// variant. To add one: write its launcher, add one row to the table in registry.cu.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace actbench {

enum class Activation { Identity, Sigmoid, Tanh, Relu, Softmax };
enum class Device { Gpu, Cpu };

// A family is one mathematical operation; all its variants compute the same function.
struct Family {
  const char* name;  // "sigmoid", "bias_relu", "softmax", "copy"
  Activation act;
  bool bias;         // y = act(x + bias[col])
  bool row_shaped;   // benchmarked as rows x cols (bias_*, softmax) rather than n
};

// One call of a variant. Pointers are device pointers for Device::Gpu variants and host
// pointers for Device::Cpu ones. Elementwise families use rows = 1, cols = n.
struct Problem {
  const float* x = nullptr;     // rows * cols inputs, row-major
  const float* bias = nullptr;  // cols entries (bias families only)
  float* y = nullptr;           // rows * cols outputs; never aliases x
  int64_t rows = 0;
  int64_t cols = 0;
  void* workspace = nullptr;    // workspace_bytes(rows, cols) bytes, allocated by the caller
  cudaStream_t stream = nullptr;
};

using Launcher = void (*)(const Problem&);
using WorkspaceBytes = size_t (*)(int64_t rows, int64_t cols);

// Accepted error against the double reference: |got - ref| <= atol + rtol * |ref|.
struct Tolerance {
  double atol;
  double rtol;
};

// Tiers of Variant::step: the project's own kernels climb the ladder from 0, library
// references (Thrust, CUB, cuDNN) start at kLibraryStep, CPU baselines at kCpuStep.
constexpr int kLibraryStep = 10;
constexpr int kCpuStep = 20;

struct Variant {
  const Family* family;
  const char* name;       // stable identity within the family: "naive", "warp", "cpu_omp", ...
  int step;               // position on the family's ladder (report order; tiers above)
  Device device;
  Launcher launch;        // enqueues the work on problem.stream (CPU: runs it) and checks the launch
  Tolerance tol;
  const char* summary;    // one line, shown by --list and the report
  WorkspaceBytes workspace_bytes = nullptr;  // nullptr: needs none
  int64_t max_cols = 0;                      // longest supported row; 0: any
  // nullptr when the variant follows common/ops.h on NaN and +-inf; else how it departs (a
  // library's own convention, reported rather than hidden). Special-value tests skip such a
  // variant with this reason; benchmark inputs hold no NaN or inf.
  const char* special_values = nullptr;

  std::string id() const { return std::string(family->name) + "/" + name; }
  // A GPU library's code rather than this project's kernels (left out of compute-sanitizer
  // runs: findings there are not this project's to fix).
  bool library_reference() const { return device == Device::Gpu && step >= kLibraryStep && step < kCpuStep; }
  bool supports(int64_t cols) const { return max_cols == 0 || cols <= max_cols; }
  size_t workspace(int64_t rows, int64_t cols) const {
    return workspace_bytes ? workspace_bytes(rows, cols) : 0;
  }
};

const std::vector<Family>& families();
const std::vector<Variant>& variants();
// The family of this name; throws std::invalid_argument when there is none.
const Family& family_named(const std::string& name);
// nullptr when no variant has this "family/name" id.
const Variant* find_variant(const std::string& id);

}  // namespace actbench
