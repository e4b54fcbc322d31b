// Harness utilities of the GPU timer (host/timer.cpp), not variants:
//
//   l2_flush_read  reads a buffer (twice the L2) with L2-allocating 16-byte loads. Whatever the
//                  previous iteration left in the L2, its output's dirty lines included, is
//                  evicted and written back during the flush, and the flush itself leaves only
//                  clean lines: no write-back of the flush lands inside the next timed window,
//                  as it would after a flush that writes (cudaMemset).
//   gpu_sleep      keeps the stream busy for a given time (%globaltimer), so that the start event
//                  and the timed launch are enqueued before the GPU reaches them: the host's
//                  launch latency stays out of the measured interval.
#include <algorithm>
#include <cstdint>

#include "common/cuda_check.h"
#include "common/occupancy.h"
#include "launchers.h"

namespace actbench {

namespace {

constexpr int kFlushThreads = 512;

// The XOR of the loads is stored only when it equals an arbitrary constant: the compiler cannot
// drop loads whose value decides a store (the buffer holds zeros, so nothing is ever stored).
__global__ void l2_flush_read_kernel(const uint4* __restrict__ p, int64_t n, unsigned* __restrict__ sink) {
  unsigned acc = 0;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const uint4 v = __ldcg(p + i);  // cache-global: allocates in L2, bypasses L1
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == 0x5eed5eedu) *sink = acc;
}

__global__ void gpu_sleep_kernel(uint64_t ns) {
  uint64_t start = 0, now = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  do {
    __nanosleep(1000);
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  } while (now - start < ns);
}

}  // namespace

void l2_flush_read(const void* buffer, size_t bytes, unsigned* sink, cudaStream_t stream) {
  const int64_t n = static_cast<int64_t>(bytes / sizeof(uint4));
  if (n == 0) return;
  const int grid = static_cast<int>(std::min<int64_t>((n + kFlushThreads - 1) / kFlushThreads,
                                                      resident_blocks(l2_flush_read_kernel, kFlushThreads)));
  l2_flush_read_kernel<<<grid, kFlushThreads, 0, stream>>>(static_cast<const uint4*>(buffer), n, sink);
  ACT_CHECK_LAUNCH();
}

void gpu_sleep(uint64_t ns, cudaStream_t stream) {
  gpu_sleep_kernel<<<1, 1, 0, stream>>>(ns);
  ACT_CHECK_LAUNCH();
}

}  // namespace actbench
