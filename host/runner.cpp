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

// A NaN of each type that no arithmetic produces from our inputs (NaN results carry the
// input NaN's payload or are the canonical NaN, and the special values use the default quiet
// NaN): an element still holding exactly these bits was never written.
uint32_t poison_bits(DType t) { return t == DType::F32 ? 0x7fc0deadu : t == DType::F16 ? 0x7eadu : 0x7fadu; }

// Guard elements on each side of y; a multiple of 8, so y's placement alone sets its alignment.
constexpr int64_t kGuard = 64;

// Elements of type t: `count` of them as raw bytes, with typed access to their bit patterns.
struct Elements {
  DType type;
  std::vector<unsigned char> bytes;

  // `count` elements holding `fill` (0: the vector's own zeroing is enough).
  Elements(DType t, int64_t count, uint32_t fill) : type(t), bytes(static_cast<size_t>(count) * dtype_bytes(t)) {
    if (fill == 0) return;
    if (type == DType::F32) {
      std::fill_n(reinterpret_cast<uint32_t*>(bytes.data()), count, fill);
    } else {
      std::fill_n(reinterpret_cast<uint16_t*>(bytes.data()), count, static_cast<uint16_t>(fill));
    }
  }
  int64_t size() const { return static_cast<int64_t>(bytes.size() / dtype_bytes(type)); }
  uint32_t bits(int64_t i) const {
    if (type == DType::F32) {
      uint32_t u;
      std::memcpy(&u, &bytes[4 * i], 4);
      return u;
    }
    uint16_t h;
    std::memcpy(&h, &bytes[2 * i], 2);
    return h;
  }
  void set(int64_t i, uint32_t u) {
    if (type == DType::F32) {
      std::memcpy(&bytes[4 * i], &u, 4);
    } else {
      const auto h = static_cast<uint16_t>(u);
      std::memcpy(&bytes[2 * i], &h, 2);
    }
  }
  void* at(int64_t i) { return bytes.data() + i * dtype_bytes(type); }
};

// `buffer` holds [guard | placement | y (count) | guard]; throws on a guard overwritten or an
// element of y left unwritten, naming the first position relative to y[0].
void check_written(const Elements& buffer, int64_t begin, int64_t count, const Variant& v) {
  const int64_t end = begin + count;
  const uint32_t poison = poison_bits(v.dtype);
  auto first = [&](int64_t from, int64_t to, bool want_poison) {
    for (int64_t i = from; i < to; ++i) {
      if ((buffer.bits(i) == poison) != want_poison) return i;
    }
    return int64_t{-1};
  };
  for (int64_t i : {first(0, begin, true), first(end, buffer.size(), true)}) {
    if (i >= 0) {
      throw std::runtime_error(v.id() + " wrote outside its output, at y[" + std::to_string(i - begin) + "]");
    }
  }
  if (const int64_t i = first(begin, end, false); i >= 0) {
    throw std::runtime_error(v.id() + " left its output unwritten, first at y[" + std::to_string(i - begin) + "]");
  }
}

// How many inputs and outputs there are, where y starts in its buffer, and how long that
// buffer is (in elements).
struct Layout {
  int64_t count, x_count, y_begin, y_elements;
  Layout(const Variant& v, const Case& c, const Placement& at)
      : count(c.rows * c.cols),
        x_count(c.rows * input_cols(*v.family, c.cols)),
        y_begin(kGuard + at.y),
        y_elements(kGuard + at.y + count + kGuard) {}
};

std::vector<float> output_of(const Elements& y, const Layout& l, const Variant& v) {
  check_written(y, l.y_begin, l.count, v);
  std::vector<float> out(static_cast<size_t>(l.count));
  decode(v.dtype, y.bytes.data() + l.y_begin * dtype_bytes(v.dtype), l.count, out.data());
  return out;
}

