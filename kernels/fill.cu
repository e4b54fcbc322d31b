// A harness utility, not a variant: fills device elements of 2 or 4 bytes with one bit pattern
// (the runner's poison). cudaMemset only repeats a byte; the poison is a particular NaN.
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "common/cuda_check.h"
#include "launchers.h"

namespace actbench {

namespace {

template <class Word>
__global__ void fill_kernel(Word* p, int64_t n, Word value) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    p[i] = value;
  }
}

}  // namespace

void fill_bits(void* p, int64_t count, size_t bytes, uint32_t bits, cudaStream_t stream) {
  if (count == 0) return;
  constexpr int kThreads = 256;
  const auto blocks = static_cast<unsigned>(std::min<int64_t>((count + kThreads - 1) / kThreads, 4096));
  if (bytes == 4) {
    fill_kernel<<<blocks, kThreads, 0, stream>>>(static_cast<uint32_t*>(p), count, bits);
  } else if (bytes == 2) {
    fill_kernel<<<blocks, kThreads, 0, stream>>>(static_cast<uint16_t*>(p), count, static_cast<uint16_t>(bits));
  } else {
    throw std::invalid_argument("fill_bits: elements of " + std::to_string(bytes) + " bytes (2 or 4 expected)");
  }
  ACT_CHECK_LAUNCH();
}

}  // namespace actbench
