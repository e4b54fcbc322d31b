"""host/capi.h through ctypes, with the binding scripts/torch_compare.py uses: the registry is
listed consistently, every variant with its element type (f32, f16, bf16); CPU variants
compute the right thing from Python in their own type, the backward ones (actbench_run_backward:
dx, and dbias for the bias families, from the saved tensor and dy) too, whichever the registry
lists (a registry without any skips those tests, saying so); a type code that is not the
variant's own, a forward variant through actbench_run_backward or a backward one through
actbench_run, and other bad calls, return -1 with a message instead of crashing the
interpreter. GPU variants are not run here (that needs device memory; torch_compare.py runs
them on a GPU machine).

The library comes from the ACTBENCH_CAPI environment variable (CTest sets it to the built
libactbench_capi); without it those tests skip. Some tests need no library: the conversions
the checks use, torch_compare.py's names, bytes and % of copy per type (the gated families'
and the backward families' three tensors too), its order of the work and its deadline and
SIGTERM over fakes of PyTorch and the library (torch_fakes.py), and torch_compare.py without
PyTorch, which says so and writes nothing."""
from __future__ import annotations

import ctypes
import dataclasses
import importlib.util
import json
import math
import os
import random
import re
import signal
import struct
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from support import run_script

import gbjson
import report
import torch_compare
import torch_fakes
from torch_compare import DTYPE_CODES, DTYPE_EPSILON, load_library, summation_bound

LIB = os.environ.get("ACTBENCH_CAPI", "")
ACTIVATIONS = {
    "identity": lambda v: v,
    "sigmoid": lambda v: 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v)),
    "tanh": math.tanh,
    "relu": lambda v: max(v, 0.0),
    # gelu, gelu_tanh, silu as kernels/common/ops.h defines them (-inf gives -0, the limit).
    "gelu": lambda v: -0.0 if v == -math.inf else 0.5 * v * math.erfc(-v / math.sqrt(2.0)),
    "gelu_tanh": lambda v: -0.0 if v == -math.inf else v * ACTIVATIONS["sigmoid"](
        2.0 * math.sqrt(2.0 / math.pi) * (v + 0.044715 * v ** 3)),
    "silu": lambda v: -0.0 if v == -math.inf else v * ACTIVATIONS["sigmoid"](v),
}
# Per type: significand bits (the leading one included), frexp's exponent of the smallest
# normal number (below it the spacing stays that of the subnormals), the largest finite value.
FORMATS = {"f32": (24, -125, float.fromhex("0x1.fffffep127")), "f16": (11, -13, 65504.0),
           "bf16": (8, -125, float.fromhex("0x1.fep127"))}
STORAGE = {"f32": ctypes.c_float, "f16": ctypes.c_uint16, "bf16": ctypes.c_uint16}


def round_to(value: float, dtype: str) -> float:
    """A double rounded once, to nearest even, to a type (gradual underflow, overflow to inf):
    the scaled value is an exact double, and Python's round() rounds it half to even."""
    if value == 0 or not math.isfinite(value):
        return value
    bits, min_exp, largest = FORMATS[dtype]
    exp = max(math.frexp(value)[1], min_exp)
    rounded = math.ldexp(round(math.ldexp(value, bits - exp)), exp - bits)
    return math.copysign(math.inf, value) if abs(rounded) > largest else rounded


def encode(values: list[float], dtype: str) -> ctypes.Array:
    """Values already of the type, as the type's bits in a ctypes array."""
    if dtype == "f32":
        return (ctypes.c_float * len(values))(*values)
    if dtype == "f16":
        words = [struct.unpack("<H", struct.pack("<e", v))[0] for v in values]
    else:  # bf16: the upper half of the f32 bits, exact for a value of the type
        words = [struct.unpack("<I", struct.pack("<f", v))[0] >> 16 for v in values]
    return (ctypes.c_uint16 * len(values))(*words)


def decode(array: ctypes.Array, dtype: str) -> list[float]:
    if dtype == "f32":
        return list(array)
    if dtype == "f16":
        return [struct.unpack("<e", struct.pack("<H", w))[0] for w in array]
    return [struct.unpack("<f", struct.pack("<I", w << 16))[0] for w in array]


