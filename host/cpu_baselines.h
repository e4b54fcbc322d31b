// CPU baselines: what the GPU variants are measured against. Same Problem as the GPU
// launchers, with host pointers to elements of T (float, __half, __nv_bfloat16); each call
// runs to completion. 16-bit elements are widened to f32 for the math and rounded once to
// nearest even on store, as on the GPU.
//   cpu_scalar  a plain loop over the functors of kernels/common/ops.h, with the exact software
//               conversions of common/dtype.h
//   cpu_omp     OpenMP threads + SIMD with vectorized exp/tanh; 16-bit conversions with the
//               CPU's own instructions where it has them (F16C), else exact vectorizable code
//   cpu_onednn  oneDNN eltwise / softmax primitives (when oneDNN was found), in the types
//               oneDNN supports on this CPU (onednn_unsupported says which)
// The backward families take the same three: Problem::x is the saved tensor (registry.h,
// saves_input), Problem::dy the upstream gradient, Problem::y receives dx.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/registry.h"

namespace actbench {

template <class T, class Op> void cpu_scalar_elementwise(const Problem& p);
template <class T> void cpu_scalar_softmax(const Problem& p);

// A is the activation: Sigmoid, Tanh, Relu, Gelu, GeluTanh or Silu.
template <class T, Activation A> void cpu_omp_elementwise(const Problem& p);
template <class T> void cpu_omp_softmax(const Problem& p);

// The gated families (x is rows x 2 cols: y = act(a) * b); Op and A are Silu or Gelu. No
// oneDNN baseline: its eltwise has no gated form (an eltwise then a binary multiply would be
// the unfused pipeline, not a baseline of the fused op).
template <class T, class Op> void cpu_scalar_gated(const Problem& p);
template <class T, Activation A> void cpu_omp_gated(const Problem& p);

// The backward families without bias: dx = Grad(s, dy) elementwise (Grad: SigmoidGrad, TanhGrad
// or ReluGrad of ops.h; A: Sigmoid, Tanh or Relu), and softmax's per row. No bias backward
// baselines, as there are no forward bias ones.
template <class T, class Grad> void cpu_scalar_backward(const Problem& p);
template <class T> void cpu_scalar_softmax_backward(const Problem& p);
template <class T, Activation A> void cpu_omp_backward(const Problem& p);
template <class T> void cpu_omp_softmax_backward(const Problem& p);

#if ACTBENCH_HAVE_ONEDNN
template <class T, Activation A> void cpu_onednn_elementwise(const Problem& p);
template <class T> void cpu_onednn_softmax(const Problem& p);
template <class T, Activation A> void cpu_onednn_backward(const Problem& p);
template <class T> void cpu_onednn_softmax_backward(const Problem& p);
// "" when oneDNN runs activation A (Sigmoid, Tanh, Relu or Softmax) in type t on this CPU,
// else why not (from oneDNN's own answer when asked for the primitive). Asked once per pair.
template <Activation A> std::string onednn_unsupported(DType t);
// The same for A's backward primitive (oneDNN's backward implementations are its own).
template <Activation A> std::string onednn_backward_unsupported(DType t);
#endif

// cpu_omp writes an output of n elements of `bytes` bytes, computed from `inputs` arrays of as
// many, with streaming stores when n >= streamed_output_min(inputs, bytes): from a quarter of
// this machine's last-level cache moved on (so the tests size their streamed cases by it).
int64_t streamed_output_min(int inputs, size_t bytes);
bool streams_output(int64_t n, int inputs, size_t bytes);

// The CPU roofline: memcpy of the same bytes (threaded like cpu_omp).
template <class T> void cpu_memcpy(const Problem& p);

// cpu_omp's 16-bit conversions, one code path at a time, for their exhaustive test against
// common/dtype.h: widen turns n elements of the type into floats (exactly), narrow n floats
// into elements (round to nearest even; a NaN stays NaN). Auto is the path cpu_omp takes on
// this CPU; a path the CPU cannot run has nullptr members.
enum class ConvertPath { Auto, X86_64_v4, X86_64_v3, Portable };
struct Converter {
  void (*widen)(const void* x, float* y, int64_t n) = nullptr;
  void (*narrow)(const float* x, void* y, int64_t n) = nullptr;
};
// t is F16 or BF16 (std::invalid_argument otherwise).
Converter cpu_converter(DType t, ConvertPath path);

}  // namespace actbench
