"""Smoke tests of the actbench binary: a tiny CPU run must write a whole, well-formed Google
Benchmark log with our context and counters, and print a labelled table; bad usage must fail
cleanly (exit 2, naming what was typed, before any run); a verification mismatch must still
write the log and exit 1; an interrupted run must leave no file. They need no GPU (GPU
benchmarks are skipped and the log says why); on a GPU machine the same checks cover the GPU
rows too.

usage: bench_smoke.py ACTBENCH [unittest args...]
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

ACTBENCH = ""
# family/variant/dtype/shape (results/README.md)
NAME = re.compile(r"^[a-z_]+/[a-z_0-9]+/(f32|f16|bf16)/(n:\d+|rows:\d+/cols:\d+)$")
DTYPES = ("f32", "f16", "bf16")
QUICK = ["--quick", "--benchmark_min_time=0.001"]


def run(*args, out=None):
    cmd = [ACTBENCH, *args] + ([f"--benchmark_out={out}"] if out else [])
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


class BenchSmoke(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.dir.name, "run.json")

    def tearDown(self):
        self.dir.cleanup()

    def test_cpu_run_writes_whole_log(self):
        r = run(*QUICK, "--benchmark_filter=^(relu|softmax|copy)/cpu_", out=self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        log = json.load(open(self.out))
        ctx = log["context"]
        for key in ("machine", "git_sha", "build_type", "host_cpu", "l2_flush", "actbench_variants"):
            self.assertIn(key, ctx)
        self.assertTrue("gpu_name" in ctx or "gpu_skipped" in ctx, ctx)
        if "gpu_skipped" in ctx:
            self.assertTrue(ctx["machine"].startswith("cpu-"))
            self.assertIn("GPU benchmarks skipped", r.stderr)
        names = [b["run_name"] for b in log["benchmarks"]]
        self.assertIn("relu/cpu_scalar/f32/n:1024", names)
        self.assertIn("copy/cpu_memcpy/f32/n:65536", names)
        self.assertTrue(any(n.startswith("softmax/cpu_omp/f32/rows:") for n in names), names)
        for b in log["benchmarks"]:
            self.assertRegex(b["run_name"], NAME)
            self.assertFalse(b.get("error_occurred", False), b)
            if b["run_type"] == "iteration":  # aggregates: a spread may well be 0
                self.assertGreater(b["bytes_per_second"], 0)
                self.assertGreater(b["pct_copy_bw"], 0)
                self.assertIn("max_abs_err", b)
        self.assertEqual(os.listdir(self.dir.name), ["run.json"])  # no temporary left behind

    def test_context_carries_the_registry(self):
        r = run("--list")
        self.assertEqual(r.returncode, 0, r.stderr)
        # The runnable variants, then (after a blank line) those this build or CPU cannot run.
        runnable, _, absent = r.stdout.partition("\n\n")
        listed = [line.split()[0] for line in runnable.splitlines()]
        if absent:
            header, *reasons = absent.splitlines()
            self.assertIn("not available", header)
            for line in reasons:
                vid, why = line.split(maxsplit=1)
                self.assertNotIn(vid, listed)
                self.assertTrue(why.strip(), line)
        r = run(*QUICK, "--benchmark_filter=^relu/cpu_scalar/f32/n:1024$", out=self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        registry = json.loads(json.load(open(self.out))["context"]["actbench_variants"])
        self.assertEqual([v["id"] for v in registry], listed)
        for family in ("sigmoid", "tanh", "relu", "softmax"):
            for dtype in DTYPES:  # ids are family/variant/dtype, every family in every type
                self.assertIn(f"{family}/naive/{dtype}", listed)
                self.assertIn(f"{family}/cpu_omp/{dtype}", listed)
        self.assertIn("softmax/auto/bf16", listed)
        self.assertIn("bias_relu/fused_warp/f16", listed)
        for family in ("swiglu", "geglu"):  # the gated families: the ladder and the CPU baselines
            for variant in ("unfused", "fused", "fused_warp", "cpu_scalar", "cpu_omp"):
                self.assertIn(f"{family}/{variant}/bf16", listed)
        self.assertTrue(all(v["dtype"] == v["id"].rsplit("/", 1)[1] for v in registry), registry)

    def test_mismatch_is_logged_and_fails(self):
        r = run(*QUICK, "--benchmark_filter=^relu/cpu_scalar/f32/n:1024$",
                "--inject-mismatch=relu/cpu_scalar/f32", out=self.out)
        self.assertEqual(r.returncode, 1, r.stderr)
        rows = json.load(open(self.out))["benchmarks"]
        self.assertTrue(rows[0]["error_occurred"])
        self.assertIn("mismatch", rows[0]["error_message"])

    def test_a_failed_benchmark_has_one_error_line(self):
        for reps in (1, 3):
            r = run(*QUICK, "--benchmark_filter=^relu/cpu_scalar/f32/n:", f"--benchmark_repetitions={reps}",
                    "--inject-mismatch=relu/cpu_scalar/f32", out=self.out)
            self.assertEqual(r.returncode, 1, r.stderr)
            lines = [line for line in r.stdout.splitlines() if line.startswith("relu/")]
            errors = [line for line in lines if " ERROR" in line]
            self.assertEqual(len(errors), 2, r.stdout)  # n:1024 and n:65536, once each
            self.assertEqual(len(lines), 2, r.stdout)    # and no median line beside them
            count = f" ({reps} of {reps} repetitions)" if reps > 1 else ""
            for line in errors:
                self.assertRegex(line, rf"^relu/cpu_scalar/f32/n:\d+ +cpu +ERROR{re.escape(count)}: .*mismatch")

    def test_bad_usage_fails_cleanly(self):
        # (arguments, what the message must name): each is refused before anything runs.
        cases = [(["--no-such-flag"], "'--no-such-flag'"), (["stray"], "'stray'"),
                 (["--benchmark_min_time=abc"], "'--benchmark_min_time=abc'"),
                 (["--n=0"], "'0'"), (["--n=abc"], "'abc'"), (["--shape=12"], "'12'"),
                 (["--device=x"], "'x'"), (["--inject-mismatch=relu/nothing"], "relu/nothing"),
                 (["--n="], "--n= is empty"), (["--shape="], "--shape= is empty"),
                 (["--n=7,"], "'7,'"), (["--n=7,,8"], "'7,,8'"),
                 (["--n=7,7"], "'7' is listed twice"),
                 (["--n=1024,2^10"], "'2^10' is listed twice"),
                 (["--n=7", "--n=7"], "'7' is listed twice"),
                 (["--shape=2x3,2x3"], "'2x3' is listed twice"),
                 (["--benchmark_repetitions=0"], "'0'"), (["--benchmark_repetitions=-1"], "'-1'")]
        for args, named in cases:
            r = run(*QUICK, *args, out=self.out)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(named, r.stderr, args)
            self.assertIn("actbench --help", r.stderr, args)
            self.assertNotIn("registered", r.stderr, args)  # refused before the run
            self.assertEqual(os.listdir(self.dir.name), [], args)

    def test_unwritable_log_is_a_usage_error(self):
        for out in ("/nonexistent/dir/x.json", self.dir.name):
            r = run(*QUICK, "--benchmark_filter=^relu/cpu_scalar/f32/n:1024$", out=out)
            self.assertEqual(r.returncode, 2, (out, r.stderr))
            self.assertIn(f"--benchmark_out={out}", r.stderr)
            self.assertNotIn(".tmp", r.stderr)
            self.assertNotIn("registered", r.stderr, out)  # refused before the run
        self.assertEqual(os.listdir(self.dir.name), [])

    def test_console_table_is_labelled_and_has_one_line_per_benchmark(self):
        for reps in (1, 3):
            r = run(*QUICK, "--benchmark_filter=^relu/cpu_scalar/f32/n:", f"--benchmark_repetitions={reps}",
                    out=self.out)
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = r.stdout.splitlines()
            header = next(i for i, line in enumerate(lines) if line.startswith("benchmark "))
            self.assertEqual(re.split(r"\s{2,}", lines[header].strip()),
                             ["benchmark", "device", "time", "iterations", "cv", "GB/s", "% of copy",
                              "max abs err"])
            self.assertRegex(lines[header + 1], r"^-+$")
            rows = [line for line in lines[header + 2:] if line.startswith("relu/")]
            logged = {b["name"]: b for b in json.loads(open(self.out).read())["benchmarks"]}
            # One line per benchmark: its only repetition, or the median of its repetitions.
            names = {b["run_name"] for b in logged.values()}
            self.assertEqual(len(rows), len(names), r.stdout)
            for line in rows:
                row = re.fullmatch(r"(\S+) +cpu +([\d.]+) (ns|us|ms|s) +(\d+)( reps)? +(-|[\d.]+ %) +"
                                   r"([\d.]+) +([\d.]+) +(\S+)", line)
                self.assertIsNotNone(row, line)
                name, time_, unit, iterations, reps_, cv, gbs, pct, err = row.groups()
                self.assertEqual(name.endswith("_median"), reps > 1, line)
                b = logged[name]
                self.assertEqual(unit, b["time_unit"])
                self.assertAlmostEqual(float(time_), b["real_time"], places=3)
                self.assertEqual(int(iterations), b["iterations"])
                self.assertEqual(bool(reps_), reps > 1)
                if reps > 1:
                    spread = logged[name.replace("_median", "_cv")]["real_time"]
                    self.assertAlmostEqual(float(cv[:-2]), 100 * spread, places=1)
                else:
                    self.assertEqual(cv, "-")
                self.assertAlmostEqual(float(gbs), b["bytes_per_second"] / 1e9, places=2)
                self.assertAlmostEqual(float(pct), b["pct_copy_bw"], places=1)
                self.assertLessEqual(abs(float(err) - b["max_abs_err"]), 5e-3 * b["max_abs_err"])  # %.3g

    def test_l2_flush_context_says_what_was_flushed(self):
        r = run(*QUICK, "--benchmark_filter=^relu/cpu_scalar/f32/n:1024$", out=self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        ctx = json.load(open(self.out))["context"]
        if "gpu_skipped" in ctx:  # CPU variants are never flushed
            self.assertEqual(ctx["l2_flush"], "not applicable: no GPU variants ran")
        else:
            self.assertEqual(ctx["l2_flush"], "cold")

    def test_device_index_without_a_gpu_is_noted(self):
        r = run(*QUICK, "--device=7", "--benchmark_filter=^relu/cpu_scalar/f32/n:1024$", out=self.out)
        if "GPU benchmarks skipped" in r.stderr:
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("--device=7 was not checked: no GPU is visible", r.stderr)
        else:  # a GPU machine with fewer than 8 devices: a usage error
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("--device", r.stderr)

    def test_interrupted_run_leaves_no_file(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(signal=sig.name):
                p = subprocess.Popen([ACTBENCH, f"--benchmark_out={self.out}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                try:
                    deadline = time.monotonic() + 60
                    while not any(".tmp." in f for f in os.listdir(self.dir.name)):
                        self.assertIsNone(p.poll(), "actbench ended before it opened its log")
                        self.assertLess(time.monotonic(), deadline)
                        time.sleep(0.05)
                    time.sleep(0.5)  # into the run
                    p.send_signal(sig)
                    _, err = p.communicate(timeout=60)
                finally:
                    if p.poll() is None:
                        p.kill()
                        p.wait()
                self.assertEqual(p.returncode, -sig, err)  # ended by the signal itself
                self.assertIn("interrupted; the unfinished log was removed", err)
                self.assertEqual(os.listdir(self.dir.name), [])

    def test_filter_matching_nothing_writes_nothing(self):
        r = run(*QUICK, "--benchmark_filter=^nothing/", out=self.out)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(os.listdir(self.dir.name), [])


if __name__ == "__main__":
    ACTBENCH = sys.argv.pop(1)
    unittest.main()
