// Row-wise softmax kernels: rows x cols elements of type T (float, __half, __nv_bfloat16),
// row-major, over the last dimension, y never aliases x. One kernel body per strategy,
// templated on T; the launchers in softmax.cu pick each template's parameters, the grid and
// the block. Inputs are widened to f32 as they are read; max, sum and the exponentials are
// f32; each output is rounded once to T as it is written.
//
//   naive    softmax_naive_{max,sum,normalize}_kernel: three kernels, one thread per row
//   fused    softmax_fused_kernel: one block per row, shared-memory tree reductions, x read
//            three times (max, sum, output)
//   warp     softmax_warp_kernel: a group of kGroup lanes per row (32 / kGroup rows per warp
//            for short rows), the row in registers, shuffle reductions, one read, one write
//   block    softmax_block_kernel: one block per row, the row in registers, shuffle +
//            shared-memory reductions, one read, one write
//   cluster  softmax_cluster_kernel (sm_90): one thread-block cluster per row, each block's
//            slice in its registers, the blocks' maxima and sums exchanged through distributed
//            shared memory at cluster barriers: one read, one write, no grid barrier
//   online   softmax_online_kernel: a cooperative persistent grid; each row is split into
//            parts, one per block, each block folds its part into one (max, sum) state in a
//            single pass and the row's states are merged through the workspace after a grid
//            barrier; parts are double-buffered in shared memory (in T: a 16-bit part takes
//            half the bytes, so twice the columns fit) so x is read once
//
// Numerics (common/ops.h): maxima propagate NaN (max_nan), softmax_term makes -inf entries 0
// and +inf entries NaN, partial states merge with SoftmaxMergeOp. Every optimized kernel
// scales by 1 / sum computed once per row: e * (1 / s) is softmax_output's e / s to within
// an ulp, and keeps its special cases (s = 0 or NaN makes every element NaN).
#pragma once

#include <cooperative_groups.h>
#include <cuda_pipeline.h>

#include <cstdint>

#include "common/ops.h"
#include "common/reduce.cuh"
#include "common/vec.cuh"

namespace actbench {

// ---- naive: three kernels, one thread per row ------------------------------------------------

template <class T>
__global__ void softmax_naive_max_kernel(const T* __restrict__ x, float* __restrict__ row_max,
                                         int64_t rows, int64_t cols) {
  const int64_t row = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (row >= rows) return;
  const T* xr = x + row * cols;
  float m = MaxOp{}.identity();
  for (int64_t c = 0; c < cols; ++c) m = MaxOp{}(m, widen(xr[c]));
  row_max[row] = m;
}

// One thread adds up a whole row in order: a plain float sum of 2^20 terms drifts by ~1e-5
// relative, so it is compensated (Kahan) to stay at float rounding.
template <class T>
__global__ void softmax_naive_sum_kernel(const T* __restrict__ x, const float* __restrict__ row_max,
                                         float* __restrict__ row_sum, int64_t rows, int64_t cols) {
  const int64_t row = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (row >= rows) return;
  const T* xr = x + row * cols;
  const float m = row_max[row];
  CompensatedSum s;
  for (int64_t c = 0; c < cols; ++c) s.add(softmax_term(widen(xr[c]), m));
  row_sum[row] = s.sum;
}

template <class T>
__global__ void softmax_naive_normalize_kernel(const T* __restrict__ x, const float* __restrict__ row_max,
                                               const float* __restrict__ row_sum, T* __restrict__ y,
                                               int64_t rows, int64_t cols) {
  const int64_t row = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (row >= rows) return;
  const SoftmaxState state{row_max[row], row_sum[row]};
  for (int64_t c = 0; c < cols; ++c) {
    y[row * cols + c] = narrow<T>(softmax_output(widen(x[row * cols + c]), state));
  }
}

// ---- fused: one block per row, shared-memory trees --------------------------------------------

template <class T, int kThreads>
__global__ void __launch_bounds__(kThreads)
    softmax_fused_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t cols) {
  __shared__ float tree[kThreads];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * cols;
    float m = MaxOp{}.identity();
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) m = MaxOp{}(m, widen(xr[c]));
    m = block_reduce_tree<kThreads>(m, MaxOp{}, tree);
    float s = SumOp{}.identity();
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) s += softmax_term(widen(xr[c]), m);
    s = block_reduce_tree<kThreads>(s, SumOp{}, tree);
    const SoftmaxState state{m, s};
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) {
      y[row * cols + c] = narrow<T>(softmax_output(widen(xr[c]), state));
    }
  }
}