std::vector<float> run_gpu(const Variant& v, const Case& c, const Placement& at) {
  const Layout l(v, c, at);
  const size_t size = dtype_bytes(v.dtype);
  const std::vector<unsigned char> x_host = encode(v.dtype, c.x.data(), l.x_count);
  const std::vector<unsigned char> bias_host = encode(v.dtype, c.bias.data(), static_cast<int64_t>(c.bias.size()));
  DeviceBuffer x((at.x + l.x_count) * size);
  DeviceBuffer bias((at.bias + c.bias.size()) * size);
  DeviceBuffer y(l.y_elements * size);
  DeviceBuffer workspace(v.workspace(c.rows, c.cols));
  auto* x_at = static_cast<unsigned char*>(x.get()) + at.x * size;
  auto* bias_at = static_cast<unsigned char*>(bias.get()) + at.bias * size;
  auto* y_at = static_cast<unsigned char*>(y.get()) + l.y_begin * size;
  cudaStream_t stream = nullptr;
  ACT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  try {
    // On the variant's stream: a pageable cudaMemcpy may return before its DMA lands, and
    // a non-blocking stream is not ordered after it.
    ACT_CUDA_CHECK(cudaMemcpyAsync(x_at, x_host.data(), x_host.size(), cudaMemcpyHostToDevice, stream));
    if (!c.bias.empty()) {
      ACT_CUDA_CHECK(cudaMemcpyAsync(bias_at, bias_host.data(), bias_host.size(), cudaMemcpyHostToDevice, stream));
    }
    fill_bits(y.get(), l.y_elements, size, poison_bits(v.dtype), stream);
    v.launch({x_at, c.bias.empty() ? nullptr : bias_at, y_at, c.rows, c.cols, workspace.get(), stream});
    ACT_CUDA_CHECK(cudaStreamSynchronize(stream));
    ACT_CUDA_CHECK(cudaStreamDestroy(stream));
  } catch (...) {
    cudaStreamDestroy(stream);
    throw;
  }
  Elements out(v.dtype, l.y_elements, 0);
  ACT_CUDA_CHECK(cudaMemcpy(out.bytes.data(), y.get(), y.bytes(), cudaMemcpyDeviceToHost));
  return output_of(out, l, v);
}

std::vector<float> run_cpu(const Variant& v, const Case& c, const Placement& at) {
  const Layout l(v, c, at);
  const auto bias_count = static_cast<int64_t>(c.bias.size());
  // The buffers start 16-byte aligned (glibc's malloc on x86-64), the placements offset them.
  Elements x(v.dtype, at.x + l.x_count, 0), bias(v.dtype, at.bias + bias_count, 0);
  Elements y(v.dtype, l.y_elements, poison_bits(v.dtype));
  encode(v.dtype, c.x.data(), l.x_count, x.at(at.x));
  encode(v.dtype, c.bias.data(), bias_count, bias.at(at.bias));
  std::vector<unsigned char> workspace(v.workspace(c.rows, c.cols));
  v.launch({x.at(at.x), c.bias.empty() ? nullptr : bias.at(at.bias), y.at(l.y_begin), c.rows, c.cols,
            workspace.data(), nullptr});
  return output_of(y, l, v);
}

}  // namespace

Case make_case(const Family& family, DType t, int64_t rows, int64_t cols, uint64_t seed) {
  if (rows < 1 || cols < 1) throw std::invalid_argument("make_case: rows and cols must be >= 1");
  Case c;
  c.rows = rows;
  c.cols = cols;
  c.x = family.act == Activation::Softmax ? softmax_input(rows, cols, seed)
        : family.gated                    ? gated_input(rows, cols, seed)
                                          : activation_input(rows * cols, seed);
  if (family.bias) c.bias = bias_input(cols, seed);
  round_to_type(t, c.x);
  round_to_type(t, c.bias);
  return c;
}

std::vector<float> run_once(const Variant& v, const Case& c, Placement at) {
  const int most = static_cast<int>(16 / dtype_bytes(v.dtype)) - 1;
  for (int offset : {at.x, at.y, at.bias}) {
    if (offset < 0 || offset > most) {
      throw std::invalid_argument("run_once: placements of " + std::string(dtype_name(v.dtype)) + " are 0.." +
                                  std::to_string(most) + " elements");
    }
  }
  if (const int64_t inputs = c.rows * input_cols(*v.family, c.cols); static_cast<int64_t>(c.x.size()) != inputs) {
    throw std::invalid_argument("run_once: " + v.id() + " takes " + std::to_string(inputs) + " inputs for " +
                                std::to_string(c.rows) + " x " + std::to_string(c.cols) + " outputs, the case holds " +
                                std::to_string(c.x.size()));
  }
  return v.device == Device::Gpu ? run_gpu(v, c, at) : run_cpu(v, c, at);
}

}  // namespace actbench
