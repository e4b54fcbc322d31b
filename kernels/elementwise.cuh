// Elementwise activation kernels, one body per strategy, templated on the element type T
// (float, __half, __nv_bfloat16: common/dtype.h) and a functor of common/ops.h (Sigmoid, Tanh,
// Relu, their *Approx twins, Identity; the backward *Grad functors of two inputs). Every element
// is widened to f32, computed and rounded once on store, except where common/packed.cuh has a
// packed 16-bit path for the functor:
//
//   elementwise_naive_kernel  y[i] = op(in[i]...), one thread per element, scalar, if (i < n):
//                             one input (forward) or two (backward: the saved tensor and dy).
//                             No __restrict__: bias_unfused runs it in place (x == y).
//   elementwise_warp_kernel   the same with 16-byte vectors (4 floats, 8 16-bit elements) of
//                             every input, grid-stride over tiles, kWarpUnroll loads of each
//                             in flight per thread, scalar head/tail (common/vec.cuh). Load is
//                             LoadPack when every input shares y's 16-byte alignment, else
//                             LoadScalars. Packed 16-bit math where it exists (one input).
//   bias_fused_kernel         y = op(x + bias[col]), one thread per element; with Identity it
//                             is the bias-add pass of the unfused pipeline.
//   bias_fused_warp_kernel    the same over the flattened rows x cols array with the warp
//                             kernel's vectors: rows need not be aligned (odd cols), each
//                             vector finds its first column with one multiply-high and takes
//                             its bias values from L1 (BiasWrap), or as one 16-byte load
//                             when every vector starts on an aligned column (BiasPack). The
//                             add is in f32, as the reference's.
//   gated_kernel              the gated families' one thread per output: y[i] = f of the
//                             elements at output i's row and column in each operand (Half):
//                             Gated<Op> over x's two halves (fused), Op over the a half and
//                             Gated<Identity> over t and the b half (the unfused pipeline).
//   gated_fused_warp_kernel   y = Gated<Op>(a, b) over the flattened rows x cols outputs with
//                             the warp kernel's vectors and 16-byte stores: a and b as two
//                             16-byte loads where every vector lies inside one row at aligned
//                             columns of both halves (GatedPack), else element by element,
//                             following the vector across row ends (GatedWrap).
//   bias_backward_kernel      dx = grad(s, dy) and dbias = its column sums in one pass: tiles
//                             of columns by chunks of rows, f32 sums per thread, then per
//                             block, then per tile in a fixed order (deterministic); scalar
//                             or 16-byte vectors. Over dx alone (Identity) it is the
//                             column-sum pass of the unfused pair.
//
// Indices are 64-bit throughout: the arrays hold up to 2^28 elements, 2^30 bytes, and nothing
// here assumes a bound.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <utility>

#include "common/packed.cuh"
#include "common/vec.cuh"

namespace actbench {

constexpr int kNaiveBlock = 256;
constexpr int kWarpBlock = 256;
// Four 16-byte loads per thread in flight: 64 bytes per thread, tens of KB per SM, well over
// what Hopper's bandwidth-latency product asks (~25 KB per SM at 4.8 TB/s and ~700 ns).
constexpr int kWarpUnroll = 4;

// e mod cols for 0 <= e < 2^63 and 1 <= cols < 2^63 without a 64-bit division: the quotient
// is (mulhi(e, magic) + e) >> shift with shift = ceil(log2(cols)) and
// magic = floor(2^64 * (2^shift - cols) / cols) + 1 (Granlund & Montgomery, 1994, round-up
// method, their Theorem 4.2: exact for every e below 2^64; mulhi(e, magic) <= e, so the sum
// stays below 2^64 for the e < 2^63 used here).
struct ColumnOf {
  uint64_t magic;
  unsigned shift;
  int64_t cols;

  static ColumnOf make(int64_t cols) {
    unsigned shift = 0;
    while ((uint64_t{1} << shift) < static_cast<uint64_t>(cols)) ++shift;
    const auto d = static_cast<unsigned __int128>(cols);
    const auto excess = static_cast<unsigned __int128>((uint64_t{1} << shift) - cols);
    return ColumnOf{static_cast<uint64_t>((excess << 64) / d + 1), shift, cols};
  }