// ---- the part of a row one thread keeps in registers (warp, block) ------------------------

// kChunks chunks of kVec consecutive elements, widened to f32; chunk j starts at column
// (j * stride + index) * kVec, so threads with consecutive indices touch consecutive 16-byte
// vectors (kVec = Pack<T>::kN) or elements (kVec = 1): coalesced. Columns past the row hold
// `pad`, chosen neutral for what the kernel reduces, so the padding needs no case of its own:
// -inf for softmax (neutral for the max, 0 in the sum: softmax_term), 0 for softmax_backward's
// dot product (0 * 0). Vectors need 16-byte aligned rows (cols a multiple of kVec, aligned
// tensors), which the launchers check; then a chunk is all in the row or all past it.
template <class T, int kVec, int kChunks>
struct RowSlice {
  static_assert(kVec == 1 || kVec == Pack<T>::kN,
                "RowSlice: kVec must be 1 (scalar) or a 16-byte vector of T");
  static_assert(kChunks >= 1, "RowSlice: a slice holds at least one chunk");
  static constexpr int kCount = kVec * kChunks;
  // Independent accumulators, so max and sum are not one dependent chain of kCount steps.
  static constexpr int kAcc = kCount < 4 ? kCount : 4;

  float v[kCount];

  // Every load is issued before any value is used: kChunks loads in flight per thread.
  __device__ __forceinline__ void load(const T* row, int cols, int index, int stride, bool active, float pad) {
#pragma unroll
    for (int j = 0; j < kChunks; ++j) {
      const int col = (j * stride + index) * kVec;
      const bool inside = active && col < cols;
      if constexpr (kVec > 1) {
        if (inside) {
          const Floats<T> q = widen_pack(bits_as<Pack<T>>(*reinterpret_cast<const uint4*>(row + col)));
#pragma unroll
          for (int k = 0; k < kVec; ++k) v[kVec * j + k] = q.f[k];
        } else {
#pragma unroll
          for (int k = 0; k < kVec; ++k) v[kVec * j + k] = pad;
        }
      } else {
        v[j] = inside ? widen(row[col]) : pad;
      }
    }
  }

  __device__ __forceinline__ float max() const {
    float acc[kAcc];
#pragma unroll
    for (int i = 0; i < kAcc; ++i) acc[i] = MaxOp{}.identity();
#pragma unroll
    for (int i = 0; i < kCount; ++i) acc[i % kAcc] = MaxOp{}(acc[i % kAcc], v[i]);
#pragma unroll
    for (int i = 1; i < kAcc; ++i) acc[0] = MaxOp{}(acc[0], acc[i]);
    return acc[0];
  }

  // Replaces every value by its numerator exp(x - m) and returns their sum.
  __device__ __forceinline__ float exp_sum(float m) {
    float acc[kAcc];
#pragma unroll
    for (int i = 0; i < kAcc; ++i) acc[i] = SumOp{}.identity();
#pragma unroll
    for (int i = 0; i < kCount; ++i) {
      v[i] = softmax_term(v[i], m);
      acc[i % kAcc] += v[i];
    }
#pragma unroll
    for (int i = 1; i < kAcc; ++i) acc[0] += acc[i];
    return acc[0];
  }

  // The sum of the products with `other`'s values, element by element (both slices of one row,
  // loaded with the same index and stride).
  __device__ __forceinline__ float dot(const RowSlice& other) const {
    float acc[kAcc];
#pragma unroll
    for (int i = 0; i < kAcc; ++i) acc[i] = SumOp{}.identity();
#pragma unroll
    for (int i = 0; i < kCount; ++i) acc[i % kAcc] += v[i] * other.v[i];
#pragma unroll
    for (int i = 1; i < kAcc; ++i) acc[0] += acc[i];
    return acc[0];
  }

