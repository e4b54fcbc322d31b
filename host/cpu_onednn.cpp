// cpu_onednn: oneDNN's eltwise and softmax primitives, the library baseline on the CPU, in the
// element types oneDNN supports on this CPU (oneDNN 2.6 on x86: f32 everywhere, bf16 from
// AVX-512 on, f16 not at all; onednn_unsupported asks oneDNN rather than assuming), forward
// and backward (the backward families: eltwise_backward and softmax_backward).
// oneDNN 2.6 API (Debian 12): an operation descriptor, then a primitive descriptor (a backward
// one takes its forward_training primitive descriptor as a hint). Building a primitive
// JIT-compiles code, so the engine, stream, primitives and their memory objects are made once
// per (operation, type, shape) and cached: a timed call only points the memory objects at the
// caller's buffers and executes.
#include "host/cpu_baselines.h"

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

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
// = 1 is SiLU); for those with a backward family, the algorithm of its backward primitive,
// which reads what the family saves (registry.h, saves_input): the forward output for sigmoid
// and tanh (the *_use_dst_for_bwd forms), the forward input for relu.
struct Eltwise {
  Activation act;
  algorithm alg;
  const char* name;
  algorithm backward = algorithm::undef;
  const char* backward_name = nullptr;
};
constexpr Eltwise kEltwise[] = {
    {Activation::Sigmoid, algorithm::eltwise_logistic, "eltwise_logistic", algorithm::eltwise_logistic_use_dst_for_bwd,
     "eltwise_logistic_use_dst_for_bwd backward"},
    {Activation::Tanh, algorithm::eltwise_tanh, "eltwise_tanh", algorithm::eltwise_tanh_use_dst_for_bwd,
     "eltwise_tanh_use_dst_for_bwd backward"},
    {Activation::Relu, algorithm::eltwise_relu, "eltwise_relu", algorithm::eltwise_relu, "eltwise_relu backward"},
    {Activation::Gelu, algorithm::eltwise_gelu_erf, "eltwise_gelu_erf"},
    {Activation::GeluTanh, algorithm::eltwise_gelu_tanh, "eltwise_gelu_tanh"},
    {Activation::Silu, algorithm::eltwise_swish, "eltwise_swish"},
};

// One operation of the cache: an activation's forward (x -> y) or backward (the saved tensor
// and dy -> dx) primitive.
struct Operation {
  Activation act;
  bool backward;
};

const Eltwise& eltwise_of(Activation act) {
  for (const Eltwise& e : kEltwise) {
    if (e.act == act) return e;
  }
  throw std::logic_error("cpu_onednn: no eltwise algorithm for this activation");
}

