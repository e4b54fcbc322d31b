// cpu_onednn: oneDNN's eltwise and softmax primitives, the library baseline on the CPU.
// oneDNN 2.6 API (Debian 12): an operation descriptor, then a primitive descriptor. Building a
// primitive JIT-compiles code, so the engine, stream, primitives and their memory objects are
// made once per (operation, shape) and cached: a timed call only points the memory objects at
// the caller's buffers and executes.
#include "host/cpu_baselines.h"

#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>

#include <dnnl.hpp>

namespace actbench {

namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;

struct Entry {
  dnnl::primitive primitive;
  memory src, dst;  // created without a buffer; set_data_handle() gives them the caller's
};

Entry make_entry(Activation act, int64_t rows, int64_t cols, const dnnl::engine& engine) {
  const memory::desc md({rows, cols}, memory::data_type::f32, memory::format_tag::ab);
  Entry e{{}, memory(md, engine, DNNL_MEMORY_NONE), memory(md, engine, DNNL_MEMORY_NONE)};
  if (act == Activation::Softmax) {
    // Over the last axis; oneDNN's softmax subtracts the row max, like every variant here.
    e.primitive = dnnl::softmax_forward(dnnl::softmax_forward::primitive_desc(
        dnnl::softmax_forward::desc(prop_kind::forward_inference, md, 1), engine));
  } else {
    const algorithm alg = act == Activation::Sigmoid ? algorithm::eltwise_logistic
                          : act == Activation::Tanh  ? algorithm::eltwise_tanh
                                                     : algorithm::eltwise_relu;
    // alpha = 0: relu's negative slope; the other two ignore alpha and beta.
    e.primitive = dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(
        dnnl::eltwise_forward::desc(prop_kind::forward_inference, alg, md, 0.0f, 0.0f), engine));
  }
  return e;
}

// Runs `act` on p.x -> p.y (rows x cols, row-major) through the cached primitive. The lock
// makes concurrent callers safe; the harness calls from one thread, so it is never contended.
void execute(Activation act, const Problem& p) {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  static dnnl::stream stream(engine);
  static std::map<std::tuple<Activation, int64_t, int64_t>, Entry> cache;
  static std::mutex mutex;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(act, p.rows, p.cols);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make_entry(act, p.rows, p.cols, engine)).first;
  Entry& e = it->second;
  e.src.set_data_handle(const_cast<float*>(p.x));  // read only: a source argument
  e.dst.set_data_handle(p.y);
  e.primitive.execute(stream, {{DNNL_ARG_SRC, e.src}, {DNNL_ARG_DST, e.dst}});
  stream.wait();
}

}  // namespace

template <Activation A>
void cpu_onednn_elementwise(const Problem& p) {
  static_assert(A == Activation::Sigmoid || A == Activation::Tanh || A == Activation::Relu,
                "cpu_onednn_elementwise: oneDNN eltwise is used for sigmoid, tanh and relu");
  execute(A, p);
}
template void cpu_onednn_elementwise<Activation::Sigmoid>(const Problem&);
template void cpu_onednn_elementwise<Activation::Tanh>(const Problem&);
template void cpu_onednn_elementwise<Activation::Relu>(const Problem&);

void cpu_onednn_softmax(const Problem& p) { execute(Activation::Softmax, p); }

}  // namespace actbench
