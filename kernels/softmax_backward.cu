// Launchers of the softmax_backward variants (kernels in softmax_backward.cuh), each templated
// on the element type T (float, __half, __nv_bfloat16). p.x is the saved softmax output y,
// p.dy the upstream gradient, p.y receives dx:
//
//   naive  two kernels, the dot products one thread per row, then one thread per element;
//          workspace: each row's dot product
//   fused  one block of 256 threads per row, a shared-memory tree; y and dy read twice
//   warp   rows up to kSoftmaxBackwardWarpMaxCols: a lane group per row, y and dy in registers
//   block  rows up to kSoftmaxBackwardBlockMaxCols: a block per row, y and dy in registers
//   auto   warp, block or fused by shape (thresholds below)
//
// warp and block pick their shapes and launch through softmax_launch.cuh, softmax's own
// machinery, with the limits below. Each launcher is the only place that picks its kernels'
// template parameters, grid and block; it enqueues on p.stream and checks every launch. Grids
// are capped at what the device holds at once (the kernels loop over rows).
#include <cstddef>
#include <cstdint>

#include "common/cuda_check.h"
#include "common/occupancy.h"
#include "launchers.h"
#include "softmax_backward.cuh"
#include "softmax_launch.cuh"

namespace actbench {

namespace {

using namespace softmax_launch;

// warp and block hold two values per element (y and dy, widened to f32), so half of softmax's
// buckets: up to 64 values a lane of each tensor (128 registers of values, what softmax's
// longest warp rows take), and 16 a thread of a block (32 values: a 1024-thread block has 64
// registers a thread). Every shape is checked free of spills by ptxas and the SASS checks
// (tests/CMakeLists.txt).
struct SoftmaxBackward {
  static constexpr int kWarpMaxPerLane = 64;
  static constexpr int kBlockMaxPerThread = 16;
  template <class T, int kVec, int kPerLane, int kGroup, int kRows>
  static constexpr auto warp_kernel() {
    return softmax_backward_warp_kernel<T, kVec, kPerLane, kGroup, kRows>;
  }
  template <class T, int kVec, int kThreads, int kPerThread>
  static constexpr auto block_kernel() {
    return softmax_backward_block_kernel<T, kVec, kThreads, kPerThread>;
  }
  template <class T, class Kernel>
  static void launch(Kernel kernel, int grid, int threads, const Problem& p) {
    kernel<<<grid, threads, 0, p.stream>>>(in<T>(p), grad<T>(p), out<T>(p), p.rows, static_cast<int>(p.cols));
    ACT_CHECK_LAUNCH();
  }
};

constexpr const char* kFamily = "softmax_backward";
constexpr int kNaiveThreads = 256;
constexpr int kFusedThreads = 256;

}  // namespace

const int64_t kSoftmaxBackwardWarpMaxCols = warp_max_cols<SoftmaxBackward>();
const int64_t kSoftmaxBackwardBlockMaxCols = block_max_cols<SoftmaxBackward>();

size_t softmax_backward_naive_workspace(int64_t rows, int64_t) { return static_cast<size_t>(rows) * sizeof(float); }

template <class T>
void softmax_backward_naive(const Problem& p) {
  if (p.rows == 0 || p.cols == 0) return;
  require_workspace(p, kFamily, "naive");
  float* row_dot = static_cast<float*>(p.workspace);
  const auto row_grid = static_cast<unsigned>(ceil_div(p.rows, kNaiveThreads));
  softmax_backward_naive_dot_kernel<<<row_grid, kNaiveThreads, 0, p.stream>>>(in<T>(p), grad<T>(p), row_dot, p.rows,
                                                                              p.cols);
  ACT_CHECK_LAUNCH();
  const auto element_grid = static_cast<unsigned>(ceil_div(p.rows * p.cols, kNaiveThreads));
  softmax_backward_naive_update_kernel<<<element_grid, kNaiveThreads, 0, p.stream>>>(in<T>(p), grad<T>(p), row_dot,
                                                                                     out<T>(p), p.rows, p.cols);
  ACT_CHECK_LAUNCH();
}

template <class T>
void softmax_backward_fused(const Problem& p) {
  if (p.rows == 0 || p.cols == 0) return;
  const auto kernel = softmax_backward_fused_kernel<T, kFusedThreads>;
  const int grid = capped_grid(p.rows, resident_blocks(kernel, kFusedThreads));
  kernel<<<grid, kFusedThreads, 0, p.stream>>>(in<T>(p), grad<T>(p), out<T>(p), p.rows, p.cols);
  ACT_CHECK_LAUNCH();
}

template <class T>
void softmax_backward_warp(const Problem& p) {
  if (p.rows == 0 || p.cols == 0) return;
  require_cols(p, kSoftmaxBackwardWarpMaxCols, kFamily, "warp");
  by_alignment<T>(p, [&](auto vec) { launch_warp_for<SoftmaxBackward, T, decltype(vec)::value>(p); });
}

template <class T>
void softmax_backward_block(const Problem& p) {
  if (p.rows == 0 || p.cols == 0) return;
  require_cols(p, kSoftmaxBackwardBlockMaxCols, kFamily, "block");
  by_alignment<T>(p, [&](auto vec) { launch_block_for<SoftmaxBackward, T, decltype(vec)::value>(p); });
}

// auto: a warp per row up to the warp's longest row (no barrier at all; at 2048 columns each
// lane holds 2 x 64 values, the register load of softmax's warp rows at 4096), a block per row
// up to the block's (one read of y and dy; even with fewer rows than SMs it beats fused, which
// takes as many blocks and reads both twice), fused beyond. Both crossings are design
// estimates, not yet measured: the benchmark sweep is to place them.
template <class T>
void softmax_backward_auto(const Problem& p) {
  if (p.cols <= kSoftmaxBackwardWarpMaxCols) {
    softmax_backward_warp<T>(p);
  } else if (p.cols <= kSoftmaxBackwardBlockMaxCols) {
    softmax_backward_block<T>(p);
  } else {
    softmax_backward_fused<T>(p);
  }
}

// Every launcher above for every element type (see elementwise.cu).
template <class T>
struct SoftmaxBackwardLaunchers {
  static const Launcher kAll[];
};
template <class T>
const Launcher SoftmaxBackwardLaunchers<T>::kAll[] = {softmax_backward_naive<T>, softmax_backward_fused<T>,
                                                      softmax_backward_warp<T>, softmax_backward_block<T>,
                                                      softmax_backward_auto<T>};
template struct SoftmaxBackwardLaunchers<float>;
template struct SoftmaxBackwardLaunchers<__half>;
template struct SoftmaxBackwardLaunchers<__nv_bfloat16>;

}  // namespace actbench
