// The GPU as the harness sees it: whether there is one (and if not, why), what it is, and
// RAII device memory. Nothing here touches CUDA until called, so test discovery and
// `actbench --list` never need a device.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/common/cuda_check.h"

namespace actbench {

struct GpuStatus {
  bool available = false;
  std::string reason;  // why not, when !available: one line for users
  int device_count = 0;  // devices CUDA sees (a bad index with devices present is a usage error)
};

// Never throws. Both "no device" (100) and "driver insufficient" (35, what a machine with the
// toolkit and no driver reports) count as no GPU; so does an out-of-range device index.
GpuStatus probe_gpu(int device);

struct DeviceInfo {
  std::string name;
  int device = 0;
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  int l2_bytes = 0;
  size_t total_bytes = 0;
  double theoretical_bw_gbs = 0.0;  // 2 (DDR) * memory clock * bus width
  int driver_version = 0;
  int runtime_version = 0;
};

// Selects `device` (cudaSetDevice) and describes it. Throws CudaError.
DeviceInfo device_info(int device);

// Free device memory now, in bytes.
size_t free_device_bytes();

// Owning device allocation of `count` floats (or bytes with the byte constructor).
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* get() const { return ptr_; }
  float* floats() const { return static_cast<float*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace actbench
