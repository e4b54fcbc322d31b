// Launchers of the softmax variants (kernels in softmax.cuh), each templated on the element
// type T (float, __half, __nv_bfloat16):
//
//   naive    three kernels, one thread per row; workspace: each row's max and sum
//   fused    one block of 256 threads per row, shared-memory trees
//   warp     rows up to kSoftmaxWarpMaxCols: a lane group per row, the row in registers
//   block    rows up to kSoftmaxBlockMaxCols: a block per row, the row in registers
//   cluster  rows up to kSoftmaxClusterMaxCols (sm_90): a thread-block cluster per row, the
//            row in the cluster's registers, exchanges through distributed shared memory
//   online   any row: parts of rows over a cooperative grid; workspace: the parts' states
//   auto     warp, block or online by shape (thresholds below)
//
// Each launcher is the only place that picks its kernels' template parameters, grid and block;
// it enqueues on p.stream and checks every launch. Grids are capped at what the device holds
// at once (the kernels loop over rows), from SM counts and occupancies queried once per device
// and kernel, then cached. warp and block pick their shapes through softmax_launch.cuh, which
// softmax_backward.cu shares.
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "common/cuda_check.h"
#include "common/occupancy.h"
#include "launchers.h"
#include "softmax.cuh"
#include "softmax_launch.cuh"

