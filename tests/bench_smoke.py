"""Smoke tests of the actbench binary: a tiny CPU run must write a whole, well-formed Google
Benchmark log with our context and counters; bad usage must fail cleanly; a verification
mismatch must still write the log and exit 1. They need no GPU (GPU benchmarks are skipped
and the log says why); on a GPU machine the same checks cover the GPU rows too.

usage: bench_smoke.py ACTBENCH [unittest args...]
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

ACTBENCH = ""
NAME = re.compile(r"^[a-z_]+/[a-z_0-9]+/(n:\d+|rows:\d+/cols:\d+)$")
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
        names = [b["name"] for b in log["benchmarks"]]
        self.assertIn("relu/cpu_scalar/n:1024", names)
        self.assertIn("copy/cpu_memcpy/n:65536", names)
        self.assertTrue(any(n.startswith("softmax/cpu_omp/rows:") for n in names), names)
        for b in log["benchmarks"]:
            self.assertRegex(b["name"], NAME)
            self.assertFalse(b.get("error_occurred", False), b)
            self.assertGreater(b["bytes_per_second"], 0)
            self.assertGreater(b["pct_copy_bw"], 0)
            self.assertIn("max_abs_err", b)
        self.assertEqual(os.listdir(self.dir.name), ["run.json"])  # no temporary left behind

    def test_context_carries_the_registry(self):
        r = run("--list")
        self.assertEqual(r.returncode, 0, r.stderr)
        listed = [line.split()[0] for line in r.stdout.splitlines()]
        r = run(*QUICK, "--benchmark_filter=^relu/cpu_scalar/n:1024$", out=self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        registry = json.loads(json.load(open(self.out))["context"]["actbench_variants"])
        self.assertEqual([v["id"] for v in registry], listed)
        for family in ("sigmoid", "tanh", "relu", "softmax"):
            self.assertIn(f"{family}/naive", listed)
            self.assertIn(f"{family}/cpu_omp", listed)
        self.assertIn("softmax/auto", listed)
        self.assertIn("bias_relu/fused_warp", listed)

    def test_mismatch_is_logged_and_fails(self):
        r = run(*QUICK, "--benchmark_filter=^relu/cpu_scalar/n:1024$",
                "--inject-mismatch=relu/cpu_scalar", out=self.out)
        self.assertEqual(r.returncode, 1, r.stderr)
        rows = json.load(open(self.out))["benchmarks"]
        self.assertTrue(rows[0]["error_occurred"])
        self.assertIn("mismatch", rows[0]["error_message"])

    def test_bad_usage_fails_cleanly(self):
        for args in (["--no-such-flag"], ["--n=0"], ["--n=abc"], ["--shape=12"], ["--device=x"],
                     ["--inject-mismatch=relu/nothing"]):
            r = run(*args, out=self.out)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertTrue(r.stderr.strip(), args)
            self.assertFalse(os.path.exists(self.out), args)

    def test_filter_matching_nothing_writes_nothing(self):
        r = run(*QUICK, "--benchmark_filter=^nothing/", out=self.out)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(os.listdir(self.dir.name), [])


if __name__ == "__main__":
    ACTBENCH = sys.argv.pop(1)
    unittest.main()
