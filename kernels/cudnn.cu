// cuDNN references (built only when CMake found cuDNN, ACTBENCH_HAVE_CUDNN):
//
//   cudnn_activation<T, A>  `cudnn` of sigmoid, tanh, relu, silu: cudnnActivationForward
//                           (SIGMOID, TANH, RELU, SWISH with beta 1; NaN propagated), y = act(x)
//                           with alpha = 1, beta = 0. cuDNN has no GELU mode.
//   cudnn_activation_backward<T, A>  `*_backward/cudnn` of sigmoid, tanh, relu:
//                           cudnnActivationBackward, dx from the saved tensor and dy.
//   cudnn_softmax<T>        `softmax/cudnn`: cudnnSoftmaxForward (ACCURATE: max-subtracted;
//                           INSTANCE: over C * H * W of each N).
//   cudnn_softmax_backward<T>  `softmax_backward/cudnn`: cudnnSoftmaxBackward with the same
//                           algorithm, mode and descriptor: dx from y (p.x) and dy (p.dy).
//
// T is float, __half or __nv_bfloat16 (CUDNN_DATA_FLOAT, _HALF, _BFLOAT16; alpha and beta are
// floats for all three). All see the problem as an NCHW tensor of rows x cols x 1 x 1, so INSTANCE mode is the
// row-wise softmax and the activation covers all rows * cols elements. The handle is created
// on the first call (on the device current then) and kept for the process; descriptors are
// made once per shape and cached, so a timed call does one cudnnSetStream and the cuDNN call.
// cudnnActivationForward is marked deprecated in cuDNN 9 (warnings only with
// CUDNN_WARN_DEPRECATED) but remains the library's one-call eltwise activation.
#include <cudnn.h>

#include <climits>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "common/cuda_check.h"
#include "launchers.h"

