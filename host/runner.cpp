#include "host/runner.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "host/gpu.h"
#include "host/inputs.h"

namespace actbench {

namespace {

// Output buffers are filled with 0xFF bytes: every float is a NaN, so an element the variant
// never wrote fails the comparison, and the slack around the output must still hold this
// pattern afterwards (a write out of bounds fails the run).
constexpr unsigned char kPoison = 0xFF;
constexpr int64_t kSlack = 64;  // floats of canary after the output (and up to 3 before)

void check_canary(const std::vector<float>& y, int64_t offset, int64_t count, const Variant& v) {
  auto intact = [&](int64_t i) {
    unsigned char bytes[sizeof(float)];
    std::memcpy(bytes, &y[i], sizeof bytes);
    for (unsigned char b : bytes) {
      if (b != kPoison) return false;
    }
    return true;
  };
  auto check = [&](int64_t from, int64_t to) {
    for (int64_t i = from; i < to; ++i) {
      if (!intact(i)) {
        throw std::runtime_error(v.id() + " wrote outside its output (float " +
                                 std::to_string(i - offset) + " relative to the output start)");
      }
    }
  };
  check(0, offset);
  check(offset + count, static_cast<int64_t>(y.size()));
}

std::vector<float> run_gpu(const Variant& v, const Case& c, int x_offset, int y_offset) {
  const int64_t count = c.rows * c.cols;
  const size_t slack_bytes = kSlack * sizeof(float);
  DeviceBuffer x((x_offset + count) * sizeof(float));
  DeviceBuffer bias((x_offset + c.bias.size()) * sizeof(float));
  DeviceBuffer y((y_offset + count) * sizeof(float) + slack_bytes);
  DeviceBuffer workspace(v.workspace(c.rows, c.cols));
  cudaStream_t stream = nullptr;
  ACT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  try {
    ACT_CUDA_CHECK(cudaMemcpy(x.floats() + x_offset, c.x.data(), count * sizeof(float),
                              cudaMemcpyHostToDevice));
    if (!c.bias.empty()) {
      ACT_CUDA_CHECK(cudaMemcpy(bias.floats() + x_offset, c.bias.data(),
                                c.bias.size() * sizeof(float), cudaMemcpyHostToDevice));
    }
    ACT_CUDA_CHECK(cudaMemset(y.get(), kPoison, y.bytes()));
    v.launch({x.floats() + x_offset, c.bias.empty() ? nullptr : bias.floats() + x_offset,
              y.floats() + y_offset, c.rows, c.cols, workspace.get(), stream});
    ACT_CUDA_CHECK(cudaStreamSynchronize(stream));
    ACT_CUDA_CHECK(cudaStreamDestroy(stream));
  } catch (...) {
    cudaStreamDestroy(stream);
    throw;
  }
  std::vector<float> out(y.bytes() / sizeof(float));
  ACT_CUDA_CHECK(cudaMemcpy(out.data(), y.get(), y.bytes(), cudaMemcpyDeviceToHost));
  check_canary(out, y_offset, count, v);
  return {out.begin() + y_offset, out.begin() + y_offset + count};
}

std::vector<float> run_cpu(const Variant& v, const Case& c, int x_offset, int y_offset) {
  const int64_t count = c.rows * c.cols;
  std::vector<float> x(x_offset + count), bias(x_offset + c.bias.size());
  std::memcpy(x.data() + x_offset, c.x.data(), count * sizeof(float));
  if (!c.bias.empty()) std::memcpy(bias.data() + x_offset, c.bias.data(), c.bias.size() * sizeof(float));
  std::vector<float> y(y_offset + count + kSlack);
  std::memset(y.data(), kPoison, y.size() * sizeof(float));
  std::vector<unsigned char> workspace(v.workspace(c.rows, c.cols));
  v.launch({x.data() + x_offset, c.bias.empty() ? nullptr : bias.data() + x_offset, y.data() + y_offset,
            c.rows, c.cols, workspace.data(), nullptr});
  check_canary(y, y_offset, count, v);
  return {y.begin() + y_offset, y.begin() + y_offset + count};
}

}  // namespace

Case make_case(const Family& family, int64_t rows, int64_t cols, uint64_t seed) {
  if (rows < 1 || cols < 1) throw std::invalid_argument("make_case: rows and cols must be >= 1");
  Case c;
  c.rows = rows;
  c.cols = cols;
  c.x = family.act == Activation::Softmax ? softmax_input(rows, cols, seed)
                                          : activation_input(rows * cols, seed);
  if (family.bias) c.bias = bias_input(cols, seed);
  return c;
}

std::vector<float> run_once(const Variant& v, const Case& c, int x_offset, int y_offset) {
  if (x_offset < 0 || x_offset > 3 || y_offset < 0 || y_offset > 3) {
    throw std::invalid_argument("run_once: offsets are 0..3 floats");
  }
  return v.device == Device::Gpu ? run_gpu(v, c, x_offset, y_offset) : run_cpu(v, c, x_offset, y_offset);
}

}  // namespace actbench
