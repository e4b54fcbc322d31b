"""scripts/gpu_check.py without a GPU: the plan against the budget, steps cut short or unable
to run reported as such (never as passed), the torch step over a stand-in for the Python with
torch (torch_fakes.py: torch_compare.py's own work, order and deadline over fakes), GoogleTest
reports, the merged sweep log, the summary's verdict table, and the output folder's limits (at most 8 files of at most 16 MiB, two levels deep). The dry run over
a real build is its own CTest test (gpu_check.dry_run)."""
from __future__ import annotations

import json
import lzma
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest
from unittest import mock
from pathlib import Path

from support import fixture, run_script, write_log

import gpu_check
import torch_fakes
from gpu_check import Context, Result, Step


def fake_context(work: Path, budget: float) -> Context:
    return Context(bundle=work / "bundle", work=work, deadline=time.monotonic() + budget, env={})


class Plan(unittest.TestCase):
    def test_every_budget_is_spent_exactly_and_never_overspent(self) -> None:
        for budget in range(120, 3601, 30):
            shares, finish = gpu_check.scaled_plan(budget)
            self.assertAlmostEqual(sum(v for _, v in shares) + finish, budget, places=6, msg=budget)
            self.assertTrue(all(v >= 0 for _, v in shares), budget)

    def test_default_plan_fits_480_seconds_with_every_step_bounded(self) -> None:
        res = run_script("gpu_check.py", "--plan")
        self.assertEqual(res.returncode, 0, res.stderr)
        for step in gpu_check.PLAN:
            self.assertRegex(res.stdout, rf"\n  {step.name}\s+\d+ s")
        self.assertRegex(res.stdout, r"total\s+480 s")

    def test_bad_usage_exits_2_naming_what_was_wrong(self) -> None:
        for args, words in ((["--only", "sweep,bogus"], "bogus"), (["--budget", "30"], "--budget 30"),
                            (["--from-build", "build"], "--from-build goes with --dry-run")):
            res = run_script("gpu_check.py", *args)
            self.assertEqual(res.returncode, 2, args)
            self.assertIn(words, res.stderr, args)
            self.assertNotIn("Traceback", res.stderr)

    def test_no_bundle_exits_2_and_writes_nothing(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            res = run_script("gpu_check.py", "--bundle", Path(tmp) / "none", "--out", out)
            self.assertEqual(res.returncode, 2)
            self.assertIn("--prepare", res.stderr)
            self.assertFalse(out.exists())


class Steps(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.work = Path(self.tmp.name)
        self.saved = (gpu_check.PLAN, gpu_check.FINISH_SHARE, gpu_check.DEFAULT_BUDGET,
                      dict(gpu_check.STEP_FUNCTIONS))

    def tearDown(self) -> None:
        gpu_check.PLAN, gpu_check.FINISH_SHARE, gpu_check.DEFAULT_BUDGET = self.saved[:3]
        gpu_check.STEP_FUNCTIONS.clear()
        gpu_check.STEP_FUNCTIONS.update(self.saved[3])
        self.tmp.cleanup()

    def small_plan(self, steps: dict) -> None:
        """A plan of these fake steps: 4 s each, the rest, 1 s to finish (a step is given at least
        3 s or none)."""
        gpu_check.PLAN = [Step(name, 4, name) for name in steps]
        gpu_check.PLAN.append(Step("sweep_rest", 0, "rest"))
        gpu_check.FINISH_SHARE, gpu_check.DEFAULT_BUDGET = 1, 4 * len(steps) + 1
        gpu_check.STEP_FUNCTIONS.update(steps)

    def test_a_command_past_its_limit_is_killed_and_reported_as_cut_short(self) -> None:
        begin = time.monotonic()
        rc, timed_out = gpu_check.run_limited(["sleep", "60"], 1, self.work / "log", {})
        self.assertTrue(timed_out)
        self.assertLess(time.monotonic() - begin, 20)
        self.assertIn("cut short", (self.work / "log").read_text())

    def test_statuses_are_never_pass_for_a_step_that_timed_out_or_could_not_run(self) -> None:
        def preflight(ctx: Context, limit: float) -> Result:
            ctx.gpu = True
            return Result("PASS", line="fake card")

        def hangs(ctx: Context, limit: float) -> Result:
            rc, timed_out = gpu_check.run_limited(["sleep", "60"], limit, ctx.work / "hang.log", {})
            return Result("TIMEOUT" if timed_out else "FAIL", line="hung")

        def cannot(ctx: Context, limit: float) -> Result:
            return Result("NOT RUN", line="no torch")

        seen = []

        def rest(ctx: Context, limit: float) -> Result:
            seen.append(limit)
            return Result("PASS", line="rest")

        self.small_plan({"preflight": preflight, "gpu_tests": hangs, "torch": cannot})
        gpu_check.STEP_FUNCTIONS["sweep_rest"] = rest
        budget = gpu_check.DEFAULT_BUDGET
        ctx = fake_context(self.work, budget)
        begin = time.monotonic()
        results = gpu_check.run_plan(ctx, budget, None)
        self.assertEqual([r.status for r in results.values()], ["PASS", "TIMEOUT", "NOT RUN", "PASS"])
        # its share and what the preflight left of its own
        self.assertLessEqual(results["gpu_tests"].limit, 8 + 1e-6)
        self.assertGreater(results["gpu_tests"].limit, 4)
        self.assertLess(time.monotonic() - begin, budget + 15)  # the kill's grace aside
        self.assertEqual(len(seen), 1)

    def test_only_runs_the_named_steps_and_the_preflight(self) -> None:
        ran = []

        def step(name: str):
            def run(ctx: Context, limit: float) -> Result:
                ran.append(name)
                ctx.gpu = True
                return Result("PASS", line=name)
            return run

        self.small_plan({n: step(n) for n in ("preflight", "gpu_tests", "torch")})
        gpu_check.STEP_FUNCTIONS["sweep_rest"] = step("sweep_rest")
        results = gpu_check.run_plan(fake_context(self.work, 13), 13, {"torch"})
        self.assertEqual(ran, ["preflight", "torch"])
        self.assertEqual(results["gpu_tests"].status, "SKIPPED")

    def torch_step(self, limit: float, kill_grace: float, seconds_per_call: float,
                   hang_at: int | None = None) -> tuple[Result, Context]:
        """The torch step over torch_fakes' stand-in for the Python with torch, with a shorter
        kill grace and a margin of 1.5 s, so that a limit of a few seconds leaves a deadline."""
        ctx = fake_context(self.work, 60)
        ctx.gpu, ctx.env = True, dict(os.environ)
        ctx.python = str(torch_fakes.executable(self.work, seconds_per_call, hang_at))
        with mock.patch.object(gpu_check, "KILL_GRACE", kill_grace), \
                mock.patch.object(gpu_check, "TORCH_MARGIN", 1.5):
            return gpu_check.torch_step(ctx, limit), ctx

    def test_torch_step_stopped_by_its_deadline_passes_saying_what_it_left_out(self) -> None:
        """torch_compare.py gets the limit less the kill grace and the margin as --deadline-s,
        stops there with a partial log (its 111 calls would take 5.5 s), and the step is PASS
        with the rows written and how much was cut short, in the summary too."""
        begin = time.monotonic()
        res, ctx = self.torch_step(4, 0.5, 0.05)
        self.assertLess(time.monotonic() - begin, 3, "ended by its deadline, not by SIGTERM")
        self.assertIn("--deadline-s 1.5", (self.work / "torch.log").read_text())
        log = json.loads((self.work / "torch.json").read_text())
        cut = log["context"]["cut_short"]
        self.assertTrue(log["benchmarks"] and cut)
        self.assertEqual(res.status, "PASS", res.line)
        self.assertTrue(res.line.startswith(f"{len(log['benchmarks'])} rows; cut short, {len(cut)} "
                                            f"family shapes left out: --deadline-s 1.5:"), res.line)
        res.seconds, res.limit = time.monotonic() - begin, 4
        summary = gpu_check.summary_md(ctx, {"torch": res}, 480, 3, [])
        self.assertRegex(summary, r"\| torch \| PASS \| \d+ \| 4 \| \d+ rows; cut short, \d+ family shapes")

    def test_torch_step_killed_at_its_limit_is_a_timeout_that_keeps_its_rows(self) -> None:
        """A call that hangs: run_limited's SIGTERM at the limit less the grace ends it, the
        log torch_compare.py writes then keeps the rows before it, and the step stays TIMEOUT."""
        res, _ = self.torch_step(5, 1.5, 0.05, hang_at=2)  # the second item's first call
        self.assertEqual(res.status, "TIMEOUT", res.line)
        self.assertRegex(res.line, r"^killed at its 5 s limit; 2 rows; cut short, 50 family shapes "
                                   r"left out: SIGTERM after \d\.\d s, during copy/bf16/n:67108864$")

    def test_no_gpu_leaves_every_later_step_not_run(self) -> None:
        self.small_plan({"preflight": lambda ctx, limit: Result("NOT RUN", line="no GPU"),
                         "gpu_tests": lambda ctx, limit: Result("PASS", line="must not run")})
        results = gpu_check.run_plan(fake_context(self.work, 9), 9, None)
        self.assertEqual({r.status for r in results.values()}, {"NOT RUN"})


GTEST_XML = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="4" name="AllTests">
  <testsuite name="Rows/RiskyPaths" tests="4">
    <testcase name="MatchReference/a" status="run" result="completed" classname="Rows/RiskyPaths" />
    <testcase name="MatchReference/b" status="run" result="completed" classname="Rows/RiskyPaths">
      <failure message="mismatch" type=""><![CDATA[mismatch]]></failure>
    </testcase>
    <testcase name="MatchReference/c" status="run" result="skipped" classname="Rows/RiskyPaths">
      <skipped message="tests/x.cpp:83&#x0A;no GPU: none here"><![CDATA[...]]></skipped>
    </testcase>
    <testcase name="MatchReference/d" status="notrun" result="suppressed" classname="Rows/RiskyPaths" />
  </testsuite>
</testsuites>
"""


class Evidence(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def test_gtest_report_counts_passed_failed_skipped_with_the_reason(self) -> None:
        path = self.dir / "r.xml"
        path.write_text(GTEST_XML)
        passed, failed, skipped, failures, reasons = gpu_check.gtest_counts(path)
        self.assertEqual((passed, failed, skipped), (1, 1, 1))
        self.assertEqual(failures, ["Rows/RiskyPaths.MatchReference/b"])
        self.assertEqual(reasons, ["no GPU: none here"])

    def test_merged_log_keeps_the_core_rows_and_adds_only_new_ones(self) -> None:
        log = fixture("gpu_reps.json")
        names = sorted({b["run_name"] for b in log["benchmarks"]})
        core = dict(log, benchmarks=[b for b in log["benchmarks"] if b["run_name"] == names[0]])
        rest = dict(log, benchmarks=[dict(b, real_time=-1.0) for b in log["benchmarks"]])
        write_log(self.dir, "sweep_core_sigmoid.json", core)
        write_log(self.dir, "sweep_rest_sigmoid.json", rest)
        merged = gpu_check.merged_log(self.dir)
        first = [b for b in merged["benchmarks"] if b["run_name"] == names[0]]
        self.assertEqual(len(first), len(core["benchmarks"]))
        self.assertTrue(all(b["real_time"] != -1.0 for b in first))
        self.assertEqual(sorted({b["run_name"] for b in merged["benchmarks"]}), names)
        self.assertIn("sweep_rest_sigmoid", merged["context"]["gpu_check_parts"])

    def test_sweeps_run_softmax_first_and_the_cpu_baselines_last(self) -> None:
        rows = [("sigmoid", "naive", "f32", "gpu"), ("sigmoid", "naive", "bf16", "gpu"),
                ("sigmoid", "cpu_omp", "f32", "cpu"), ("softmax", "warp", "f16", "gpu"),
                ("softmax", "warp", "f32", "gpu"), ("softmax", "online", "f32", "gpu"),
                ("softmax", "cpu_omp", "f32", "cpu"), ("copy", "cuda_memcpy", "f32", "gpu")]
        core = gpu_check.sweep_parts(rows, core=True)
        # f16 waits for the rest: the core takes f32 and bf16.
        self.assertEqual([(f, t, d) for f, t, d, _ in core],
                         [("softmax", "f32", "gpu"), ("sigmoid", "f32", "gpu"), ("sigmoid", "bf16", "gpu"),
                          ("copy", "f32", "gpu")])
        self.assertEqual(core[0][3], ["warp", "online"])
        rest = gpu_check.sweep_parts(rows, core=False)
        self.assertEqual([d for _, _, d, _ in rest], ["gpu"] * 5 + ["cpu"] * 2)

    def test_compressed_libraries_unpack_once_and_whole(self) -> None:
        lib = self.dir / "lib"
        lib.mkdir()
        payload = bytes(range(256)) * 5000
        with lzma.open(lib / "libbig.so.2.xz", "wb", preset=1) as f:
            f.write(payload)
        (lib / "libkept.so.1").write_bytes(b"already here")
        with lzma.open(lib / "libkept.so.1.xz", "wb") as f:
            f.write(b"an older copy")
        self.assertEqual(gpu_check.unpack(self.dir), ["libbig.so.2"])
        self.assertEqual((lib / "libbig.so.2").read_bytes(), payload)
        self.assertTrue(os.access(lib / "libbig.so.2", os.X_OK))
        self.assertEqual((lib / "libkept.so.1").read_bytes(), b"already here")
        self.assertEqual(gpu_check.unpack(self.dir), [])  # a second call has nothing to do
        self.assertEqual(sorted(p.name for p in lib.iterdir() if p.suffix == ".tmp"), [])

    def test_peer_wheels_are_carried_whole_or_not_at_all_and_unzip_for_pythonpath(self) -> None:
        def fake_pip(wheel: bytes | None, code: int = 0) -> tuple[str, ...]:
            # a pip that "downloads" one wheel (a zip holding liger_kernel/__init__.py) or fails
            script = self.dir / "pip.py"
            script.write_text(
                "import sys, zipfile, pathlib\n"
                "dest = pathlib.Path(sys.argv[sys.argv.index('--dest') + 1])\n"
                f"if {code}:\n    print('ERROR: No matching distribution found', file=sys.stderr); sys.exit({code})\n"
                "with zipfile.ZipFile(dest / 'liger_kernel-0.0.1-py3-none-any.whl', 'w') as z:\n"
                f"    z.writestr('liger_kernel/__init__.py', {wheel!r}.decode())\n")
            return (sys.executable, str(script))

        bundle = self.dir / "bundle"
        bundle.mkdir()
        (bundle / "BUNDLE.json").write_text('{"git_sha": "x"}')
        record = gpu_check.fetch_wheels(bundle, ["liger-kernel"], fake_pip(b"VERSION = 1"))
        self.assertEqual(record, "liger_kernel-0.0.1-py3-none-any.whl")
        self.assertEqual(json.loads((bundle / "BUNDLE.json").read_text()),
                         {"git_sha": "x", "wheels": record})
        path = gpu_check.peer_path(bundle, self.dir / "work")
        self.assertEqual((path / "liger_kernel" / "__init__.py").read_text(), "VERSION = 1")
        # a failed download: no wheels folder, no temporary, the reason recorded
        record = gpu_check.fetch_wheels(bundle, ["liger-kernel"], fake_pip(None, code=1))
        self.assertEqual(record, "liger-kernel: not carried (ERROR: No matching distribution found)")
        self.assertEqual(sorted(p.name for p in bundle.iterdir()), ["BUNDLE.json"])
        self.assertIsNone(gpu_check.peer_path(bundle, self.dir / "work"))

    def test_the_registry_is_read_from_the_list_with_its_types(self) -> None:
        listing = ("sigmoid/warp/bf16             gpu  atol=1e-07 rtol=0.008 16-byte vectors\n"
                   "softmax/cpu_omp/f32           cpu  atol=1e-09 rtol=1e-05 OpenMP threads\n"
                   "\nnot available in this build or on this CPU:\n"
                   "sigmoid/cpu_onednn/f16        oneDNN 2.6 has no f16 eltwise on this CPU\n")
        completed = subprocess.CompletedProcess([], 0, stdout=listing, stderr="")
        with mock.patch.object(gpu_check.subprocess, "run", return_value=completed):
            rows = gpu_check.registry(Path("/nowhere"), {})
        self.assertEqual(rows, [("sigmoid", "warp", "bf16", "gpu"), ("softmax", "cpu_omp", "f32", "cpu")])

    def test_finish_replaces_only_its_own_files(self) -> None:
        work, out = self.dir / "work", self.dir / "out"
        work.mkdir()
        out.mkdir()
        (out / "README.md").write_text("keep me")
        (out / "report.md").write_text("an older check's")
        gpu_check.finish(fake_context(work, 60), {"preflight": Result("PASS", 1, 20, "fake")}, 480,
                         time.monotonic(), [out])
        self.assertEqual((out / "README.md").read_text(), "keep me")
        self.assertFalse((out / "report.md").exists())  # no log this time: the old report is gone

    def test_layout_limits(self) -> None:
        for k in range(9):
            (self.dir / f"f{k}").write_text("x")
        self.assertTrue(any("9 files" in p for p in gpu_check.layout_problems(self.dir)))
        big = Path(self.tmp.name) / "big"
        big.mkdir()
        with (big / "huge.bin").open("wb") as f:
            f.truncate(gpu_check.MAX_OUT_FILE_BYTES + 1)
        (big / "a" / "b").mkdir(parents=True)
        (big / "a" / "b" / "deep.txt").write_text("x")
        problems = gpu_check.layout_problems(big)
        self.assertTrue(any("huge.bin" in p and "16 MiB" in p for p in problems), problems)
        self.assertTrue(any("deep.txt" in p for p in problems), problems)

    def test_the_summary_carries_the_reports_verdict_table(self) -> None:
        """summary.md has the verdict of the torch step's log, built by report.py's own
        verdict_section; a log it cannot read costs the table alone, saying why."""
        import gbjson
        import report

        peers = Path(__file__).resolve().parent / "fixtures" / "gpu_peers.json"
        verdict = gpu_check.verdict_lines(peers)
        run = gbjson.load(peers)
        self.assertEqual(verdict, report.verdict_section([run], [run.machine],
                                                         report.build_families([run]), False))
        summary = gpu_check.summary_md(fake_context(self.dir, 60), {"torch": Result("PASS", 1, 50, "x")},
                                       480, 10, [], verdict)
        self.assertIn("\n## Verdict: actbench against its peers\n", summary)
        self.assertIn("**0.947× over torch_compile** ◀ peer wins", summary)
        self.assertEqual(gpu_check.verdict_lines(self.dir / "absent.json"), [])
        (self.dir / "torch.json").write_text("{not json")
        self.assertRegex(gpu_check.verdict_lines(self.dir / "torch.json")[0],
                         r"^verdict: not built from torch\.json: LogError: ")

    def test_finish_writes_a_summary_the_log_the_report_and_one_archive(self) -> None:
        work, out = self.dir / "work", self.dir / "out"
        work.mkdir()
        write_log(work, "sweep_core_sigmoid.json", fixture("gpu_reps.json"))
        (work / "gpu_tests.log").write_text("x" * (gpu_check.MAX_LOG_IN_ARCHIVE + 1000))
        ctx = fake_context(work, 60)
        ctx.facts = {"card": "Synthetic GPU", "driver": "0"}
        results = {"preflight": Result("PASS", 1, 20, "fake"), "torch": Result("NOT RUN", 0, 50, "no torch"),
                   "sweep_rest": Result("TIMEOUT", 55, 55, "softmax cut short")}
        problems = gpu_check.finish(ctx, results, 480, time.monotonic(), [out])
        self.assertEqual(problems, [])
        names = sorted(p.name for p in out.iterdir())
        self.assertEqual(names, ["actbench.json", "gpu_check.tgz", "report.md", "summary.md"])
        summary = (out / "summary.md").read_text()
        self.assertIn("| torch | NOT RUN |", summary)
        self.assertIn("| sweep_rest | TIMEOUT |", summary)
        self.assertIn("Synthetic GPU", summary)
        with tarfile.open(out / "gpu_check.tgz") as tar:
            members = {m.name: m for m in tar.getmembers()}
        self.assertIn("gpu_check/gpu_tests.log", members)
        self.assertLess(members["gpu_check/gpu_tests.log"].size, gpu_check.MAX_LOG_IN_ARCHIVE + 200)
        self.assertEqual(len(json.loads((out / "actbench.json").read_text())["benchmarks"]),
                         len(fixture("gpu_reps.json")["benchmarks"]))


if __name__ == "__main__":
    unittest.main()
