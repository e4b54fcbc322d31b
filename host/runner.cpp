#include "host/runner.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "host/gpu.h"
#include "host/inputs.h"
#include "host/reference.h"
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

// An output of `count` elements at `placement` past 16-byte alignment, between guard zones,
// poisoned: [guard | placement | count | guard].
struct Guarded {
  int64_t begin, count, elements;
  Guarded(int64_t n, int placement) : begin(kGuard + placement), count(n), elements(kGuard + placement + n + kGuard) {}
};

// The outputs of one call: y (dx), and a bias backward family's dbias (empty otherwise).
struct Layout {
  int64_t x_count;
  Guarded y, dbias;
  Layout(const Variant& v, const Case& c, const Placement& at)
      : x_count(c.rows * input_cols(*v.family, c.cols)),
        y(c.rows * c.cols, at.y),
        dbias(output_count(*v.family, c.rows, c.cols) - c.rows * c.cols, at.y) {}
};

// The checked outputs, y then dbias, as one vector.
std::vector<float> output_of(const Elements& y, const Elements& dbias, const Layout& l, const Variant& v) {
  check_written(y, l.y.begin, l.y.count, v);
  std::vector<float> out(static_cast<size_t>(l.y.count + l.dbias.count));
  decode(v.dtype, y.bytes.data() + l.y.begin * dtype_bytes(v.dtype), l.y.count, out.data());
  if (l.dbias.count > 0) {
    check_written(dbias, l.dbias.begin, l.dbias.count, v);
    decode(v.dtype, dbias.bytes.data() + l.dbias.begin * dtype_bytes(v.dtype), l.dbias.count, out.data() + l.y.count);
  }
  return out;
}

// Offsets `elements` elements of `size` bytes into p.
template <class P>
P* offset(P* p, int64_t elements, size_t size) {
  using Byte = std::conditional_t<std::is_const_v<P>, const unsigned char, unsigned char>;
  return reinterpret_cast<Byte*>(p) + elements * static_cast<int64_t>(size);
}

std::vector<float> run_gpu(const Variant& v, const Case& c, const Placement& at) {
  const Layout l(v, c, at);
  const size_t size = dtype_bytes(v.dtype);
  const auto dy_count = static_cast<int64_t>(c.dy.size()), bias_count = static_cast<int64_t>(c.bias.size());
  const std::vector<unsigned char> x_host = encode(v.dtype, c.x.data(), l.x_count);
  const std::vector<unsigned char> dy_host = encode(v.dtype, c.dy.data(), dy_count);
  const std::vector<unsigned char> bias_host = encode(v.dtype, c.bias.data(), bias_count);
  DeviceBuffer x((at.x + l.x_count) * size), dy((at.dy + dy_count) * size), bias((at.bias + bias_count) * size);
  DeviceBuffer y(l.y.elements * size), dbias(l.dbias.count > 0 ? l.dbias.elements * size : 0);
  DeviceBuffer workspace(v.workspace(c.rows, c.cols));
  void* x_at = offset(x.get(), at.x, size);
  void* dy_at = offset(dy.get(), at.dy, size);
  void* bias_at = offset(bias.get(), at.bias, size);
  cudaStream_t stream = nullptr;
  ACT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  try {
    // On the variant's stream: a pageable cudaMemcpy may return before its DMA lands, and
    // a non-blocking stream is not ordered after it.
    auto upload = [&](void* to, const std::vector<unsigned char>& from) {
      if (!from.empty()) ACT_CUDA_CHECK(cudaMemcpyAsync(to, from.data(), from.size(), cudaMemcpyHostToDevice, stream));
    };
    upload(x_at, x_host);
    upload(dy_at, dy_host);
    upload(bias_at, bias_host);
    fill_bits(y.get(), l.y.elements, size, poison_bits(v.dtype), stream);
    if (l.dbias.count > 0) fill_bits(dbias.get(), l.dbias.elements, size, poison_bits(v.dtype), stream);
    Problem p{x_at, bias_count ? bias_at : nullptr, offset(y.get(), l.y.begin, size), c.rows, c.cols,
              workspace.get(), stream};
    p.dy = dy_count ? dy_at : nullptr;
    p.dbias = l.dbias.count > 0 ? offset(dbias.get(), l.dbias.begin, size) : nullptr;
    v.launch(p);
    ACT_CUDA_CHECK(cudaStreamSynchronize(stream));
    ACT_CUDA_CHECK(cudaStreamDestroy(stream));
  } catch (...) {
    cudaStreamDestroy(stream);
    throw;
  }
  Elements y_out(v.dtype, l.y.elements, 0), dbias_out(v.dtype, l.dbias.count > 0 ? l.dbias.elements : 0, 0);
  ACT_CUDA_CHECK(cudaMemcpy(y_out.bytes.data(), y.get(), y.bytes(), cudaMemcpyDeviceToHost));
  if (l.dbias.count > 0) {
    ACT_CUDA_CHECK(cudaMemcpy(dbias_out.bytes.data(), dbias.get(), dbias.bytes(), cudaMemcpyDeviceToHost));
  }
  return output_of(y_out, dbias_out, l, v);
}

