#!/usr/bin/env python3
"""The peers: every GPU variant of the registry against PyTorch eager, torch.compile and
Liger-Kernel, on the same tensors, verified and timed alike.

    scripts/torch_compare.py [--lib PATH] [--out FILE.json] [--quick] [--deadline-s SECONDS]
                             [--compile-mode default|max-autotune-no-cudagraphs]

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
dbias = dx.sum(0), the two ops eager runs.

Two more peers run beside PyTorch's eager calls, each on the same tensors:

  torch_compile  torch.compile of the same expression (Bench.torch_function: the same
                 operations without out= or in-place forms, whose buffers Inductor plans
                 itself) for every family but the copy, with dynamic=False, fullgraph=True (a
                 graph break fails, never falls back to eager) and --compile-mode (default:
                 "default"; no mode that replays CUDA graphs). It is compiled once per family,
                 type and shape, after the compiler's caches are reset, by a first call before
                 anything is checked or timed; the seconds that took are the row's compile_s,
                 never inside its time, and count toward the item's time for the deadline. The
                 compiler's own start in the process is paid once before the work, by a small
                 compile (torch_compile_startup_s), so that it is in no row's compile_s. A
                 compile that fails is recorded (peers_unavailable, below) and the work goes
                 on; no torch.compile in this PyTorch, no Triton, or a start-up compile that
                 fails, leaves the peer out of every family, saying so.
  liger          Liger-Kernel's Triton kernels, where liger_kernel imports: SwiGLU and GeGLU
                 (LigerSiLUMulFunction, LigerGELUMulFunction) on contiguous copies of a and b
                 made before timing (its functions make their inputs contiguous,
                 @ensure_contiguous, so handing them the chunks of x would time a copy);
                 softmax (LigerSoftmaxFunction.apply over the last dimension); and
                 softmax_backward, through the same Function's backward(ctx, dy), the call
                 autograd makes, with the ctx its forward leaves (the kernel settings it chose
                 for the row length, taken from one forward call on a tensor of the shape before
                 timing) holding our saved y: the same kernel autograd would run, on the same
                 y and dy as the other variants, without the forward or autograd's engine in
                 the timed call. Liger's GeGLU is the tanh approximation of GELU (up to 4.7e-4
                 from the erf form, times |b|): like PyTorch's, its error against the erf
                 reference is reported, not judged. It has no kernel for the other families.

A peer that cannot run is never silently absent: the log's context lists it in
peers_unavailable, by `family/peer` (the whole family: `not importable: ...`, no torch.compile)
or by the row's name (one type and shape: `compile failed: ...`, a Liger call that could not
be set up), with the reason. A peer's call that fails once set up is an error row, as a
variant's.

All are checked against a float64 reference computed by PyTorch from the exactly converted
inputs (x.double() of the 16-bit tensor), the op in float64, rounded once to the type (the
variant within its registry tolerance for that type; where an output is a sum, dbias and
softmax_backward's row dot product, plus the summation bound host/reference.h adds; the peers'
errors reported, not judged), and timed alike: CUDA events around the call alone on the
current stream, after warm-up, with the L2 flushed before each timed call by reading a
buffer twice its size (which leaves no dirty line to be written back inside the timed window),
then the stream kept busy for ~100 us so that the start event and the call are queued before
the GPU reaches them (no launch latency timed, nor a compiled call's guards), median of the
calls: as host/timer.h, one path (Bench.time_us) for every variant and peer.

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
then the next largest, ...; the copy (every row's % of copy) first at each. With --deadline-s,
an item starts only when the time left would fit it by an estimate from what was measured so
far (the last item of the same activation, else the last item, scaled to the calls and the
bytes of this one, plus its compiles at the seconds per compile of the last item that
compiled, of the same activation where one did); the first item that would not fit ends the
work, and it and those after it are listed in the log's context as cut_short
("family/dtype/shape" each, every row of which is missing), with cut_short_reason. SIGTERM
ends the work the same way, the item under way included: what was measured is written either
way, never a silent truncation. Writing the log takes a second or two after the deadline's
last item: a caller leaves a margin.

The log is shaped like actbench's (Google Benchmark JSON: context with machine, gpu_name and
actbench_variants, the peers' entries among them; torch_compile, its settings and PyTorch's
version; torch_compile_startup_s; triton_version; peers_unavailable), rows named <family>/<variant>/<dtype>/<shape>,
the peers' as <family>/torch/..., <family>/torch_compile/... and <family>/liger/..., with
bytes_per_second (the bytes of the type moved), pct_copy_bw against copy/cuda_memcpy of the
same type measured here, max_abs_err, max_rel_err (a bias backward family's over dx and dbias
together) and a torch_compile row's compile_s, so `scripts/report.py` shows the peers as more
variants of each type, and its verdict sets actbench's best against them.

Without PyTorch, or without a GPU it can see, it says so in one line and exits 0 writing
nothing. Exit status: 0 written, every variant agreed; 1 written, some variant disagreed (its
row carries the error), whether or not the work was cut short; 2 unusable arguments or
no library.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import functools
import importlib
import importlib.metadata
import importlib.util
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import types
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gbjson  # noqa: E402  (the scripts folder is not a package)

ROOT = Path(__file__).resolve().parents[1]
TORCH_STEP = 30  # after actbench's own variants, library references and CPU baselines
COMPILE_STEP = TORCH_STEP + 1
LIGER_STEP = TORCH_STEP + 2
# The peers, by their variant name in the rows: PyTorch eager, torch.compile, Liger-Kernel.
TORCH, COMPILE, LIGER = "torch", "torch_compile", "liger"
# Liger-Kernel's kernels (liger_kernel.ops.<module>.<Function>) by the activation of a gated
# family's a, and softmax's (its forward, and its backward through the same Function).
LIGER_FUNCTIONS = {"silu": ("swiglu", "LigerSiLUMulFunction"),
                   "gelu": ("geglu", "LigerGELUMulFunction"),
                   "softmax": ("softmax", "LigerSoftmaxFunction")}
# torch.compile's modes that are timed as the other calls are: one call, no CUDA graph replay
# (reduce-overhead and max-autotune replay graphs whose outputs the next replay overwrites).
COMPILE_MODES = ("default", "max-autotune-no-cudagraphs")
WARMUP = 3
# The GPU's lead over the host before each timed call: ~100 us at Hopper's ~2 GHz, longer than
# an event record and a call take to enqueue. host/timer.h's GpuTimer::kLeadNs is 20 us, which
# covers a launch through the C interface and PyTorch's dispatcher; a compiled call (Dynamo's
# guards, then Inductor's wrapper and Triton's launcher) and Liger-Kernel's (an autograd
# Function, then Triton's launcher) can take longer than that on the host, and what the host
# takes past the lead would be timed as the kernel's. The lead is spent before the start
# event: it is never timed.
LEAD_CYCLES = 200_000
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


def liger_kernel(v: CVariant) -> tuple[str, str] | None:
    """(module, Function) of Liger-Kernel's kernel for a variant's family, or None where it has
    none: a gated family's (SwiGLU, GeGLU) and softmax's, forward and backward."""
    if v.activation == "softmax" and not v.has_bias:
        return LIGER_FUNCTIONS["softmax"]
    if v.gated and not v.backward and v.activation in LIGER_FUNCTIONS:
        return LIGER_FUNCTIONS[v.activation]
    return None


def liger_lookup(v: CVariant) -> tuple[str, Any] | str | None:
    """(version, autograd Function) of Liger-Kernel's kernel for a variant's family; the reason
    it is not there (`not importable: ...`: liger_kernel is missing, or Triton, which it needs,
    or its import fails); None where Liger-Kernel has no kernel for the family."""
    kernel = liger_kernel(v)
    return None if kernel is None else liger_import(*kernel)


@functools.lru_cache(maxsize=None)
def liger_import(module: str, function: str) -> tuple[str, Any] | str:
    """liger_lookup's import, once per kernel in a run: a failing import is not cached by
    Python, and liger_kernel's would run its package's imports again at every lookup."""
    try:
        ops = importlib.import_module(f"liger_kernel.ops.{module}")
        found = getattr(ops, function)
    except Exception as e:  # ImportError, and whatever its modules raise on import
        return f"not importable: {brief(e, lines=1)}"
    try:
        version = importlib.metadata.version("liger-kernel")
    except importlib.metadata.PackageNotFoundError:  # on sys.path without its dist-info
        version = "(version unknown)"
    return version, found


def liger_function(v: CVariant) -> tuple[str, Any] | None:
    """(version, autograd Function) of Liger-Kernel's kernel for the family, or None: no such
    kernel, or liger_kernel not importable (liger_lookup says why)."""
    found = liger_lookup(v)
    return found if isinstance(found, tuple) else None


def first_line(e: BaseException) -> str:
    """An exception's message, first line, or its type where it has none."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def brief(e: BaseException, lines: int = 2, limit: int = 300) -> str:
    """`Type: message` on one line: the message's first non-empty lines (a compiler's first
    line often only says which backend raised; the cause is on the next), at most limit
    characters (a compiler's message can run to pages)."""
    text = " ".join([line.strip() for line in str(e).splitlines() if line.strip()][:lines])
    text = f"{type(e).__name__}: {text}" if text else type(e).__name__
    return text if len(text) <= limit else text[:limit - 1] + "…"


