// CPU baselines: what the GPU variants are measured against. Same Problem as the GPU
// launchers, with host pointers; each call runs to completion.
//   cpu_scalar  a plain loop over the functors of kernels/common/ops.h
//   cpu_omp     OpenMP threads + SIMD with vectorized exp/tanh
//   cpu_onednn  oneDNN eltwise / softmax primitives (when oneDNN was found)
#pragma once

#include "kernels/registry.h"

namespace actbench {

template <class Op> void cpu_scalar_elementwise(const Problem& p);
void cpu_scalar_softmax(const Problem& p);

// A is Sigmoid, Tanh or Relu.
template <Activation A> void cpu_omp_elementwise(const Problem& p);
void cpu_omp_softmax(const Problem& p);

#if ACTBENCH_HAVE_ONEDNN
template <Activation A> void cpu_onednn_elementwise(const Problem& p);
void cpu_onednn_softmax(const Problem& p);
#endif

// The CPU roofline: memcpy of the same bytes (threaded like cpu_omp).
void cpu_memcpy(const Problem& p);

}  // namespace actbench
