/* A C interface over the variant registry, for ctypes (scripts/torch_compare.py) and any
 * other foreign caller. Variants are addressed by their index in the registry,
 * 0 <= i < actbench_variant_count(); the registry is the only list of them. Each variant has
 * one element type (actbench_variant_dtype): its data are arrays of that type, passed as
 * void pointers together with the type's code, which must match. A forward variant runs
 * through actbench_run; a backward one (actbench_variant_is_backward) through
 * actbench_run_backward, and each refuses the other kind.
 *
 * Nothing here throws: a failing call returns -1 (or NULL, or NaN) and actbench_last_error()
 * says why, per thread. The variant strings are static and live as long as the library. */
#ifndef ACTBENCH_CAPI_H
#define ACTBENCH_CAPI_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define ACTBENCH_CAPI __attribute__((visibility("default")))
#else
#define ACTBENCH_CAPI
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Element type codes: IEEE binary32, binary16 (CUDA's __half, torch.float16) and bfloat16
 * (__nv_bfloat16, torch.bfloat16). */
enum {
  ACTBENCH_F32 = 0,
  ACTBENCH_F16 = 1,
  ACTBENCH_BF16 = 2
};

ACTBENCH_CAPI int actbench_variant_count(void);

/* "softmax/warp/bf16", its family ("softmax") and name ("warp"); NULL when i is out of range. */
ACTBENCH_CAPI const char* actbench_variant_id(int i);
ACTBENCH_CAPI const char* actbench_variant_family(int i);
ACTBENCH_CAPI const char* actbench_variant_name(int i);
ACTBENCH_CAPI const char* actbench_variant_summary(int i);
/* "f32", "f16" or "bf16"; NULL when i is out of range. */
ACTBENCH_CAPI const char* actbench_variant_dtype(int i);
/* The ACTBENCH_* code of the variant's element type; -1 when i is out of range. */
ACTBENCH_CAPI int actbench_variant_dtype_code(int i);
/* "gpu" (device pointers, enqueued on the stream) or "cpu" (host pointers, runs to completion). */
ACTBENCH_CAPI const char* actbench_variant_device(int i);
/* What the family computes: "sigmoid", "tanh", "relu", "gelu" (erf), "gelu_tanh" (PyTorch's
 * approximate='tanh'), "silu", "softmax" (over each row) or "identity" (copy); with bias,
 * y = act(x + bias[col]); gated (swiglu: silu, geglu: gelu), y = act(a) * b. A backward
 * family gives the activation it differentiates ("sigmoid" for bias_sigmoid_backward). */
ACTBENCH_CAPI const char* actbench_variant_activation(int i);

/* 1 when the family adds a bias per column (a backward family: when it is the gradient of such
 * a family, and so also writes dbias), 0 when not, -1 when i is out of range. */
ACTBENCH_CAPI int actbench_variant_has_bias(int i);
/* 1 when the family is gated (swiglu, geglu): x holds rows x 2*cols elements, each row a
 * (its first cols) then b (its last cols), as a, b = x.chunk(2, dim=-1) splits it, and
 * y[r][c] = act(a[r][c]) * b[r][c] is rows x cols. 0 when not, -1 when i is out of range. */
ACTBENCH_CAPI int actbench_variant_is_gated(int i);
/* 1 when the family is a backward one (sigmoid_backward, tanh_backward, relu_backward,
 * bias_sigmoid_backward, bias_tanh_backward, bias_relu_backward, softmax_backward), run
 * through actbench_run_backward; 0 when not (run through actbench_run); -1 when i is out of
 * range. */
ACTBENCH_CAPI int actbench_variant_is_backward(int i);
/* Which tensor a backward variant's `saved` is (actbench_run_backward): 1 for the forward's
 * input x (relu_backward), 0 for the forward's output y (every other backward family) and for
 * a forward variant; -1 when i is out of range. */
ACTBENCH_CAPI int actbench_variant_saves_input(int i);
/* Position on the family's optimization ladder; -1 when i is out of range. */
ACTBENCH_CAPI int actbench_variant_step(int i);
/* Accepted error against the reference (computed in double from the exact inputs, rounded once
 * to the variant's type, to nearest even): |got - ref| <= atol + rtol * |ref|. NaN when i is
 * out of range. */
ACTBENCH_CAPI double actbench_variant_atol(int i);
ACTBENCH_CAPI double actbench_variant_rtol(int i);
/* 1 when the variant handles rows of `cols` elements, 0 when not, -1 on a bad index. */
ACTBENCH_CAPI int actbench_variant_supports(int i, int64_t cols);
/* Bytes of workspace actbench_run needs for this shape (0: none); -1 on a bad index. */
ACTBENCH_CAPI int64_t actbench_workspace_bytes(int i, int64_t rows, int64_t cols);

/* y = variant(x [+ bias]) over rows x cols elements of type `dtype` (an ACTBENCH_* code, which
 * must be the variant's), row-major (elementwise families: rows = 1, cols = n, or any
 * factorization). cols is y's row length: for a gated family (actbench_variant_is_gated) x
 * holds rows x 2*cols elements. bias has cols entries for bias families, else may be NULL.
 * workspace holds actbench_workspace_bytes(i, rows, cols) bytes (NULL when that is 0).
 * stream is a cudaStream_t (NULL: the default stream), ignored by CPU variants. A GPU variant
 * is only enqueued: synchronize the stream before reading y. Returns 0, or -1 with
 * actbench_last_error() set (bad arguments, a type that is not the variant's, unsupported
 * shape, a failed launch, a backward variant: those run through actbench_run_backward). */
ACTBENCH_CAPI int actbench_run(int i, int dtype, const void* x, const void* bias, void* y, int64_t rows,
                               int64_t cols, void* workspace, void* stream);

/* The gradient of a backward variant's forward family: dx from the tensor its forward saved
 * and the upstream gradient dy, all three rows x cols elements of type `dtype` (elementwise
 * families: rows = 1, cols = n, or any factorization), row-major. `saved` is, per family
 * (actbench_variant_saves_input tells the two kinds apart):
 *   sigmoid_backward       y = sigmoid(x):        dx = dy * y (1 - y)
 *   tanh_backward          y = tanh(x):           dx = dy * (1 - y)(1 + y)
 *   relu_backward          x, the forward's input: dx = (x <= 0 ? 0 : dy), PyTorch's
 *                          threshold_backward(dy, x, 0) (NaN in x passes dy)
 *   bias_sigmoid_backward  y = sigmoid(x + bias): dx as sigmoid_backward's
 *   bias_tanh_backward     y = tanh(x + bias):    dx as tanh_backward's
 *   bias_relu_backward     y = relu(x + bias):    dx = (y <= 0 ? 0 : dy), the mask of x + bias
 *   softmax_backward       y = softmax(x) over each row: dx_j = y_j (dy_j - sum_k dy_k y_k),
 *                          PyTorch's _softmax_backward_data(dy, y, -1, dtype)
 * dbias has cols entries, the column sums of dx (sum over the rows), for the bias backward
 * families (actbench_variant_has_bias), and must be NULL for every other. dx never aliases
 * saved or dy. workspace and stream as actbench_run's; a GPU variant is only enqueued. Returns
 * 0, or -1 with actbench_last_error() set (bad arguments, a dbias given or missing, a type that
 * is not the variant's, unsupported shape, a failed launch, a forward variant: those run
 * through actbench_run). */
ACTBENCH_CAPI int actbench_run_backward(int i, int dtype, const void* saved, const void* dy, void* dx, void* dbias,
                                        int64_t rows, int64_t cols, void* workspace, void* stream);

/* Why the last failing call on this thread failed ("" when none has); valid until the next
 * failing call on the same thread. */
ACTBENCH_CAPI const char* actbench_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* ACTBENCH_CAPI_H */
