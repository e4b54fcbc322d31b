// Launchers of the elementwise, bias + activation and gated variants (kernels in
// elementwise.cuh), each templated on the element type T and the functor Op:
//
//   elementwise_naive<T, Op>  `naive`: one thread per element.
//   elementwise_warp<T, Op>   `warp` (Sigmoid, Tanh, Relu, Gelu, GeluTanh, Silu) and
//                             `warp_approx` (SigmoidApprox, TanhApprox, GeluTanhApprox,
//                             SiluApprox): 16-byte vectors over a grid of at most one wave of
//                             resident blocks.
//   bias_unfused<T, Op>       `bias_*/unfused`: bias_fused_kernel<T, Identity> writes x + bias
//                             to y (rounded to T, as a framework's two ops would), then
//                             elementwise_naive_kernel<T, Op> runs in place on y.
//   bias_fused<T, Op>         `bias_*/fused`: one kernel, one thread per element.
//   bias_fused_warp<T, Op>    `bias_*/fused_warp`: one kernel, 16-byte vectors.
//   gated_unfused<T, Op>      `swiglu|geglu/unfused`: gated_kernel<T, Op> writes t = op(a)
//                             into the workspace (rows x cols of T: rounded to the type, as a
//                             framework's activation op would), then gated_kernel<T,
//                             Gated<Identity>> writes y = t * b.
//   gated_fused<T, Op>        `swiglu|geglu/fused`: one kernel, one thread per output.
//   gated_fused_warp<T, Op>   `swiglu|geglu/fused_warp`: one kernel, 16-byte vectors.
//   elementwise_naive<T, Grad>, elementwise_warp<T, Grad>
//                             `*_backward/naive|warp` of sigmoid, tanh, relu: the same kernels
//                             over two inputs, the saved tensor and dy.
//   bias_backward_unfused<T, Grad>  `bias_*_backward/unfused`: elementwise_naive_kernel writes
//                             dx, then bias_backward_kernel<T, Identity> sums its columns
//                             (dx read again, as rounded to T).
//   bias_backward_fused<T, Grad>    `bias_*_backward/fused`: bias_backward_kernel, scalar: dx
//                             and dbias in one pass.
//   bias_backward_fused_warp<T, Grad>  `bias_*_backward/fused_warp`: the same with 16-byte
//                             vectors where rows are aligned, else as fused.
//
// Every launcher returns at once for an empty problem, enqueues on p.stream only, and checks
// each launch; none allocates or synchronizes.
#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string>
#include <type_traits>

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

// Launches a grid_stride_tiles kernel over `vecs` 16-byte vectors: one block per tile up to one wave
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

template <class T>
const T* in(const void* p) {
  return static_cast<const T*>(p);
}

}  // namespace

// The element type an input pointer points to.
template <class P>
using Pointee = std::remove_cv_t<std::remove_pointer_t<P>>;

// Calls f with the problem's inputs: x alone for a forward functor, x (the saved tensor) and
// dy for a backward one (a functor of two arguments).
template <class T, class Op, class F>
void with_inputs(const Problem& p, F f) {
  if constexpr (std::is_invocable_v<Op, float, float>) {
    if (p.dy == nullptr) throw std::invalid_argument("backward elementwise: no dy");
    f(in<T>(p.x), in<T>(p.dy));
  } else {
    f(in<T>(p.x));
  }
}

template <class T, class Op>
void elementwise_naive(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  if (n == 0) return;
  with_inputs<T, Op>(p, [&](auto... x) {
    elementwise_naive_kernel<<<blocks_for(n, kNaiveBlock), kNaiveBlock, 0, p.stream>>>(static_cast<T*>(p.y), n,
                                                                                       Op{}, x...);
    ACT_CHECK_LAUNCH();
  });
}

template <class T, class Op>
void elementwise_warp(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  if (n == 0) return;
  T* y = static_cast<T*>(p.y);
  const VecSplit s = split_at_alignment(y, n);
  with_inputs<T, Op>(p, [&](auto... x) {
    if ((is_aligned16(x + s.head) && ...)) {
      launch_tiled(elementwise_warp_kernel<T, Op, LoadPack, Pointee<decltype(x)>...>, s.vecs,
                   p.stream, y, s, Op{}, x...);
    } else {
      launch_tiled(elementwise_warp_kernel<T, Op, LoadScalars, Pointee<decltype(x)>...>, s.vecs,
                   p.stream, y, s, Op{}, x...);
    }
  });
}