  __device__ __forceinline__ int64_t operator()(int64_t e) const {
    const uint64_t u = static_cast<uint64_t>(e);
    const uint64_t row = (__umul64hi(u, magic) + u) >> shift;
    return e - static_cast<int64_t>(row) * cols;
  }
};

// The bias values of a vector whose first element sits in column `col`, as floats.
struct BiasPack {  // col is a multiple of kN, bias is 16-byte aligned, cols is a multiple of kN
  template <class T>
  static __device__ __forceinline__ Floats<T> load(const T* bias, int64_t col, int64_t) {
    return widen_pack(LoadPack::load(bias + col));
  }
};

struct BiasWrap {  // any cols >= 1: a vector may span a row end (several, when cols < kN)
  template <class T>
  static __device__ __forceinline__ Floats<T> load(const T* bias, int64_t col, int64_t cols) {
    Floats<T> b;
#pragma unroll
    for (int k = 0; k < Pack<T>::kN; ++k) {
      b.f[k] = widen(__ldg(bias + col));
      col = col + 1 == cols ? 0 : col + 1;
    }
    return b;
  }
};

// op over a Pack: the packed 16-bit path when common/packed.cuh has one, else through f32.
template <class T, class Op>
__device__ __forceinline__ Pack<T> apply_pack(const Op& op, const Pack<T>& v) {
  if constexpr (PackedMath<Op, T>::kPacked) {
    return PackedMath<Op, T>::apply(v);
  } else {
    return map_widened(v, op);
  }
}

// The same elements of every input, 16 bytes of each.
template <class T, int kInputs>
struct Packs {
  Pack<T> p[kInputs];
};

// op of element k of each input.
template <class Op, class W, size_t... J>
__device__ __forceinline__ float op_at(const Op& op, const W* w, int k, std::index_sequence<J...>) {
  return op(w[J].f[k]...);
}

// op over the element-by-element tuples of one or more Packs: one input takes apply_pack (its
// packed 16-bit path where there is one), several are widened and combined in f32.
template <class T, class Op, int kInputs>
__device__ __forceinline__ Pack<T> apply_packs(const Op& op, const Packs<T, kInputs>& v) {
  if constexpr (kInputs == 1) {
    return apply_pack(op, v.p[0]);
  } else {
    Floats<T> w[kInputs];
#pragma unroll
    for (int j = 0; j < kInputs; ++j) w[j] = widen_pack(v.p[j]);
    Floats<T> out;
#pragma unroll
    for (int k = 0; k < Pack<T>::kN; ++k) out.f[k] = op_at(op, w, k, std::make_index_sequence<kInputs>{});
    return narrow_pack<T>(out);
  }
}

// y[i] = op(in[i]...) over one input (the forward activations) or two (the backward ones:
// the saved tensor and dy). No __restrict__: bias_unfused runs it in place (in == y).
template <class T, class Op, class... In>
__global__ void __launch_bounds__(kNaiveBlock)
    elementwise_naive_kernel(T* y, int64_t n, Op op, const In*... in) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = narrow<T>(op(widen(in[i])...));
}

// The same over 16-byte vectors; Load is LoadPack when every input shares y's 16-byte
// alignment, else LoadScalars.
template <class T, class Op, class Load, class... In>
__global__ void __launch_bounds__(kWarpBlock)
    elementwise_warp_kernel(T* __restrict__ y, VecSplit s, Op op, const In*... in) {
  constexpr int kN = Pack<T>::kN;
  constexpr int kInputs = sizeof...(In);
  for_each_edge_element<kN>(s, [&](int64_t e) { y[e] = narrow<T>(op(widen(__ldg(in + e))...)); });
  Pack<T>* yv = reinterpret_cast<Pack<T>*>(y + s.head);
  grid_stride_tiles<kWarpBlock, kWarpUnroll>(
      s.vecs, [&](int64_t i) { return Packs<T, kInputs>{{Load::load(in + s.head + kN * i)...}}; },
      [&](int64_t i, const Packs<T, kInputs>& v) { store_pack(yv + i, apply_packs(op, v)); });
}

template <class T, class Op>
__global__ void __launch_bounds__(kNaiveBlock)
    bias_fused_kernel(const T* __restrict__ x, const T* __restrict__ bias, T* __restrict__ y, int64_t n,
                      ColumnOf col_of, Op op) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = narrow<T>(op(widen(x[i]) + widen(bias[col_of(i)])));
}

