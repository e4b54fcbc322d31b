#include "host/runner.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "host/gpu.h"
#include "host/inputs.h"
#include "kernels/launchers.h"

namespace actbench {

namespace {

// A NaN no arithmetic produces from our inputs (NaN results carry the input NaN's payload,
// and the special values use the default quiet NaN): an element still holding exactly these
// bits was never written.
constexpr uint32_t kPoisonBits = 0x7fc0deadu;
// Guard floats on each side of y; a multiple of 4, so y's placement alone sets its alignment.
constexpr int64_t kGuard = 64;

float poison() {
  float f;
  std::memcpy(&f, &kPoisonBits, sizeof f);
  return f;
}

bool is_poison(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits == kPoisonBits;
}

// `buffer` holds [guard | placement | y (count) | guard]; throws on a guard overwritten or an
// element of y left unwritten, naming the first position relative to y[0].
void check_written(const std::vector<float>& buffer, int64_t begin, int64_t count, const Variant& v) {
  const int64_t end = begin + count;
  auto first = [&](int64_t from, int64_t to, bool want_poison) {
    for (int64_t i = from; i < to; ++i) {
      if (is_poison(buffer[i]) != want_poison) return i;
    }
    return int64_t{-1};
  };
  for (int64_t i : {first(0, begin, true), first(end, static_cast<int64_t>(buffer.size()), true)}) {
    if (i >= 0) {
      throw std::runtime_error(v.id() + " wrote outside its output, at y[" + std::to_string(i - begin) + "]");
    }
  }
  if (const int64_t i = first(begin, end, false); i >= 0) {
    throw std::runtime_error(v.id() + " left its output unwritten, first at y[" + std::to_string(i - begin) + "]");
  }
}

// Where each array starts in its buffer, and how long the buffers are.
struct Layout {
  int64_t count, y_begin, y_floats;
  Layout(const Case& c, const Placement& at)
      : count(c.rows * c.cols), y_begin(kGuard + at.y), y_floats(kGuard + at.y + count + kGuard) {}
};

std::vector<float> run_gpu(const Variant& v, const Case& c, const Placement& at) {
  const Layout l(c, at);
  DeviceBuffer x((at.x + l.count) * sizeof(float));
  DeviceBuffer bias((at.bias + c.bias.size()) * sizeof(float));
  DeviceBuffer y(l.y_floats * sizeof(float));
  DeviceBuffer workspace(v.workspace(c.rows, c.cols));
  cudaStream_t stream = nullptr;
  ACT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  try {
    // On the variant's stream: a pageable cudaMemcpy may return before its DMA lands, and
    // a non-blocking stream is not ordered after it.
    ACT_CUDA_CHECK(cudaMemcpyAsync(x.floats() + at.x, c.x.data(), l.count * sizeof(float),
                                   cudaMemcpyHostToDevice, stream));
    if (!c.bias.empty()) {
      ACT_CUDA_CHECK(cudaMemcpyAsync(bias.floats() + at.bias, c.bias.data(), c.bias.size() * sizeof(float),
                                     cudaMemcpyHostToDevice, stream));
    }
    fill_floats(y.floats(), l.y_floats, poison(), stream);
    v.launch({x.floats() + at.x, c.bias.empty() ? nullptr : bias.floats() + at.bias,
              y.floats() + l.y_begin, c.rows, c.cols, workspace.get(), stream});
    ACT_CUDA_CHECK(cudaStreamSynchronize(stream));
    ACT_CUDA_CHECK(cudaStreamDestroy(stream));
  } catch (...) {
    cudaStreamDestroy(stream);
    throw;
  }
  std::vector<float> out(l.y_floats);
  ACT_CUDA_CHECK(cudaMemcpy(out.data(), y.get(), y.bytes(), cudaMemcpyDeviceToHost));
  check_written(out, l.y_begin, l.count, v);
  return {out.begin() + l.y_begin, out.begin() + l.y_begin + l.count};
}

std::vector<float> run_cpu(const Variant& v, const Case& c, const Placement& at) {
  const Layout l(c, at);
  std::vector<float> x(at.x + l.count), bias(at.bias + c.bias.size()), y(l.y_floats, poison());
  std::copy(c.x.begin(), c.x.end(), x.begin() + at.x);
  std::copy(c.bias.begin(), c.bias.end(), bias.begin() + at.bias);
  std::vector<unsigned char> workspace(v.workspace(c.rows, c.cols));
  v.launch({x.data() + at.x, c.bias.empty() ? nullptr : bias.data() + at.bias, y.data() + l.y_begin,
            c.rows, c.cols, workspace.data(), nullptr});
  check_written(y, l.y_begin, l.count, v);
  return {y.begin() + l.y_begin, y.begin() + l.y_begin + l.count};
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

std::vector<float> run_once(const Variant& v, const Case& c, Placement at) {
  for (int offset : {at.x, at.y, at.bias}) {
    if (offset < 0 || offset > 3) throw std::invalid_argument("run_once: placements are 0..3 floats");
  }
  return v.device == Device::Gpu ? run_gpu(v, c, at) : run_cpu(v, c, at);
}

}  // namespace actbench