def reference(activation: str, dtype: str, x: list[float], bias: list[float] | None,
              rows: int, cols: int, gated: bool = False) -> list[float]:
    """As host/reference.h: in double from inputs of the type (exact), the bias added in
    float first (16-bit types widen both to f32 and add there), a gated family's act(a) * b
    over the two halves of each row of x, the result rounded once to the type."""
    if gated:
        return [round_to(ACTIVATIONS[activation](x[2 * cols * r + c]) * x[2 * cols * r + cols + c],
                         dtype) for r in range(rows) for c in range(cols)]
    if bias:
        x = [ctypes.c_float(v + bias[i % cols]).value for i, v in enumerate(x)]
    if activation != "softmax":
        exact = [ACTIVATIONS[activation](v) for v in x]
    else:
        exact = []
        for r in range(rows):
            row = x[r * cols:(r + 1) * cols]
            e = [math.exp(v - max(row)) for v in row]
            exact += [v / sum(e) for v in e]
    return [round_to(v, dtype) for v in exact]


# dx = GRADIENTS[activation](s, dy) with s the saved tensor, as common/ops.h's *Grad rules and
# host/reference.cpp's reference_backward take them (in double).
GRADIENTS = {
    "sigmoid": lambda s, g: g * (s * (1.0 - s)),
    "tanh": lambda s, g: g * ((1.0 - s) * (1.0 + s)),
    "relu": lambda s, g: 0.0 if s <= 0.0 else g,  # threshold_backward: NaN in s passes dy
}


def backward_reference(v: torch_compare.CVariant, saved: list[float], dy: list[float],
                       rows: int, cols: int) -> tuple[list[float], list[float]]:
    """(value, bound) of each output, dx then a bias family's dbias, as host/reference.h: the
    derivative in double from the saved tensor and dy (values of the type), rounded once;
    softmax_backward's dot product and dbias's column sums exact, each such output with the
    summation bound its tolerance adds (dbias: plus half the type's epsilon of the magnitude
    in a 16-bit type); 0 for the outputs that are no sum."""
    bound = [0.0] * (rows * cols)
    if v.activation == "softmax":
        exact = []
        for r in range(rows):
            s, g = saved[r * cols:(r + 1) * cols], dy[r * cols:(r + 1) * cols]
            dot = math.fsum(a * b for a, b in zip(s, g))
            b = summation_bound(cols, math.fsum(abs(a * b) for a, b in zip(s, g)))
            exact += [a * (c - dot) for a, c in zip(s, g)]
            bound[r * cols:(r + 1) * cols] = [abs(a) * b for a in s]
    else:
        exact = [GRADIENTS[v.activation](s, g) for s, g in zip(saved, dy)]
    value = [round_to(e, v.dtype) for e in exact]
    if v.has_bias:
        part = 0.0 if v.dtype == "f32" else 0.5 * DTYPE_EPSILON[v.dtype]
        for c in range(cols):
            column = exact[c::cols]
            magnitude = math.fsum(abs(e) for e in column)
            value.append(round_to(math.fsum(column), v.dtype))
            bound.append(summation_bound(rows, magnitude) + part * magnitude)
    return value, bound


def names_type(message: str, dtype: str) -> bool:
    """Whether the message names the type as a word (`f16`, not the tail of `bf16`)."""
    return re.search(rf"(?<![A-Za-z0-9]){dtype}(?![A-Za-z0-9])", message, re.IGNORECASE) is not None