namespace actbench {

namespace {

using namespace softmax_launch;

// ---- the shapes of each strategy --------------------------------------------------------------

// warp and block: every bucket of softmax_launch.cuh's tables. A lane keeps up to 128 values
// (the row's exponentials) in registers with no spills (a 1024-thread block: 32 values a
// thread within its 64 registers).
struct SoftmaxForward {
  static constexpr int kWarpMaxPerLane = 128;
  static constexpr int kBlockMaxPerThread = 32;
  template <class T, int kVec, int kPerLane, int kGroup, int kRows>
  static constexpr auto warp_kernel() {
    return softmax_warp_kernel<T, kVec, kPerLane, kGroup, kRows>;
  }
  template <class T, int kVec, int kThreads, int kPerThread>
  static constexpr auto block_kernel() {
    return softmax_block_kernel<T, kVec, kThreads, kPerThread>;
  }
  template <class T, class Kernel>
  static void launch(Kernel kernel, int grid, int threads, const Problem& p) {
    kernel<<<grid, threads, 0, p.stream>>>(in<T>(p), out<T>(p), p.rows, static_cast<int>(p.cols));
    ACT_CHECK_LAUNCH();
  }
};

// online. Its shared memory holds the part in T, so the budgets are bytes and a 16-bit type
// gets twice the columns. A part of at most kOnlineChunkMax<T> elements (48 KB),
// double-buffered, takes 96 KB of shared memory: two 512-thread blocks per SM. A row is split
// into at most ceil(cols / kOnlineChunkMin<T>) parts of 4 KB or more (rounding to whole
// vectors can leave parts a little shorter; more parts would make the cross-block merge cost
// more than the parallelism gains). The grid never exceeds kOnlineMaxGrid blocks (the SM count
// of any GPU in sight times the two blocks per SM), which bounds the workspace without asking
// the device.
constexpr int64_t kOnlineChunkBytes = 48 * 1024;
constexpr int64_t kOnlineChunkMinBytes = 4 * 1024;
template <class T>
constexpr int64_t kOnlineChunkMax = kOnlineChunkBytes / sizeof(T);
template <class T>
constexpr int64_t kOnlineChunkMin = kOnlineChunkMinBytes / sizeof(T);
// A grid barrier and the merge after it (~3 us) in elements one block moves meanwhile (two
// blocks per SM on 132 SMs share ~3 TB/s; 32 KB of reads and writes): weighs waves against
// parts.
template <class T>
constexpr int64_t kOnlineBarrierElements = 16 * 1024 / sizeof(T);
constexpr size_t kOnlineBufferBytes = 2 * kOnlineChunkBytes;
constexpr int kOnlineMaxGrid = 2048;

constexpr int kNaiveThreads = 256;
constexpr int kFusedThreads = 256;

// auto (the same columns for every type, as the warp and block limits are). Up to
// kAutoWarpMaxCols a warp holds the row with no barrier at all (ptxas: full
// occupancy to 256 columns, but 48 warps for the scalar kernel of rows of 5-8 columns that are
// no multiple of 4; 36 warps per SM at 1024, 12 at 4096, where 128 floats a lane
// still keep ~190 KB per SM in flight); up to kAutoBlockMaxCols a block holds it with two or
// more blocks per SM, when there are rows enough for every SM; beyond, on sm_90, a cluster holds
// it (one read, one write, no grid barrier) when the rows' clusters give every SM a block in
// waves that keep most clusters busy (cluster_suits); otherwise online splits rows across the GPU and streams parts through shared memory. All
// three numbers are a design estimate until the benchmark sweep measures the crossings; none
// sits next to the 1024 / 2048 boundaries checked for cliffs.
constexpr int64_t kAutoWarpMaxCols = 4096;
constexpr int64_t kAutoBlockMaxCols = 16384;

// ---- cluster ------------------------------------------------------------------------------

// A cluster of n blocks holds the row, each block ceil(cols / n) columns (a whole number of
// vectors) in registers at kClusterPerThread[i] values a thread. Up to kClusterSmallMaxCols:
// 512-thread blocks, about 8192 columns a block (n = cols / 8192 within 2..8 portable blocks;
// 16 values a thread, 32 past 8192), which leaves room for two or three blocks per SM. Longer
// rows: 1024-thread blocks (one an SM) of up to 32768 columns, 8 of them, or 16 with the
// non-portable cluster size: a cluster lives in one GPC, and sizes between would leave a GPC's
// SMs idle beside one cluster. A design estimate until the benchmark sweep measures it.
constexpr int kClusterPerThread[] = {16, 32};
constexpr int kClusterSmallThreads = 512;
constexpr int kClusterLargeThreads = 1024;
constexpr int kClusterPortable = 8;
constexpr int kClusterMax = 16;
constexpr int64_t kClusterSmallTarget = 8192;
constexpr int64_t kClusterSmallMaxCols = int64_t{kClusterPortable} * kClusterSmallThreads * kClusterPerThread[1];
constexpr int64_t kClusterLargeBlockCols = int64_t{kClusterLargeThreads} * kClusterPerThread[1];
// Rows for which auto takes a cluster only when its clusters come in waves that keep this share
// of the resident clusters busy (9 rows of 8 resident clusters: 56%, online instead).
constexpr double kClusterMinWaveUse = 0.8;

// Blocks of the cluster that holds a row of `cols` columns, and their threads.
struct ClusterShape {
  int blocks;
  int threads;
};
constexpr ClusterShape cluster_shape(int64_t cols) {
  return cols <= kClusterSmallMaxCols
             ? ClusterShape{static_cast<int>(std::clamp<int64_t>(ceil_div(cols, kClusterSmallTarget), 2, kClusterPortable)),
                            kClusterSmallThreads}
             : ClusterShape{cols <= kClusterPortable * kClusterLargeBlockCols ? kClusterPortable : kClusterMax,
                            kClusterLargeThreads};
}

// Resident clusters of the kernel that holds p's rows (0: none fits this device), and with
// `launch` the launch itself, which needs at least one.
template <class T, int kVec, int kThreads, int kPerThread>
int launch_cluster(const Problem& p, int blocks, int slice, bool launch) {
  static_assert(kThreads == kClusterSmallThreads || kPerThread == kClusterPerThread[1],
                "cluster: 1024-thread blocks always hold slices over 16384 columns");
  const auto kernel = softmax_cluster_kernel<T, kVec, kThreads, kPerThread>;
  const int resident = resident_clusters(kernel, kThreads, blocks);
  if (!launch) return resident;
  if (resident < 1) {
    throw std::runtime_error("softmax/cluster: a cluster of " + std::to_string(blocks) + " blocks of " +
                             std::to_string(kThreads) + " threads does not fit this device");
  }
  const int64_t clusters = std::min<int64_t>(p.rows, resident);
  const ClusterLaunch config(clusters * blocks, kThreads, blocks, p.stream);
  ACT_CUDA_CHECK(cudaLaunchKernelEx(&config.config, kernel, in<T>(p), out<T>(p), p.rows, static_cast<int>(p.cols), slice));
  ACT_CHECK_LAUNCH();
  return resident;
}

template <class T, int kVec, int kThreads>
int launch_cluster_per_thread(const Problem& p, int blocks, bool launch) {
  const int64_t slice = ceil_div(ceil_div(p.cols, blocks), kVec) * kVec;
  if (slice > int64_t{kThreads} * kClusterPerThread[1]) {
    throw std::logic_error("softmax/cluster: a slice of " + std::to_string(slice) + " columns exceeds its block");
  }
  if constexpr (kThreads == kClusterSmallThreads) {
    if (slice <= int64_t{kThreads} * kClusterPerThread[0]) {
      return launch_cluster<T, kVec, kThreads, kClusterPerThread[0]>(p, blocks, static_cast<int>(slice), launch);
    }
  }
  return launch_cluster<T, kVec, kThreads, kClusterPerThread[1]>(p, blocks, static_cast<int>(slice), launch);
}

template <class T, int kVec>
int launch_cluster_for(const Problem& p, bool launch) {
  const ClusterShape shape = cluster_shape(p.cols);
  return shape.threads == kClusterSmallThreads
             ? launch_cluster_per_thread<T, kVec, kClusterSmallThreads>(p, shape.blocks, launch)
             : launch_cluster_per_thread<T, kVec, kClusterLargeThreads>(p, shape.blocks, launch);
}

// ---- online -------------------------------------------------------------------------------

// grid = rows_per_wave * splits blocks; each row in `splits` parts of at most `chunk` elements;
// `waves` rounds of rows_per_wave rows.
struct OnlinePlan {
  int grid;
  int splits;
  int64_t chunk;
  int64_t waves;
};

// Parts of ceil(cols / splits) elements rounded up to whole 16-byte vectors, so that every
// part of an aligned row starts aligned (rounding can leave fewer parts, never an empty one),
// rows_per_wave rows a wave.
template <class T>
OnlinePlan make_plan(int64_t rows, int64_t cols, int64_t splits, int64_t rows_per_wave) {
  constexpr int64_t kN = Pack<T>::kN;
  const int64_t chunk = ceil_div(ceil_div(cols, splits), kN) * kN;
  splits = ceil_div(cols, chunk);
  rows_per_wave = std::min(rows, rows_per_wave);
  return {static_cast<int>(rows_per_wave * splits), static_cast<int>(splits), chunk, ceil_div(rows, rows_per_wave)};
}

// Parts in shared memory: a row needs at least ceil(cols / kOnlineChunkMax) of them. A wave
// of k rows splits each into capacity / k parts (at most ceil(cols / kOnlineChunkMin)), so few
// rows spread over the whole GPU. The k with the least time per block wins, counted in elements
// moved: each wave moves a part and, when rows are split, waits at a grid barrier worth about
// kOnlineBarrierElements; fewer waves on ties. All k with the same capacity / k give the same
// parts, and the largest of them the fewest waves, so only those are tried (O(sqrt(capacity))).
template <class T>
OnlinePlan plan_resident(int64_t rows, int64_t cols, int capacity) {
  const int64_t min_splits = ceil_div(cols, kOnlineChunkMax<T>);
  const int64_t max_splits = std::min<int64_t>(capacity, std::max(min_splits, ceil_div(cols, kOnlineChunkMin<T>)));
  const int64_t last = std::min(rows, capacity / min_splits);
  const auto cost = [](const OnlinePlan& plan) {
    return plan.waves * (plan.chunk + (plan.splits > 1 ? kOnlineBarrierElements<T> : 0));
  };
  OnlinePlan best{};
  for (int64_t k = std::min(rows, capacity / max_splits); k <= last; k = capacity / (capacity / k) + 1) {
    const int64_t rows_per_wave = std::min(last, capacity / (capacity / k));
    const OnlinePlan plan = make_plan<T>(rows, cols, std::min(capacity / rows_per_wave, max_splits), rows_per_wave);
    if (best.grid == 0 || cost(plan) < cost(best) || (cost(plan) == cost(best) && plan.waves < best.waves)) {
      best = plan;
    }
  }
  return best;
}

template <class T, int kVec, bool kResident>
void launch_online_kernel(const Problem& p, const OnlinePlan& plan) {
  if (plan.splits > 1) require_workspace(p, "softmax", "online");
  const auto kernel = softmax_online_kernel<T, kVec, kResident>;
  const size_t smem = kResident ? 2 * plan.chunk * sizeof(T) : 0;
  const T* x = in<T>(p);
  T* y = out<T>(p);
  int64_t rows = p.rows, cols = p.cols, chunk = plan.chunk, waves = plan.waves;
  int splits = plan.splits;
  SoftmaxState* partials = static_cast<SoftmaxState*>(p.workspace);
  void* args[] = {&x, &y, &rows, &cols, &chunk, &splits, &waves, &partials};
  ACT_CUDA_CHECK(cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(kernel), dim3(plan.grid),
                                             dim3(kSoftmaxOnlineThreads), args, smem, p.stream));
  ACT_CHECK_LAUNCH();
}

template <class T, int kVec>
void launch_online_for(const Problem& p) {
  const int capacity = std::min(kOnlineMaxGrid, resident_blocks(softmax_online_kernel<T, kVec, true>,
                                                                kSoftmaxOnlineThreads, kOnlineBufferBytes));
  if (ceil_div(p.cols, kOnlineChunkMax<T>) <= capacity) {
    launch_online_kernel<T, kVec, true>(p, plan_resident<T>(p.rows, p.cols, capacity));
  } else {
    // A row longer than the GPU's shared memory holds: one part per block, read twice.
    const int streamed =
        std::min(kOnlineMaxGrid, resident_blocks(softmax_online_kernel<T, kVec, false>, kSoftmaxOnlineThreads));
    launch_online_kernel<T, kVec, false>(p, make_plan<T>(p.rows, p.cols, streamed, 1));
  }
}

}  // namespace

