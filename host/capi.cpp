// The C interface of capi.h: a thin layer over variants(). Every entry point catches every
// exception (a C++ exception unwinding into ctypes would abort the Python process) and
// turns it into -1/NULL plus a per-thread message.
#include "host/capi.h"

#include <cmath>
#include <exception>
#include <iterator>
#include <string>
#include <vector>

#include "kernels/registry.h"

namespace {

thread_local std::string last_error;

// Runs f, or records why it threw and returns on_error.
template <class R, class F>
R guarded(R on_error, F&& f) noexcept {
  try {
    return f();
  } catch (const std::exception& e) {
    last_error = e.what();
  } catch (...) {
    last_error = "unknown C++ exception";
  }
  return on_error;
}

// The variant at index i, or nullptr with the error recorded.
const actbench::Variant* at(int i) {
  const std::vector<actbench::Variant>& all = actbench::variants();
  if (i < 0 || static_cast<size_t>(i) >= all.size()) {
    last_error = "variant index " + std::to_string(i) + " is out of range [0, " +
                 std::to_string(all.size()) + ")";
    return nullptr;
  }
  return &all[static_cast<size_t>(i)];
}

// Ids built once, so the returned pointers stay valid.
const std::vector<std::string>& ids() {
  static const std::vector<std::string> table = [] {
    std::vector<std::string> out;
    for (const actbench::Variant& v : actbench::variants()) out.push_back(v.id());
    return out;
  }();
  return table;
}

const char* activation_name(actbench::Activation a) {
  switch (a) {
    case actbench::Activation::Identity: return "identity";
    case actbench::Activation::Sigmoid: return "sigmoid";
    case actbench::Activation::Tanh: return "tanh";
    case actbench::Activation::Relu: return "relu";
    case actbench::Activation::Gelu: return "gelu";
    case actbench::Activation::GeluTanh: return "gelu_tanh";
    case actbench::Activation::Silu: return "silu";
    case actbench::Activation::Softmax: return "softmax";
  }
  return "unknown";
}

// A string attribute of variant i, or NULL.
template <class F>
const char* text(int i, F&& get) noexcept {
  return guarded<const char*>(nullptr, [&]() -> const char* {
    const actbench::Variant* v = at(i);
    return v ? get(*v, i) : nullptr;
  });
}

// 1 or 0 as `holds` says of variant i's family; -1 for an index out of range.
template <class F>
int flag(int i, F&& holds) noexcept {
  return guarded(-1, [&] {
    const actbench::Variant* v = at(i);
    return v ? (holds(*v->family) ? 1 : 0) : -1;
  });
}

// The C interface's codes are the DType values: one list of types.
static_assert(ACTBENCH_F32 == static_cast<int>(actbench::DType::F32) &&
                  ACTBENCH_F16 == static_cast<int>(actbench::DType::F16) &&
                  ACTBENCH_BF16 == static_cast<int>(actbench::DType::BF16),
              "capi.h's type codes must match actbench::DType");

// Why a call of either kind on variant v cannot go ahead with these data: their type, the
// shape's size ("" when fine). Checked before the pointers.
std::string check_data(const actbench::Variant& v, int dtype, int64_t rows, int64_t cols) {
  if (dtype != static_cast<int>(v.dtype)) {
    const bool known = dtype >= 0 && dtype < static_cast<int>(std::size(actbench::kDTypes));
    return v.id() + " takes " + actbench::dtype_name(v.dtype) + " data (code " +
           std::to_string(static_cast<int>(v.dtype)) + "), got " +
           (known ? std::string(actbench::dtype_name(static_cast<actbench::DType>(dtype))) : "an unknown type") +
           " (code " + std::to_string(dtype) + ")";
  }
  if (rows < 1 || cols < 1) {
    return "rows and cols must be >= 1, got " + std::to_string(rows) + " x " + std::to_string(cols);
  }
  return {};
}

// Why v cannot run this shape with this workspace ("" when it can). Checked after the pointers.
std::string check_shape(const actbench::Variant& v, int64_t rows, int64_t cols, const void* workspace) {
  if (!v.supports(cols)) {
    return v.id() + " supports rows of up to " + std::to_string(v.max_cols) + " columns, got " +
           std::to_string(cols);
  }
  if (v.workspace(rows, cols) > 0 && !workspace) {
    return v.id() + " needs " + std::to_string(v.workspace(rows, cols)) + " bytes of workspace";
  }
  return {};
}

std::string run_checked(const actbench::Variant& v, int dtype, const void* x, const void* bias, void* y,
                        int64_t rows, int64_t cols, void* workspace, void* stream) {
  if (v.family->backward) {
    return v.id() + " is a backward variant: call actbench_run_backward (saved, dy, dx, dbias)";
  }
  if (std::string why = check_data(v, dtype, rows, cols); !why.empty()) return why;
  if (!x || !y) return "x and y must not be NULL";
  if (v.family->bias && !bias) return v.id() + " needs a bias of cols entries";
  if (std::string why = check_shape(v, rows, cols, workspace); !why.empty()) return why;
  actbench::Problem p;
  p.x = x;
  p.bias = v.family->bias ? bias : nullptr;
  p.y = y;
  p.rows = rows;
  p.cols = cols;
  p.workspace = workspace;
  p.stream = static_cast<cudaStream_t>(stream);
  v.launch(p);
  return {};
}

std::string run_backward_checked(const actbench::Variant& v, int dtype, const void* saved, const void* dy, void* dx,
                                 void* dbias, int64_t rows, int64_t cols, void* workspace, void* stream) {
  if (!v.family->backward) {
    return v.id() + " is a forward variant: call actbench_run (x, bias, y)";
  }
  if (std::string why = check_data(v, dtype, rows, cols); !why.empty()) return why;
  if (!saved || !dy || !dx) return "saved, dy and dx must not be NULL";
  // Exactly the bias backward families write dbias: a dbias passed to any other would be left
  // as it was, which a caller reading it back would take for a result.
  if (v.family->bias && !dbias) return v.id() + " needs a dbias of cols entries";
  if (!v.family->bias && dbias) return v.id() + " writes no dbias: pass NULL";
  if (std::string why = check_shape(v, rows, cols, workspace); !why.empty()) return why;
  actbench::Problem p;
  p.x = saved;
  p.dy = dy;
  p.y = dx;
  p.dbias = dbias;
  p.rows = rows;
  p.cols = cols;
  p.workspace = workspace;
  p.stream = static_cast<cudaStream_t>(stream);
  v.launch(p);
  return {};
}

}  // namespace