class Conversions(unittest.TestCase):
    """The checks below are only as good as these helpers."""

    def test_rounding_matches_the_hardware_formats(self):
        rng = random.Random(11)
        values = [rng.uniform(-12, 12) for _ in range(2000)] + \
                 [math.ldexp(rng.uniform(0.5, 1), rng.randint(-30, 16)) for _ in range(2000)]
        for v in values:
            self.assertEqual(round_to(v, "f32"), ctypes.c_float(v).value)
            if abs(v) < 65520:  # struct refuses what would overflow f16
                self.assertEqual(round_to(v, "f16"), struct.unpack("<e", struct.pack("<e", v))[0])
        # ties go to even; bf16 keeps 8 significant bits and f32's range
        self.assertEqual(round_to(1 + 2 ** -8, "bf16"), 1.0)
        self.assertEqual(round_to(1 + 3 * 2 ** -8, "bf16"), 1 + 2 ** -6)
        self.assertEqual(round_to(2.0 ** -133, "bf16"), 2.0 ** -133)  # its smallest subnormal
        self.assertEqual(round_to(2.0 ** -135, "bf16"), 0.0)
        self.assertEqual(round_to(65520.0, "f16"), math.inf)
        self.assertEqual(round_to(65519.0, "f16"), 65504.0)
        for dtype in DTYPE_CODES:
            with self.subTest(dtype=dtype):
                typed = [round_to(v, dtype) for v in values[:100]]
                self.assertEqual(decode(encode(typed, dtype), dtype), typed)


@unittest.skipUnless(LIB, "ACTBENCH_CAPI is not set: build the actbench_capi target and run "
                          "through CTest")
class CApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.lib, cls.variants = load_library(Path(LIB))

    def test_registry_is_listed_consistently(self):
        self.assertGreater(len(self.variants), 0)
        ids = [self.lib.actbench_variant_id(v.index).decode() for v in self.variants]
        self.assertEqual(len(set(ids)), len(ids), "ids are unique")
        for v, vid in zip(self.variants, ids):
            with self.subTest(variant=vid):
                self.assertEqual(vid, f"{v.family}/{v.name}/{v.dtype}")
                self.assertEqual(self.lib.actbench_variant_dtype(v.index).decode(), v.dtype)
                self.assertIn(v.dtype, DTYPE_CODES)
                self.assertIn(v.device, ("gpu", "cpu"))
                self.assertIn(v.activation, {*ACTIVATIONS, "softmax"})
                self.assertGreaterEqual(v.step, 0)
                self.assertTrue(v.summary)
                self.assertTrue(all(math.isfinite(t) and t >= 0 for t in (v.atol, v.rtol)))
                self.assertIn(self.lib.actbench_variant_supports(v.index, 1), (0, 1))
                self.assertEqual(self.lib.actbench_variant_is_gated(v.index), int(v.gated))
                self.assertEqual(v.gated, v.family in ("swiglu", "geglu"))
                self.assertEqual(self.lib.actbench_variant_is_backward(v.index), int(v.backward))
                self.assertEqual(v.backward, v.family.endswith("_backward"))
                self.assertEqual(v.saves_input, v.family == "relu_backward")
                if v.backward:  # a gradient of a forward family the registry lists
                    self.assertIn(v.forward().family, {u.family for u in self.variants})
                    self.assertEqual(v.forward().has_bias, v.has_bias)
                self.assertGreaterEqual(self.lib.actbench_workspace_bytes(v.index, 4, 1000), 0)
        for family in dict.fromkeys(v.family for v in self.variants):
            with self.subTest(family=family):
                self.assertEqual({v.dtype for v in self.variants if v.family == family},
                                 set(DTYPE_CODES), "every family comes in every type")

    def test_out_of_range_index_fails_with_a_message(self):
        for i in (-1, len(self.variants)):
            with self.subTest(index=i):
                self.assertIsNone(self.lib.actbench_variant_id(i))
                self.assertIn(b"out of range", self.lib.actbench_last_error())
                self.assertIsNone(self.lib.actbench_variant_dtype(i))
                self.assertIn(b"out of range", self.lib.actbench_last_error())
                self.assertEqual(self.lib.actbench_variant_step(i), -1)
                self.assertEqual(self.lib.actbench_variant_has_bias(i), -1)
                self.assertEqual(self.lib.actbench_variant_is_gated(i), -1)
                self.assertEqual(self.lib.actbench_variant_is_backward(i), -1)
                self.assertEqual(self.lib.actbench_variant_saves_input(i), -1)
                self.assertTrue(math.isnan(self.lib.actbench_variant_atol(i)))
                self.assertEqual(self.lib.actbench_workspace_bytes(i, 1, 1), -1)
                self.assertEqual(self.lib.actbench_run(i, DTYPE_CODES["f32"], None, None, None,
                                                       1, 1, None, None), -1)
                self.assertEqual(self.lib.actbench_run_backward(i, DTYPE_CODES["f32"], None, None,
                                                                None, None, 1, 1, None, None), -1)
                self.assertIn(b"out of range", self.lib.actbench_last_error())

    def test_cpu_variants_compute_their_family_in_their_type(self):
        rows, cols = 3, 37
        rng = random.Random(7)
        drawn_x = [rng.uniform(-12, 12) for _ in range(rows * cols)]
        drawn_bias = [rng.uniform(-2, 2) for _ in range(cols)]
        # A gated family's x: each row's a (drawn_x's row), then its b in [-4, 4).
        drawn_b = [rng.uniform(-4, 4) for _ in range(rows * cols)]
        drawn_gated = [v for r in range(rows) for half in (drawn_x, drawn_b)
                       for v in half[r * cols:(r + 1) * cols]]
        cpu = [v for v in self.variants if v.device == "cpu" and not v.backward]
        self.assertTrue(cpu, "the registry has CPU baselines")
        self.assertEqual({v.dtype for v in cpu}, set(DTYPE_CODES), "CPU baselines in every type")
        for v in cpu:
            if not self.lib.actbench_variant_supports(v.index, cols):
                continue
            with self.subTest(variant=v.id):
                x = [round_to(value, v.dtype) for value in (drawn_gated if v.gated else drawn_x)]
                bias = [round_to(value, v.dtype) for value in drawn_bias]
                y = (STORAGE[v.dtype] * (rows * cols))()
                workspace = ctypes.create_string_buffer(
                    max(1, self.lib.actbench_workspace_bytes(v.index, rows, cols)))
                rc = self.lib.actbench_run(v.index, v.dtype_code, encode(x, v.dtype),
                                           encode(bias, v.dtype) if v.has_bias else None, y,
                                           rows, cols, workspace, None)
                self.assertEqual(rc, 0, self.lib.actbench_last_error())
                want = reference(v.activation, v.dtype, x, bias if v.has_bias else None,
                                 rows, cols, v.gated)
                for k, (got, ref) in enumerate(zip(decode(y, v.dtype), want)):
                    self.assertLessEqual(abs(got - ref), v.atol + v.rtol * abs(ref),
                                         f"element {k}: got {got}, want {ref}")

    def test_a_type_that_is_not_the_variants_own_is_refused(self):
        """Each variant takes its own type only; another type's code (or no type's) fails
        before anything is read or written, and the message names the type it takes."""
        cpu = {v.dtype: v for v in reversed(self.variants) if v.device == "cpu" and not v.backward}
        cols = 8
        for own, v in sorted(cpu.items()):
            for code in [c for c in DTYPE_CODES.values() if c != v.dtype_code] + [3, -1]:
                with self.subTest(variant=v.id, code=code):
                    x = (ctypes.c_float * cols)(*([0.5] * cols))  # big enough for any type
                    y = (ctypes.c_float * cols)(*([7.0] * cols))
                    workspace = ctypes.create_string_buffer(
                        max(1, self.lib.actbench_workspace_bytes(v.index, 1, cols)))
                    rc = self.lib.actbench_run(v.index, code, x, x if v.has_bias else None, y,
                                               1, cols, workspace, None)
                    self.assertEqual(rc, -1)
                    message = self.lib.actbench_last_error().decode()
                    self.assertTrue(names_type(message, own), message)
                    self.assertEqual(list(y), [7.0] * cols, "y is left as it was")

    def test_bad_arguments_fail_with_a_message(self):
        buf = (ctypes.c_float * 8)()
        forward = [v for v in self.variants if not v.backward]
        first = forward[0]
        cases = [("rows and cols must be >= 1", first, 0, 8, buf),
                 ("x and y must not be NULL", first, 1, 8, None)]
        cases += [("needs a bias", v, 1, 8, buf) for v in forward if v.has_bias][:1]
        cases += [("supports rows of up to", v, 1, 1 << 40, buf) for v in forward
                  if not self.lib.actbench_variant_supports(v.index, 1 << 40)][:1]
        for message, v, rows, cols, x in cases:
            with self.subTest(message=message):
                self.assertEqual(self.lib.actbench_run(v.index, v.dtype_code, x, None, buf, rows,
                                                       cols, None, None), -1)
                self.assertIn(message, self.lib.actbench_last_error().decode())

    def backward_variants(self, device: str | None = None) -> list[torch_compare.CVariant]:
        """The registry's backward variants (on `device`), or the test skips saying there are
        none: the families exist before any of their variants does."""
        found = [v for v in self.variants if v.backward and device in (None, v.device)]
        if not found:
            self.skipTest("the registry lists no backward variant" +
                          (f" on the {device.upper()}" if device else ""))
        return found

    def test_a_forward_variant_refuses_run_backward_and_names_run(self):
        buf = (ctypes.c_float * 8)()
        for v in [v for v in self.variants if not v.backward][:3]:
            with self.subTest(variant=v.id):
                self.assertEqual(self.lib.actbench_run_backward(
                    v.index, v.dtype_code, buf, buf, buf, buf if v.has_bias else None, 1, 8,
                    None, None), -1)
                message = self.lib.actbench_last_error().decode()
                self.assertIn("forward variant", message)
                self.assertIn("actbench_run ", message)

    def test_backward_calls_are_checked_before_anything_runs(self):
        """Every backward variant, GPU ones too (nothing reaches the device: each call fails
        its checks first): actbench_run refuses it naming actbench_run_backward; a dbias
        missing for a bias family or given to another, a NULL tensor, a type not its own, a
        bad shape fail with a message, leaving the outputs as they were."""
        cols = 8
        for v in self.backward_variants():
            buf = (ctypes.c_float * cols)(*([0.5] * cols))  # big enough for any type
            out = (ctypes.c_float * cols)(*([7.0] * cols))
            dbias = (ctypes.c_float * cols)(*([7.0] * cols))
            own = dbias if v.has_bias else None
            workspace = ctypes.create_string_buffer(
                max(1, self.lib.actbench_workspace_bytes(v.index, 1, cols)))
            calls = [("actbench_run_backward", lambda: self.lib.actbench_run(
                          v.index, v.dtype_code, buf, buf if v.has_bias else None, out, 1, cols,
                          workspace, None)),
                     ("needs a dbias" if v.has_bias else "writes no dbias: pass NULL",
                      lambda: self.lib.actbench_run_backward(
                          v.index, v.dtype_code, buf, buf, out, None if v.has_bias else dbias,
                          1, cols, workspace, None)),
                     ("saved, dy and dx must not be NULL", lambda: self.lib.actbench_run_backward(
                         v.index, v.dtype_code, buf, None, out, own, 1, cols, workspace, None)),
                     ("rows and cols must be >= 1", lambda: self.lib.actbench_run_backward(
                         v.index, v.dtype_code, buf, buf, out, own, 0, cols, workspace, None))]
            for code in [c for c in DTYPE_CODES.values() if c != v.dtype_code][:1]:
                calls.append((v.dtype, lambda code=code: self.lib.actbench_run_backward(
                    v.index, code, buf, buf, out, own, 1, cols, workspace, None)))
            for message, call in calls:
                with self.subTest(variant=v.id, message=message):
                    self.assertEqual(call(), -1)
                    got = self.lib.actbench_last_error().decode()
                    self.assertTrue(names_type(got, message) if message == v.dtype
                                    else message in got, got)
                    self.assertEqual(list(out), [7.0] * cols, "dx is left as it was")
                    self.assertEqual(list(dbias), [7.0] * cols, "dbias is left as it was")

    def test_backward_cpu_variants_compute_their_derivative_in_their_type(self):
        """dx (and dbias) of every backward CPU variant the registry lists, from a saved
        tensor built as actbench's make_case builds it: the forward family's output on drawn
        inputs (x itself for relu_backward), and dy uniform in [-1, 1); outputs start as NaN,
        so one the variant leaves unwritten fails."""
        rows, cols = 3, 37
        rng = random.Random(13)
        drawn_x = [rng.uniform(-12, 12) for _ in range(rows * cols)]
        drawn_bias = [rng.uniform(-2, 2) for _ in range(cols)]
        drawn_dy = [rng.uniform(-1, 1) for _ in range(rows * cols)]
        for v in self.backward_variants("cpu"):
            if not self.lib.actbench_variant_supports(v.index, cols):
                continue
            with self.subTest(variant=v.id):
                x = [round_to(value, v.dtype) for value in drawn_x]
                bias = [round_to(value, v.dtype) for value in drawn_bias] if v.has_bias else None
                saved = x if v.saves_input else reference(v.activation, v.dtype, x, bias, rows, cols)
                dy = [round_to(value, v.dtype) for value in drawn_dy]
                dx = encode([math.nan] * (rows * cols), v.dtype)
                dbias = encode([math.nan] * cols, v.dtype) if v.has_bias else None
                workspace = ctypes.create_string_buffer(
                    max(1, self.lib.actbench_workspace_bytes(v.index, rows, cols)))
                rc = self.lib.actbench_run_backward(v.index, v.dtype_code, encode(saved, v.dtype),
                                                    encode(dy, v.dtype), dx, dbias, rows, cols,
                                                    workspace, None)
                self.assertEqual(rc, 0, self.lib.actbench_last_error())
                got = decode(dx, v.dtype) + (decode(dbias, v.dtype) if v.has_bias else [])
                want, bound = backward_reference(v, saved, dy, rows, cols)
                self.assertEqual(len(got), len(want))
                for k, (g, ref, extra) in enumerate(zip(got, want, bound)):
                    self.assertLessEqual(abs(g - ref), v.atol + v.rtol * abs(ref) + extra,
                                         f"{'dbias' if k >= rows * cols else 'dx'} element "
                                         f"{k % (rows * cols)}: got {g}, want {ref}")


