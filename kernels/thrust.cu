// Library reference for the elementwise families:
//
//   elementwise_thrust<Op>  `thrust`: thrust::transform over the n inputs with the same
//                           functor as the hand-written kernels, on p.stream, without the
//                           synchronization Thrust's plain `par` policy adds after the call.
#include <thrust/system/cuda/execution_policy.h>
#include <thrust/transform.h>

#include "common/cuda_check.h"
#include "common/ops.h"
#include "launchers.h"

namespace actbench {

template <class Op>
void elementwise_thrust(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  if (n == 0) return;
  thrust::transform(thrust::cuda::par_nosync.on(p.stream), p.x, p.x + n, p.y, Op{});
  ACT_CHECK_LAUNCH();
}

// The functors the registry uses.
template void elementwise_thrust<Sigmoid>(const Problem&);
template void elementwise_thrust<Tanh>(const Problem&);
template void elementwise_thrust<Relu>(const Problem&);

}  // namespace actbench
