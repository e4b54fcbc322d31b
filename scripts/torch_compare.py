#!/usr/bin/env python3
"""PyTorch as a peer: every GPU variant of the registry against the same op in PyTorch.

    scripts/torch_compare.py [--lib PATH] [--out FILE.json] [--quick] [--deadline-s SECONDS]

Loads libactbench_capi (host/capi.h) with ctypes and, for a few shapes per family and every
element type the registry lists (f32, f16, bf16: torch.float32, torch.float16,
torch.bfloat16), runs each GPU variant and PyTorch's eager equivalent (torch.sigmoid/tanh/relu,
F.gelu in both forms, F.silu, act(x + b) as torch.add then the activation, the gated forms as
models write them, `a, b = x.chunk(2, dim=-1)` then F.silu(a) * b or F.gelu(a) * b,
torch.softmax(dim=-1), Tensor.copy_) on the same CUDA tensors of that type in the same
process. The backward families (sigmoid_backward, ..., softmax_backward: host/capi.h's
actbench_run_backward) run against the aten ops eager autograd calls, on the same saved tensor
and upstream gradient dy: torch.ops.aten.sigmoid_backward(dy, y), tanh_backward(dy, y),
threshold_backward(dy, x, 0) (relu_backward, which saves the input; bias_relu_backward's saved
tensor is y), _softmax_backward_data(dy, y, -1, dtype); with a bias, dx as those, then
dbias = dx.sum(0), the two ops eager runs. Where the liger_kernel package is importable,
Liger-Kernel's Triton SwiGLU and GeGLU (LigerSiLUMulFunction, LigerGELUMulFunction) run too, on
contiguous copies of a and b made before timing: its functions make their inputs contiguous
(@ensure_contiguous), so handing them the chunks of x would time a copy. Liger's GeGLU is the
tanh approximation of GELU (up to 4.7e-4 from the erf form, times |b|): like PyTorch's, its
error against the erf reference is reported, not judged. All are checked against a float64 reference
computed by PyTorch from the exactly converted inputs (x.double() of the 16-bit tensor), the
op in float64, rounded once to the type (the variant within its registry tolerance for that
type; where an output is a sum, dbias and softmax_backward's row dot product, plus the
summation bound host/reference.h adds), and timed alike: CUDA events around the call alone on
the current stream, after warm-up, with the L2 flushed before each timed call by reading a
buffer twice its size (which leaves no dirty line to be written back inside the timed window),
then the stream kept busy for ~20 us so that the start event and the call are queued before
the GPU reaches them (no launch latency timed), median of the calls: as host/timer.h.

A training step of an activation is its forward and its backward: each backward family is
measured at its forward family's shapes, on the forward's own inputs (drawn from a seed of the
forward family, type and shape) with the saved tensor the forward's output on them (or x
itself, relu_backward), so that `scripts/report.py` can add the best variant's forward and
backward times up against PyTorch's forward and backward at the same shape ("Forward and
backward").

The work goes in order of value, one item at a time: an item is an activation's forward
family and the backward families of it (sigmoid with sigmoid_backward; bias_relu with
bias_relu_backward), in one type at one shape, so that a training step's two halves are there
together or not at all. Types f32 and bf16 (the type the 16-bit targets are stated in) come
before f16; within them every activation's largest shape (the one report.py's summary reads),
then the next largest, ...; the copy (every row's % of copy) first at each. With --deadline-s, an item starts only when the time
left would fit it by an estimate from what was measured so far (the last item of the same
activation, else the last item, scaled to the calls and the bytes of this one); the first
item that would not fit ends the work, and it and those after it are listed in the log's
context as cut_short ("family/dtype/shape" each, every row of which is missing), with
cut_short_reason. SIGTERM ends the work the same way, the item under way included: what was
measured is written either way, never a silent truncation. Writing the log takes a second or
two after the deadline's last item: a caller leaves a margin.

The log is shaped like actbench's (Google Benchmark JSON: context with machine, gpu_name and
actbench_variants; rows named <family>/<variant>/<dtype>/<shape>, PyTorch's as
<family>/torch/<dtype>/<shape> and Liger-Kernel's as <family>/liger/<dtype>/<shape>, with
bytes_per_second (the bytes of the type moved),
pct_copy_bw against copy/cuda_memcpy of the same type measured here, max_abs_err,
max_rel_err; a bias backward family's over dx and dbias together), so `scripts/report.py`
shows PyTorch as one more variant of each type.

Without PyTorch, or without a GPU it can see, it says so in one line and exits 0 writing
nothing. Exit status: 0 written, every variant agreed; 1 written, some variant disagreed (its
row carries the error), whether or not the work was cut short; 2 unusable arguments or
no library.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import importlib
import importlib.metadata
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gbjson  # noqa: E402  (the scripts folder is not a package)

ROOT = Path(__file__).resolve().parents[1]
TORCH_STEP = 30  # after actbench's own variants, library references and CPU baselines
LIGER_STEP = TORCH_STEP + 1
# Liger-Kernel's gated kernels by the activation of a (liger_kernel.ops.<module>.<function>).
LIGER_FUNCTIONS = {"silu": ("swiglu", "LigerSiLUMulFunction"),
                   "gelu": ("geglu", "LigerGELUMulFunction")}
WARMUP = 3
# The GPU's lead over the host before each timed call: ~20 us at Hopper's ~2 GHz (host/timer.h's
# GpuTimer::kLeadNs), longer than an event record and a launch take to enqueue.
LEAD_CYCLES = 40_000
# host/capi.h's element type codes (ACTBENCH_F32, ACTBENCH_F16, ACTBENCH_BF16), the bytes of
# one element, and the torch dtype's attribute name.
DTYPE_CODES = {"f32": 0, "f16": 1, "bf16": 2}
DTYPE_BYTES = {"f32": 4, "f16": 2, "bf16": 2}
TORCH_DTYPES = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}
# The gap between 1 and the next value of each type (common/dtype.h's dtype_epsilon).
DTYPE_EPSILON = {"f32": 2.0 ** -23, "f16": 2.0 ** -10, "bf16": 2.0 ** -7}
# The order of the types in the work: f32 (the baseline the others are read against), bf16 (the
# type the 16-bit targets are stated in), both before f16, as gpu_check.py's sweeps take them.
TYPE_ORDER = ("f32", "bf16", "f16")
FIRST_TYPES = ("f32", "bf16")
# The family measured first at each shape: the roofline every row's pct_copy_bw is read against.
COPY_FAMILY = "copy"
# What PyTorch's eager autograd calls for each backward family's dx, by the activation it
# differentiates (s: the saved tensor, y or, for relu_backward, x).
TORCH_BACKWARD_OPS = {"sigmoid": "torch.ops.aten.sigmoid_backward(dy, y)",
                      "tanh": "torch.ops.aten.tanh_backward(dy, y)",
                      "relu": "torch.ops.aten.threshold_backward(dy, {s}, 0)",
                      "softmax": "torch.ops.aten._softmax_backward_data(dy, y, -1, dtype)"}


# ---- the C interface ----------------------------------------------------------------------------

@dataclass(frozen=True)
class CVariant:
    """A registry variant as host/capi.h describes it."""

    index: int
    family: str
    name: str
    device: str
    activation: str  # sigmoid, tanh, relu, gelu, gelu_tanh, silu, softmax, identity
    has_bias: bool
    step: int
    atol: float
    rtol: float
    summary: str
    dtype: str = "f32"  # f32, f16 or bf16: the element type of its inputs and output
    gated: bool = False  # x is rows x 2 cols: y = act(a) * b over its two halves
    backward: bool = False  # runs through actbench_run_backward: dx (and dbias) from saved, dy
    saves_input: bool = False  # a backward variant whose saved tensor is x, not y (relu)

    @property
    def id(self) -> str:
        """`family/name/dtype`, as actbench_variant_id returns it."""
        return f"{self.family}/{self.name}/{self.dtype}"

    @property
    def dtype_code(self) -> int:
        """What actbench_run takes for this variant's type."""
        return DTYPE_CODES[self.dtype]

    @property
    def row_shaped(self) -> bool:
        """Benchmarked as rows x cols (softmax works per row; the bias per column; a gated
        family on the two halves of each row). A backward family is shaped as its forward."""
        return self.has_bias or self.gated or self.activation == "softmax"

    def forward(self) -> CVariant:
        """The forward family's description of a backward variant (itself for a forward one):
        what draws its inputs and computes its saved tensor."""
        if not self.backward:
            return self
        return replace(self, family=gbjson.forward_family(self.family), backward=False,
                       saves_input=False)


