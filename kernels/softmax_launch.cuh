// What the launchers of softmax (softmax.cu) and softmax_backward (softmax_backward.cu) share:
// the shapes of their register-resident strategies (warp: a lane group per row, block: a block
// per row, both holding the row's values in RowSlices of softmax.cuh) and the folds that pick
// and launch one of them, the alignment dispatch, and the small host helpers. Host code for
// nvcc translation units.
//
// The folds are templated on a Strategy, which names the family's kernels and how much of a
// row they may hold:
//
//   kWarpMaxPerLane, kBlockMaxPerThread         the longest buckets of the tables below it
//                                               instantiates (values of a row per lane or
//                                               thread: its registers hold each once per
//                                               tensor it keeps)
//   warp_kernel<T, kVec, kPerLane, kGroup, kRows>()  its warp kernel
//   block_kernel<T, kVec, kThreads, kPerThread>()    its block kernel
//   launch<T>(kernel, grid, threads, p)         launches either kernel on p.stream with p's
//                                               tensors, rows and cols
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "common/cuda_check.h"
#include "common/occupancy.h"
#include "common/reduce.cuh"
#include "common/vec.cuh"
#include "registry.h"
#include "softmax.cuh"

namespace actbench::softmax_launch {

// ---- the shapes of each strategy --------------------------------------------------------------

// The registers of warp and block hold the row's values widened to f32: a register budget is
// a number of columns whatever the type, so the column limits are the same for every type.
// What differs with the type is the vector: 4 floats or 8 16-bit elements per 16-byte access
// (kVec), and every per-thread count on a vector path is a multiple of it.
//
// warp. Short rows (up to 32 vectors): a group of 1..32 lanes (the narrowest that holds the
// row at one vector per lane), kShortRows rows per group per step, so that every lane has 8
// values in flight. Longer rows: the whole warp, with the first per-lane bucket that holds the
// row (buckets ~15% apart where the vector allows, so padding wastes little).
template <int kN> struct WarpShapes;
template <> struct WarpShapes<4> {  // f32
  static constexpr int kShortPerLane = 4;
  template <int kVec> static constexpr int kShortRows = 2;
  static constexpr int kPerLane[] = {8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128};
};
template <> struct WarpShapes<8> {  // f16, bf16
  static constexpr int kShortPerLane = 8;
  // Two rows of 8 in the scalar kernels (misaligned or odd rows) made ptxas spill a register
  // in softmax's (32 registers and a 4-byte stack frame); one row of 8 has as many loads in
  // flight.
  template <int kVec> static constexpr int kShortRows = kVec == 1 ? 1 : 2;
  static constexpr int kPerLane[] = {8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128};
};
template <class T>
using WarpShapesOf = WarpShapes<Pack<T>::kN>;
constexpr int kWarpGroups[] = {1, 2, 4, 8, 16, 32};

// block: the fewest threads (from 128) that hold the row at the strategy's most values each,
// then the fewest values per thread (a multiple of 8, so of every type's vector) that hold it
// with those threads.
constexpr int kBlockThreads[] = {128, 256, 512, 1024};
constexpr int kBlockPerThread[] = {8, 16, 24, 32};

// The entries of `table` (ascending) up to `most`: the buckets a strategy instantiates.
template <size_t N>
constexpr size_t buckets_upto(const int (&table)[N], int most) {
  size_t n = 0;
  for (int v : table) n += v <= most ? 1 : 0;
  return n;
}

// A strategy's limits are entries of every table, so its longest rows fill its last bucket.
template <class Strategy>
constexpr bool limits_are_buckets() {
  constexpr size_t f32 = buckets_upto(WarpShapes<4>::kPerLane, Strategy::kWarpMaxPerLane);
  constexpr size_t h16 = buckets_upto(WarpShapes<8>::kPerLane, Strategy::kWarpMaxPerLane);
  constexpr size_t block = buckets_upto(kBlockPerThread, Strategy::kBlockMaxPerThread);
  return f32 > 0 && WarpShapes<4>::kPerLane[f32 - 1] == Strategy::kWarpMaxPerLane && h16 > 0 &&
         WarpShapes<8>::kPerLane[h16 - 1] == Strategy::kWarpMaxPerLane && block > 0 &&
         kBlockPerThread[block - 1] == Strategy::kBlockMaxPerThread;
}

// The longest rows a strategy's warp and block kernels hold.
template <class Strategy>
constexpr int64_t warp_max_cols() {
  static_assert(limits_are_buckets<Strategy>(), "a strategy's limits must be entries of the shape tables");
  return int64_t{kWarpSize} * Strategy::kWarpMaxPerLane;
}
template <class Strategy>
constexpr int64_t block_max_cols() {
  static_assert(limits_are_buckets<Strategy>(), "a strategy's limits must be entries of the shape tables");
  return int64_t{kBlockThreads[std::size(kBlockThreads) - 1]} * Strategy::kBlockMaxPerThread;
}

// ---- host helpers -------------------------------------------------------------------------------

constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Blocks for `work` units of one block each, capped at what the device holds at once.
inline int capped_grid(int64_t work, int resident) { return static_cast<int>(std::min<int64_t>(work, resident)); }

// Rows start on 16-byte boundaries, so 16-byte loads and stores are legal: not for rows of a
// length that is no multiple of the vector (row r starts r * cols elements in), nor for
// offset pointers. x, y and, for a backward family, dy (null, so aligned, for the others).
template <class T>
bool vector_rows(const Problem& p) {
  return p.cols % Pack<T>::kN == 0 && is_aligned16(p.x) && is_aligned16(p.y) && is_aligned16(p.dy);
}

template <class T>
const T* in(const Problem& p) {
  return static_cast<const T*>(p.x);
}
template <class T>
const T* grad(const Problem& p) {
  return static_cast<const T*>(p.dy);
}
template <class T>
T* out(const Problem& p) {
  return static_cast<T*>(p.y);
}

inline void require_cols(const Problem& p, int64_t max_cols, const char* family, const char* variant) {
  if (p.cols > max_cols) {
    throw std::invalid_argument(std::string(family) + "/" + variant + ": cols = " + std::to_string(p.cols) +
                                " exceeds its maximum of " + std::to_string(max_cols));
  }
}

inline void require_workspace(const Problem& p, const char* family, const char* variant) {
  if (p.workspace == nullptr) throw std::invalid_argument(std::string(family) + "/" + variant + ": no workspace");
}

// Calls launch<kVec>() with the type's 16-byte vector when the rows allow it, else scalar.
template <class T, class Launch>
void by_alignment(const Problem& p, Launch launch) {
  if (vector_rows<T>(p)) {
    launch(std::integral_constant<int, Pack<T>::kN>{});
  } else {
    launch(std::integral_constant<int, 1>{});
  }
}

// ---- warp ---------------------------------------------------------------------------------

// Blocks of kSoftmaxWarpKernelThreads, the warp kernels' __launch_bounds__.
template <class Strategy, class T, int kVec, int kPerLane, int kGroup, int kRows>
void launch_warp(const Problem& p) {
  const auto kernel = Strategy::template warp_kernel<T, kVec, kPerLane, kGroup, kRows>();
  constexpr int kThreads = kSoftmaxWarpKernelThreads;
  constexpr int64_t kRowsPerBlock = (kThreads / kWarpSize) * (kWarpSize / kGroup) * kRows;
  const int grid = capped_grid(ceil_div(p.rows, kRowsPerBlock), resident_blocks(kernel, kThreads));
  Strategy::template launch<T>(kernel, grid, kThreads, p);
}

// The folds below launch the first table entry that holds the row (|| stops at it).
template <class Strategy, class T, int kVec, size_t... I>
void launch_warp_short(const Problem& p, int64_t group, std::index_sequence<I...>) {
  constexpr int kPerLane = WarpShapesOf<T>::kShortPerLane;
  constexpr int kRows = WarpShapesOf<T>::template kShortRows<kVec>;
  (void)((group <= kWarpGroups[I] && (launch_warp<Strategy, T, kVec, kPerLane, kWarpGroups[I], kRows>(p), true)) ||
         ...);
}

template <class Strategy, class T, int kVec, size_t... I>
void launch_warp_long(const Problem& p, int64_t per_lane, std::index_sequence<I...>) {
  constexpr auto& kPerLane = WarpShapesOf<T>::kPerLane;
  (void)((per_lane <= kPerLane[I] && (launch_warp<Strategy, T, kVec, kPerLane[I], kWarpSize, 1>(p), true)) || ...);
}

// Rows up to warp_max_cols<Strategy>() (the caller checks).
template <class Strategy, class T, int kVec>
void launch_warp_for(const Problem& p) {
  using Shapes = WarpShapesOf<T>;
  if (p.cols <= kWarpSize * Shapes::kShortPerLane) {
    launch_warp_short<Strategy, T, kVec>(p, ceil_div(p.cols, Shapes::kShortPerLane),
                                         std::make_index_sequence<std::size(kWarpGroups)>{});
  } else {
    constexpr size_t kBuckets = buckets_upto(Shapes::kPerLane, Strategy::kWarpMaxPerLane);
    launch_warp_long<Strategy, T, kVec>(p, ceil_div(p.cols, kWarpSize), std::make_index_sequence<kBuckets>{});
  }
}

// ---- block --------------------------------------------------------------------------------

template <class Strategy, class T, int kVec, int kThreads, int kPerThread>
void launch_block(const Problem& p) {
  const auto kernel = Strategy::template block_kernel<T, kVec, kThreads, kPerThread>();
  const int grid = capped_grid(p.rows, resident_blocks(kernel, kThreads));
  Strategy::template launch<T>(kernel, grid, kThreads, p);
}

// The fewest values per thread a block of `threads` is ever given when a thread holds at most
// `most`: launch_block_for picks it only for rows that the next smaller block cannot hold at
// `most` values per thread.
constexpr int64_t block_min_per_thread(int threads, int most) {
  int smaller = 0;
  for (int t : kBlockThreads) smaller = t < threads ? t : smaller;
  return smaller == 0 ? 1 : ceil_div(int64_t{smaller} * most + 1, threads);
}

// Launches the bucket when the row fits it; buckets below block_min_per_thread are never
// chosen, so their kernels are not instantiated at all.
template <class Strategy, class T, int kVec, int kThreads, int kPerThread>
bool launch_block_if_fits(const Problem& p, int64_t per_thread) {
  if constexpr (kPerThread < block_min_per_thread(kThreads, Strategy::kBlockMaxPerThread)) {
    return false;
  } else {
    if (per_thread > kPerThread) return false;
    launch_block<Strategy, T, kVec, kThreads, kPerThread>(p);
    return true;
  }
}

template <class Strategy, class T, int kVec, int kThreads, size_t... I>
void launch_block_per_thread(const Problem& p, std::index_sequence<I...>) {
  const int64_t per_thread = ceil_div(p.cols, kThreads);
  (void)(launch_block_if_fits<Strategy, T, kVec, kThreads, kBlockPerThread[I]>(p, per_thread) || ...);
}

template <class Strategy, class T, int kVec, size_t... I>
void launch_block_threads(const Problem& p, std::index_sequence<I...>) {
  constexpr int kMaxPerThread = Strategy::kBlockMaxPerThread;
  constexpr auto kBuckets = std::make_index_sequence<buckets_upto(kBlockPerThread, kMaxPerThread)>{};
  (void)((p.cols <= int64_t{kBlockThreads[I]} * kMaxPerThread &&
          (launch_block_per_thread<Strategy, T, kVec, kBlockThreads[I]>(p, kBuckets), true)) || ...);
}

// Rows up to block_max_cols<Strategy>() (the caller checks).
template <class Strategy, class T, int kVec>
void launch_block_for(const Problem& p) {
  launch_block_threads<Strategy, T, kVec>(p, std::make_index_sequence<std::size(kBlockThreads)>{});
}

}  // namespace actbench::softmax_launch