namespace actbench {

namespace {

void cudnn_check(cudnnStatus_t status, const char* call) {
  if (status != CUDNN_STATUS_SUCCESS) {
    throw std::runtime_error(std::string(call) + " failed: " + cudnnGetErrorString(status) +
                             " (cudnnStatus_t " + std::to_string(static_cast<int>(status)) + ")");
  }
}

// Serializes every use of the shared handle (cudnnSetStream + the call) and the cache.
std::mutex& cudnn_mutex() {
  static std::mutex mutex;
  return mutex;
}

cudnnHandle_t handle() {
  // Thread-safe static: created once; a throwing cudnnCreate is retried on the next call.
  // Never destroyed: tearing it down at exit could run after the CUDA context is gone.
  static const cudnnHandle_t h = [] {
    cudnnHandle_t created = nullptr;
    cudnn_check(cudnnCreate(&created), "cudnnCreate");
    return created;
  }();
  return h;
}

using TensorDesc = std::unique_ptr<std::remove_pointer_t<cudnnTensorDescriptor_t>,
                                   decltype(&cudnnDestroyTensorDescriptor)>;

template <class T> constexpr cudnnDataType_t kDataType = CUDNN_DATA_FLOAT;
template <> constexpr cudnnDataType_t kDataType<__half> = CUDNN_DATA_HALF;
template <> constexpr cudnnDataType_t kDataType<__nv_bfloat16> = CUDNN_DATA_BFLOAT16;

// The rows x cols x 1 x 1 descriptor of `type`; call with cudnn_mutex() held. cuDNN's
// dimensions and strides are int: shapes beyond that are rejected here rather than truncated.
cudnnTensorDescriptor_t tensor_desc(cudnnDataType_t type, int64_t rows, int64_t cols) {
  if (rows < 1 || cols < 1 || rows > INT_MAX / cols) {
    throw std::invalid_argument("cuDNN: a " + std::to_string(rows) + " x " +
                                std::to_string(cols) +
                                " tensor does not fit cuDNN's int dimensions (rows * cols must "
                                "be in [1, " + std::to_string(INT_MAX) + "])");
  }
  static std::map<std::tuple<cudnnDataType_t, int64_t, int64_t>, TensorDesc> cache;
  const auto key = std::make_tuple(type, rows, cols);
  if (const auto it = cache.find(key); it != cache.end()) return it->second.get();
  cudnnTensorDescriptor_t raw = nullptr;
  cudnn_check(cudnnCreateTensorDescriptor(&raw), "cudnnCreateTensorDescriptor");
  TensorDesc desc(raw, &cudnnDestroyTensorDescriptor);
  cudnn_check(cudnnSetTensor4dDescriptor(raw, CUDNN_TENSOR_NCHW, type,
                                         static_cast<int>(rows), static_cast<int>(cols), 1, 1),
              "cudnnSetTensor4dDescriptor");
  return cache.emplace(key, std::move(desc)).first->second.get();
}

template <Activation A>
constexpr cudnnActivationMode_t activation_mode() {
  static_assert(A == Activation::Sigmoid || A == Activation::Tanh || A == Activation::Relu ||
                    A == Activation::Silu,
                "cudnn_activation supports Sigmoid, Tanh, Relu and Silu (SWISH)");
  return A == Activation::Sigmoid ? CUDNN_ACTIVATION_SIGMOID
         : A == Activation::Tanh  ? CUDNN_ACTIVATION_TANH
         : A == Activation::Relu  ? CUDNN_ACTIVATION_RELU
                                  : CUDNN_ACTIVATION_SWISH;
}

template <Activation A>
cudnnActivationDescriptor_t activation_desc() {
  static const cudnnActivationDescriptor_t desc = [] {
    cudnnActivationDescriptor_t created = nullptr;
    cudnn_check(cudnnCreateActivationDescriptor(&created), "cudnnCreateActivationDescriptor");
    // relu(NaN) is NaN (ops.h): propagate. The coefficient is only used by clipped modes.
    cudnnStatus_t status = cudnnSetActivationDescriptor(created, activation_mode<A>(), CUDNN_PROPAGATE_NAN, 0.0);
    // SWISH is x * sigmoid(beta x): beta = 1 is SiLU.
    if (status == CUDNN_STATUS_SUCCESS && A == Activation::Silu) {
      status = cudnnSetActivationDescriptorSwishBeta(created, 1.0);
    }
    if (status != CUDNN_STATUS_SUCCESS) cudnnDestroyActivationDescriptor(created);
    cudnn_check(status, "cudnnSetActivationDescriptor");
    return created;
  }();
  return desc;
}

// The one way every variant here calls cuDNN: nothing for an empty problem (and dy required
// by a backward one), then, with the handle's lock held and on p.stream, call(handle, the
// rows x cols descriptor of T, &alpha = 1, &beta = 0), whose status names the function.
template <class T, class Call>
void call_cudnn(const Problem& p, bool backward, Call call) {
  if (p.rows * p.cols == 0) return;
  if (backward && p.dy == nullptr) throw std::invalid_argument("cuDNN backward: no dy");
  const std::lock_guard<std::mutex> lock(cudnn_mutex());
  const cudnnTensorDescriptor_t t = tensor_desc(kDataType<T>, p.rows, p.cols);
  const cudnnHandle_t h = handle();
  cudnn_check(cudnnSetStream(h, p.stream), "cudnnSetStream");
  const float one = 1.0f, zero = 0.0f;
  call(h, t, &one, &zero);
  ACT_CHECK_LAUNCH();
}

}  // namespace

template <class T, Activation A>
void cudnn_activation(const Problem& p) {
  call_cudnn<T>(p, false, [&](cudnnHandle_t h, cudnnTensorDescriptor_t t, const float* one, const float* zero) {
    cudnn_check(cudnnActivationForward(h, activation_desc<A>(), one, t, p.x, zero, t, p.y), "cudnnActivationForward");
  });
}

// cuDNN takes the forward's input x and output y; a backward family keeps one saved tensor
// (registry.h, saves_input), passed as both: SIGMOID and TANH differentiate from y, RELU's mask
// is the same from x or y = relu(x) (y > 0 exactly where x > 0). The verification before
// timing is what shows whether this cuDNN reads the other one.
template <class T, Activation A>
void cudnn_activation_backward(const Problem& p) {
  call_cudnn<T>(p, true, [&](cudnnHandle_t h, cudnnTensorDescriptor_t t, const float* one, const float* zero) {
    cudnn_check(cudnnActivationBackward(h, activation_desc<A>(), one, t, p.x, t, p.dy, t, p.x, zero, t, p.y),
                "cudnnActivationBackward");
  });
}

template <class T>
void cudnn_softmax(const Problem& p) {
  call_cudnn<T>(p, false, [&](cudnnHandle_t h, cudnnTensorDescriptor_t t, const float* one, const float* zero) {
    cudnn_check(cudnnSoftmaxForward(h, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_INSTANCE, one, t, p.x, zero, t, p.y),
                "cudnnSoftmaxForward");
  });
}

template <class T>
void cudnn_softmax_backward(const Problem& p) {
  call_cudnn<T>(p, true, [&](cudnnHandle_t h, cudnnTensorDescriptor_t t, const float* one, const float* zero) {
    cudnn_check(cudnnSoftmaxBackward(h, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_INSTANCE, one, t, p.x, t, p.dy,
                                     zero, t, p.y),
                "cudnnSoftmaxBackward");
  });
}

// Every type with the activations the registry uses (see elementwise.cu).
template <class T>
struct CudnnLaunchers {
  static const Launcher kAll[];
};
template <class T>
const Launcher CudnnLaunchers<T>::kAll[] = {
    cudnn_activation<T, Activation::Sigmoid>, cudnn_activation<T, Activation::Tanh>,
    cudnn_activation<T, Activation::Relu>, cudnn_activation<T, Activation::Silu>, cudnn_softmax<T>,
    cudnn_activation_backward<T, Activation::Sigmoid>, cudnn_activation_backward<T, Activation::Tanh>,
    cudnn_activation_backward<T, Activation::Relu>, cudnn_softmax_backward<T>};
template struct CudnnLaunchers<float>;
template struct CudnnLaunchers<__half>;
template struct CudnnLaunchers<__nv_bfloat16>;

}  // namespace actbench