def load_library(path: Path) -> tuple[ctypes.CDLL, list[CVariant]]:
    """Opens the library, declares the signatures of host/capi.h, lists the registry."""
    lib = ctypes.CDLL(str(path))
    for name in ("id", "family", "name", "summary", "device", "activation", "dtype"):
        getattr(lib, f"actbench_variant_{name}").restype = ctypes.c_char_p
    for name in ("atol", "rtol"):
        getattr(lib, f"actbench_variant_{name}").restype = ctypes.c_double
    lib.actbench_variant_supports.argtypes = [ctypes.c_int, ctypes.c_int64]
    lib.actbench_workspace_bytes.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    lib.actbench_workspace_bytes.restype = ctypes.c_int64
    # actbench_run(i, dtype, x, bias, y, rows, cols, workspace, stream)
    lib.actbench_run.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                 ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p,
                                 ctypes.c_void_p]
    # actbench_run_backward(i, dtype, saved, dy, dx, dbias, rows, cols, workspace, stream)
    lib.actbench_run_backward.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                                          ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                          ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p,
                                          ctypes.c_void_p]
    lib.actbench_last_error.restype = ctypes.c_char_p

    def text(what: str, i: int) -> str:
        return getattr(lib, f"actbench_variant_{what}")(i).decode()

    variants = [CVariant(i, text("family", i), text("name", i), text("device", i),
                         text("activation", i), lib.actbench_variant_has_bias(i) == 1,
                         lib.actbench_variant_step(i), lib.actbench_variant_atol(i),
                         lib.actbench_variant_rtol(i), text("summary", i), text("dtype", i),
                         lib.actbench_variant_is_gated(i) == 1,
                         lib.actbench_variant_is_backward(i) == 1,
                         lib.actbench_variant_saves_input(i) == 1)
                for i in range(lib.actbench_variant_count())]
    unknown = sorted({v.dtype for v in variants} - set(DTYPE_CODES))
    if unknown:
        raise ValueError(f"{path}: element types {', '.join(unknown)} are not one of "
                         f"{', '.join(DTYPE_CODES)}")
    return lib, variants


def find_library(given: Path | None) -> Path | None:
    """--lib, else the most recent build under build/ (bench.sh builds build/release)."""
    if given:
        return given if given.is_file() else None
    built = sorted(ROOT.glob("build/*/bench/libactbench_capi.so"), key=lambda p: p.stat().st_mtime)
    return built[-1] if built else None


# ---- one measurement -----------------------------------------------------------------------------

