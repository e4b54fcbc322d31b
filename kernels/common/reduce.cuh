// Warp- and block-wide reductions, written once and generic over an operator functor with
// identity() and a binary operator() (MaxOp, SumOp and SoftmaxMergeOp of ops.h):
//
//   warp_reduce<kWidth>(v, op)          butterfly of __shfl_xor_sync over aligned groups of
//                                       kWidth lanes; every lane gets its group's result
//   block_reduce<kThreads>(v, op, s)    warp butterflies, then one shared-memory step across
//                                       warps; every thread gets the block's result
//   block_reduce_tree<kThreads>(v, op, s)  the classic shared-memory halving tree (one barrier
//                                       per level), kept for the `fused` variant's ladder step
//
//   CompensatedSum                      one thread's Kahan sum of a long sequence (the naive
//                                       kernels' whole-row sums)
//
// The value type may be any trivially copyable type made of 4-byte words (float,
// SoftmaxState): it is shuffled one word at a time.
#pragma once

#include <cstring>
#include <type_traits>

namespace actbench {

constexpr int kWarpSize = 32;

__host__ __device__ constexpr bool is_pow2(int n) { return n > 0 && (n & (n - 1)) == 0; }

// A float sum of many terms added one after another, compensated (Kahan): a plain float sum of
// 2^20 terms drifts by ~1e-5 relative, this one stays at float rounding. Once the sum is no
// longer finite the compensation stops: (inf - sum) - term would turn an infinite sum into NaN.
struct CompensatedSum {
  float sum = 0.0f, lost = 0.0f;

  __device__ __forceinline__ void add(float value) {
    const float term = value - lost;
    const float next = sum + term;
    lost = isfinite(next) ? (next - sum) - term : 0.0f;
    sum = next;
  }
};

// __shfl_xor_sync over the full warp for any value made of 4-byte words.
template <class T>
__device__ __forceinline__ T shfl_xor(T value, int lane_mask) {
  static_assert(std::is_trivially_copyable<T>::value, "shfl_xor: T must be trivially copyable");
  static_assert(sizeof(T) % 4 == 0, "shfl_xor: sizeof(T) must be a multiple of 4 bytes");
  constexpr int kWords = sizeof(T) / 4;
  unsigned words[kWords];
  memcpy(words, &value, sizeof(T));
#pragma unroll
  for (int i = 0; i < kWords; ++i) words[i] = __shfl_xor_sync(0xffffffffu, words[i], lane_mask);
  memcpy(&value, words, sizeof(T));
  return value;
}

// Reduces `value` over each aligned group of kWidth consecutive lanes (kWidth = 32: the
// whole warp). All 32 lanes must call it. The two lanes of each butterfly pair combine the
// same two operands in opposite orders. MaxOp and SumOp are commutative (max_nan up to the
// sign of a zero), so every lane of a group ends with the same value. SoftmaxMergeOp is
// commutative only up to rounding (a.s * ta + b.s * tb compiles to fma(tb, b.s, a.s * ta)):
// its lanes may end a last bit apart, which block_reduce irons out.
template <int kWidth = kWarpSize, class T, class Op>
__device__ __forceinline__ T warp_reduce(T value, Op op) {
  static_assert(is_pow2(kWidth) && kWidth <= kWarpSize,
                "warp_reduce: kWidth must be a power of two no larger than the warp");
#pragma unroll
  for (int offset = kWidth / 2; offset > 0; offset /= 2) value = op(value, shfl_xor(value, offset));
  return value;
}

// Shared memory for block_reduce: one partial per warp.
template <class T, int kThreads>
struct BlockReduceStorage {
  T warp[kThreads / kWarpSize];
};

// Reduces `value` over the whole block (blockDim.x == kThreads); every thread gets the
// result. All threads must call it. The storage may be reused as soon as it returns.
template <int kThreads, class T, class Op>
__device__ __forceinline__ T block_reduce(T value, Op op, BlockReduceStorage<T, kThreads>& storage) {
  static_assert(kThreads % kWarpSize == 0 && kThreads >= kWarpSize && kThreads <= 1024,
                "block_reduce: kThreads must be a multiple of 32 in [32, 1024]");
  constexpr int kWarps = kThreads / kWarpSize;
  value = warp_reduce(value, op);
  if constexpr (kWarps > 1) {
    const int lane = threadIdx.x % kWarpSize;
    if (lane == 0) storage.warp[threadIdx.x / kWarpSize] = value;
    __syncthreads();
    // Every warp reduces the per-warp partials itself (lanes past the last warp hold the
    // identity): the result lands in every thread with no broadcast through shared memory.
    value = warp_reduce(lane < kWarps ? storage.warp[lane] : op.identity(), op);
    __syncthreads();
  }
  // Lane 0's result is bitwise the same in every warp (and in every block given the same
  // inputs); every thread takes it, whatever rounding the butterfly left in the other lanes
  // (shfl_xor by the thread's own lane index reads lane 0).
  return shfl_xor(value, static_cast<int>(threadIdx.x % kWarpSize));
}

// Reduces `value` over the whole block through a shared-memory tree of kThreads entries:
// log2(kThreads) levels, one barrier each. Every thread gets the result; `tree` may be reused
// as soon as it returns.
template <int kThreads, class T, class Op>
__device__ __forceinline__ T block_reduce_tree(T value, Op op, T* tree) {
  static_assert(is_pow2(kThreads) && kThreads <= 1024,
                "block_reduce_tree: kThreads must be a power of two no larger than 1024");
  const int tid = threadIdx.x;
  tree[tid] = value;
  __syncthreads();
#pragma unroll
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (tid < stride) tree[tid] = op(tree[tid], tree[tid + stride]);
    __syncthreads();
  }
  value = tree[0];
  __syncthreads();
  return value;
}

}  // namespace actbench
