"""host/capi.h through ctypes, with the binding scripts/torch_compare.py uses: the registry is
listed consistently, CPU variants compute the right thing from Python, and bad calls return -1
with a message instead of crashing the interpreter. GPU variants are not run here (that needs
device memory; torch_compare.py runs them on a GPU machine).

The library comes from the ACTBENCH_CAPI environment variable (CTest sets it to the built
libactbench_capi); without it the tests skip. One test needs no library: torch_compare.py
without PyTorch says so and writes nothing."""
from __future__ import annotations

import ctypes
import importlib.util
import math
import os
import random
import tempfile
import unittest
from pathlib import Path

from support import run_script

from torch_compare import load_library

LIB = os.environ.get("ACTBENCH_CAPI", "")
ACTIVATIONS = {
    "identity": lambda v: v,
    "sigmoid": lambda v: 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v)),
    "tanh": math.tanh,
    "relu": lambda v: max(v, 0.0),
}


def reference(activation: str, x: list[float], bias: list[float] | None, rows: int,
              cols: int) -> list[float]:
    """In double, from the float inputs; the bias is added in float first, as every variant
    does (host/reference.h)."""
    if bias:
        x = [ctypes.c_float(v + bias[i % cols]).value for i, v in enumerate(x)]
    if activation != "softmax":
        return [ACTIVATIONS[activation](v) for v in x]
    out = []
    for r in range(rows):
        e = [math.exp(v - max(x[r * cols:(r + 1) * cols])) for v in x[r * cols:(r + 1) * cols]]
        out += [v / sum(e) for v in e]
    return out


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
                self.assertEqual(vid, f"{v.family}/{v.name}")
                self.assertIn(v.device, ("gpu", "cpu"))
                self.assertIn(v.activation, {*ACTIVATIONS, "softmax"})
                self.assertGreaterEqual(v.step, 0)
                self.assertTrue(v.summary)
                self.assertTrue(all(math.isfinite(t) and t >= 0 for t in (v.atol, v.rtol)))
                self.assertIn(self.lib.actbench_variant_supports(v.index, 1), (0, 1))
                self.assertGreaterEqual(self.lib.actbench_workspace_bytes(v.index, 4, 1000), 0)

    def test_out_of_range_index_fails_with_a_message(self):
        for i in (-1, len(self.variants)):
            with self.subTest(index=i):
                self.assertIsNone(self.lib.actbench_variant_id(i))
                self.assertIn(b"out of range", self.lib.actbench_last_error())
                self.assertEqual(self.lib.actbench_variant_step(i), -1)
                self.assertEqual(self.lib.actbench_variant_has_bias(i), -1)
                self.assertTrue(math.isnan(self.lib.actbench_variant_atol(i)))
                self.assertEqual(self.lib.actbench_workspace_bytes(i, 1, 1), -1)
                self.assertEqual(self.lib.actbench_run(i, None, None, None, 1, 1, None, None), -1)

    def test_cpu_variants_compute_their_family(self):
        rows, cols = 3, 37
        rng = random.Random(7)
        x = (ctypes.c_float * (rows * cols))(*(rng.uniform(-12, 12) for _ in range(rows * cols)))
        bias = (ctypes.c_float * cols)(*(rng.uniform(-2, 2) for _ in range(cols)))
        cpu = [v for v in self.variants if v.device == "cpu"]
        self.assertTrue(cpu, "the registry has CPU baselines")
        for v in cpu:
            if not self.lib.actbench_variant_supports(v.index, cols):
                continue
            with self.subTest(variant=f"{v.family}/{v.name}"):
                y = (ctypes.c_float * (rows * cols))()
                workspace = ctypes.create_string_buffer(
                    max(1, self.lib.actbench_workspace_bytes(v.index, rows, cols)))
                rc = self.lib.actbench_run(v.index, x, bias if v.has_bias else None, y, rows,
                                           cols, workspace, None)
                self.assertEqual(rc, 0, self.lib.actbench_last_error())
                want = reference(v.activation, list(x), list(bias) if v.has_bias else None,
                                 rows, cols)
                for k, (got, ref) in enumerate(zip(y, want)):
                    self.assertLessEqual(abs(got - ref), v.atol + v.rtol * abs(ref),
                                         f"element {k}: got {got}, want {ref}")

    def test_bad_arguments_fail_with_a_message(self):
        buf = (ctypes.c_float * 8)()
        first = self.variants[0].index
        cases = [("rows and cols must be >= 1", first, 0, 8, buf),
                 ("x and y must not be NULL", first, 1, 8, None)]
        cases += [("needs a bias", v.index, 1, 8, buf) for v in self.variants if v.has_bias][:1]
        cases += [("supports rows of up to", v.index, 1, 1 << 40, buf) for v in self.variants
                  if not self.lib.actbench_variant_supports(v.index, 1 << 40)][:1]
        for message, i, rows, cols, x in cases:
            with self.subTest(message=message):
                self.assertEqual(self.lib.actbench_run(i, x, None, buf, rows, cols, None, None), -1)
                self.assertIn(message, self.lib.actbench_last_error().decode())


class TorchCompare(unittest.TestCase):
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