def round_to(torch: Any, exact: Any, dtype: Any) -> Any:
    """A float64 tensor rounded once, to nearest even, to `dtype` (float32, float16 or
    bfloat16). exact.to(float16) would not do: PyTorch converts a double to a 16-bit type
    through float32, which rounds twice (a value just off a tie between two f16 numbers can
    land on the tie in float32 and then go the wrong way). So the float32 step rounds to odd
    instead (an inexact result takes whichever float32 neighbour has an odd last bit), which
    with float32's 13 or more spare bits makes the second rounding the correct one
    (Boldo & Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms
    using rounding to odd", IEEE Trans. Computers, 2008)."""
    nearest = exact.float()
    if dtype == torch.float32:
        return nearest
    inexact = nearest.double() != exact  # NaN too: its neighbour is NaN again
    even = (nearest.view(torch.int32) & 1) == 0
    toward = torch.where(nearest.double() > exact, torch.full_like(nearest, -float("inf")),
                         torch.full_like(nearest, float("inf")))
    odd = torch.where(inexact & even, torch.nextafter(nearest, toward), nearest)
    return odd.to(dtype)


def shapes(v: CVariant, quick: bool) -> list[tuple[int, int]]:
    """(rows, cols) to run, the most valuable first: the largest row length (report.py's
    summary and its "Largest size" tables read it), then smaller ones; elementwise families are
    one row of n. A backward family runs at its forward's shapes (the same rules pick them),
    which a training step pairs."""
    if v.activation == "softmax":
        return [(4096, 1024)] if quick else [(512, 32768), (4096, 4096), (4096, 1024), (8192, 128)]
    if v.has_bias:
        return [(4096, 1024)] if quick else [(16384, 4096), (4096, 1024)]
    if v.gated:  # cols is the output's: Mistral-7B's and Llama-7B's intermediate sizes
        return [(4096, 1024)] if quick else [(4096, 14336), (4096, 11008), (4096, 1024)]
    return [(1, 1 << 20)] if quick else [(1, 1 << 26), (1, 1 << 24), (1, 1 << 20)]


def shape_name(row_shaped: bool, rows: int, cols: int) -> str:
    """`n:N` or `rows:R/cols:C`, the shape part of actbench's names."""
    return f"rows:{rows}/cols:{cols}" if row_shaped else f"n:{cols}"


def bench_name(family: str, variant: str, dtype: str, row_shaped: bool, rows: int,
               cols: int) -> str:
    """`family/variant/dtype/n:N` or `family/variant/dtype/rows:R/cols:C`, as actbench names."""
    return f"{family}/{variant}/{dtype}/{shape_name(row_shaped, rows, cols)}"


def ideal_bytes(v: CVariant, rows: int, cols: int) -> int:
    """Each input read once, each output written once, in the variant's type (as actbench
    counts): a gated family's x is rows x 2 cols; a backward family reads the saved tensor and
    dy and writes dx, three tensors of rows x cols, and a bias backward family's dbias."""
    inputs = rows * cols * (2 if v.gated or v.backward else 1)
    return DTYPE_BYTES[v.dtype] * (inputs + rows * cols + (cols if v.has_bias else 0))


def summation_bound(terms: int, magnitude: Any) -> Any:
    """host/reference.h's summation_bound: the accepted error of an f32 sum of `terms` values
    whose magnitudes add up to `magnitude` (a number or a tensor), 2^-24 (2 sqrt(terms) + 8)
    magnitude: a random walk of roundings, not the worst case."""
    return 2.0 ** -24 * (2.0 * terms ** 0.5 + 8.0) * magnitude


def input_seed(v: CVariant, rows: int, cols: int) -> int:
    """The seed of a shape's inputs: of the forward family, type and shape, so that a
    backward family's forward inputs are those its forward family was measured on."""
    return zlib.crc32(f"{v.forward().family}/{v.dtype}/{rows}x{cols}".encode())


def liger_function(v: CVariant) -> tuple[str, Any] | None:
    """(version, autograd Function) of Liger-Kernel's kernel for a gated variant's family, or
    None: not gated, no such kernel, or liger_kernel not importable (it needs Triton)."""
    if not v.gated or v.activation not in LIGER_FUNCTIONS:
        return None
    module, function = LIGER_FUNCTIONS[v.activation]
    try:
        ops = importlib.import_module(f"liger_kernel.ops.{module}")
        version = importlib.metadata.version("liger-kernel")
    except (ImportError, importlib.metadata.PackageNotFoundError):
        return None
    return version, getattr(ops, function)