template <class T, class Op, class XLoad, class BiasLoad>
__global__ void __launch_bounds__(kWarpBlock)
    bias_fused_warp_kernel(const T* __restrict__ x, const T* __restrict__ bias, T* __restrict__ y,
                           VecSplit s, ColumnOf col_of, Op op) {
  constexpr int kN = Pack<T>::kN;
  for_each_edge_element<kN>(s, [&](int64_t e) {
    y[e] = narrow<T>(op(widen(__ldg(x + e)) + widen(__ldg(bias + col_of(e)))));
  });
  const T* xv = x + s.head;
  Pack<T>* yv = reinterpret_cast<Pack<T>*>(y + s.head);
  // The load stage widens and adds the bias; the store stage applies op and rounds once.
  grid_stride_tiles<kWarpBlock, kWarpUnroll>(
      s.vecs,
      [&](int64_t i) {
        const Floats<T> b = BiasLoad::load(bias, col_of(s.head + kN * i), col_of.cols);
        Floats<T> v = widen_pack(XLoad::load(xv + kN * i));
#pragma unroll
        for (int k = 0; k < kN; ++k) v.f[k] += b.f[k];
        return v;
      },
      [&](int64_t i, Floats<T> v) {
#pragma unroll
        for (int k = 0; k < kN; ++k) v.f[k] = op(v.f[k]);
        store_pack(yv + i, narrow_pack<T>(v));
      });
}

// ---- gated families: y[r][c] = op(x[r][c], x[r][cols + c]) ---------------------------------

// One operand of a gated kernel: element (r, c) of a rows x cols operand stored at
// p[r * stride * cols + c]: stride 2 for a half of x (rows of 2 cols), 1 for a contiguous
// rows x cols array. For output i = r cols + c that is p[stride (i - c) + c].
template <class T>
struct Half {
  const T* p;
  int64_t stride;

  __device__ __forceinline__ T at(int64_t i, int64_t c) const { return p[stride * (i - c) + c]; }
};

template <class T, class F, class... Halves>
__global__ void __launch_bounds__(kNaiveBlock)
    gated_kernel(T* __restrict__ y, int64_t n, ColumnOf col_of, F f, Halves... in) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) {
    const int64_t c = col_of(i);
    y[i] = narrow<T>(f(widen(in.at(i, c))...));
  }
}

// The a and b elements of one output vector.
template <class T>
struct GatedPair {
  Pack<T> a, b;
};

// The a and b of the output vector at flat index e (column c): output e = r cols + c reads
// x[2 r cols + c] = x[2 e - c] and the element cols after it.
struct GatedPack {  // cols a multiple of kN, x and y 16-byte aligned: 2 e - c is a multiple of kN
  template <class T>
  static __device__ __forceinline__ GatedPair<T> load(const T* x, int64_t e, int64_t c, int64_t cols) {
    const T* a = x + (2 * e - c);
    return {LoadPack::load(a), LoadPack::load(a + cols)};
  }
};

struct GatedWrap {  // any cols >= 1, any alignment: a vector may span row ends (several, when cols < kN)
  template <class T>
  static __device__ __forceinline__ GatedPair<T> load(const T* x, int64_t e, int64_t c, int64_t cols) {
    GatedPair<T> v;
    int64_t a = 2 * e - c;
#pragma unroll
    for (int k = 0; k < Pack<T>::kN; ++k) {
      v.a.e[k] = __ldg(x + a);
      v.b.e[k] = __ldg(x + a + cols);
      // The next output's a: the next element, or past this row's b half to the next row.
      const bool row_end = c + 1 == cols;
      c = row_end ? 0 : c + 1;
      a += row_end ? cols + 1 : 1;
    }
    return v;
  }
};

template <class T, class Op, class HalvesLoad>
__global__ void __launch_bounds__(kWarpBlock)
    gated_fused_warp_kernel(const T* __restrict__ x, T* __restrict__ y, VecSplit s, ColumnOf col_of, Op op) {
  constexpr int kN = Pack<T>::kN;
  const int64_t cols = col_of.cols;
  for_each_edge_element<kN>(s, [&](int64_t e) {
    const T* a = x + (2 * e - col_of(e));
    y[e] = narrow<T>(op(widen(__ldg(a)), widen(__ldg(a + cols))));
  });
  Pack<T>* yv = reinterpret_cast<Pack<T>*>(y + s.head);
  // The load stage keeps the elements in their type (half the registers of floats in 16 bits);
  // the store stage widens, applies op and rounds once.
  grid_stride_tiles<kWarpBlock, kWarpUnroll>(
      s.vecs,
      [&](int64_t i) {
        const int64_t e = s.head + kN * i;
        return HalvesLoad::load(x, e, col_of(e), cols);
      },
      [&](int64_t i, const GatedPair<T>& v) {
        const Floats<T> a = widen_pack(v.a), b = widen_pack(v.b);
        Floats<T> out;
#pragma unroll
        for (int k = 0; k < kN; ++k) out.f[k] = op(a.f[k], b.f[k]);
        store_pack(yv + i, narrow_pack<T>(out));
      });
}

