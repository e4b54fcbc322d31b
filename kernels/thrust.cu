// Library reference for the elementwise families:
//
//   elementwise_thrust<T, Op>  `thrust`: thrust::transform over the n inputs with the same
//                              functor as the hand-written kernels (through f32, rounded once
//                              to T), on p.stream, without the synchronization Thrust's plain
//                              `par` policy adds after the call. With a *Grad functor
//                              (backward) the binary transform over the saved tensor and dy.
#include <thrust/system/cuda/execution_policy.h>
#include <thrust/transform.h>

#include <stdexcept>
#include <type_traits>

#include "common/cuda_check.h"
#include "common/ops.h"
#include "common/vec.cuh"
#include "launchers.h"

namespace actbench {

// op on one element of type T (or, backward, on an element of each input), computed in f32.
template <class T, class Op>
struct Widened {
  template <class... In>
  __device__ T operator()(In... x) const { return narrow<T>(Op{}(widen(x)...)); }
};

template <class T, class Op>
void elementwise_thrust(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  if (n == 0) return;
  const T* x = static_cast<const T*>(p.x);
  T* y = static_cast<T*>(p.y);
  const auto policy = thrust::cuda::par_nosync.on(p.stream);
  if constexpr (std::is_invocable_v<Op, float, float>) {  // backward: the saved tensor and dy
    if (p.dy == nullptr) throw std::invalid_argument("backward thrust: no dy");
    thrust::transform(policy, x, x + n, static_cast<const T*>(p.dy), y, Widened<T, Op>{});
  } else {
    thrust::transform(policy, x, x + n, y, Widened<T, Op>{});
  }
  ACT_CHECK_LAUNCH();
}

// Every type with the functors the registry uses (see elementwise.cu).
template <class T>
struct ThrustLaunchers {
  static const Launcher kAll[];
};
template <class T>
const Launcher ThrustLaunchers<T>::kAll[] = {elementwise_thrust<T, Sigmoid>, elementwise_thrust<T, Tanh>,
                                             elementwise_thrust<T, Relu>,    elementwise_thrust<T, Gelu>,
                                             elementwise_thrust<T, GeluTanh>, elementwise_thrust<T, Silu>,
                                             elementwise_thrust<T, SigmoidGrad>, elementwise_thrust<T, TanhGrad>,
                                             elementwise_thrust<T, ReluGrad>};
template struct ThrustLaunchers<float>;
template struct ThrustLaunchers<__half>;
template struct ThrustLaunchers<__nv_bfloat16>;

}  // namespace actbench