template <class T, class Op>
void bias_unfused(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  if (n == 0) return;
  const unsigned blocks = blocks_for(n, kNaiveBlock);
  T* y = static_cast<T*>(p.y);
  bias_fused_kernel<<<blocks, kNaiveBlock, 0, p.stream>>>(in<T>(p.x), in<T>(p.bias), y, n,
                                                          ColumnOf::make(p.cols), Identity{});
  ACT_CHECK_LAUNCH();
  elementwise_naive_kernel<<<blocks, kNaiveBlock, 0, p.stream>>>(y, n, Op{}, static_cast<const T*>(y));
  ACT_CHECK_LAUNCH();
}

template <class T, class Op>
void bias_fused(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  if (n == 0) return;
  bias_fused_kernel<<<blocks_for(n, kNaiveBlock), kNaiveBlock, 0, p.stream>>>(
      in<T>(p.x), in<T>(p.bias), static_cast<T*>(p.y), n, ColumnOf::make(p.cols), Op{});
  ACT_CHECK_LAUNCH();
}

template <class T, class Op>
void bias_fused_warp(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  if (n == 0) return;
  const T* x = in<T>(p.x);
  const T* bias = in<T>(p.bias);
  T* y = static_cast<T*>(p.y);
  const VecSplit s = split_at_alignment(y, n);
  const ColumnOf col_of = ColumnOf::make(p.cols);
  const bool x_vec = is_aligned16(x + s.head);
  // 16-byte bias loads need every vector to start on a column that is a multiple of kN.
  if (x_vec && s.head == 0 && p.cols % Pack<T>::kN == 0 && is_aligned16(bias)) {
    launch_tiled(bias_fused_warp_kernel<T, Op, LoadPack, BiasPack>, s.vecs, p.stream, x, bias, y, s,
                 col_of, Op{});
  } else if (x_vec) {
    launch_tiled(bias_fused_warp_kernel<T, Op, LoadPack, BiasWrap>, s.vecs, p.stream, x, bias, y, s,
                 col_of, Op{});
  } else {
    launch_tiled(bias_fused_warp_kernel<T, Op, LoadScalars, BiasWrap>, s.vecs, p.stream, x, bias, y, s,
                 col_of, Op{});
  }
}

template <class T>
size_t gated_unfused_workspace(int64_t rows, int64_t cols) {
  return static_cast<size_t>(rows) * static_cast<size_t>(cols) * sizeof(T);
}

template <class T, class Op>
void gated_unfused(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  if (n == 0) return;
  if (p.workspace == nullptr) throw std::invalid_argument("gated unfused: no workspace for the activation's output");
  const unsigned blocks = blocks_for(n, kNaiveBlock);
  const T* x = in<T>(p.x);
  T* t = static_cast<T*>(p.workspace);
  const ColumnOf col_of = ColumnOf::make(p.cols);
  gated_kernel<<<blocks, kNaiveBlock, 0, p.stream>>>(t, n, col_of, Op{}, Half<T>{x, 2});
  ACT_CHECK_LAUNCH();
  gated_kernel<<<blocks, kNaiveBlock, 0, p.stream>>>(static_cast<T*>(p.y), n, col_of, Gated<Identity>{},
                                                     Half<T>{t, 1}, Half<T>{x + p.cols, 2});
  ACT_CHECK_LAUNCH();
}

template <class T, class Op>
void gated_fused(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  if (n == 0) return;
  const T* x = in<T>(p.x);
  gated_kernel<<<blocks_for(n, kNaiveBlock), kNaiveBlock, 0, p.stream>>>(
      static_cast<T*>(p.y), n, ColumnOf::make(p.cols), Gated<Op>{}, Half<T>{x, 2}, Half<T>{x + p.cols, 2});
  ACT_CHECK_LAUNCH();
}