const int64_t kSoftmaxWarpMaxCols = warp_max_cols<SoftmaxForward>();
const int64_t kSoftmaxBlockMaxCols = block_max_cols<SoftmaxForward>();
const int64_t kSoftmaxClusterMaxCols = int64_t{kClusterMax} * kClusterLargeBlockCols;

size_t softmax_naive_workspace(int64_t rows, int64_t) { return 2 * static_cast<size_t>(rows) * sizeof(float); }

// The parts' states of two waves; rows of at most kOnlineChunkMin columns are never split.
template <class T>
size_t softmax_online_workspace(int64_t, int64_t cols) {
  return cols > kOnlineChunkMin<T> ? 2 * size_t{kOnlineMaxGrid} * sizeof(SoftmaxState) : 0;
}

template <class T>
size_t softmax_auto_workspace(int64_t rows, int64_t cols) {
  return cols > kAutoWarpMaxCols ? softmax_online_workspace<T>(rows, cols) : 0;
}

template <class T>
void softmax_naive(const Problem& p) {
  if (p.rows == 0 || p.cols == 0) return;
  require_workspace(p, "softmax", "naive");
  float* row_max = static_cast<float*>(p.workspace);
  float* row_sum = row_max + p.rows;
  const auto grid = static_cast<unsigned>(ceil_div(p.rows, kNaiveThreads));
  softmax_naive_max_kernel<<<grid, kNaiveThreads, 0, p.stream>>>(in<T>(p), row_max, p.rows, p.cols);
  ACT_CHECK_LAUNCH();
  softmax_naive_sum_kernel<<<grid, kNaiveThreads, 0, p.stream>>>(in<T>(p), row_max, row_sum, p.rows, p.cols);
  ACT_CHECK_LAUNCH();
  softmax_naive_normalize_kernel<<<grid, kNaiveThreads, 0, p.stream>>>(in<T>(p), row_max, row_sum, out<T>(p), p.rows,
                                                                       p.cols);
  ACT_CHECK_LAUNCH();
}

