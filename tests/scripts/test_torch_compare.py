"""scripts/torch_compare.py's peers without PyTorch or a GPU, over torch_fakes' PeerBench (its
own measure_shape and log over a PyTorch of mocks): torch_compile compiled once per family,
type and shape before it is checked and timed, with its settings stated and its compile time
apart; a compile that fails recorded, the work going on; Liger-Kernel's softmax forward and
backward; every peer that cannot run listed with the reason; the deadline's estimate of the
compiles; and the arguments."""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import support  # noqa: F401  (puts scripts/ on sys.path)

import torch_compare
import torch_fakes
from torch_fakes import FakeCompile, PeerBench

SETTINGS = {"mode": "default", "dynamic": False, "fullgraph": True}
# the fake registry's families with a torch_compile peer (all but the copy), in each of 3 types
COMPILED = {"sigmoid", "sigmoid_backward", "softmax", "softmax_backward"}


class Peers(unittest.TestCase):
    def compare(self, bench: PeerBench) -> tuple[int, dict]:
        """torch_compare.compare over the fake registry, one shape per family (--quick)."""
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
            out = Path(tmp) / "torch.json"
            rc = torch_compare.compare(bench, torch_fakes.registry(), True,
                                       torch_compare.Deadline(None, 0.0), out)
            return rc, json.loads(out.read_text())

    @staticmethod
    def rows(log: dict, peer: str) -> dict[str, dict]:
        return {b["name"]: b for b in log["benchmarks"] if b["name"].split("/")[1] == peer}

    def test_torch_compile_is_compiled_once_per_shape_before_it_is_checked_and_timed(self):
        compile = FakeCompile()
        bench = PeerBench(compile)
        rc, log = self.compare(bench)
        self.assertEqual(rc, 0)
        rows = self.rows(log, "torch_compile")
        self.assertEqual({name.split("/")[0] for name in rows}, COMPILED)
        self.assertEqual(len(rows), len(COMPILED) * 3)
        self.assertIn("softmax_backward/torch_compile/bf16/rows:4096/cols:1024", rows)
        # timed as every row is (the fake's 10 us), verified, the compile's seconds beside
        for r in rows.values():
            self.assertEqual(r["real_time"], 10.0)
            self.assertEqual((r["max_abs_err"], r["max_rel_err"]), (0.0, 0.0))
            self.assertGreaterEqual(r["compile_s"], 0.0)
        self.assertFalse(any("compile_s" in b for b in log["benchmarks"]
                             if "/torch_compile/" not in b["name"]))
        # the compiler's start-up first (one call), then one torch.compile per family, type and
        # shape, each after a reset, with the stated settings; its result called three times:
        # the compile, the check, the timed call
        self.assertEqual(compile.compiled, [SETTINGS] * (1 + len(rows)))
        self.assertEqual(compile.calls, [1] + [3] * len(rows))
        self.assertEqual(bench.torch.compiler.reset.call_count, 1 + len(rows))
        self.assertEqual((bench.compiles, bench.compile_seconds > 0), (1 + len(rows), True))
        self.assertGreaterEqual(float(log["context"]["torch_compile_startup_s"]), 0.0)
        # the settings and the entries in the log
        ctx = log["context"]
        self.assertRegex(ctx["torch_compile"], r"^torch\.compile\(mode='default', dynamic=False, "
                                               r"fullgraph=True\), PyTorch 0\.0\+fake: compiled once")
        entries = {e["id"]: e for e in json.loads(ctx["actbench_variants"])}
        entry = entries["softmax/torch_compile/f16"]
        self.assertEqual((entry["step"], entry["atol"]), (torch_compare.COMPILE_STEP, None))
        self.assertIn("dynamic=False", entry["summary"])
        self.assertNotIn("copy/torch_compile/f32", entries)
        # without liger_kernel here, its softmax is absent with the reason; nothing else is
        if importlib.util.find_spec("liger_kernel") is None:
            self.assertEqual(set(ctx["peers_unavailable"]), {"softmax/liger", "softmax_backward/liger"})
            self.assertRegex(ctx["peers_unavailable"]["softmax/liger"],
                             r"^not importable: ModuleNotFoundError: No module named 'liger_kernel'")
        # --compile-mode reaches torch.compile
        other = FakeCompile()
        self.compare(PeerBench(other, mode="max-autotune-no-cudagraphs"))
        self.assertEqual({c["mode"] for c in other.compiled}, {"max-autotune-no-cudagraphs"})

    def test_a_failed_compile_is_recorded_and_the_work_goes_on(self):
        # the first family's compile (sigmoid in f32, after the start-up) fails, as Inductor's
        # do, with lines of message
        rc, log = self.compare(PeerBench(FakeCompile(fails=lambda k: k == 1)))
        self.assertEqual(rc, 0)  # a peer that did not compile is no variant that disagreed
        names = {b["name"] for b in log["benchmarks"]}
        self.assertNotIn("sigmoid/torch_compile/f32/n:1048576", names)
        self.assertTrue({"sigmoid/torch/f32/n:1048576", "sigmoid/warp/f32/n:1048576",
                         "sigmoid_backward/torch_compile/f32/n:1048576",
                         "sigmoid/torch_compile/bf16/n:1048576"} <= names)
        self.assertFalse(any(b.get("error_occurred") for b in log["benchmarks"]))
        absent = log["context"]["peers_unavailable"]
        self.assertEqual(absent["sigmoid/torch_compile/f32/n:1048576"],
                         "compile failed: CompileError: backend='inductor' raised: "
                         "CompilationError: at 3:4:")
        self.assertEqual([k for k in absent if "torch_compile" in k],
                         ["sigmoid/torch_compile/f32/n:1048576"])
        # every compile after the start-up failing: the run still ends and writes every other row
        rc, log = self.compare(PeerBench(FakeCompile(fails=lambda k: k > 0)))
        self.assertEqual(rc, 0)
        self.assertEqual(self.rows(log, "torch_compile"), {})
        self.assertEqual(len([k for k in log["context"]["peers_unavailable"] if "torch_compile" in k]),
                         len(COMPILED) * 3)
        self.assertEqual(len(self.rows(log, "torch")), 5 * 3)
        # the start-up compile failing: no family tries, each says why
        compile = FakeCompile(fails=lambda k: True)
        rc, log = self.compare(PeerBench(compile))
        self.assertEqual((rc, len(compile.compiled)), (0, 1))
        absent = log["context"]["peers_unavailable"]
        self.assertEqual({k for k in absent if "torch_compile" in k},
                         {f"{f}/torch_compile" for f in COMPILED})
        self.assertRegex(absent["sigmoid/torch_compile"],
                         r"^compile failed at its start-up \(a small expression\): CompileError: ")
        self.assertNotIn("torch_compile", log["context"])

    def test_liger_softmax_forward_and_backward(self):
        with torch_fakes.fake_liger() as liger:
            rc, log = self.compare(PeerBench(FakeCompile()))
        self.assertEqual(rc, 0)
        rows = self.rows(log, "liger")
        self.assertEqual(sorted(rows), sorted(f"{f}/liger/{t}/rows:4096/cols:1024"
                                              for f in ("softmax", "softmax_backward")
                                              for t in ("f32", "f16", "bf16")))
        self.assertTrue(all(r["real_time"] == 10.0 for r in rows.values()))
        # the backward: the Function's backward(ctx, dy) with the settings its forward left on
        # the node and our saved y, called for the check and the timing
        self.assertEqual(len(liger.backward_calls), 2 * 3)
        for ctx, dy in liger.backward_calls:
            self.assertEqual((ctx.BLOCK_SIZE, ctx.num_warps), (1024, 4))
            self.assertEqual([t._mock_name for t in ctx.saved_tensors], ["saved"])
            self.assertEqual(dy._mock_name, "dy")
        entries = {e["id"]: e for e in json.loads(log["context"]["actbench_variants"])}
        self.assertRegex(entries["softmax/liger/bf16"]["summary"],
                         r"^Liger-Kernel \(version unknown\) LigerSoftmaxFunction, torch\.bfloat16$")
        self.assertIn("LigerSoftmaxFunction.backward(ctx, dy)",
                      entries["softmax_backward/liger/f32"]["summary"])
        self.assertNotIn("sigmoid/liger/f32", entries)
        self.assertNotIn("peers_unavailable", log["context"])

    def test_peers_that_cannot_run_are_listed_with_the_reason(self):
        no_compile = torch_fakes.fake_torch(None)
        self.assertEqual(torch_compare.compile_unavailable(no_compile),
                         "PyTorch 0.0+fake has no torch.compile")
        with mock.patch.object(importlib.util, "find_spec", return_value=None):
            self.assertEqual(torch_compare.compile_unavailable(torch_fakes.fake_torch(FakeCompile())),
                             "Triton is not importable (Inductor generates its GPU kernels with it)")
        rc, log = self.compare(PeerBench(None))
        self.assertEqual(rc, 0)
        absent = log["context"]["peers_unavailable"]
        self.assertEqual({k for k in absent if "torch_compile" in k},
                         {f"{f}/torch_compile" for f in COMPILED})
        self.assertEqual(absent["softmax/torch_compile"], "PyTorch 0.0+fake has no torch.compile")
        self.assertNotIn("torch_compile", log["context"])
        self.assertEqual(self.rows(log, "torch_compile"), {})
        # a Liger call that cannot be set up (its forward on the probe fails) costs its row
        with torch_fakes.fake_liger() as liger, \
                mock.patch.object(liger, "apply", side_effect=ValueError("no\nkernel")):
            rc, log = self.compare(PeerBench(FakeCompile()))
        self.assertEqual(rc, 1)  # the forward's own call failed: an error row, as a variant's
        self.assertEqual(log["context"]["peers_unavailable"]["softmax_backward/liger/f32/rows:4096/cols:1024"],
                         "could not be set up: ValueError: no kernel")
        failed = [b for b in log["benchmarks"] if b.get("error_occurred")]
        self.assertEqual({b["name"].split("/")[:2] == ["softmax", "liger"] for b in failed}, {True})
        self.assertEqual(failed[0]["error_message"], "no")

    def test_the_deadline_estimates_compiles_apart_from_the_bytes(self):
        plan = torch_compare.plan(torch_fakes.registry(), quick=False)
        big, small = (next(i for i in plan if i.names()[0] == f"sigmoid/f32/n:{n}")
                      for n in (1 << 26, 1 << 24))
        done = torch_compare.Finished(small, calls=4, seconds=2.0, compiles=2, compile_seconds=6.0)
        # 0.5 s a call, times 5 calls, times 4 the bytes; 3 s a compile, times 2 compiles
        self.assertEqual(torch_compare.estimate(big, 5, 2, done, done), 0.5 * 5 * 4 + 3 * 2)
        self.assertEqual(torch_compare.estimate(small, 5, 0, done, done), 0.5 * 5)
        self.assertEqual(torch_compare.estimate(big, 5, 2, None, None), 0.0)
        bench = PeerBench(FakeCompile())
        self.assertEqual((big.calls(bench), big.compiles(bench)), (3 + 2 + 2, 2))
        self.assertEqual((big.calls(PeerBench(None)), big.compiles(PeerBench(None))), (5, 0))

    def test_arguments(self):
        args = torch_compare.parse_args([])
        self.assertEqual((args.compile_mode, args.deadline_s, args.quick, args.lib),
                         ("default", None, False, None))
        args = torch_compare.parse_args(["--compile-mode", "max-autotune-no-cudagraphs",
                                         "--deadline-s", "30", "--quick"])
        self.assertEqual((args.compile_mode, args.deadline_s, args.quick),
                         ("max-autotune-no-cudagraphs", 30.0, True))
        for bad, said in ((["--compile-mode", "reduce-overhead"], "invalid choice"),
                          (["--deadline-s", "0"], "a number of seconds above 0")):
            err = io.StringIO()
            with self.subTest(args=bad), contextlib.redirect_stderr(err), \
                    self.assertRaises(SystemExit) as stop:
                torch_compare.parse_args(bad)
            self.assertEqual(stop.exception.code, 2)
            self.assertIn(said, err.getvalue())


if __name__ == "__main__":
    unittest.main()