  // Writes output(i, v[i]) for every value i inside the row, rounded once to T.
  template <class Output>
  __device__ __forceinline__ void store_each(T* row, int cols, int index, int stride, Output output) const {
#pragma unroll
    for (int j = 0; j < kChunks; ++j) {
      const int col = (j * stride + index) * kVec;
      if (col >= cols) continue;
      if constexpr (kVec > 1) {
        Floats<T> q;
#pragma unroll
        for (int k = 0; k < kVec; ++k) q.f[k] = output(kVec * j + k, v[kVec * j + k]);
        *reinterpret_cast<uint4*>(row + col) = bits_as<uint4>(narrow_pack<T>(q));
      } else {
        row[col] = narrow<T>(output(j, v[j]));
      }
    }
  }

  __device__ __forceinline__ void store(T* row, int cols, int index, int stride, float scale) const {
    store_each(row, cols, index, stride, [scale](int, float e) { return e * scale; });
  }
};

// ---- warp: kGroup lanes per row, the row in registers -------------------------------------

constexpr int kSoftmaxWarpKernelThreads = 128;

// The rows of a warp kernel (softmax's and softmax_backward's): each group of kGroup lanes owns
// kRows rows per step, row(first, r) for r < kRows in the step that starts at row `first`.
// Step r of a warp covers 32 / kGroup consecutive rows, one per group, so each load
// instruction of the warp reads one contiguous stretch. A grid-stride loop over the steps,
// from `begin` by `stride`, keeps the grid at what the GPU holds at once. `index` is the
// lane's place in its group. Rows past the last are the kernel's to skip (every lane still
// takes part in the shuffles).
template <int kGroup, int kRows>
struct WarpRows {
  static_assert(is_pow2(kGroup) && kGroup <= kWarpSize,
                "WarpRows: kGroup must be a power of two no larger than the warp");
  static constexpr int kGroupsPerWarp = kWarpSize / kGroup;
  static constexpr int kRowsPerWarp = kGroupsPerWarp * kRows;
  int index = static_cast<int>(threadIdx.x % kWarpSize) % kGroup;
  int group = static_cast<int>(threadIdx.x % kWarpSize) / kGroup;
  int64_t begin = (blockIdx.x * int64_t{blockDim.x} + threadIdx.x) / kWarpSize * kRowsPerWarp;
  int64_t stride = int64_t{gridDim.x} * blockDim.x / kWarpSize * kRowsPerWarp;
  __device__ __forceinline__ int64_t row(int64_t first, int r) const { return first + r * kGroupsPerWarp + group; }
};

// Each group of kGroup lanes holds kPerLane elements of each of its rows (WarpRows).
template <class T, int kVec, int kPerLane, int kGroup, int kRows>
__global__ void __launch_bounds__(kSoftmaxWarpKernelThreads)
    softmax_warp_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int cols) {
  static_assert(kPerLane % kVec == 0, "softmax_warp_kernel: kPerLane must be a multiple of kVec");
  const WarpRows<kGroup, kRows> w;
  for (int64_t first = w.begin; first < rows; first += w.stride) {
    RowSlice<T, kVec, kPerLane / kVec> slice[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const int64_t row = w.row(first, r);
      slice[r].load(x + row * cols, cols, w.index, kGroup, row < rows, -INFINITY);
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const int64_t row = w.row(first, r);
      const float m = warp_reduce<kGroup>(slice[r].max(), MaxOp{});
      const float s = warp_reduce<kGroup>(slice[r].exp_sum(m), SumOp{});
      if (row < rows) slice[r].store(y + row * cols, cols, w.index, kGroup, 1.0f / s);
    }
  }
}

// ---- block: one block per row, the row in registers ---------------------------------------

template <class T, int kVec, int kThreads, int kPerThread>
__global__ void __launch_bounds__(kThreads)
    softmax_block_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int cols) {
  static_assert(kPerThread % kVec == 0, "softmax_block_kernel: kPerThread must be a multiple of kVec");
  __shared__ BlockReduceStorage<float, kThreads> storage;
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    RowSlice<T, kVec, kPerThread / kVec> slice;
    slice.load(x + row * cols, cols, threadIdx.x, kThreads, true, -INFINITY);
    const float m = block_reduce<kThreads>(slice.max(), MaxOp{}, storage);
    const float s = block_reduce<kThreads>(slice.exp_sum(m), SumOp{}, storage);
    slice.store(y + row * cols, cols, threadIdx.x, kThreads, 1.0f / s);
  }
}

