// Launchers of the elementwise and bias + activation variants (kernels in elementwise.cuh):
//
//   elementwise_naive<Op>  `naive`: one thread per element.
//   elementwise_warp<Op>   `warp` (Sigmoid, Tanh, Relu) and `warp_approx` (SigmoidApprox,
//                          TanhApprox): 16-byte vectors over a grid of at most one wave of
//                          resident blocks.
//   bias_unfused<Op>       `bias_*/unfused`: bias_fused_kernel<Identity> writes x + bias to y,
//                          then elementwise_naive_kernel<Op> runs in place on y.
//   bias_fused<Op>         `bias_*/fused`: one kernel, one thread per element.
//   bias_fused_warp<Op>    `bias_*/fused_warp`: one kernel, 16-byte vectors.
//
// Every launcher returns at once for an empty problem, enqueues on p.stream only, and checks
// each launch; none allocates or synchronizes.
#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string>

#include "common/cuda_check.h"
#include "common/occupancy.h"
#include "common/ops.h"
#include "elementwise.cuh"
#include "launchers.h"

namespace actbench {

namespace {

// Blocks for one thread per element.
unsigned blocks_for(int64_t n, int block) {
  const int64_t blocks = (n + block - 1) / block;
  if (blocks > INT_MAX) {
    throw std::invalid_argument("elementwise: " + std::to_string(n) +
                                " elements exceed the one-thread-per-element grid limit");
  }
  return static_cast<unsigned>(blocks);
}

// Launches a grid_stride_tiles kernel over `vecs` float4: one block per tile up to one wave
// of resident blocks (more would only queue), at least one block for the scalar edges.
template <class... Params, class... Args>
void launch_tiled(void (*kernel)(Params...), int64_t vecs, cudaStream_t stream, Args... args) {
  constexpr int64_t kTile = int64_t{kWarpBlock} * kWarpUnroll;
  const int64_t tiles = (vecs + kTile - 1) / kTile;
  const int64_t cap = resident_blocks(kernel, kWarpBlock);
  const auto grid = static_cast<unsigned>(std::clamp<int64_t>(tiles, 1, cap));
  kernel<<<grid, kWarpBlock, 0, stream>>>(args...);
  ACT_CHECK_LAUNCH();
}

}  // namespace

template <class Op>
void elementwise_naive(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  if (n == 0) return;
  elementwise_naive_kernel<<<blocks_for(n, kNaiveBlock), kNaiveBlock, 0, p.stream>>>(p.x, p.y, n,
                                                                                     Op{});
  ACT_CHECK_LAUNCH();
}

template <class Op>
void elementwise_warp(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  if (n == 0) return;
  const VecSplit s = split_at_alignment(p.y, n);
  if (is_aligned16(p.x + s.head)) {
    launch_tiled(elementwise_warp_kernel<Op, LoadVec4>, s.vecs, p.stream, p.x, p.y, s, Op{});
  } else {
    launch_tiled(elementwise_warp_kernel<Op, LoadScalar4>, s.vecs, p.stream, p.x, p.y, s, Op{});
  }
}

template <class Op>
void bias_unfused(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  if (n == 0) return;
  const unsigned blocks = blocks_for(n, kNaiveBlock);
  bias_fused_kernel<<<blocks, kNaiveBlock, 0, p.stream>>>(p.x, p.bias, p.y, n,
                                                          ColumnOf::make(p.cols), Identity{});
  ACT_CHECK_LAUNCH();
  elementwise_naive_kernel<<<blocks, kNaiveBlock, 0, p.stream>>>(p.y, p.y, n, Op{});
  ACT_CHECK_LAUNCH();
}

template <class Op>
void bias_fused(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  if (n == 0) return;
  bias_fused_kernel<<<blocks_for(n, kNaiveBlock), kNaiveBlock, 0, p.stream>>>(
      p.x, p.bias, p.y, n, ColumnOf::make(p.cols), Op{});
  ACT_CHECK_LAUNCH();
}

template <class Op>
void bias_fused_warp(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  if (n == 0) return;
  const VecSplit s = split_at_alignment(p.y, n);
  const ColumnOf col_of = ColumnOf::make(p.cols);
  const bool x_vec = is_aligned16(p.x + s.head);
  // 16-byte bias loads need every vector to start on a column that is a multiple of 4.
  if (x_vec && s.head == 0 && p.cols % 4 == 0 && is_aligned16(p.bias)) {
    launch_tiled(bias_fused_warp_kernel<Op, LoadVec4, BiasVec4>, s.vecs, p.stream, p.x, p.bias,
                 p.y, s, col_of, Op{});
  } else if (x_vec) {
    launch_tiled(bias_fused_warp_kernel<Op, LoadVec4, BiasWrap4>, s.vecs, p.stream, p.x, p.bias,
                 p.y, s, col_of, Op{});
  } else {
    launch_tiled(bias_fused_warp_kernel<Op, LoadScalar4, BiasWrap4>, s.vecs, p.stream, p.x,
                 p.bias, p.y, s, col_of, Op{});
  }
}

// The functors the registry uses.
template void elementwise_naive<Sigmoid>(const Problem&);
template void elementwise_naive<Tanh>(const Problem&);
template void elementwise_naive<Relu>(const Problem&);

template void elementwise_warp<Sigmoid>(const Problem&);
template void elementwise_warp<Tanh>(const Problem&);
template void elementwise_warp<Relu>(const Problem&);
template void elementwise_warp<SigmoidApprox>(const Problem&);
template void elementwise_warp<TanhApprox>(const Problem&);

template void bias_unfused<Sigmoid>(const Problem&);
template void bias_unfused<Tanh>(const Problem&);
template void bias_unfused<Relu>(const Problem&);

template void bias_fused<Sigmoid>(const Problem&);
template void bias_fused<Tanh>(const Problem&);
template void bias_fused<Relu>(const Problem&);

template void bias_fused_warp<Sigmoid>(const Problem&);
template void bias_fused_warp<Tanh>(const Problem&);
template void bias_fused_warp<Relu>(const Problem&);

}  // namespace actbench