template <class T, class Op>
void gated_fused_warp(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  if (n == 0) return;
  const T* x = in<T>(p.x);
  T* y = static_cast<T*>(p.y);
  const VecSplit s = split_at_alignment(y, n);
  const ColumnOf col_of = ColumnOf::make(p.cols);
  // 16-byte loads of both halves need every output vector inside one row (y aligned, cols a
  // multiple of kN) and both halves' rows aligned (x aligned, cols a multiple of kN).
  if (s.head == 0 && p.cols % Pack<T>::kN == 0 && is_aligned16(x)) {
    launch_tiled(gated_fused_warp_kernel<T, Gated<Op>, GatedPack>, s.vecs, p.stream, x, y, s, col_of, Gated<Op>{});
  } else {
    launch_tiled(gated_fused_warp_kernel<T, Gated<Op>, GatedWrap>, s.vecs, p.stream, x, y, s, col_of, Gated<Op>{});
  }
}

// ---- bias backward ---------------------------------------------------------------------------

// Chunks of rows per column tile: enough blocks for two waves of the GPU, each chunk at least
// kMinChunkRows rows (8 per warp: the loads a thread keeps in flight), at most kMaxChunks (the
// workspace holds kMaxChunks partial sums per column; past 256 chunks of 64 rows, 16384 rows,
// longer chunks lose nothing).
constexpr int64_t kMinChunkRows = 64;
constexpr int64_t kMaxChunks = 256;

constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t max_chunks(int64_t rows) { return std::clamp<int64_t>(ceil_div(rows, kMinChunkRows), 1, kMaxChunks); }
// The workspace: an arrival counter per tile of the narrowest (scalar) tiles, rounded up to 16
// bytes, then max_chunks(rows) partial sums per column.
int64_t arrival_slots(int64_t cols) { return ceil_div(ceil_div(cols, kColumnLanes), 4) * 4; }

template <class T>
size_t bias_backward_workspace(int64_t rows, int64_t cols) {
  return static_cast<size_t>(arrival_slots(cols)) * sizeof(unsigned) +
         static_cast<size_t>(max_chunks(rows)) * static_cast<size_t>(cols) * sizeof(float);
}

// Launches bias_backward_kernel<T, F, kVec, kWrite> over the problem: clears the tiles'
// arrival counters, then one block per (tile, chunk).
template <class T, class F, int kVec, bool kWrite, class... In>
void launch_bias_backward(const Problem& p, T* dx, const In*... in) {
  if (p.dbias == nullptr || p.workspace == nullptr) {
    throw std::invalid_argument("bias backward: no dbias or no workspace");
  }
  const auto kernel = bias_backward_kernel<T, F, kVec, kWrite, In...>;
  constexpr int64_t kTileCols = int64_t{kColumnLanes} * kVec;
  const int64_t tiles = (p.cols + kTileCols - 1) / kTileCols;
  if (tiles > INT_MAX) throw std::invalid_argument("bias backward: too many columns");
  const int64_t wanted = std::clamp<int64_t>(ceil_div(2 * resident_blocks(kernel, kColumnThreads), tiles), 1,
                                             max_chunks(p.rows));
  const int64_t chunk_rows = ceil_div(p.rows, wanted);
  const int64_t chunks = ceil_div(p.rows, chunk_rows);  // no empty chunk
  auto* arrivals = static_cast<unsigned*>(p.workspace);
  float* partial = reinterpret_cast<float*>(arrivals + arrival_slots(p.cols));
  ACT_CUDA_CHECK(cudaMemsetAsync(arrivals, 0, static_cast<size_t>(tiles) * sizeof(unsigned), p.stream));
  kernel<<<dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(chunks)), kColumnThreads, 0, p.stream>>>(
      dx, static_cast<T*>(p.dbias), partial, arrivals, p.rows, p.cols, chunk_rows, F{}, in...);
  ACT_CHECK_LAUNCH();
}

template <class T, class Grad>
void bias_backward_unfused(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  if (n == 0) return;
  elementwise_naive<T, Grad>(p);
  T* dx = static_cast<T*>(p.y);
  launch_bias_backward<T, Identity, 1, false>(p, dx, static_cast<const T*>(dx));
}