const char* algorithm_name(Operation op) {
  if (op.act == Activation::Softmax) return op.backward ? "softmax backward" : "softmax";
  return op.backward ? eltwise_of(op.act).backward_name : eltwise_of(op.act).name;
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

// The primitive for `op` over rows x cols elements of type t, row-major (every tensor of a
// backward primitive alike); throws dnnl::error when oneDNN has no implementation of it here.
dnnl::primitive make_primitive(Operation op, const memory::desc& md) {
  const prop_kind forward = op.backward ? prop_kind::forward_training : prop_kind::forward_inference;
  if (op.act == Activation::Softmax) {
    // Over the last axis; oneDNN's softmax subtracts the row max, like every variant here.
    const dnnl::softmax_forward::primitive_desc fwd(dnnl::softmax_forward::desc(forward, md, 1), cpu_engine());
    if (!op.backward) return dnnl::softmax_forward(fwd);
    return dnnl::softmax_backward(
        dnnl::softmax_backward::primitive_desc(dnnl::softmax_backward::desc(md, md, 1), cpu_engine(), fwd));
  }
  const Eltwise& e = eltwise_of(op.act);
  const algorithm alg = op.backward ? e.backward : e.alg;
  if (alg == algorithm::undef) throw std::logic_error("cpu_onednn: no backward family for this activation");
  // alpha: relu's negative slope (0), swish's beta in x * sigmoid(alpha x) (1); the others
  // ignore alpha and beta.
  const float alpha = op.act == Activation::Silu ? 1.0f : 0.0f;
  const dnnl::eltwise_forward::primitive_desc fwd(dnnl::eltwise_forward::desc(forward, alg, md, alpha, 0.0f),
                                                  cpu_engine());
  if (!op.backward) return dnnl::eltwise_forward(fwd);
  return dnnl::eltwise_backward(dnnl::eltwise_backward::primitive_desc(
      dnnl::eltwise_backward::desc(alg, md, md, alpha, 0.0f), cpu_engine(), fwd));
}

// The primitive's arguments in the order execute() passes its pointers: forward x, y; backward
// the saved tensor (oneDNN's DST where the backward reads the forward output, SRC for relu),
// dy, dx.
std::vector<int> argument_ids(Operation op) {
  if (!op.backward) return {DNNL_ARG_SRC, DNNL_ARG_DST};
  return {op.act == Activation::Relu ? DNNL_ARG_SRC : DNNL_ARG_DST, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC};
}

memory::desc describe(DType t, int64_t rows, int64_t cols) {
  return memory::desc({rows, cols}, data_type(t), memory::format_tag::ab);
}

// A primitive and its arguments: args maps each argument id to a memory object created without
// a buffer (set_data_handle() gives it the caller's); ids lists them in execute()'s order.
struct Entry {
  dnnl::primitive primitive;
  std::vector<int> ids;
  std::unordered_map<int, memory> args;
};

Entry make_entry(Operation op, DType t, int64_t rows, int64_t cols) {
  const memory::desc md = describe(t, rows, cols);
  Entry e{make_primitive(op, md), argument_ids(op), {}};
  for (int id : e.ids) e.args.emplace(id, memory(md, cpu_engine(), DNNL_MEMORY_NONE));
  return e;
}

// Runs `op` in type t (rows x cols, row-major) through the cached primitive: forward p.x ->
// p.y, backward p.x (the saved tensor) and p.dy -> p.y. The lock makes concurrent callers
// safe; the harness calls from one thread, so it is never contended.
void execute(Operation op, DType t, const Problem& p) {
  static dnnl::stream stream(cpu_engine());
  static std::map<std::tuple<Activation, bool, DType, int64_t, int64_t>, Entry> cache;
  static std::mutex mutex;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(op.act, op.backward, t, p.rows, p.cols);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make_entry(op, t, p.rows, p.cols)).first;
  Entry& e = it->second;
  // The inputs are read only (source arguments).
  void* const x = const_cast<void*>(p.x);
  const std::array<void*, 3> pointers =
      op.backward ? std::array<void*, 3>{x, const_cast<void*>(p.dy), p.y} : std::array<void*, 3>{x, p.y, nullptr};
  for (size_t i = 0; i < e.ids.size(); ++i) e.args.at(e.ids[i]).set_data_handle(pointers[i]);
  e.primitive.execute(stream, e.args);
  stream.wait();
}

// Asks oneDNN for op's primitive on a small shape, once per (op, t): it either has an
// implementation for the type on this CPU ("") or refuses, and its refusal is the reason given.
std::string unsupported(Operation op, DType t) {
  static std::mutex mutex;
  static std::map<std::tuple<Activation, bool, DType>, std::string> answers;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(op.act, op.backward, t);
  auto it = answers.find(key);
  if (it == answers.end()) {
    std::string why;
    try {
      make_primitive(op, describe(t, 4, 64));
    } catch (const dnnl::error& e) {
      const dnnl_version_t* v = dnnl_version();
      why = "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + " has no " + dtype_name(t) +
            " " + algorithm_name(op) + " on this CPU (" + isa_name() + "): " + e.what();
    }
    it = answers.emplace(key, why).first;
  }
  return it->second;
}

}  // namespace

template <class T, Activation A>
void cpu_onednn_elementwise(const Problem& p) {
  static_assert(A != Activation::Softmax && A != Activation::Identity,
                "cpu_onednn_elementwise: oneDNN eltwise is used for the elementwise activations");
  execute({A, false}, Element<T>::kType, p);
}

template <class T>
void cpu_onednn_softmax(const Problem& p) {
  execute({Activation::Softmax, false}, Element<T>::kType, p);
}

template <class T, Activation A>
void cpu_onednn_backward(const Problem& p) {
  static_assert(A == Activation::Sigmoid || A == Activation::Tanh || A == Activation::Relu,
                "cpu_onednn_backward: sigmoid, tanh or relu");
  execute({A, true}, Element<T>::kType, p);
}

template <class T>
void cpu_onednn_softmax_backward(const Problem& p) {
  execute({Activation::Softmax, true}, Element<T>::kType, p);
}

template <Activation A>
std::string onednn_unsupported(DType t) {
  return unsupported({A, false}, t);
}

template <Activation A>
std::string onednn_backward_unsupported(DType t) {
  return unsupported({A, true}, t);
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
    cpu_onednn_softmax<T>,
    cpu_onednn_backward<T, Activation::Sigmoid>,     cpu_onednn_backward<T, Activation::Tanh>,
    cpu_onednn_backward<T, Activation::Relu>,        cpu_onednn_softmax_backward<T>};
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
template std::string onednn_backward_unsupported<Activation::Sigmoid>(DType);
template std::string onednn_backward_unsupported<Activation::Tanh>(DType);
template std::string onednn_backward_unsupported<Activation::Relu>(DType);
template std::string onednn_backward_unsupported<Activation::Softmax>(DType);

}  // namespace actbench
