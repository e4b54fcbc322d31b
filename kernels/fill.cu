// A harness utility, not a variant: fills device floats with one bit pattern (the runner's
// poison). cudaMemset only repeats a byte; the poison is a particular NaN.
#include <algorithm>

#include "common/cuda_check.h"
#include "launchers.h"

namespace actbench {

namespace {

__global__ void fill_kernel(float* p, int64_t n, float value) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    p[i] = value;
  }
}

}  // namespace

void fill_floats(float* p, int64_t n, float value, cudaStream_t stream) {
  if (n == 0) return;
  constexpr int kThreads = 256;
  const auto blocks = static_cast<unsigned>(std::min<int64_t>((n + kThreads - 1) / kThreads, 4096));
  fill_kernel<<<blocks, kThreads, 0, stream>>>(p, n, value);
  ACT_CHECK_LAUNCH();
}

}  // namespace actbench
