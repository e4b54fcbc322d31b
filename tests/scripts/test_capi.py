"""host/capi.h through ctypes, with the binding scripts/torch_compare.py uses: the registry is
listed consistently, every variant with its element type (f32, f16, bf16); CPU variants
compute the right thing from Python in their own type; a type code that is not the
variant's own, and other bad calls, return -1 with a message instead of crashing the
interpreter. GPU variants are not run here (that needs device memory; torch_compare.py runs
them on a GPU machine).

The library comes from the ACTBENCH_CAPI environment variable (CTest sets it to the built
libactbench_capi); without it those tests skip. Some tests need no library: the conversions
the checks use, torch_compare.py's names, bytes and % of copy per type (the gated families'
three tensors too), and torch_compare.py without PyTorch, which says so and writes nothing."""
from __future__ import annotations

import ctypes
import importlib.util
import math
import os
import random
import re
import struct
import tempfile
import unittest
from pathlib import Path

from support import run_script

import torch_compare
from torch_compare import DTYPE_CODES, load_library

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
                self.assertTrue(math.isnan(self.lib.actbench_variant_atol(i)))
                self.assertEqual(self.lib.actbench_workspace_bytes(i, 1, 1), -1)
                self.assertEqual(self.lib.actbench_run(i, DTYPE_CODES["f32"], None, None, None,
                                                       1, 1, None, None), -1)

    def test_cpu_variants_compute_their_family_in_their_type(self):
        rows, cols = 3, 37
        rng = random.Random(7)
        drawn_x = [rng.uniform(-12, 12) for _ in range(rows * cols)]
        drawn_bias = [rng.uniform(-2, 2) for _ in range(cols)]
        # A gated family's x: each row's a (drawn_x's row), then its b in [-4, 4).
        drawn_b = [rng.uniform(-4, 4) for _ in range(rows * cols)]
        drawn_gated = [v for r in range(rows) for half in (drawn_x, drawn_b)
                       for v in half[r * cols:(r + 1) * cols]]
        cpu = [v for v in self.variants if v.device == "cpu"]
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
        cpu = {v.dtype: v for v in reversed(self.variants) if v.device == "cpu"}
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
        first = self.variants[0]
        cases = [("rows and cols must be >= 1", first, 0, 8, buf),
                 ("x and y must not be NULL", first, 1, 8, None)]
        cases += [("needs a bias", v, 1, 8, buf) for v in self.variants if v.has_bias][:1]
        cases += [("supports rows of up to", v, 1, 1 << 40, buf) for v in self.variants
                  if not self.lib.actbench_variant_supports(v.index, 1 << 40)][:1]
        for message, v, rows, cols, x in cases:
            with self.subTest(message=message):
                self.assertEqual(self.lib.actbench_run(v.index, v.dtype_code, x, None, buf, rows,
                                                       cols, None, None), -1)
                self.assertIn(message, self.lib.actbench_last_error().decode())


class TorchCompare(unittest.TestCase):
    def variant(self, family: str, name: str, dtype: str, activation: str = "sigmoid",
                has_bias: bool = False, gated: bool = False) -> torch_compare.CVariant:
        return torch_compare.CVariant(0, family, name, "gpu", activation, has_bias, 1, 0.0, 0.0,
                                      "", dtype, gated)

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