template <class T>
void softmax_fused(const Problem& p) {
  if (p.rows == 0 || p.cols == 0) return;
  const auto kernel = softmax_fused_kernel<T, kFusedThreads>;
  const int grid = capped_grid(p.rows, resident_blocks(kernel, kFusedThreads));
  kernel<<<grid, kFusedThreads, 0, p.stream>>>(in<T>(p), out<T>(p), p.rows, p.cols);
  ACT_CHECK_LAUNCH();
}

template <class T>
void softmax_warp(const Problem& p) {
  if (p.rows == 0 || p.cols == 0) return;
  require_cols(p, kSoftmaxWarpMaxCols, "softmax", "warp");
  by_alignment<T>(p, [&](auto vec) { launch_warp_for<SoftmaxForward, T, decltype(vec)::value>(p); });
}

template <class T>
void softmax_block(const Problem& p) {
  if (p.rows == 0 || p.cols == 0) return;
  require_cols(p, kSoftmaxBlockMaxCols, "softmax", "block");
  by_alignment<T>(p, [&](auto vec) { launch_block_for<SoftmaxForward, T, decltype(vec)::value>(p); });
}

template <class T>
void softmax_cluster(const Problem& p) {
  if (p.rows == 0 || p.cols == 0) return;
  require_cols(p, kSoftmaxClusterMaxCols, "softmax", "cluster");
  if (compute_capability() < 90) {
    throw std::invalid_argument("softmax/cluster: thread-block clusters need sm_90 or newer; this GPU is sm_" +
                                std::to_string(compute_capability()));
  }
  by_alignment<T>(p, [&](auto vec) { launch_cluster_for<T, decltype(vec)::value>(p, true); });
}