template <class T, class Grad>
void bias_backward_fused(const Problem& p) {
  if (p.rows * p.cols == 0) return;
  with_inputs<T, Grad>(p, [&](auto... x) { launch_bias_backward<T, Grad, 1, true>(p, static_cast<T*>(p.y), x...); });
}

template <class T, class Grad>
void bias_backward_fused_warp(const Problem& p) {
  if (p.rows * p.cols == 0) return;
  T* dx = static_cast<T*>(p.y);
  with_inputs<T, Grad>(p, [&](auto... x) {
    // Every thread's vector lies inside one row at an aligned column of every array.
    if (p.cols % Pack<T>::kN == 0 && is_aligned16(dx) && (is_aligned16(x) && ...)) {
      launch_bias_backward<T, Grad, Pack<T>::kN, true>(p, dx, x...);
    } else {
      launch_bias_backward<T, Grad, 1, true>(p, dx, x...);
    }
  });
}

// Every launcher above for every element type, with the functors the registry uses. The
// explicitly instantiated table is emitted with the launchers it points to, here where their
// kernels are defined; registry.cu sees only the declarations in launchers.h.
template <class T>
struct ElementwiseLaunchers {
  static const Launcher kAll[];
  static const WorkspaceBytes kWorkspace[];
};
template <class T>
const Launcher ElementwiseLaunchers<T>::kAll[] = {
    elementwise_naive<T, Sigmoid>, elementwise_naive<T, Tanh>, elementwise_naive<T, Relu>,
    elementwise_naive<T, Gelu>,    elementwise_naive<T, GeluTanh>, elementwise_naive<T, Silu>,
    elementwise_warp<T, Sigmoid>,  elementwise_warp<T, Tanh>,  elementwise_warp<T, Relu>,
    elementwise_warp<T, Gelu>,     elementwise_warp<T, GeluTanh>, elementwise_warp<T, Silu>,
    elementwise_warp<T, SigmoidApprox>, elementwise_warp<T, TanhApprox>,
    elementwise_warp<T, GeluTanhApprox>, elementwise_warp<T, SiluApprox>,
    bias_unfused<T, Sigmoid>,      bias_unfused<T, Tanh>,      bias_unfused<T, Relu>,
    bias_unfused<T, Gelu>,         bias_unfused<T, Silu>,
    bias_fused<T, Sigmoid>,        bias_fused<T, Tanh>,        bias_fused<T, Relu>,
    bias_fused<T, Gelu>,           bias_fused<T, Silu>,
    bias_fused_warp<T, Sigmoid>,   bias_fused_warp<T, Tanh>,   bias_fused_warp<T, Relu>,
    bias_fused_warp<T, Gelu>,      bias_fused_warp<T, Silu>,
    gated_unfused<T, Silu>,        gated_unfused<T, Gelu>,
    gated_fused<T, Silu>,          gated_fused<T, Gelu>,
    gated_fused_warp<T, Silu>,     gated_fused_warp<T, Gelu>,
    elementwise_naive<T, SigmoidGrad>, elementwise_naive<T, TanhGrad>, elementwise_naive<T, ReluGrad>,
    elementwise_warp<T, SigmoidGrad>,  elementwise_warp<T, TanhGrad>,  elementwise_warp<T, ReluGrad>,
    bias_backward_unfused<T, SigmoidGrad>, bias_backward_unfused<T, TanhGrad>, bias_backward_unfused<T, ReluGrad>,
    bias_backward_fused<T, SigmoidGrad>,   bias_backward_fused<T, TanhGrad>,   bias_backward_fused<T, ReluGrad>,
    bias_backward_fused_warp<T, SigmoidGrad>, bias_backward_fused_warp<T, TanhGrad>,
    bias_backward_fused_warp<T, ReluGrad>,
};
template <class T>
const WorkspaceBytes ElementwiseLaunchers<T>::kWorkspace[] = {gated_unfused_workspace<T>, bias_backward_workspace<T>};
template struct ElementwiseLaunchers<float>;
template struct ElementwiseLaunchers<__half>;
template struct ElementwiseLaunchers<__nv_bfloat16>;

}  // namespace actbench