// ---- cluster: one thread-block cluster per row, the row in the cluster's registers ------------

// Block r of a cluster of n holds columns [r * slice, (r + 1) * slice) of the row (slice a
// multiple of kVec, so every slice of an aligned row starts aligned; the last may be short or
// empty: its values are -inf, neutral). Each block reduces its slice as `block` reduces a row,
// publishes the result in its own shared memory, and after a cluster barrier reads every
// block's through distributed shared memory in rank order, so every block combines the same
// values in the same order and gets the row's maximum, then its sum, bit for bit alike: the
// output is the same whichever block writes which slice. The maxima and the sums have separate
// slots, so two barriers per row suffice: a block writes the next row's maximum only after the
// barrier at which every block has finished reading this row's maxima, and its next sum only
// after everyone has read this row's sums. The last barrier keeps every block's shared memory
// alive until the others have read it. Clusters need sm_90: the launcher checks the device, and
// code compiled for an older architecture traps.
template <class T, int kVec, int kThreads, int kPerThread>
__global__ void __launch_bounds__(kThreads)
    softmax_cluster_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int cols, int slice) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  static_assert(kPerThread % kVec == 0, "softmax_cluster_kernel: kPerThread must be a multiple of kVec");
  namespace cg = cooperative_groups;
  __shared__ BlockReduceStorage<float, kThreads> storage;
  __shared__ float block_max, block_sum;
  const cg::cluster_group cluster = cg::this_cluster();
  const int blocks = static_cast<int>(cluster.num_blocks());
  const int rank = static_cast<int>(cluster.block_rank());
  const int begin = rank * slice;
  const int len = begin < cols ? min(slice, cols - begin) : 0;
  const int64_t clusters = gridDim.x / blocks;
  for (int64_t row = blockIdx.x / blocks; row < rows; row += clusters) {
    RowSlice<T, kVec, kPerThread / kVec> part;
    part.load(x + row * cols + begin, len, threadIdx.x, kThreads, true, -INFINITY);
    const float m_part = block_reduce<kThreads>(part.max(), MaxOp{}, storage);
    if (threadIdx.x == 0) block_max = m_part;
    cluster.sync();
    float m = MaxOp{}.identity();
    for (int r = 0; r < blocks; ++r) m = MaxOp{}(m, *cluster.map_shared_rank(&block_max, r));
    const float s_part = block_reduce<kThreads>(part.exp_sum(m), SumOp{}, storage);
    if (threadIdx.x == 0) block_sum = s_part;
    cluster.sync();
    float s = SumOp{}.identity();
    for (int r = 0; r < blocks; ++r) s += *cluster.map_shared_rank(&block_sum, r);
    part.store(y + row * cols + begin, len, threadIdx.x, kThreads, 1.0f / s);
  }
  cluster.sync();
#else
  __trap();  // a build without sm_90 code run on a newer GPU through PTX: fail loudly, never skip
#endif
}

// ---- online: rows split across a cooperative grid -----------------------------------------

constexpr int kSoftmaxOnlineThreads = 512;

// A part of `len` elements is walked in groups of kN elements per thread: with kVec > 1 a
// group is one aligned 16-byte vector (elements kN q .. kN q + kN - 1), with kVec = 1 four
// scalars a block apart (q, q + T, q + 2T, q + 3T), coalesced either way. Groups past `len`
// are not visited; scalar elements past it read as -inf and are not written. `src` may be
// global or shared memory (generic loads); stores go to global memory.
template <class T, int kVec>
struct Groups {
  static_assert(kVec == 1 || kVec == Pack<T>::kN, "Groups: kVec must be 1 (scalar) or a 16-byte vector of T");
  static constexpr int kN = kVec > 1 ? kVec : 4;  // a multiple of 4 (online_thread_state)
  static constexpr int64_t kThreads = kSoftmaxOnlineThreads;
  // Index of element e (0..kN-1) of the group starting at `start`.
  static __device__ __forceinline__ int64_t at(int64_t start, int e) {
    return start + e * (kVec > 1 ? 1 : kThreads);
  }
  // Start of this thread's first group and the distance to its next one.
  static __device__ __forceinline__ int64_t begin() { return threadIdx.x * int64_t{kVec}; }
  static constexpr int64_t kStep = kN * kThreads;