class Bench:
    """Everything that needs PyTorch: inputs, the reference, the torch op, timing."""

    def __init__(self, torch: Any, lib: ctypes.CDLL, iterations: int) -> None:
        self.torch = torch
        self.lib = lib
        self.iterations = iterations
        self.device = torch.device("cuda")
        props = torch.cuda.get_device_properties(self.device)
        l2 = getattr(props, "L2_cache_size", 0) or (64 << 20)
        self.flush = torch.zeros(2 * l2 // 4, dtype=torch.float32, device=self.device)
        self.flush_sink = torch.empty((), dtype=torch.float32, device=self.device)
        self.generator = torch.Generator(device=self.device).manual_seed(20261127)

    def dtype(self, name: str) -> Any:
        """The torch dtype of an element type: torch.float32, torch.float16, torch.bfloat16."""
        return getattr(self.torch, TORCH_DTYPES[name])

    def inputs(self, v: CVariant, rows: int, cols: int) -> tuple[Any, Any]:
        """Like actbench's: activations uniform in [-12, 12), softmax logits N(0, 2), bias
        uniform in [-2, 2), a gated family's x rows x 2 cols, a (the first half) as the
        activations and b uniform in [-4, 4); drawn in float32 from input_seed and rounded to
        the variant's type."""
        t = self.torch
        self.generator.manual_seed(input_seed(v, rows, cols))
        if v.activation == "softmax":
            x = t.randn(rows, cols, generator=self.generator, device=self.device) * 2
        else:
            x = t.rand(rows, cols, generator=self.generator, device=self.device) * 24 - 12
        if v.gated:
            gate = t.rand(rows, cols, generator=self.generator, device=self.device) * 8 - 4
            x = t.cat([x, gate], dim=-1)
        b = (t.rand(cols, generator=self.generator, device=self.device) * 4 - 2
             if v.has_bias else None)
        dtype = self.dtype(v.dtype)
        return x.to(dtype), (b.to(dtype) if b is not None else None)

    def backward_inputs(self, v: CVariant, rows: int, cols: int) -> tuple[Any, Any]:
        """(saved, dy) of a backward variant, as actbench's make_case builds them: the forward
        family's inputs at this shape, saved = x for relu_backward, else the forward's exact
        output on them rounded to the type (reference), and dy uniform in [-1, 1) drawn next
        from the same generator, rounded to the type."""
        forward = v.forward()
        x, b = self.inputs(forward, rows, cols)
        saved = x if v.saves_input else self.reference(forward, x, b).to(x.dtype)
        dy = self.torch.rand(rows, cols, generator=self.generator, device=self.device) * 2 - 1
        return saved, dy.to(x.dtype)

    def reference(self, v: CVariant, x: Any, b: Any) -> Any:
        """The exact result rounded to the type, as float64: the inputs widened exactly
        (x.double() of a 16-bit tensor), the op in float64, then one rounding to x's type
        (round_to). The bias is added in float32 first, as every variant does
        (host/reference.h: act(fl(x + b))); for a 16-bit type both widen to float32 exactly
        and their sum is rounded to float32, as the kernels compute it."""
        z = (x.float() + b.float() if b is not None else x).double()
        gate = None
        if v.gated:  # act(a) * b in float64 (host/reference.h)
            z, gate = z.chunk(2, dim=-1)
        F = self.torch.nn.functional
        exact = {"identity": lambda: z, "sigmoid": lambda: self.torch.sigmoid(z),
                 "tanh": lambda: self.torch.tanh(z), "relu": lambda: self.torch.relu(z),
                 "gelu": lambda: F.gelu(z), "gelu_tanh": lambda: F.gelu(z, approximate="tanh"),
                 "silu": lambda: F.silu(z),
                 "softmax": lambda: self.torch.softmax(z, dim=-1)}[v.activation]()
        if gate is not None:
            exact = exact * gate
        return round_to(self.torch, exact, x.dtype).double()

    def backward_reference(self, v: CVariant, saved: Any, dy: Any) -> tuple[Any, Any]:
        """(value, bound) over the outputs flattened, dx then a bias family's dbias, as
        host/reference.h computes them: the derivative in float64 from the saved tensor and dy
        (common/ops.h's *Grad rules), rounded once to the type; dbias the exact column sums of
        the exact dx. bound is the summation bound each output adds to the tolerance (0 where
        it is no sum); None for a family with no sum among its outputs."""
        t = self.torch
        s, g = saved.double(), dy.double()
        rows, cols = s.shape
        bound = None
        if v.activation == "softmax":
            dot = (g * s).sum(-1, keepdim=True)
            dx = s * (g - dot)
            bound = (s.abs() * summation_bound(cols, (g * s).abs().sum(-1, keepdim=True))).flatten()
        elif v.activation == "sigmoid":
            dx = g * (s * (1 - s))
        elif v.activation == "tanh":
            dx = g * ((1 - s) * (1 + s))
        else:  # relu, threshold_backward's rule: 0 where s <= 0, dy elsewhere (NaN in s too)
            dx = g.masked_fill(s <= 0, 0.0)
        value = round_to(t, dx, saved.dtype).double().flatten()
        if v.has_bias:
            # summed in f32 from dx, or from dx as rounded to a 16-bit type (as a framework sums
            # the stored gradient): half the type's epsilon of the magnitude on top
            magnitude = dx.abs().sum(0)
            part = 0.0 if v.dtype == "f32" else 0.5 * DTYPE_EPSILON[v.dtype]
            dbias = round_to(t, dx.sum(0), saved.dtype).double()
            value = t.cat([value, dbias])
            bound = t.cat([t.zeros(rows * cols, dtype=t.float64, device=s.device),
                           summation_bound(rows, magnitude) + part * magnitude])
        return value, bound

    def torch_op(self, v: CVariant, x: Any, b: Any, y: Any) -> Callable[[], Any]:
        """PyTorch's eager equivalent; returns its result. It writes y where PyTorch has an out=
        form; torch.relu and torch.softmax have none and return a tensor from the caching
        allocator. With a bias: torch.add into y, then the activation in place (two kernels,
        as eager PyTorch runs it)."""
        t = self.torch
        F = t.nn.functional
        if v.activation == "identity":
            return lambda: y.copy_(x)
        if v.activation == "softmax":
            return lambda: t.softmax(x, dim=-1)
        if v.gated:  # as a model's MLP writes it: the chunks are views, two kernels
            act = {"silu": F.silu, "gelu": F.gelu}[v.activation]

            def gated() -> Any:
                a, gate = x.chunk(2, dim=-1)
                return act(a) * gate
            return gated
        # GELU (both forms) and SiLU as models call them: F.gelu / F.silu, in place where
        # PyTorch offers it (silu), else a new tensor (gelu).
        functional = {"gelu": lambda z: F.gelu(z), "gelu_tanh": lambda z: F.gelu(z, approximate="tanh"),
                      "silu": lambda z: F.silu(z, inplace=True)}
        if v.activation in functional:
            op = functional[v.activation]
            if b is not None:
                return lambda: op(t.add(x, b, out=y))
            return lambda: op(y.copy_(x)) if v.activation == "silu" else op(x)
        if b is not None:
            return lambda: getattr(t.add(x, b, out=y), f"{v.activation}_")()
        if v.activation == "relu":
            return lambda: t.relu(x)
        act = {"sigmoid": t.sigmoid, "tanh": t.tanh}[v.activation]
        return lambda: act(x, out=y)

    def torch_backward_op(self, v: CVariant, saved: Any, dy: Any) -> Callable[[], Any]:
        """PyTorch's eager backward of the family (TORCH_BACKWARD_OPS): the aten op its
        autograd calls, returning a new tensor; with a bias, (dx, dbias) with dbias =
        dx.sum(0), the reduction autograd runs for a bias broadcast over the rows."""
        aten = self.torch.ops.aten
        grad = {"sigmoid": lambda: aten.sigmoid_backward(dy, saved),
                "tanh": lambda: aten.tanh_backward(dy, saved),
                "relu": lambda: aten.threshold_backward(dy, saved, 0),
                "softmax": lambda: aten._softmax_backward_data(dy, saved, -1, saved.dtype),
                }[v.activation]
        if not v.has_bias:
            return grad

        def with_dbias() -> tuple[Any, Any]:
            dx = grad()
            return dx, dx.sum(0)
        return with_dbias

    def liger_op(self, function: Any, x: Any) -> Callable[[], Any]:
        """Liger-Kernel's gated kernel on contiguous a and b, copied out of x before timing
        (its Function would otherwise copy the chunks inside the timed call)."""
        a, gate = (part.contiguous() for part in x.chunk(2, dim=-1))
        return lambda: function.apply(a, gate)

    def actbench_op(self, v: CVariant, x: Any, b: Any, y: Any) -> Callable[[], None]:
        rows, cols = y.shape
        ws_bytes = self.lib.actbench_workspace_bytes(v.index, rows, cols)
        ws = self.torch.empty(max(ws_bytes, 1), dtype=self.torch.uint8, device=self.device)
        stream = self.torch.cuda.current_stream().cuda_stream

        def run() -> None:
            if self.lib.actbench_run(v.index, v.dtype_code, x.data_ptr(),
                                     b.data_ptr() if b is not None else None, y.data_ptr(),
                                     rows, cols, ws.data_ptr(), stream) != 0:
                raise RuntimeError(self.lib.actbench_last_error().decode())
        return run

    def actbench_backward_op(self, v: CVariant, saved: Any, dy: Any, dx: Any,
                             dbias: Any) -> Callable[[], None]:
        rows, cols = dx.shape
        ws_bytes = self.lib.actbench_workspace_bytes(v.index, rows, cols)
        ws = self.torch.empty(max(ws_bytes, 1), dtype=self.torch.uint8, device=self.device)
        stream = self.torch.cuda.current_stream().cuda_stream

        def run() -> None:
            if self.lib.actbench_run_backward(v.index, v.dtype_code, saved.data_ptr(),
                                              dy.data_ptr(), dx.data_ptr(),
                                              dbias.data_ptr() if dbias is not None else None,
                                              rows, cols, ws.data_ptr(), stream) != 0:
                raise RuntimeError(self.lib.actbench_last_error().decode())
        return run

    def time_us(self, op: Callable[[], Any]) -> float:
        """Median over timed calls, each after an L2 flush, of the call alone."""
        t = self.torch
        for _ in range(WARMUP):
            op()
        events = []
        for _ in range(self.iterations):
            t.sum(self.flush, dim=0, out=self.flush_sink)  # reads: evicts the L2, leaves it clean
            t.cuda._sleep(LEAD_CYCLES)
            start, end = t.cuda.Event(enable_timing=True), t.cuda.Event(enable_timing=True)
            start.record()
            op()
            end.record()
            events.append((start, end))
        t.cuda.synchronize()
        return 1e3 * statistics.median(s.elapsed_time(e) for s, e in events)

    def errors(self, got: Any, ref: Any) -> tuple[float, float]:
        diff = (got.double() - ref).abs()
        nonzero = ref != 0
        rel = (diff[nonzero] / ref.abs()[nonzero]).max().item() if nonzero.any() else 0.0
        return diff.max().item(), rel

    def agrees(self, v: CVariant, got: Any, ref: Any, bound: Any = None) -> bool:
        """Within the variant's tolerance, plus the summation bound of each output that is a
        sum (host/compare.h's check)."""
        accepted = v.atol + v.rtol * ref.abs()
        if bound is not None:
            accepted = accepted + bound
        return bool((got.double() - ref).abs().le(accepted).all())


# ---- the log ----------------------------------------------------------------------------------

def row(name: str, time_us: float, iterations: int, counters: dict[str, float]) -> dict:
    return {"name": name, "run_name": name, "run_type": "iteration", "repetitions": 1,
            "repetition_index": 0, "threads": 1, "iterations": iterations,
            "real_time": time_us, "cpu_time": time_us, "time_unit": "us", **counters}


def error_row(name: str, message: str) -> dict:
    return {"name": name, "run_name": name, "run_type": "iteration", "repetitions": 1,
            "repetition_index": 0, "threads": 1, "error_occurred": True,
            "error_message": message, "iterations": 0, "real_time": 0.0, "cpu_time": 0.0,
            "time_unit": "us"}


def torch_entry(torch: Any, first: CVariant) -> dict:
    """PyTorch as one more variant of the family in first's type in actbench_variants (no
    tolerance: its error is reported, not judged)."""
    op = {"identity": "Tensor.copy_", "softmax": "torch.softmax(dim=-1)"}.get(
        first.activation, f"torch.{first.activation}" + ("(x + b)" if first.has_bias else ""))
    if first.gated:
        op = f"F.{first.activation}(a) * b of a, b = x.chunk(2, dim=-1)"
    if first.backward:
        op = TORCH_BACKWARD_OPS[first.activation].format(s="x" if first.saves_input else "y")
        if first.has_bias:
            op += " then dbias = dx.sum(0)"
    return {"id": f"{first.family}/torch/{first.dtype}", "family": first.family,
            "variant": "torch", "step": TORCH_STEP, "device": "gpu", "dtype": first.dtype,
            "summary": f"PyTorch {torch.__version__} eager {op} on torch.{TORCH_DTYPES[first.dtype]}",
            "atol": None, "rtol": None}


def liger_entry(first: CVariant, version: str, function: Any) -> dict:
    """Liger-Kernel as a peer of a gated family in actbench_variants, like PyTorch's: its
    error is reported, not judged (its GeGLU is the tanh form)."""
    tanh = " (GELU's tanh form)" if first.activation == "gelu" else ""
    return {"id": f"{first.family}/liger/{first.dtype}", "family": first.family,
            "variant": "liger", "step": LIGER_STEP, "device": "gpu", "dtype": first.dtype,
            "summary": f"Liger-Kernel {version} {function.__name__}{tanh} on contiguous a and b, "
                       f"torch.{TORCH_DTYPES[first.dtype]}",
            "atol": None, "rtol": None}


def measured(bench: Bench, name: str, op: Callable[[], Any], judged_by: CVariant | None,
             reset: Callable[[], Any], outputs: Callable[[Any], Any], ref: Any, bound: Any,
             moved: int) -> dict:
    """One benchmark row: the call once with its outputs poisoned first (reset: an element it
    forgets is a mismatch), its result (outputs: from what the call returned, None for the
    variants that write into the outputs) against the reference, judged by judged_by's
    tolerance (None for the peers: reported only), then timed; an error row for a mismatch or
    a failing call."""
    try:
        reset()
        got = outputs(op())
        abs_err, rel_err = bench.errors(got, ref)
        if judged_by and not bench.agrees(judged_by, got, ref, bound):
            return error_row(name, f"mismatch: max_abs_err={abs_err:.3g} max_rel_err="
                             f"{rel_err:.3g} outside atol={judged_by.atol:g} "
                             f"rtol={judged_by.rtol:g}" +
                             (" plus the summation bound" if bound is not None else ""))
        time_us = bench.time_us(op)
    except RuntimeError as e:  # the library's errors, and PyTorch's (out of memory, ...)
        return error_row(name, str(e).splitlines()[0])
    return row(name, time_us, bench.iterations, {
        "bytes_per_second": moved / (time_us * 1e-6), "ideal_bytes": moved,
        "max_abs_err": abs_err, "max_rel_err": rel_err})


def measure_shape(bench: Bench, members: list[CVariant], rows: int, cols: int) -> list[dict]:
    """The peers (PyTorch; Liger-Kernel for a gated family) and every variant of one family in
    one type that supports the shape, on the same inputs of that type."""
    first = members[0]
    if first.backward:
        return measure_backward_shape(bench, members, rows, cols)
    x, b = bench.inputs(first, rows, cols)
    ref = bench.reference(first, x, b)
    y = bench.torch.empty(rows, cols, dtype=x.dtype, device=x.device)
    # (variant name, the call, whose tolerance judges it: None for the peers)
    runs: list[tuple[str, Callable[[], Any], CVariant | None]] = [
        ("torch", bench.torch_op(first, x, b, y), None)]
    liger = liger_function(first)
    if liger:
        runs.append(("liger", bench.liger_op(liger[1], x), None))
    runs += [(v.name, bench.actbench_op(v, x, b, y), v) for v in members
             if bench.lib.actbench_variant_supports(v.index, cols) == 1]
    return [measured(bench, bench_name(first.family, variant, first.dtype, first.row_shaped,
                                       rows, cols),
                     op, judged_by, lambda: y.fill_(float("nan")),
                     lambda result: result if result is not None else y, ref, None,
                     ideal_bytes(first, rows, cols))
            for variant, op, judged_by in runs]


def measure_backward_shape(bench: Bench, members: list[CVariant], rows: int,
                           cols: int) -> list[dict]:
    """PyTorch's backward and every variant of one backward family in one type that supports
    the shape, on the same saved tensor and dy; their outputs, dx then a bias family's dbias,
    checked as one (the order actbench's runner returns them in)."""
    first = members[0]
    t = bench.torch
    saved, dy = bench.backward_inputs(first, rows, cols)
    ref, bound = bench.backward_reference(first, saved, dy)
    dx = t.empty_like(saved)
    dbias = t.empty(cols, dtype=saved.dtype, device=saved.device) if first.has_bias else None

    def reset() -> None:
        dx.fill_(float("nan"))
        if dbias is not None:
            dbias.fill_(float("nan"))

    def outputs(result: Any) -> Any:
        got_dx, got_dbias = (dx, dbias) if result is None else \
            (result if isinstance(result, tuple) else (result, None))
        return got_dx.flatten() if got_dbias is None else t.cat([got_dx.flatten(), got_dbias])

    runs: list[tuple[str, Callable[[], Any], CVariant | None]] = [
        ("torch", bench.torch_backward_op(first, saved, dy), None)]
    runs += [(v.name, bench.actbench_backward_op(v, saved, dy, dx, dbias), v) for v in members
             if bench.lib.actbench_variant_supports(v.index, cols) == 1]
    return [measured(bench, bench_name(first.family, variant, first.dtype, first.row_shaped,
                                       rows, cols),
                     op, judged_by, reset, outputs, ref, bound, ideal_bytes(first, rows, cols))
            for variant, op, judged_by in runs]


# ---- the order of the work and its deadline -------------------------------------------------------

@dataclass(frozen=True)
class Item:
    """One step of the work: an activation's forward family and the backward families of it,
    each a group of its variants in one type, at one shape (measured together or not at all)."""

    groups: tuple[tuple[CVariant, ...], ...]
    rows: int
    cols: int

    @property
    def activation(self) -> str:
        """The forward family its groups are or differentiate: what estimates match by."""
        return self.groups[0][0].forward().family

    @property
    def bytes(self) -> int:
        """What one call of its largest family moves."""
        return max(ideal_bytes(g[0], self.rows, self.cols) for g in self.groups)

    def names(self) -> list[str]:
        """`family/dtype/shape` of each family: the rows it writes, less the variant part."""
        return [f"{g[0].family}/{g[0].dtype}/{shape_name(g[0].row_shaped, self.rows, self.cols)}"
                for g in self.groups]

    def calls(self, lib: ctypes.CDLL) -> int:
        """The calls it measures: per family PyTorch's, Liger-Kernel's (a gated family, where
        importable) and each variant's that supports the shape."""
        return sum(1 + (liger_function(g[0]) is not None) +
                   sum(lib.actbench_variant_supports(v.index, self.cols) == 1 for v in g)
                   for g in self.groups)


def plan(gpu: list[CVariant], quick: bool) -> list[Item]:
    """Every family in every type the registry lists for it, at its shapes, as items in order
    of value: f32 and bf16 before f16; within them each activation's largest shape, then its
    next, ... (shapes); the copy first at each, then the activations in registry order, f32
    before bf16."""
    groups: dict[tuple[str, str], list[CVariant]] = {}
    for v in gpu:
        groups.setdefault((v.family, v.dtype), []).append(v)
    by_activation: dict[tuple[str, str], list[tuple[CVariant, ...]]] = {}
    for (_, dtype), members in groups.items():
        by_activation.setdefault((members[0].forward().family, dtype), []).append(tuple(members))
    order = list(dict.fromkeys(v.forward().family for v in gpu))
    keyed = []
    for (activation, dtype), found in by_activation.items():
        item_groups = tuple(sorted(found, key=lambda g: g[0].backward))  # the forward first
        for rank, (rows, cols) in enumerate(shapes(item_groups[0][0], quick)):
            key = (dtype not in FIRST_TYPES, rank, activation != COPY_FAMILY,
                   order.index(activation), TYPE_ORDER.index(dtype))
            keyed.append((key, Item(item_groups, rows, cols)))
    return [item for _, item in sorted(keyed, key=lambda k: k[0])]


class Deadline:
    """--deadline-s on a monotonic clock from the start of the run; None: no deadline."""

    def __init__(self, seconds: float | None, start: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.start, self.clock = seconds, start, clock

    def used(self) -> float:
        return self.clock() - self.start

    def left(self) -> float:
        return float("inf") if self.seconds is None else self.seconds - self.used()


class Stopped(BaseException):
    """SIGTERM during the work (gpu_check.py's limit, a job's end), raised where the work is
    so that what was measured is still written. Not an Exception: measured() turns the
    library's and PyTorch's errors into error rows, and must not take this for one."""


def stop(signum: int, frame: Any) -> None:
    raise Stopped(signal.Signals(signum).name)


def estimate(item: Item, calls: int, like: tuple[Item, int, float] | None) -> float:
    """The seconds an item should take, from `like` (item, calls, seconds) that finished: its
    seconds per call times this item's calls, times the ratio of the bytes a call moves where
    this one's are more (never less: a call's fixed costs do not shrink with its bytes). 0
    before any item finished."""
    if like is None:
        return 0.0
    other, other_calls, seconds = like
    return seconds / max(other_calls, 1) * calls * max(1.0, item.bytes / other.bytes)


def measure(bench: Bench, gpu: list[CVariant], quick: bool,
            deadline: Deadline) -> tuple[list[dict], list[dict], dict[str, Any]]:
    """The items of the plan in order, each started only when the deadline leaves the time its
    estimate asks (from the last finished item of the same activation, else the last one),
    until the first that would not fit or a Stopped: the benchmark rows of the finished items,
    the peers' actbench_variants entries (PyTorch's for each family and type, Liger-Kernel's
    for the gated ones where it is importable) and, when the work was cut short, the context's
    cut_short record (cut_short_record); empty when every item ran."""
    entries: list[dict] = []
    for family, dtype in dict.fromkeys((v.family, v.dtype) for v in gpu):
        first = next(v for v in gpu if v.family == family and v.dtype == dtype)
        entries.append(torch_entry(bench.torch, first))
        liger = liger_function(first)
        if liger:
            entries.append(liger_entry(first, *liger))
    items = plan(gpu, quick)
    # (item, its rows): one append per finished item, so a Stopped leaves it whole or absent
    finished: list[tuple[Item, list[dict]]] = []

    def rows() -> list[dict]:
        return [r for _, item_rows in finished for r in item_rows]

    last: dict[str, tuple[Item, int, float]] = {}  # by activation, and "" for the last of all
    try:
        for item in items:
            calls = item.calls(bench.lib)
            needed = estimate(item, calls, last.get(item.activation, last.get("")))
            left = deadline.left()
            if left <= needed:
                return rows(), entries, cut_short_record(
                    items[len(finished):],
                    f"--deadline-s {deadline.seconds:g}: {deadline.used():.1f} s used, "
                    f"{max(left, 0.0):.1f} s left; the next item ({', '.join(item.names())}) "
                    f"estimated at {needed:.1f} s")
            begin = deadline.clock()
            item_rows = [r for g in item.groups
                         for r in measure_shape(bench, list(g), item.rows, item.cols)]
            bench.torch.cuda.empty_cache()  # this item's tensors: the next may be 16x larger
            last[item.activation] = last[""] = (item, calls, deadline.clock() - begin)
            finished.append((item, item_rows))
    except Stopped as e:
        under_way = items[len(finished)] if len(finished) < len(items) else None
        return rows(), entries, cut_short_record(
            items[len(finished):], f"{e} after {deadline.used():.1f} s" +
            (f", during {', '.join(under_way.names())}" if under_way else ""))
    return rows(), entries, {}


def cut_short_record(left_out: list[Item], reason: str) -> dict[str, Any]:
    """The context entries of a run cut short: every family, type and shape not measured
    (`family/dtype/shape`), and why."""
    return {"cut_short": [name for item in left_out for name in item.names()],
            "cut_short_reason": reason}


def add_pct_copy(rows: list[dict]) -> float | None:
    """pct_copy_bw on every row, against the best copy/cuda_memcpy bandwidth of this run in
    the row's own type (a copy of the same kind of bytes: copy/cuda_memcpy/f16 for f16 rows),
    or of any type where that one did not run. Returns the best copy of all in GB/s."""
    best: dict[str, float] = {}
    for r in rows:
        name = gbjson.parse_name(r["name"])
        if name.family_variant == "copy/cuda_memcpy" and not r.get("error_occurred"):
            best[name.dtype] = max(best.get(name.dtype, 0.0), r["bytes_per_second"])
    if not best:
        return None
    for r in rows:
        if not r.get("error_occurred"):
            copy = best.get(gbjson.parse_name(r["name"]).dtype, max(best.values()))
            r["pct_copy_bw"] = 100 * r["bytes_per_second"] / copy
    return max(best.values()) / 1e9


def git_sha() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


def context(torch: Any, gpu: list[CVariant], torch_variants: list[dict],
            copy_gbs: float | None) -> dict:
    props = torch.cuda.get_device_properties(torch.device("cuda"))
    registry = [{"id": v.id, "family": v.family, "variant": v.name, "dtype": v.dtype,
                 "step": v.step, "device": v.device, "summary": v.summary, "atol": v.atol,
                 "rtol": v.rtol} for v in gpu]
    ctx = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
           "host_name": socket.gethostname(), "executable": sys.argv[0],
           "num_cpus": os.cpu_count() or 0, "machine": props.name, "gpu_name": props.name,
           "gpu_sm_count": str(props.multi_processor_count),
           "gpu_compute_capability": f"{props.major}.{props.minor}",
           "gpu_memory_bytes": str(props.total_memory),
           "cuda_runtime_version": f"{torch.version.cuda} (PyTorch)",
           "torch_version": torch.__version__, "git_sha": git_sha(), "l2_flush": "cold",
           "actbench_variants": json.dumps(registry + torch_variants)}
    if getattr(props, "L2_cache_size", 0):
        ctx["gpu_l2_bytes"] = str(props.L2_cache_size)
    if copy_gbs:
        ctx["gpu_copy_bw_gbs"] = f"{copy_gbs:.1f}"
    return ctx


def write_atomically(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="torch_compare.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--lib", type=Path, help="libactbench_capi.so (default: newest under build/)")
    p.add_argument("--out", type=Path, help="log to write (default: "
                   "results/<date>_<machine>_<sha>_torch.json)")
    p.add_argument("--quick", action="store_true", help="one shape per family, fewer calls")
    p.add_argument("--deadline-s", type=float, metavar="SECONDS",
                   help="start no item that would not end within SECONDS of the start, by its "
                        "estimate; what was left out is listed in the log (cut_short)")
    args = p.parse_args(argv)
    if args.deadline_s is not None and not args.deadline_s > 0:
        p.error(f"--deadline-s {args.deadline_s:g}: a number of seconds above 0")
    return args


def compare(bench: Bench, gpu: list[CVariant], quick: bool, deadline: Deadline,
            out: Path | None) -> int:
    """Measures (a SIGTERM meanwhile ends the work as the deadline does), then writes the log
    of what was measured with SIGTERM ignored, so that it is written whole. Returns the exit
    status: 1 when a row failed, else 0, cut short or not."""
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        rows, torch_variants, cut = measure(bench, gpu, quick, deadline)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        copy_gbs = add_pct_copy(rows)
        ctx = context(bench.torch, gpu, torch_variants, copy_gbs) | cut
        out = out or ROOT / "results" / (
            f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%dT%H%MZ}_"
            f"{gbjson.slug(ctx['machine'])}_{ctx['git_sha']}_torch.json")
        write_atomically(out, {"context": ctx, "benchmarks": rows})
    finally:
        signal.signal(signal.SIGTERM, previous)
    failed = [r["name"] for r in rows if r.get("error_occurred")]
    notes = [f"{len(rows)} rows"]
    if cut:
        notes.append(f"cut short: {len(cut['cut_short'])} family shapes left out "
                     f"({cut['cut_short_reason']})")
    if failed:
        notes.append(f"FAILED: {', '.join(failed)}")
    print(f"torch_compare.py: wrote {out} ({'; '.join(notes)})")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    started = time.monotonic()  # the deadline counts PyTorch's import and the CUDA start too
    args = parse_args(argv)
    try:
        import torch
    except ImportError:
        print("torch_compare.py: PyTorch is not installed: nothing to compare")
        return 0
    if not torch.cuda.is_available():
        print("torch_compare.py: PyTorch sees no CUDA GPU: nothing to compare")
        return 0
    path = find_library(args.lib)
    if path is None:
        where = f"at {args.lib}" if args.lib else "under build/"
        print(f"torch_compare.py: error: no libactbench_capi.so {where}; build it with "
              f"`cmake --build --preset release --target actbench_capi` or pass --lib",
              file=sys.stderr)
        return 2
    try:
        lib, variants = load_library(path)
    except (OSError, AttributeError, ValueError) as e:
        # AttributeError: a library without actbench_variant_dtype, built before the types
        print(f"torch_compare.py: error: {path} is not a usable libactbench_capi (rebuild it "
              f"with `cmake --build --preset release --target actbench_capi`): {e}",
              file=sys.stderr)
        return 2
    gpu = [v for v in variants if v.device == "gpu"]
    bench = Bench(torch, lib, iterations=10 if args.quick else 30)
    return compare(bench, gpu, args.quick, Deadline(args.deadline_s, started), args.out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
