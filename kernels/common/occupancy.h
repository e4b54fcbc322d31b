// How many blocks of a kernel the current device runs at once: the grid cap of every
// launcher whose kernels loop over their work. Device attributes and occupancy are queried
// once per (device, kernel, block size, shared memory) and cached, so a timed launch makes no
// query. Host code for the launchers (nvcc translation units).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

#include "cuda_check.h"

namespace actbench {

// An attribute of the current device, queried once per (device, attribute).
inline int device_attribute(cudaDeviceAttr attribute) {
  static std::mutex mutex;
  static std::map<std::pair<int, cudaDeviceAttr>, int> cache;
  int device = 0;
  ACT_CUDA_CHECK(cudaGetDevice(&device));
  const std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_pair(device, attribute);
  if (const auto it = cache.find(key); it != cache.end()) return it->second;
  int value = 0;
  ACT_CUDA_CHECK(cudaDeviceGetAttribute(&value, attribute, device));
  return cache[key] = value;
}

inline int sm_count() { return device_attribute(cudaDevAttrMultiProcessorCount); }

// The current device's compute capability as major * 10 + minor (90 for sm_90).
inline int compute_capability() {
  return 10 * device_attribute(cudaDevAttrComputeCapabilityMajor) + device_attribute(cudaDevAttrComputeCapabilityMinor);
}

// SMs x blocks per SM at `threads` threads and `dynamic_smem` bytes of dynamic shared memory.
// Above the default 48 KB, the first call also raises the kernel's dynamic shared-memory limit.
inline int resident_blocks(const void* kernel, int threads, size_t dynamic_smem = 0) {
  static std::mutex mutex;
  static std::map<std::tuple<int, const void*, int, size_t>, int> cache;
  int device = 0;
  ACT_CUDA_CHECK(cudaGetDevice(&device));
  const std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(device, kernel, threads, dynamic_smem);
  if (const auto it = cache.find(key); it != cache.end()) return it->second;
  if (dynamic_smem > 48 * 1024) {
    ACT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(dynamic_smem)));
  }
  int per_sm = 0;
  ACT_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, dynamic_smem));
  if (per_sm < 1) throw std::runtime_error("a kernel does not fit on an SM of this device");
  return cache[key] = sm_count() * per_sm;
}

template <class... Params>
int resident_blocks(void (*kernel)(Params...), int threads, size_t dynamic_smem = 0) {
  return resident_blocks(reinterpret_cast<const void*>(kernel), threads, dynamic_smem);
}

// The launch configuration of `grid` blocks of `threads` threads in clusters of `blocks`
// along x, on `stream`. Not copyable: the configuration points at its own attribute.
struct ClusterLaunch {
  cudaLaunchAttribute cluster{};
  cudaLaunchConfig_t config{};
  ClusterLaunch(int64_t grid, int threads, int blocks, cudaStream_t stream) {
    cluster.id = cudaLaunchAttributeClusterDimension;
    cluster.val.clusterDim.x = static_cast<unsigned>(blocks);
    cluster.val.clusterDim.y = cluster.val.clusterDim.z = 1;
    config.gridDim = dim3(static_cast<unsigned>(grid));
    config.blockDim = dim3(static_cast<unsigned>(threads));
    config.stream = stream;
    config.attrs = &cluster;
    config.numAttrs = 1;
  }
  ClusterLaunch(const ClusterLaunch&) = delete;
  ClusterLaunch& operator=(const ClusterLaunch&) = delete;
};

// Clusters of `blocks` blocks of `threads` threads the current device runs at once
// (cudaOccupancyMaxActiveClusters), queried once per (device, kernel, shape): 0 when not one
// fits (16 one-SM blocks on a part whose GPCs have fewer SMs). Above the portable 8 blocks, the
// first call also allows the kernel the non-portable cluster size.
template <class... Params>
int resident_clusters(void (*kernel)(Params...), int threads, int blocks) {
  static std::mutex mutex;
  static std::map<std::tuple<int, const void*, int, int>, int> cache;
  int device = 0;
  ACT_CUDA_CHECK(cudaGetDevice(&device));
  const std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(device, reinterpret_cast<const void*>(kernel), threads, blocks);
  if (const auto it = cache.find(key); it != cache.end()) return it->second;
  if (blocks > 8) ACT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed, 1));
  const ClusterLaunch one(blocks, threads, blocks, nullptr);
  int clusters = 0;
  ACT_CUDA_CHECK(cudaOccupancyMaxActiveClusters(&clusters, kernel, &one.config));
  return cache[key] = clusters;
}

}  // namespace actbench