class TorchCompare(unittest.TestCase):
    def variant(self, family: str, name: str, dtype: str, activation: str = "sigmoid",
                has_bias: bool = False, gated: bool = False) -> torch_compare.CVariant:
        backward = family.endswith("_backward")
        return torch_compare.CVariant(0, family, name, "gpu", activation, has_bias, 1, 0.0, 0.0,
                                      "", dtype, gated, backward, family == "relu_backward")

    def test_names_and_bytes_carry_the_type(self):
        v = self.variant("bias_relu", "fused_warp", "bf16", "relu", has_bias=True)
        self.assertEqual((v.id, v.dtype_code), ("bias_relu/fused_warp/bf16", 2))
        self.assertEqual(torch_compare.bench_name("bias_relu", "torch", "bf16", True, 4, 8),
                         "bias_relu/torch/bf16/rows:4/cols:8")
        self.assertEqual(torch_compare.bench_name("sigmoid", "warp", "f16", False, 1, 1024),
                         "sigmoid/warp/f16/n:1024")
        self.assertEqual(torch_compare.ideal_bytes(v, 4, 8), 2 * (2 * 32 + 8))
        self.assertEqual(torch_compare.ideal_bytes(self.variant("sigmoid", "warp", "f32"), 1, 8),
                         4 * 16)

    def test_gated_families_are_row_shaped_and_move_three_tensors(self):
        v = self.variant("swiglu", "fused_warp", "bf16", "silu", gated=True)
        self.assertTrue(v.row_shaped)
        self.assertEqual(torch_compare.bench_name(v.family, "liger", v.dtype, v.row_shaped, 4, 8),
                         "swiglu/liger/bf16/rows:4/cols:8")
        # a and b (x: 4 x 16) read once, y (4 x 8) written once
        self.assertEqual(torch_compare.ideal_bytes(v, 4, 8), 2 * 3 * 32)
        self.assertEqual([c for _, c in torch_compare.shapes(v, quick=True)], [1024])
        # Liger-Kernel is a peer of the gated families only
        self.assertIsNone(torch_compare.liger_function(self.variant("silu", "warp", "f32", "silu")))

    def test_backward_families_move_three_tensors_at_their_forwards_shapes(self):
        """A backward family reads the saved tensor and dy and writes dx (and a bias family's
        dbias), as actbench counts; it runs at its forward family's shapes, and its inputs
        are drawn from the forward's seed: the pairs a training step adds up."""
        pairs = [("sigmoid_backward", "sigmoid", "sigmoid", False),
                 ("relu_backward", "relu", "relu", False),
                 ("bias_relu_backward", "bias_relu", "relu", True),
                 ("softmax_backward", "softmax", "softmax", False)]
        for backward, forward, activation, bias in pairs:
            with self.subTest(family=backward):
                b = self.variant(backward, "warp", "bf16", activation, has_bias=bias)
                f = self.variant(forward, "warp", "bf16", activation, has_bias=bias)
                self.assertEqual(b.forward(), dataclasses.replace(f, name="warp"))
                self.assertEqual(b.row_shaped, f.row_shaped)
                for quick in (True, False):
                    self.assertEqual(torch_compare.shapes(b, quick), torch_compare.shapes(f, quick))
                self.assertEqual(torch_compare.input_seed(b, 4, 8), torch_compare.input_seed(f, 4, 8))
                self.assertNotEqual(torch_compare.input_seed(b, 4, 8),
                                    torch_compare.input_seed(b, 8, 4))
                self.assertEqual(torch_compare.ideal_bytes(b, 4, 8),
                                 2 * (3 * 32 + (8 if bias else 0)))
        self.assertEqual(torch_compare.bench_name("bias_relu_backward", "fused", "bf16", True, 4, 8),
                         "bias_relu_backward/fused/bf16/rows:4/cols:8")
        self.assertEqual(torch_compare.bench_name("sigmoid_backward", "warp", "f32", False, 1, 1024),
                         "sigmoid_backward/warp/f32/n:1024")
        # host/reference.h's summation_bound: 2^-24 (2 sqrt(terms) + 8) magnitude
        self.assertEqual(summation_bound(16, 3.0), 2.0 ** -24 * 16 * 3.0)

    def test_percent_of_copy_is_against_the_same_types_copy(self):
        def timed(name: str, gbs: float) -> dict:
            return torch_compare.row(name, 1.0, 10, {"bytes_per_second": gbs * 1e9})

        rows = [timed("copy/cuda_memcpy/f32/n:1048576", 3000),
                timed("copy/cuda_memcpy/f16/n:1048576", 2500),
                timed("copy/cuda_memcpy/f16/n:16777216", 2800),
                timed("sigmoid/warp/f32/n:1048576", 1500),
                timed("sigmoid/warp/f16/n:1048576", 1400),
                timed("sigmoid/torch/bf16/n:1048576", 1500),  # no bf16 copy: the best of all
                torch_compare.error_row("sigmoid/naive/f16/n:1048576", "mismatch")]
        self.assertEqual(torch_compare.add_pct_copy(rows), 3000)
        for r, want in zip(rows, [100, 2500 / 28, 100, 50, 50, 50, None]):
            with self.subTest(row=r["name"]):
                if want is None:
                    self.assertNotIn("pct_copy_bw", r)
                else:
                    self.assertAlmostEqual(r["pct_copy_bw"], want)

    def run_fakes(self, deadline_s: float | None, pass_time) -> tuple[int, dict, list]:
        """torch_compare.compare over torch_fakes' registry, each call taking 0.5 s of a fake
        clock that pass_time(clock, seconds) moves; (exit status, the log, the plan)."""
        clock = [0.0]
        gpu = torch_fakes.registry()
        fake = torch_fakes.measure_shape_taking(lambda k: 0.5, lambda s: pass_time(clock, s))
        with tempfile.TemporaryDirectory() as tmp, \
                mock.patch.object(torch_compare, "measure_shape", fake):
            out = Path(tmp) / "torch.json"
            rc = torch_compare.compare(torch_fakes.FakeBench(), gpu, False,
                                       torch_compare.Deadline(deadline_s, 0.0, lambda: clock[0]), out)
            self.assertEqual(gbjson.load(out).context["torch_version"], "0.0+fake")  # a log it reads
            self.clock = clock[0]
            return rc, json.loads(out.read_text()), torch_compare.plan(gpu, quick=False)

    def assert_cut_after_the_rows(self, log: dict, plan: list) -> list:
        """The rows are those of the plan's first items, whole, cut_short names the rest:
        a suffix of the plan, nothing lost, nothing measured twice. Returns cut_short."""
        cut = log["context"]["cut_short"]
        measured = list(dict.fromkeys(re.sub(r"^([^/]+)/[^/]+/", r"\1/", b["name"])
                                      for b in log["benchmarks"]))
        self.assertEqual(measured + cut, [name for item in plan for name in item.names()])
        return cut

    def test_a_deadline_cuts_the_work_in_order_of_value_and_says_what_it_left_out(self):
        """The plan: f32 and bf16 before f16, every activation's largest shape first, the
        copy first at each, the forward and backward of an activation one item. Under
        --deadline-s the work stops before the item that would not fit, by an estimate from
        the calls measured so far: never past the deadline, not much before it; the log holds
        every finished item's rows, cut_short and its reason the rest, and it still passes."""
        rc, log, plan = self.run_fakes(20.0, lambda clock, s: clock.__setitem__(0, clock[0] + s))
        self.assertEqual([item.names() for item in plan[:5]], [
            ["copy/f32/n:67108864"], ["copy/bf16/n:67108864"],
            ["sigmoid/f32/n:67108864", "sigmoid_backward/f32/n:67108864"],
            ["sigmoid/bf16/n:67108864", "sigmoid_backward/bf16/n:67108864"],
            ["softmax/f32/rows:512/cols:32768", "softmax_backward/f32/rows:512/cols:32768"]])
        types = [item.names()[0].split("/")[1] for item in plan]
        self.assertEqual(len(plan), 30)
        self.assertEqual(types[20:], ["f16"] * 10)
        self.assertEqual(rc, 0)
        self.assertLessEqual(self.clock, 20.0)
        self.assertGreater(self.clock, 20.0 - 5 * 0.5)  # the largest item: 5 calls
        cut = self.assert_cut_after_the_rows(log, plan)
        self.assertTrue(log["benchmarks"])
        self.assertTrue({f"{f}/f16/n:1048576" for f in ("copy", "sigmoid", "sigmoid_backward")} <= set(cut))
        self.assertIn("--deadline-s 20:", log["context"]["cut_short_reason"])
        self.assertIn("estimated at", log["context"]["cut_short_reason"])
        self.assertRegex(report.context_value("cut_short", cut), rf"^{len(cut)}: {cut[0]}, .*, …$")
        # without a deadline everything runs, and no cut_short is recorded
        rc, log, plan = self.run_fakes(None, lambda clock, s: clock.__setitem__(0, clock[0] + s))
        self.assertEqual((rc, self.clock), (0, 3 * 37 * 0.5))  # 37 calls in each type
        self.assertNotIn("cut_short", log["context"])

    def test_sigterm_ends_the_work_and_the_log_keeps_what_was_measured(self):
        """A SIGTERM in the middle of an item (gpu_check.py's limit): that item and the rest
        are cut short, with the signal as the reason; the rows before it are written; the
        handler is the caller's again after."""
        def pass_time(clock: list, seconds: float) -> None:
            clock[0] += seconds
            if clock[0] == 4.0:  # the 8th call: sigmoid_backward's first in the first sigmoid item
                os.kill(os.getpid(), signal.SIGTERM)

        before = signal.getsignal(signal.SIGTERM)
        rc, log, plan = self.run_fakes(None, pass_time)
        self.assertEqual(rc, 0)
        cut = self.assert_cut_after_the_rows(log, plan)
        self.assertEqual(cut[:2], ["sigmoid/f32/n:67108864", "sigmoid_backward/f32/n:67108864"])
        self.assertRegex(log["context"]["cut_short_reason"],
                         r"^SIGTERM after 4\.\d s, during sigmoid/f32/n:67108864, sigmoid_backward")
        self.assertIs(signal.getsignal(signal.SIGTERM), before)

    @unittest.skipIf(importlib.util.find_spec("torch") is not None,
                     "PyTorch is installed: the path without it is not taken here")
    def test_without_pytorch_says_so_and_writes_nothing(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "torch.json"
            r = run_script("torch_compare.py", "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip().count("\n"), 0, r.stdout)
            self.assertIn("PyTorch is not installed", r.stdout)
            self.assertFalse(out.exists())


if __name__ == "__main__":
    unittest.main()
