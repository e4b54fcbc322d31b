// The roofline that every "% of copy bandwidth" figure divides by:
//
//   copy_cuda_memcpy<T>  `copy/cuda_memcpy`: cudaMemcpyAsync device to device of the rows * cols
//                        elements of T, on p.stream. Reads and writes the same bytes as an elementwise
//                     variant, with none of its arithmetic.
#include "common/cuda_check.h"
#include "launchers.h"

namespace actbench {

template <class T>
void copy_cuda_memcpy(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  if (n == 0) return;
  ACT_CUDA_CHECK(cudaMemcpyAsync(p.y, p.x, static_cast<size_t>(n) * sizeof(T), cudaMemcpyDeviceToDevice, p.stream));
}

template void copy_cuda_memcpy<float>(const Problem&);
template void copy_cuda_memcpy<__half>(const Problem&);
template void copy_cuda_memcpy<__nv_bfloat16>(const Problem&);

}  // namespace actbench
