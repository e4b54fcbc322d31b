#include "host/gpu.h"

#include <utility>

namespace actbench {

GpuStatus probe_gpu(int device) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return {false, std::string("cudaGetDeviceCount failed with ") + cudaGetErrorName(err) + " (" +
                       cudaGetErrorString(err) + "): no usable NVIDIA GPU or driver on this machine"};
  }
  if (count == 0) return {false, "no CUDA device found", 0};
  if (device < 0 || device >= count) {
    return {false,
            "device " + std::to_string(device) + " requested, but " + std::to_string(count) +
                " device(s) present (valid: 0.." + std::to_string(count - 1) + ")",
            count};
  }
  return {true, "", count};
}

DeviceInfo device_info(int device) {
  ACT_CUDA_CHECK(cudaSetDevice(device));
  cudaDeviceProp prop{};
  ACT_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  DeviceInfo info;
  info.name = prop.name;
  info.device = device;
  info.cc_major = prop.major;
  info.cc_minor = prop.minor;
  info.sm_count = prop.multiProcessorCount;
  info.l2_bytes = prop.l2CacheSize;
  info.total_bytes = prop.totalGlobalMem;
  // cudaDeviceProp lost memoryClockRate/memoryBusWidth in CUDA 13: ask the attributes.
  int clock_khz = 0, bus_bits = 0;
  ACT_CUDA_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, device));
  ACT_CUDA_CHECK(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, device));
  info.theoretical_bw_gbs = 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
  ACT_CUDA_CHECK(cudaDriverGetVersion(&info.driver_version));
  ACT_CUDA_CHECK(cudaRuntimeGetVersion(&info.runtime_version));
  return info;
}

size_t free_device_bytes() {
  size_t free_bytes = 0, total_bytes = 0;
  ACT_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  return free_bytes;
}

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
  if (bytes > 0) ACT_CUDA_CHECK(cudaMalloc(&ptr_, bytes));
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) cudaFree(ptr_);  // a destructor must not throw; a failed free is not recoverable
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : ptr_(std::exchange(other.ptr_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    if (ptr_) cudaFree(ptr_);
    ptr_ = std::exchange(other.ptr_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

}  // namespace actbench
