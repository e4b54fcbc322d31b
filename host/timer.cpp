#include "host/timer.h"

#include <utility>

#include "kernels/launchers.h"

namespace actbench {

GpuTimer::GpuTimer(const DeviceInfo& device, cudaStream_t stream, bool flush_l2)
    : stream_(stream),
      flush_(flush_l2 ? 2 * static_cast<size_t>(device.l2_bytes) : 0),
      sink_(sizeof(unsigned)) {
  if (flush_.bytes() > 0) {
    ACT_CUDA_CHECK(cudaMemsetAsync(flush_.get(), 0, flush_.bytes(), stream_));
    ACT_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  ACT_CUDA_CHECK(cudaEventCreate(&start_));
  ACT_CUDA_CHECK(cudaEventCreate(&stop_));
}

GpuTimer::~GpuTimer() {
  cudaEventDestroy(start_);
  cudaEventDestroy(stop_);
}

double GpuTimer::time_ms(const std::function<void()>& enqueue) {
  if (flush_.bytes() > 0) {
    l2_flush_read(flush_.get(), flush_.bytes(), static_cast<unsigned*>(sink_.get()), stream_);
  }
  gpu_sleep(kLeadNs, stream_);
  ACT_CUDA_CHECK(cudaEventRecord(start_, stream_));
  enqueue();
  const cudaError_t started = cudaEventQuery(start_);
  if (started != cudaErrorNotReady) ACT_CUDA_CHECK(started);
  late_ += started == cudaSuccess;
  ++calls_;
  ACT_CUDA_CHECK(cudaEventRecord(stop_, stream_));
  ACT_CUDA_CHECK(cudaEventSynchronize(stop_));
  float ms = 0.0f;
  ACT_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
  return ms;
}

std::pair<int64_t, int64_t> GpuTimer::take_late() {
  return {std::exchange(late_, 0), std::exchange(calls_, 0)};
}

}  // namespace actbench