extern "C" {

int actbench_variant_count(void) {
  return guarded(-1, [] { return static_cast<int>(actbench::variants().size()); });
}

const char* actbench_variant_id(int i) {
  return text(i, [](const actbench::Variant&, int k) { return ids()[static_cast<size_t>(k)].c_str(); });
}

const char* actbench_variant_family(int i) {
  return text(i, [](const actbench::Variant& v, int) { return v.family->name; });
}

const char* actbench_variant_name(int i) {
  return text(i, [](const actbench::Variant& v, int) { return v.name; });
}

const char* actbench_variant_summary(int i) {
  return text(i, [](const actbench::Variant& v, int) { return v.summary; });
}

const char* actbench_variant_dtype(int i) {
  return text(i, [](const actbench::Variant& v, int) { return actbench::dtype_name(v.dtype); });
}

int actbench_variant_dtype_code(int i) {
  return guarded(-1, [i] {
    const actbench::Variant* v = at(i);
    return v ? static_cast<int>(v->dtype) : -1;
  });
}

const char* actbench_variant_device(int i) {
  return text(i, [](const actbench::Variant& v, int) {
    return v.device == actbench::Device::Gpu ? "gpu" : "cpu";
  });
}

const char* actbench_variant_activation(int i) {
  return text(i, [](const actbench::Variant& v, int) { return activation_name(v.family->act); });
}

int actbench_variant_has_bias(int i) {
  return flag(i, [](const actbench::Family& f) { return f.bias; });
}

int actbench_variant_is_gated(int i) {
  return flag(i, [](const actbench::Family& f) { return f.gated; });
}

int actbench_variant_is_backward(int i) {
  return flag(i, [](const actbench::Family& f) { return f.backward; });
}

int actbench_variant_saves_input(int i) {
  return flag(i, [](const actbench::Family& f) { return actbench::saves_input(f); });
}

int actbench_variant_step(int i) {
  return guarded(-1, [i] {
    const actbench::Variant* v = at(i);
    return v ? v->step : -1;
  });
}

double actbench_variant_atol(int i) {
  return guarded(NAN, [i] {
    const actbench::Variant* v = at(i);
    return v ? v->tol.atol : NAN;
  });
}

double actbench_variant_rtol(int i) {
  return guarded(NAN, [i] {
    const actbench::Variant* v = at(i);
    return v ? v->tol.rtol : NAN;
  });
}

int actbench_variant_supports(int i, int64_t cols) {
  return guarded(-1, [i, cols] {
    const actbench::Variant* v = at(i);
    return v ? (v->supports(cols) ? 1 : 0) : -1;
  });
}

int64_t actbench_workspace_bytes(int i, int64_t rows, int64_t cols) {
  return guarded<int64_t>(-1, [i, rows, cols]() -> int64_t {
    const actbench::Variant* v = at(i);
    return v ? static_cast<int64_t>(v->workspace(rows, cols)) : -1;
  });
}

int actbench_run(int i, int dtype, const void* x, const void* bias, void* y, int64_t rows, int64_t cols,
                 void* workspace, void* stream) {
  return guarded(-1, [&] {
    const actbench::Variant* v = at(i);
    if (!v) return -1;
    const std::string why = run_checked(*v, dtype, x, bias, y, rows, cols, workspace, stream);
    if (!why.empty()) {
      last_error = why;
      return -1;
    }
    return 0;
  });
}

int actbench_run_backward(int i, int dtype, const void* saved, const void* dy, void* dx, void* dbias, int64_t rows,
                          int64_t cols, void* workspace, void* stream) {
  return guarded(-1, [&] {
    const actbench::Variant* v = at(i);
    if (!v) return -1;
    const std::string why = run_backward_checked(*v, dtype, saved, dy, dx, dbias, rows, cols, workspace, stream);
    if (!why.empty()) {
      last_error = why;
      return -1;
    }
    return 0;
  });
}

const char* actbench_last_error(void) { return last_error.c_str(); }

}  // extern "C"