def compiles(v: CVariant) -> bool:
    """Whether the family has a torch_compile peer: every family but the copy (a compiled copy
    is a copy; Tensor.copy_ and copy/cuda_memcpy are the roofline already)."""
    return v.activation != "identity"


def compile_unavailable(torch: Any) -> str | None:
    """Why torch.compile cannot run here, or None: a PyTorch without it, or no Triton (Inductor
    generates its GPU kernels with it)."""
    if not callable(getattr(torch, "compile", None)):
        return f"PyTorch {torch.__version__} has no torch.compile"
    if importlib.util.find_spec("triton") is None:
        return "Triton is not importable (Inductor generates its GPU kernels with it)"
    return None


class CompileFailed(Exception):
    """torch.compile of one family, type and shape failed (at its first call, where it
    compiles): recorded in the log's peers_unavailable, the work goes on."""


class Bench:
    """Everything that needs PyTorch: inputs, the reference, the torch op, timing."""

    def __init__(self, torch: Any, lib: ctypes.CDLL, iterations: int,
                 compile_mode: str = COMPILE_MODES[0]) -> None:
        self.torch = torch
        self.lib = lib
        self.iterations = iterations
        self.init_peers(compile_mode, compile_unavailable(torch))
        self.device = torch.device("cuda")
        props = torch.cuda.get_device_properties(self.device)
        l2 = getattr(props, "L2_cache_size", 0) or (64 << 20)
        self.flush = torch.zeros(2 * l2 // 4, dtype=torch.float32, device=self.device)
        self.flush_sink = torch.empty((), dtype=torch.float32, device=self.device)
        self.generator = torch.Generator(device=self.device).manual_seed(20261127)

    def init_peers(self, compile_mode: str, compile_reason: str | None) -> None:
        """The peers' state over the run: torch.compile's mode, or why it cannot run; what is
        absent and why (peers_unavailable: `family/peer` for a whole family, the row's name for
        one type and shape); the compiles so far and the seconds they took."""
        self.compile_mode = compile_mode
        self.compile_reason = compile_reason
        self.unavailable: dict[str, str] = {}
        self.compiles, self.compile_seconds = 0, 0.0
        self.compile_startup_s: float | None = None  # start_compiler's

    def peers(self, v: CVariant) -> list[str]:
        """The peers a family runs against: PyTorch eager always; torch.compile where it can
        run (compile_reason None) and the family has it; Liger-Kernel where it imports and has
        a kernel for the family."""
        return ([TORCH] + ([COMPILE] if self.compile_reason is None and compiles(v) else []) +
                ([LIGER] if liger_function(v) else []))

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

    def torch_function(self, v: CVariant) -> Callable[..., Any]:
        """The expression eager runs (torch_op, torch_backward_op) as a function of its inputs,
        returning new tensors: of x (and b with a bias) for a forward family, of dy and the
        saved tensor for a backward one. What torch_compile compiles: no out= and no in-place
        form (Inductor plans its own buffers), the same operations: act(x + b), F.silu(a) * b
        of x.chunk(2, dim=-1), torch.softmax(x, dim=-1), the aten backward ops and
        dbias = dx.sum(0)."""
        t = self.torch
        F = t.nn.functional
        if v.backward:
            aten = t.ops.aten
            grad = {"sigmoid": lambda dy, s: aten.sigmoid_backward(dy, s),
                    "tanh": lambda dy, s: aten.tanh_backward(dy, s),
                    "relu": lambda dy, s: aten.threshold_backward(dy, s, 0),
                    "softmax": lambda dy, s: aten._softmax_backward_data(dy, s, -1, s.dtype),
                    }[v.activation]
            if not v.has_bias:
                return grad

            def with_dbias(dy: Any, s: Any) -> tuple[Any, Any]:
                dx = grad(dy, s)
                return dx, dx.sum(0)
            return with_dbias
        act = {"sigmoid": lambda z: t.sigmoid(z), "tanh": lambda z: t.tanh(z),
               "relu": lambda z: t.relu(z), "gelu": lambda z: F.gelu(z),
               "gelu_tanh": lambda z: F.gelu(z, approximate="tanh"), "silu": lambda z: F.silu(z),
               "softmax": lambda z: t.softmax(z, dim=-1)}[v.activation]
        if v.gated:
            def gated(x: Any) -> Any:
                a, gate = x.chunk(2, dim=-1)
                return act(a) * gate
            return gated
        if v.has_bias:
            return lambda x, b: act(x + b)
        return act

    def compiled_op(self, fn: Callable[..., Any], args: tuple) -> tuple[Callable[[], Any], float]:
        """torch.compile(fn, mode, dynamic=False, fullgraph=True) on args: compiled for them
        alone (static shapes and type; fullgraph: a graph break is a failure, never a silent
        fall back to eager), by its first call, here, after the compiler's caches are reset (a
        fresh compile per family, type and shape, which no cache size limit sends back to
        eager). Returns (the call, the seconds the compile took: that first call and a
        synchronize); raises CompileFailed with the compiler's message. Every compile's seconds
        count in compile_seconds, a failed one's too (the deadline's estimate)."""
        t = self.torch
        reset = getattr(getattr(t, "compiler", None), "reset", None)
        if reset is not None:
            reset()
        begin = time.perf_counter()
        try:
            compiled = t.compile(fn, mode=self.compile_mode, dynamic=False, fullgraph=True)
            compiled(*args)
            t.cuda.synchronize()
        except Exception as e:  # Dynamo's, Inductor's and Triton's errors: one family's loss
            raise CompileFailed(brief(e)) from e
        finally:
            seconds = time.perf_counter() - begin
            self.compiles += 1
            self.compile_seconds += seconds
        return (lambda: compiled(*args)), seconds

    def start_compiler(self) -> None:
        """torch.compile's start in this process (Dynamo's and Inductor's imports, its compile
        workers, Triton's first kernel), by one compile of a small expression before the work,
        so that a row's compile_s is the compile of its family, type and shape and not the
        process's start (nor is the deadline's estimate of the next compile). Its seconds go to
        compile_startup_s; if it fails, torch_compile is unavailable in every family, with
        the reason (compile_reason), and no family pays for a compile that cannot work."""
        if self.compile_reason is not None:
            return
        x = self.torch.ones(1024, dtype=self.torch.float32, device=self.device)
        try:
            _, self.compile_startup_s = self.compiled_op(lambda z: z * 2 + 1, (x,))
        except CompileFailed as e:
            self.compile_reason = f"compile failed at its start-up (a small expression): {e}"

    def torch_backward_op(self, v: CVariant, saved: Any, dy: Any) -> Callable[[], Any]:
        """PyTorch's eager backward of the family (TORCH_BACKWARD_OPS, torch_function): the
        aten op its autograd calls, returning a new tensor; with a bias, (dx, dbias) with
        dbias = dx.sum(0), the reduction autograd runs for a bias broadcast over the rows."""
        grad = self.torch_function(v)
        return lambda: grad(dy, saved)

    def liger_op(self, function: Any, x: Any) -> Callable[[], Any]:
        """Liger-Kernel's gated kernel on contiguous a and b, copied out of x before timing
        (its Function would otherwise copy the chunks inside the timed call)."""
        a, gate = (part.contiguous() for part in x.chunk(2, dim=-1))
        return lambda: function.apply(a, gate)

    def liger_softmax_op(self, function: Any, x: Any) -> Callable[[], Any]:
        """Liger-Kernel's softmax over the last dimension of x (contiguous: nothing copied)."""
        return lambda: function.apply(x)

    def liger_softmax_backward_op(self, function: Any, saved: Any, dy: Any) -> Callable[[], Any]:
        """Liger-Kernel's softmax backward on the saved y and dy: its Function's backward(ctx,
        dy), the call autograd makes. ctx is what its forward leaves on the autograd node
        (whatever it stored there: the kernel settings it chose for the row length), taken
        from one forward call on a tensor of this shape before timing, with saved_tensors our
        y: so the same kernel runs on the same tensors as the other variants, without the
        forward and without autograd's engine in the timed call."""
        probe = saved.detach().clone().requires_grad_(True)
        node = function.apply(probe).grad_fn
        ctx = types.SimpleNamespace(**{k: v for k, v in vars(node).items()
                                       if k != "saved_tensors"})
        ctx.saved_tensors = (saved,)
        return lambda: function.backward(ctx, dy)

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


def expression_text(first: CVariant) -> str:
    """What PyTorch computes for the family, as its summaries say it."""
    op = {"identity": "Tensor.copy_", "softmax": "torch.softmax(dim=-1)"}.get(
        first.activation, f"torch.{first.activation}" + ("(x + b)" if first.has_bias else ""))
    if first.gated:
        op = f"F.{first.activation}(a) * b of a, b = x.chunk(2, dim=-1)"
    if first.backward:
        op = TORCH_BACKWARD_OPS[first.activation].format(s="x" if first.saves_input else "y")
        if first.has_bias:
            op += " then dbias = dx.sum(0)"
    return op


def torch_entry(torch: Any, first: CVariant) -> dict:
    """PyTorch as one more variant of the family in first's type in actbench_variants (no
    tolerance: its error is reported, not judged)."""
    return {"id": f"{first.family}/{TORCH}/{first.dtype}", "family": first.family,
            "variant": TORCH, "step": TORCH_STEP, "device": "gpu", "dtype": first.dtype,
            "summary": f"PyTorch {torch.__version__} eager {expression_text(first)} on "
                       f"torch.{TORCH_DTYPES[first.dtype]}",
            "atol": None, "rtol": None}


def compile_settings(mode: str) -> str:
    """torch.compile's arguments, as the log's context and the summaries state them."""
    return f"torch.compile(mode={mode!r}, dynamic=False, fullgraph=True)"


def compile_entry(torch: Any, first: CVariant, mode: str) -> dict:
    """torch.compile of PyTorch's expression as a peer, like PyTorch's (no tolerance)."""
    return {"id": f"{first.family}/{COMPILE}/{first.dtype}", "family": first.family,
            "variant": COMPILE, "step": COMPILE_STEP, "device": "gpu", "dtype": first.dtype,
            "summary": f"PyTorch {torch.__version__} {compile_settings(mode)} of "
                       f"{expression_text(first)} on torch.{TORCH_DTYPES[first.dtype]}, compiled "
                       f"per shape before timing (compile_s)",
            "atol": None, "rtol": None}


def liger_entry(first: CVariant, version: str, function: Any) -> dict:
    """Liger-Kernel as a peer of a gated family or of softmax (and its backward) in
    actbench_variants, like PyTorch's: its error is reported, not judged (its GeGLU is the
    tanh form)."""
    tanh = " (GELU's tanh form)" if first.activation == "gelu" else ""
    call = f"{function.__name__}{tanh}"
    if first.gated:
        call += " on contiguous a and b"
    elif first.backward:
        call += ".backward(ctx, dy), ctx from its forward, on the saved y and dy"
    return {"id": f"{first.family}/{LIGER}/{first.dtype}", "family": first.family,
            "variant": LIGER, "step": LIGER_STEP, "device": "gpu", "dtype": first.dtype,
            "summary": f"Liger-Kernel {version} {call}, torch.{TORCH_DTYPES[first.dtype]}",
            "atol": None, "rtol": None}


def measured(bench: Bench, name: str, op: Callable[[], Any], judged_by: CVariant | None,
             reset: Callable[[], Any], outputs: Callable[[Any], Any], ref: Any, bound: Any,
             moved: int, extra: dict[str, float] | None = None) -> dict:
    """One benchmark row: the call once with its outputs poisoned first (reset: an element it
    forgets is a mismatch), its result (outputs: from what the call returned, None for the
    variants that write into the outputs) against the reference, judged by judged_by's
    tolerance (None for the peers: reported only), then timed; extra: counters the row carries
    beside (a compiled peer's compile_s); an error row for a mismatch or a failing call."""
    # the library's errors and PyTorch's (out of memory, ...) are RuntimeErrors; a peer's call
    # may raise anything (Triton's compile errors at a first call), and costs its row alone
    caught = RuntimeError if judged_by else Exception
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
    except caught as e:
        return error_row(name, first_line(e))
    return row(name, time_us, bench.iterations, {
        "bytes_per_second": moved / (time_us * 1e-6), "ideal_bytes": moved,
        "max_abs_err": abs_err, "max_rel_err": rel_err, **(extra or {})})


# (variant name, the call, whose tolerance judges it: None for the peers, counters beside)
Run = tuple[str, Callable[[], Any], "CVariant | None", dict[str, float]]


def peer_runs(bench: Bench, first: CVariant, rows: int, cols: int, eager: Callable[[], Any],
              args: tuple, liger_op: Callable[[Any], Callable[[], Any]]) -> list[Run]:
    """The peers' calls for one family, type and shape (Bench.peers): PyTorch's eager call;
    torch.compile of its expression (torch_function) compiled here for args, its compile_s
    beside; Liger-Kernel's, set up by liger_op(its Function). A compile that fails, or a Liger
    call that cannot be set up, is recorded in bench.unavailable under the row's name, and
    the others run."""
    def name(peer: str) -> str:
        return bench_name(first.family, peer, first.dtype, first.row_shaped, rows, cols)

    peers = bench.peers(first)
    runs: list[Run] = [(TORCH, eager, None, {})]
    if COMPILE in peers:
        try:
            op, seconds = bench.compiled_op(bench.torch_function(first), args)
            runs.append((COMPILE, op, None, {"compile_s": seconds}))
        except CompileFailed as e:
            bench.unavailable[name(COMPILE)] = f"compile failed: {e}"
    liger = liger_function(first) if LIGER in peers else None
    if liger:
        try:
            runs.append((LIGER, liger_op(liger[1]), None, {}))
        except Exception as e:  # its forward on a probe (softmax's backward), Triton's compile
            bench.unavailable[name(LIGER)] = f"could not be set up: {brief(e)}"
    return runs


def measure_shape(bench: Bench, members: list[CVariant], rows: int, cols: int) -> list[dict]:
    """The peers (peer_runs) and every variant of one family in one type that supports the
    shape, on the same inputs of that type."""
    first = members[0]
    if first.backward:
        return measure_backward_shape(bench, members, rows, cols)
    x, b = bench.inputs(first, rows, cols)
    ref = bench.reference(first, x, b)
    y = bench.torch.empty(rows, cols, dtype=x.dtype, device=x.device)
    liger_op = (lambda f: bench.liger_op(f, x)) if first.gated else \
        (lambda f: bench.liger_softmax_op(f, x))
    runs = peer_runs(bench, first, rows, cols, bench.torch_op(first, x, b, y),
                     (x,) if b is None else (x, b), liger_op)
    runs += [(v.name, bench.actbench_op(v, x, b, y), v, {}) for v in members
             if bench.lib.actbench_variant_supports(v.index, cols) == 1]
    return [measured(bench, bench_name(first.family, variant, first.dtype, first.row_shaped,
                                       rows, cols),
                     op, judged_by, lambda: y.fill_(float("nan")),
                     lambda result: result if result is not None else y, ref, None,
                     ideal_bytes(first, rows, cols), extra)
            for variant, op, judged_by, extra in runs]


def measure_backward_shape(bench: Bench, members: list[CVariant], rows: int,
                           cols: int) -> list[dict]:
    """The peers (peer_runs: PyTorch's backward, its compiled form, Liger-Kernel's for
    softmax_backward) and every variant of one backward family in one type that supports the
    shape, on the same saved tensor and dy; their outputs, dx then a bias family's dbias,
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

    runs = peer_runs(bench, first, rows, cols, bench.torch_backward_op(first, saved, dy),
                     (dy, saved), lambda f: bench.liger_softmax_backward_op(f, saved, dy))
    runs += [(v.name, bench.actbench_backward_op(v, saved, dy, dx, dbias), v, {})
             for v in members if bench.lib.actbench_variant_supports(v.index, cols) == 1]
    return [measured(bench, bench_name(first.family, variant, first.dtype, first.row_shaped,
                                       rows, cols),
                     op, judged_by, reset, outputs, ref, bound, ideal_bytes(first, rows, cols),
                     extra)
            for variant, op, judged_by, extra in runs]


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

    def calls(self, bench: Bench) -> int:
        """The calls it measures: per family each peer's (Bench.peers) and each variant's that
        supports the shape."""
        return sum(len(bench.peers(g[0])) +
                   sum(bench.lib.actbench_variant_supports(v.index, self.cols) == 1 for v in g)
                   for g in self.groups)

    def compiles(self, bench: Bench) -> int:
        """The torch.compile calls it makes: one per family that has the peer."""
        return sum(COMPILE in bench.peers(g[0]) for g in self.groups)


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


@dataclass(frozen=True)
class Finished:
    """What a finished item took, for the estimates of those after it: its calls and the
    seconds they took beside its compiles, its compiles and the seconds those took."""

    item: Item
    calls: int
    seconds: float    # the item's seconds less its compiles'
    compiles: int
    compile_seconds: float


def estimate(item: Item, calls: int, compiles: int, like: Finished | None,
             compiled: Finished | None = None) -> float:
    """The seconds an item should take: from `like` (a finished item), its seconds per call
    times this item's calls, times the ratio of the bytes a call moves where this one's are more
    (never less: a call's fixed costs do not shrink with its bytes); plus, from `compiled` (a
    finished item that compiled; `like` where that did), its seconds per compile times this
    item's compiles (a compile's time does not grow with the bytes). 0 for what no finished
    item tells."""
    seconds = 0.0
    if like is not None:
        seconds = like.seconds / max(like.calls, 1) * calls * max(1.0, item.bytes / like.item.bytes)
    if compiled is not None and compiled.compiles:
        seconds += compiled.compile_seconds / compiled.compiles * compiles
    return seconds


def measure(bench: Bench, gpu: list[CVariant], quick: bool,
            deadline: Deadline) -> tuple[list[dict], list[dict], dict[str, Any]]:
    """The items of the plan in order, each started only when the deadline leaves the time its
    estimate asks (from the last finished item of the same activation, else the last one; its
    compiles from the last that compiled, of the same activation where there is one), until
    the first that would not fit or a Stopped: the benchmark rows of the finished items, the
    peers' actbench_variants entries (peer_entries) and, when the work was cut short, the
    context's cut_short record (cut_short_record); empty when every item ran."""
    items = plan(gpu, quick)
    # (item, its rows): one append per finished item, so a Stopped leaves it whole or absent
    finished: list[tuple[Item, list[dict]]] = []
    entries: list[dict] = []

    def rows() -> list[dict]:
        return [r for _, item_rows in finished for r in item_rows]

    last: dict[str, Finished] = {}  # by activation, and "" for the last of all
    last_compiled: dict[str, Finished] = {}  # the same, of the items that compiled
    try:
        bench.start_compiler()
        entries = peer_entries(bench, gpu)
        for item in items:
            calls, compiles = item.calls(bench), item.compiles(bench)
            needed = estimate(item, calls, compiles, last.get(item.activation, last.get("")),
                              last_compiled.get(item.activation, last_compiled.get("")))
            left = deadline.left()
            if left <= needed:
                return rows(), entries, cut_short_record(
                    items[len(finished):],
                    f"--deadline-s {deadline.seconds:g}: {deadline.used():.1f} s used, "
                    f"{max(left, 0.0):.1f} s left; the next item ({', '.join(item.names())}) "
                    f"estimated at {needed:.1f} s")
            begin, compiles_before = deadline.clock(), (bench.compiles, bench.compile_seconds)
            item_rows = [r for g in item.groups
                         for r in measure_shape(bench, list(g), item.rows, item.cols)]
            bench.torch.cuda.empty_cache()  # this item's tensors: the next may be 16x larger
            compiled = bench.compiles - compiles_before[0]
            compile_seconds = bench.compile_seconds - compiles_before[1]
            done = Finished(item, calls, max(0.0, deadline.clock() - begin - compile_seconds),
                            compiled, compile_seconds)
            last[item.activation] = last[""] = done
            if compiled:
                last_compiled[item.activation] = last_compiled[""] = done
            finished.append((item, item_rows))
    except Stopped as e:
        under_way = items[len(finished)] if len(finished) < len(items) else None
        entries = entries or peer_entries(bench, gpu)  # stopped in the compiler's start-up
        return rows(), entries, cut_short_record(
            items[len(finished):], f"{e} after {deadline.used():.1f} s" +
            (f", during {', '.join(under_way.names())}" if under_way else ""))
    return rows(), entries, {}