// ---- bias backward: dx = f(in...), dbias[c] = the sum of dx[r][c] over the rows r ------------

// A block of kColumnLanes x kColumnRows threads owns a tile of kColumnLanes * kVec columns and
// a chunk of rows: each warp reads one row's stretch of the tile (coalesced: 32 consecutive
// elements or 16-byte vectors), the warps of a block take every kColumnRows-th row of the
// chunk, and every thread keeps its columns' sums in f32 registers.
constexpr int kColumnLanes = 32;
constexpr int kColumnRows = 8;
constexpr int kColumnThreads = kColumnLanes * kColumnRows;

// The grid is tiles x chunks. dbias is deterministic: each block adds its rows in a fixed order
// (thread by thread, then its 8 warps' sums in warp order) into partial[chunk][col] (f32), and
// the last block of a tile to finish (arrivals[tile], zeroed before the launch) adds the
// tile's chunks in chunk order and rounds once: the same order whichever block finishes last,
// so the same bits on every run on the same GPU (the chunk count follows the SM count).
// f is the gradient of the saved tensor and dy with kWrite (the fused pass, which also stores
// dx), or Identity over dx without (the column-sum pass of the unfused pair). With kVec > 1
// the launcher guarantees that cols is a multiple of kVec and every input is 16-byte aligned.
template <class T, class F, int kVec, bool kWrite, class... In>
__global__ void __launch_bounds__(kColumnThreads)
    bias_backward_kernel(T* __restrict__ dx, T* __restrict__ dbias, float* __restrict__ partial,
                         unsigned* __restrict__ arrivals, int64_t rows, int64_t cols, int64_t chunk_rows, F f,
                         const In*... in) {
  static_assert(kVec == 1 || kVec == Pack<T>::kN, "bias_backward_kernel: scalar or one 16-byte vector per thread");
  constexpr int kTileCols = kColumnLanes * kVec;
  static_assert(kTileCols <= kColumnThreads, "bias_backward_kernel: a thread per column of the tile");
  __shared__ float warp_sums[kColumnRows][kTileCols];
  __shared__ bool last;
  const int lane = static_cast<int>(threadIdx.x) % kColumnLanes, warp = static_cast<int>(threadIdx.x) / kColumnLanes;
  const int64_t tile_col = int64_t{blockIdx.x} * kTileCols;
  const int64_t col = tile_col + int64_t{lane} * kVec;
  const int64_t row_begin = int64_t{blockIdx.y} * chunk_rows;
  const int64_t row_end = min(rows, row_begin + chunk_rows);
  float acc[kVec] = {};
  if (col < cols) {
#pragma unroll 4
    for (int64_t r = row_begin + warp; r < row_end; r += kColumnRows) {
      const int64_t e = r * cols + col;
      if constexpr (kVec == 1) {
        const float d = f(widen(__ldg(in + e))...);
        if constexpr (kWrite) dx[e] = narrow<T>(d);
        acc[0] += d;
      } else {
        const Floats<T> w[] = {widen_pack(LoadPack::load(in + e))...};
        Floats<T> d;
#pragma unroll
        for (int k = 0; k < kVec; ++k) {
          d.f[k] = op_at(f, w, k, std::make_index_sequence<sizeof...(In)>{});
          acc[k] += d.f[k];
        }
        if constexpr (kWrite) store_pack(reinterpret_cast<Pack<T>*>(dx + e), narrow_pack<T>(d));
      }
    }
  }
#pragma unroll
  for (int k = 0; k < kVec; ++k) warp_sums[warp][lane * kVec + k] = acc[k];
  __syncthreads();
  const int64_t c = tile_col + threadIdx.x;
  const bool owner = threadIdx.x < kTileCols && c < cols;  // a thread per column of the tile
  if (owner) {
    float sum = 0.0f;
#pragma unroll
    for (int j = 0; j < kColumnRows; ++j) sum += warp_sums[j][threadIdx.x];
    partial[blockIdx.y * cols + c] = sum;
  }
  // Publish the partial sums before counting this block in (threadFenceReduction's pattern).
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) last = atomicAdd(&arrivals[blockIdx.x], 1u) == gridDim.y - 1;
  __syncthreads();
  if (!last) return;
  __threadfence();
  if (owner) {
    float sum = 0.0f;
    for (unsigned chunk = 0; chunk < gridDim.y; ++chunk) sum += __ldcg(partial + chunk * cols + c);
    dbias[c] = narrow<T>(sum);
  }
}

}  // namespace actbench
