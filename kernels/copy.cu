// The roofline that every "% of copy bandwidth" figure divides by:
//
//   copy_cuda_memcpy  `copy/cuda_memcpy`: cudaMemcpyAsync device to device of the rows * cols
//                     floats, on p.stream. Reads and writes the same bytes as an elementwise
//                     variant, with none of its arithmetic.
#include "common/cuda_check.h"
#include "launchers.h"

namespace actbench {

void copy_cuda_memcpy(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  if (n == 0) return;
  ACT_CUDA_CHECK(cudaMemcpyAsync(p.y, p.x, static_cast<size_t>(n) * sizeof(float),
                                 cudaMemcpyDeviceToDevice, p.stream));
}

}  // namespace actbench