def peer_entries(bench: Bench, gpu: list[CVariant]) -> list[dict]:
    """The peers' actbench_variants entries, for each family and type: PyTorch's; torch.compile's
    where it can run, else its reason in bench.unavailable under `family/torch_compile`;
    Liger-Kernel's where it has a kernel for the family and imports, else why not under
    `family/liger`."""
    entries: list[dict] = []
    for family, dtype in dict.fromkeys((v.family, v.dtype) for v in gpu):
        first = next(v for v in gpu if v.family == family and v.dtype == dtype)
        entries.append(torch_entry(bench.torch, first))
        if compiles(first):
            if bench.compile_reason is None:
                entries.append(compile_entry(bench.torch, first, bench.compile_mode))
            else:
                bench.unavailable[f"{family}/{COMPILE}"] = bench.compile_reason
        liger = liger_lookup(first)
        if isinstance(liger, tuple):
            entries.append(liger_entry(first, *liger))
        elif liger is not None:
            bench.unavailable[f"{family}/{LIGER}"] = liger
    return entries


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


def peers_context(bench: Bench) -> dict[str, Any]:
    """The context entries of the peers: torch.compile's settings where it ran (its mode,
    dynamic=False, fullgraph=True, PyTorch's version, how it was compiled and timed), Triton's
    version where it imports, and peers_unavailable: every peer left out and why, by
    `family/peer` (the whole family) or the row's name (one type and shape)."""
    ctx: dict[str, Any] = {}
    if bench.compile_reason is None:
        ctx["torch_compile"] = (f"{compile_settings(bench.compile_mode)}, PyTorch "
                                f"{bench.torch.__version__}: compiled once per family, type and "
                                f"shape (the compiler reset first) by a first call before timing; "
                                f"the compile's seconds in the row's compile_s, never in its time")
    if bench.compile_startup_s is not None:
        ctx["torch_compile_startup_s"] = f"{bench.compile_startup_s:.3g}"
    try:
        ctx["triton_version"] = importlib.metadata.version("triton")
    except importlib.metadata.PackageNotFoundError:
        pass
    if bench.unavailable:
        ctx["peers_unavailable"] = dict(sorted(bench.unavailable.items()))
    return ctx


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
    p.add_argument("--compile-mode", choices=COMPILE_MODES, default=COMPILE_MODES[0],
                   help="torch.compile's mode for the torch_compile peer (always dynamic=False, "
                        "fullgraph=True; modes that replay CUDA graphs are not offered: their "
                        "calls are not timed as the others are)")
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
        ctx = context(bench.torch, gpu, torch_variants, copy_gbs) | peers_context(bench) | cut
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
    bench = Bench(torch, lib, iterations=10 if args.quick else 30, compile_mode=args.compile_mode)
    return compare(bench, gpu, args.quick, Deadline(args.deadline_s, started), args.out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
