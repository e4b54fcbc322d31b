// GPU timing, the harness's contract: CUDA events around the enqueued work alone, with the L2
// flushed before each timed iteration (cold) unless the caller asks for warm runs. The flush
// buffer (twice the L2) and the events are allocated once.
#pragma once

#include <cuda_runtime_api.h>

#include <functional>

#include "host/gpu.h"

namespace actbench {

class GpuTimer {
 public:
  GpuTimer(const DeviceInfo& device, cudaStream_t stream, bool flush_l2);
  ~GpuTimer();
  GpuTimer(const GpuTimer&) = delete;
  GpuTimer& operator=(const GpuTimer&) = delete;

  // Milliseconds between events recorded around one call of `enqueue` on the stream.
  double time_ms(const std::function<void()>& enqueue);

 private:
  cudaStream_t stream_;
  DeviceBuffer flush_;  // empty when warm
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

}  // namespace actbench