std::vector<float> run_cpu(const Variant& v, const Case& c, const Placement& at) {
  const Layout l(v, c, at);
  const auto bias_count = static_cast<int64_t>(c.bias.size()), dy_count = static_cast<int64_t>(c.dy.size());
  // The buffers start 16-byte aligned (glibc's malloc on x86-64), the placements offset them.
  Elements x(v.dtype, at.x + l.x_count, 0), bias(v.dtype, at.bias + bias_count, 0), dy(v.dtype, at.dy + dy_count, 0);
  Elements y(v.dtype, l.y.elements, poison_bits(v.dtype));
  Elements dbias(v.dtype, l.dbias.count > 0 ? l.dbias.elements : 0, poison_bits(v.dtype));
  encode(v.dtype, c.x.data(), l.x_count, x.at(at.x));
  encode(v.dtype, c.bias.data(), bias_count, bias.at(at.bias));
  encode(v.dtype, c.dy.data(), dy_count, dy.at(at.dy));
  std::vector<unsigned char> workspace(v.workspace(c.rows, c.cols));
  Problem p{x.at(at.x), bias_count ? bias.at(at.bias) : nullptr, y.at(l.y.begin), c.rows, c.cols, workspace.data(),
            nullptr};
  p.dy = dy_count ? dy.at(at.dy) : nullptr;
  p.dbias = l.dbias.count > 0 ? dbias.at(l.dbias.begin) : nullptr;
  v.launch(p);
  return output_of(y, dbias, l, v);
}

// The forward family a backward family differentiates.
const Family& forward_of(const Family& backward) {
  for (const Family& f : families()) {
    if (!f.backward && !f.gated && f.act == backward.act && f.bias == backward.bias) return f;
  }
  throw std::logic_error(std::string("no forward family for ") + backward.name);
}

}  // namespace

Case make_case(const Family& family, DType t, int64_t rows, int64_t cols, uint64_t seed) {
  if (rows < 1 || cols < 1) throw std::invalid_argument("make_case: rows and cols must be >= 1");
  if (family.backward) {
    const Family& forward = forward_of(family);
    const Case f = make_case(forward, t, rows, cols, seed);
    Case c;
    c.rows = rows;
    c.cols = cols;
    if (saves_input(family)) {
      c.x = f.x;
    } else {
      const std::vector<double> y = reference(forward, t, f.x, f.bias, rows, cols);
      c.x.assign(y.begin(), y.end());  // values of type t: exact in float
    }
    c.dy = uniform_input(rows * cols, -1.0f, 1.0f, seed ^ 0x6479u);
    round_to_type(t, c.dy);
    return c;
  }
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
  for (int offset : {at.x, at.y, at.bias, at.dy}) {
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
  if (const int64_t dy = v.family->backward ? c.rows * c.cols : 0; static_cast<int64_t>(c.dy.size()) != dy) {
    throw std::invalid_argument("run_once: " + v.id() + " takes " + std::to_string(dy) + " upstream gradients, the case holds " +
                                std::to_string(c.dy.size()));
  }
  return v.device == Device::Gpu ? run_gpu(v, c, at) : run_cpu(v, c, at);
}

}  // namespace actbench