  struct Values {
    float f[kN];
  };

  static __device__ __forceinline__ Values load(const T* src, int64_t start, int64_t len) {
    Values v;
    if constexpr (kVec > 1) {
      const Floats<T> q = widen_pack(bits_as<Pack<T>>(*reinterpret_cast<const uint4*>(src + start)));
#pragma unroll
      for (int i = 0; i < kN; ++i) v.f[i] = q.f[i];
    } else {
#pragma unroll
      for (int i = 0; i < kN; ++i) v.f[i] = at(start, i) < len ? widen(src[at(start, i)]) : -INFINITY;
    }
    return v;
  }

  static __device__ __forceinline__ void store(T* dst, int64_t start, int64_t len, const Values& v) {
    if constexpr (kVec > 1) {
      Floats<T> q;
#pragma unroll
      for (int i = 0; i < kN; ++i) q.f[i] = v.f[i];
      // A plain write-back store, written as the intrinsic so that it stays one 16-byte
      // st.global.v4 (the compiler splits an assignment into narrower stores here).
      __stwb(reinterpret_cast<uint4*>(dst + start), bits_as<uint4>(narrow_pack<T>(q)));
    } else {
#pragma unroll
      for (int i = 0; i < kN; ++i)
        if (at(start, i) < len) dst[at(start, i)] = narrow<T>(v.f[i]);
    }
  }

  // Starts copies of this thread's elements into shared memory: asynchronous (cp.async) for
  // 16-byte vectors and 4-byte elements. cp.async moves 4, 8 or 16 bytes, so a scalar 16-bit
  // element is copied with a plain load and store, complete before the barrier that follows
  // (safe: the buffer's last readers passed the barrier that ends the previous wave). That
  // copy is synchronous, so rows of 16-bit elements that are misaligned or hold no whole
  // vectors lose the prefetch under the current wave that the double buffer gives the others.
  static __device__ __forceinline__ void copy_async(T* dst_shared, const T* src, int64_t len) {
    for (int64_t start = begin(); start < len; start += kStep) {
      if constexpr (kVec > 1) {
        __pipeline_memcpy_async(dst_shared + start, src + start, 16);
      } else {
#pragma unroll
        for (int i = 0; i < kN; ++i) {
          if (at(start, i) >= len) continue;
          if constexpr (sizeof(T) >= 4) {
            __pipeline_memcpy_async(dst_shared + at(start, i), src + at(start, i), sizeof(T));
          } else {
            dst_shared[at(start, i)] = src[at(start, i)];
          }
        }
      }
    }
  }
};

// The online normalizer over this thread's groups of a part, in one pass: each group is
// reduced to its own (max, sum) and merged into the running state, kN elements per merge.
template <class T, int kVec>
__device__ __forceinline__ SoftmaxState online_thread_state(const T* src, int64_t len) {
  using G = Groups<T, kVec>;
  SoftmaxState state = SoftmaxMergeOp{}.identity();
  for (int64_t start = G::begin(); start < len; start += G::kStep) {
    const typename G::Values q = G::load(src, start, len);
    float m = q.f[0];
#pragma unroll
    for (int i = 1; i < G::kN; ++i) m = MaxOp{}(m, q.f[i]);
    // Two independent sums, pairwise: (t0 + t1) + (t2 + t3) for four elements, as before the
    // 16-bit types; each starts from a term, not from 0 (-0 + 0 is +0: an add nothing folds).
    float s0 = softmax_term(q.f[0], m) + softmax_term(q.f[1], m);
    float s1 = softmax_term(q.f[2], m) + softmax_term(q.f[3], m);
#pragma unroll
    for (int i = 4; i < G::kN; i += 4) {
      s0 += softmax_term(q.f[i], m) + softmax_term(q.f[i + 1], m);
      s1 += softmax_term(q.f[i + 2], m) + softmax_term(q.f[i + 3], m);
    }
    state = SoftmaxMergeOp{}(state, SoftmaxState{m, s0 + s1});
  }
  return state;
}

template <class T, int kVec>
__device__ __forceinline__ void online_normalize(const T* src, T* dst, int64_t len, SoftmaxState row) {
  using G = Groups<T, kVec>;
  const float scale = 1.0f / row.s;
  for (int64_t start = G::begin(); start < len; start += G::kStep) {
    typename G::Values q = G::load(src, start, len);
#pragma unroll
    for (int i = 0; i < G::kN; ++i) q.f[i] = softmax_term(q.f[i], row.m) * scale;
    G::store(dst, start, len, q);
  }
}

