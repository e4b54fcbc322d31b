// GPU timing, the harness's contract: CUDA events around the enqueued work alone, with the L2
// flushed before each timed iteration (cold) unless the caller asks for warm runs. The flush
// reads a buffer twice the L2's size, so it leaves no dirty line to be written back inside the
// timed window; then the stream is kept busy for kLeadNs, so that the start event and the
// timed work are both enqueued before the GPU reaches them (the host's launch latency is not
// timed, warm or cold). The buffers and the events are allocated once.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <functional>
#include <utility>

#include "host/gpu.h"

namespace actbench {

class GpuTimer {
 public:
  // Longer than the host needs to record an event and enqueue a launch (a few microseconds;
  // a library call with host-side set-up may take more, and then shows it).
  static constexpr uint64_t kLeadNs = 20000;

  GpuTimer(const DeviceInfo& device, cudaStream_t stream, bool flush_l2);
  ~GpuTimer();
  GpuTimer(const GpuTimer&) = delete;
  GpuTimer& operator=(const GpuTimer&) = delete;

  // Milliseconds between events recorded around one call of `enqueue` on the stream.
  double time_ms(const std::function<void()>& enqueue);

  // Timed calls since the last take_late() whose start event had already passed when
  // `enqueue` returned: the GPU may have waited for the host, whose latency is then timed.
  // Returns (late, calls) and starts counting anew.
  std::pair<int64_t, int64_t> take_late();

 private:
  cudaStream_t stream_;
  DeviceBuffer flush_;  // empty when warm
  DeviceBuffer sink_;   // the flush kernel's never-taken store
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
  int64_t late_ = 0, calls_ = 0;
};

}  // namespace actbench
