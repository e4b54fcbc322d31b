// cpu_onednn: oneDNN's eltwise and softmax primitives, the library baseline on the CPU, in the
// element types oneDNN supports on this CPU (oneDNN 2.6 on x86: f32 everywhere, bf16 from
// AVX-512 on, f16 not at all; onednn_unsupported asks oneDNN rather than assuming).
// oneDNN 2.6 API (Debian 12): an operation descriptor, then a primitive descriptor. Building a
// primitive JIT-compiles code, so the engine, stream, primitives and their memory objects are
// made once per (operation, type, shape) and cached: a timed call only points the memory
// objects at the caller's buffers and executes.
#include "host/cpu_baselines.h"

#include <cstdint>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>

#include <dnnl.hpp>

namespace actbench {

namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

memory::data_type data_type(DType t) {
  switch (t) {
    case DType::F32:
      return memory::data_type::f32;
    case DType::F16:
      return memory::data_type::f16;
    case DType::BF16:
      return memory::data_type::bf16;
  }
  return memory::data_type::undef;
}

// oneDNN's eltwise algorithm of each elementwise activation, and its name (swish with alpha
// = 1 is SiLU).
struct Eltwise {
  Activation act;
  algorithm alg;
  const char* name;
};
constexpr Eltwise kEltwise[] = {
    {Activation::Sigmoid, algorithm::eltwise_logistic, "eltwise_logistic"},
    {Activation::Tanh, algorithm::eltwise_tanh, "eltwise_tanh"},
    {Activation::Relu, algorithm::eltwise_relu, "eltwise_relu"},
    {Activation::Gelu, algorithm::eltwise_gelu_erf, "eltwise_gelu_erf"},
    {Activation::GeluTanh, algorithm::eltwise_gelu_tanh, "eltwise_gelu_tanh"},
    {Activation::Silu, algorithm::eltwise_swish, "eltwise_swish"},
};

const Eltwise& eltwise_of(Activation act) {
  for (const Eltwise& e : kEltwise) {
    if (e.act == act) return e;
  }
  throw std::logic_error("cpu_onednn: no eltwise algorithm for this activation");
}

const char* algorithm_name(Activation act) {
  return act == Activation::Softmax ? "softmax" : eltwise_of(act).name;
}

// The instruction set oneDNN dispatches to on this CPU, by its own name.
std::string isa_name() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "isa " + std::to_string(static_cast<int>(dnnl::get_effective_cpu_isa()));
  }
}

// The primitive for `act` over rows x cols elements of type t, row-major; throws dnnl::error
// when oneDNN has no implementation of it here.
dnnl::primitive make_primitive(Activation act, const memory::desc& md) {
  if (act == Activation::Softmax) {
    // Over the last axis; oneDNN's softmax subtracts the row max, like every variant here.
    return dnnl::softmax_forward(dnnl::softmax_forward::primitive_desc(
        dnnl::softmax_forward::desc(prop_kind::forward_inference, md, 1), cpu_engine()));
  }
  // alpha: relu's negative slope (0), swish's beta in x * sigmoid(alpha x) (1); the others
  // ignore alpha and beta.
  const float alpha = act == Activation::Silu ? 1.0f : 0.0f;
  return dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(
      dnnl::eltwise_forward::desc(prop_kind::forward_inference, eltwise_of(act).alg, md, alpha, 0.0f), cpu_engine()));
}

memory::desc describe(DType t, int64_t rows, int64_t cols) {
  return memory::desc({rows, cols}, data_type(t), memory::format_tag::ab);
}

struct Entry {
  dnnl::primitive primitive;
  memory src, dst;  // created without a buffer; set_data_handle() gives them the caller's
};

Entry make_entry(Activation act, DType t, int64_t rows, int64_t cols) {
  const memory::desc md = describe(t, rows, cols);
  return {make_primitive(act, md), memory(md, cpu_engine(), DNNL_MEMORY_NONE),
          memory(md, cpu_engine(), DNNL_MEMORY_NONE)};
}

// Runs `act` in type t on p.x -> p.y (rows x cols, row-major) through the cached primitive.
// The lock makes concurrent callers safe; the harness calls from one thread, so it is never
// contended.
void execute(Activation act, DType t, const Problem& p) {
  static dnnl::stream stream(cpu_engine());
  static std::map<std::tuple<Activation, DType, int64_t, int64_t>, Entry> cache;
  static std::mutex mutex;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(act, t, p.rows, p.cols);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make_entry(act, t, p.rows, p.cols)).first;
  Entry& e = it->second;
  e.src.set_data_handle(const_cast<void*>(p.x));  // read only: a source argument
  e.dst.set_data_handle(p.y);
  e.primitive.execute(stream, {{DNNL_ARG_SRC, e.src}, {DNNL_ARG_DST, e.dst}});
  stream.wait();
}

}  // namespace

template <class T, Activation A>
void cpu_onednn_elementwise(const Problem& p) {
  static_assert(A != Activation::Softmax && A != Activation::Identity,
                "cpu_onednn_elementwise: oneDNN eltwise is used for the elementwise activations");
  execute(A, Element<T>::kType, p);
}

template <class T>
void cpu_onednn_softmax(const Problem& p) {
  execute(Activation::Softmax, Element<T>::kType, p);
}

// Asks oneDNN for the primitive on a small shape: it either has an implementation for the
// type on this CPU or refuses, and its refusal is the reason given.
template <Activation A>
std::string onednn_unsupported(DType t) {
  static std::mutex mutex;
  static std::map<DType, std::string> answers;
  const std::lock_guard<std::mutex> lock(mutex);
  auto it = answers.find(t);
  if (it == answers.end()) {
    std::string why;
    try {
      make_primitive(A, describe(t, 4, 64));
    } catch (const dnnl::error& e) {
      const dnnl_version_t* v = dnnl_version();
      why = "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + " has no " + dtype_name(t) +
            " " + algorithm_name(A) + " on this CPU (" + isa_name() + "): " + e.what();
    }
    it = answers.emplace(t, why).first;
  }
  return it->second;
}

// Every type with the operations the registry uses (see cpu_baselines.cpp).
template <class T>
struct OneDnnBaselines {
  static const Launcher kAll[];
};
template <class T>
const Launcher OneDnnBaselines<T>::kAll[] = {
    cpu_onednn_elementwise<T, Activation::Sigmoid>, cpu_onednn_elementwise<T, Activation::Tanh>,
    cpu_onednn_elementwise<T, Activation::Relu>,    cpu_onednn_elementwise<T, Activation::Gelu>,
    cpu_onednn_elementwise<T, Activation::GeluTanh>, cpu_onednn_elementwise<T, Activation::Silu>,
    cpu_onednn_softmax<T>};
template struct OneDnnBaselines<float>;
template struct OneDnnBaselines<__half>;
template struct OneDnnBaselines<__nv_bfloat16>;

template std::string onednn_unsupported<Activation::Sigmoid>(DType);
template std::string onednn_unsupported<Activation::Tanh>(DType);
template std::string onednn_unsupported<Activation::Relu>(DType);
template std::string onednn_unsupported<Activation::Gelu>(DType);
template std::string onednn_unsupported<Activation::GeluTanh>(DType);
template std::string onednn_unsupported<Activation::Silu>(DType);
template std::string onednn_unsupported<Activation::Softmax>(DType);

}  // namespace actbench