// Whether auto should take a cluster for p: sm_90, the row within reach, a cluster that fits
// this device, and waves of clusters that keep kClusterMinWaveUse of them and every SM busy.
template <class T>
bool cluster_suits(const Problem& p) {
  if (p.cols > kSoftmaxClusterMaxCols || compute_capability() < 90) return false;
  int resident = 0;
  by_alignment<T>(p, [&](auto vec) { resident = launch_cluster_for<T, decltype(vec)::value>(p, false); });
  if (resident < 1 || p.rows * cluster_shape(p.cols).blocks < sm_count()) return false;
  const int64_t waves = ceil_div(p.rows, resident);
  return static_cast<double>(p.rows) >= kClusterMinWaveUse * static_cast<double>(waves * resident);
}

template <class T>
void softmax_online(const Problem& p) {
  if (p.rows == 0 || p.cols == 0) return;
  by_alignment<T>(p, [&](auto vec) { launch_online_for<T, decltype(vec)::value>(p); });
}

template <class T>
void softmax_auto(const Problem& p) {
  if (p.cols <= kAutoWarpMaxCols) {
    softmax_warp<T>(p);
  } else if (p.cols <= kAutoBlockMaxCols && p.rows >= sm_count()) {
    softmax_block<T>(p);
  } else if (cluster_suits<T>(p)) {
    softmax_cluster<T>(p);
  } else {
    softmax_online<T>(p);
  }
}

// Every launcher and workspace function above for every element type (see elementwise.cu).
template <class T>
struct SoftmaxLaunchers {
  static const Launcher kAll[];
  static const WorkspaceBytes kWorkspace[];
};
template <class T>
const Launcher SoftmaxLaunchers<T>::kAll[] = {softmax_naive<T>,  softmax_fused<T>,   softmax_warp<T>,
                                              softmax_block<T>,  softmax_cluster<T>, softmax_online<T>,
                                              softmax_auto<T>};
template <class T>
const WorkspaceBytes SoftmaxLaunchers<T>::kWorkspace[] = {softmax_online_workspace<T>, softmax_auto_workspace<T>};
template struct SoftmaxLaunchers<float>;
template struct SoftmaxLaunchers<__half>;
template struct SoftmaxLaunchers<__nv_bfloat16>;

}  // namespace actbench
