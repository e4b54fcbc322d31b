// Elementwise activation kernels, one body per strategy, templated on the element type T
// (float, __half, __nv_bfloat16: common/dtype.h) and a functor of common/ops.h (Sigmoid, Tanh,
// Relu, their *Approx twins, Identity). Every element is widened to f32, computed and rounded
// once on store, except where common/packed.cuh has a packed 16-bit path for the functor:
//
//   elementwise_naive_kernel  one thread per element, scalar, if (i < n). No __restrict__:
//                             bias_unfused runs it in place (x == y).
//   elementwise_warp_kernel   16-byte vectors (4 floats, 8 16-bit elements), grid-stride over
//                             tiles, kWarpUnroll loads in flight per thread, scalar head/tail
//                             (common/vec.cuh). XLoad is LoadPack when x shares y's 16-byte
//                             alignment, else LoadScalars. Packed 16-bit math where it exists.
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
//
// Indices are 64-bit throughout: the arrays hold up to 2^28 elements, 2^30 bytes, and nothing
// here assumes a bound.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

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

// op(x) of one element, through f32.
template <class T, class Op>
__device__ __forceinline__ T apply_one(const Op& op, T x) {
  return narrow<T>(op(widen(x)));
}

template <class T, class Op>
__global__ void __launch_bounds__(kNaiveBlock)
    elementwise_naive_kernel(const T* x, T* y, int64_t n, Op op) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = apply_one(op, x[i]);
}

template <class T, class Op, class XLoad>
__global__ void __launch_bounds__(kWarpBlock)
    elementwise_warp_kernel(const T* __restrict__ x, T* __restrict__ y, VecSplit s, Op op) {
  constexpr int kN = Pack<T>::kN;
  for_each_edge_element<kN>(s, [&](int64_t e) { y[e] = apply_one(op, __ldg(x + e)); });
  const T* xv = x + s.head;
  Pack<T>* yv = reinterpret_cast<Pack<T>*>(y + s.head);
  grid_stride_tiles<kWarpBlock, kWarpUnroll>(
      s.vecs, [&](int64_t i) { return XLoad::load(xv + kN * i); },
      [&](int64_t i, const Pack<T>& v) { store_pack(yv + i, apply_pack(op, v)); });
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

}  // namespace actbench