// The grid is rows_per_wave * splits blocks, all resident (cooperative launch). In wave w,
// block b handles part b % splits (columns [part * chunk, part * chunk + chunk) of the row)
// of row w * rows_per_wave + b / splits; past the last row it has nothing to do but still
// takes part in the barriers.
//
// kResident: the part lives in shared memory (2 * chunk elements of dynamic shared memory):
// while wave w is reduced, synchronized and written, wave w + 1's part is already being
// copied into the other buffer, so DRAM stays busy through the grid barrier and x is read
// from DRAM once. Otherwise (a row longer than the whole GPU's shared memory) each part is
// read from global memory twice: once for its state, once to write the output.
//
// With splits > 1, each block's state goes to partials[(w % 2) * gridDim.x + b]; after the
// grid barrier every block of the row merges the row's states in the same order, so they all
// scale by bitwise the same (max, sum). Waves alternate between two halves of `partials`:
// a block writes wave w + 2's state only after the barrier of wave w + 1, which every block
// reaches only once it has read wave w's states.
template <class T, int kVec, bool kResident>
__global__ void __launch_bounds__(kSoftmaxOnlineThreads, 2)
    softmax_online_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows,
                          int64_t cols, int64_t chunk, int splits, int64_t waves,
                          SoftmaxState* __restrict__ partials) {
  extern __shared__ uint4 online_buffers[];
  __shared__ BlockReduceStorage<SoftmaxState, kSoftmaxOnlineThreads> storage;
  const SoftmaxMergeOp merge;
  const int rows_per_wave = gridDim.x / splits;
  const int part = blockIdx.x % splits;
  const int64_t offset = part * chunk;  // first column of this block's part
  const auto row_of = [&](int64_t wave) { return wave * rows_per_wave + blockIdx.x / splits; };
  const auto len_of = [&](int64_t row) { return row < rows ? min(chunk, cols - offset) : int64_t{0}; };
  const auto buffer = [&](int64_t wave) {
    return reinterpret_cast<T*>(online_buffers) + (wave % 2) * chunk;
  };

  if constexpr (kResident) {
    Groups<T, kVec>::copy_async(buffer(0), x + row_of(0) * cols + offset, len_of(row_of(0)));
    __pipeline_commit();
  }
  for (int64_t wave = 0; wave < waves; ++wave) {
    const int64_t row = row_of(wave);
    const int64_t len = len_of(row);
    const T* src = x + row * cols + offset;
    if constexpr (kResident) {
      const int64_t next = row_of(wave + 1);
      if (wave + 1 < waves) Groups<T, kVec>::copy_async(buffer(wave + 1), x + next * cols + offset, len_of(next));
      __pipeline_commit();     // one group per wave (possibly empty), so
      __pipeline_wait_prior(1);  // this wave's group is complete for this thread,
      __syncthreads();         // and for every thread of the block
      src = buffer(wave);
    }
    SoftmaxState state = block_reduce<kSoftmaxOnlineThreads>(online_thread_state<T, kVec>(src, len), merge, storage);
    if (splits > 1) {
      SoftmaxState* slots = partials + (wave % 2) * gridDim.x;
      if (threadIdx.x == 0) slots[blockIdx.x] = state;
      cooperative_groups::this_grid().sync();
      // L2 loads (ld.global.cg): an L1 line read in an earlier wave may hold stale slots.
      const SoftmaxState* row_slots = slots + (blockIdx.x - part);
      SoftmaxState mine = merge.identity();
      for (int i = threadIdx.x; i < splits; i += kSoftmaxOnlineThreads)
        mine = merge(mine, SoftmaxState{__ldcg(&row_slots[i].m), __ldcg(&row_slots[i].s)});
      state = block_reduce<kSoftmaxOnlineThreads>(mine, merge, storage);
    }
    online_normalize<T, kVec>(src, y + row * cols + offset, len, state);
    if constexpr (kResident) __syncthreads();  // buffer(wave) is refilled by the next iteration's copy
  }
}

}  // namespace actbench
