// Error checking for every CUDA runtime call and every kernel launch. A failure throws
// CudaError naming the call, the file and the line; the harness turns it into a clear
// message and a non-zero exit, and the tests into a failure.
#pragma once

#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace actbench {

class CudaError : public std::runtime_error {
 public:
  CudaError(cudaError_t code, const std::string& what) : std::runtime_error(what), code_(code) {}
  cudaError_t code() const { return code_; }

 private:
  cudaError_t code_;
};

inline void cuda_check(cudaError_t code, const char* expr, const char* file, int line) {
  if (code != cudaSuccess) {
    throw CudaError(code, std::string(file) + ":" + std::to_string(line) + ": " + expr + " failed: " +
                              cudaGetErrorName(code) + " (" + cudaGetErrorString(code) + ")");
  }
}

}  // namespace actbench

#define ACT_CUDA_CHECK(expr) ::actbench::cuda_check((expr), #expr, __FILE__, __LINE__)
// After every <<<...>>>: catches bad configurations at once (execution errors surface at the
// next synchronizing call, which is checked too).
#define ACT_CHECK_LAUNCH() ACT_CUDA_CHECK(cudaGetLastError())
