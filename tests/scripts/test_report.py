"""scripts/report.py: the Markdown and the plots from an actbench log, several runs side by
side, a CPU-only run, a foreign Google Benchmark log, no matplotlib, and bad input."""
from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from support import FIXTURES, fixture, run_script, write_log

import report

HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
NO_MATPLOTLIB = "matplotlib is not installed (python3 -m pip install matplotlib)"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class ReportTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.out = self.dir / "reports"

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def render(self, *logs: Path) -> str:
        """Runs report.py as a user would; returns the Markdown it wrote."""
        r = run_script("report.py", *logs, "--out", self.out)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("warning", r.stderr)
        reports = list(self.out.glob("*.md"))
        self.assertEqual(len(reports), 1, reports)
        return reports[0].read_text()

    def render_tables_only(self, *logs: Path) -> tuple[str, str]:
        """Runs report.main in this process as if matplotlib were missing: (Markdown, stderr)."""
        stderr = io.StringIO()
        with mock.patch.dict(sys.modules, {"matplotlib": None}), \
                contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            code = report.main([*map(str, logs), "--out", str(self.out)])
        self.assertEqual(code, 0, stderr.getvalue())
        return next(self.out.glob("*.md")).read_text(), stderr.getvalue()

    def assertPlots(self, markdown: str, minimum: int) -> None:
        """Every plot the Markdown shows exists as a PNG next to it, and nothing else is left."""
        pngs = sorted(self.out.glob("*.png"))
        self.assertGreaterEqual(len(pngs), minimum)
        for png in pngs:
            self.assertIn(f"]({png.name})", markdown)
            self.assertEqual(png.read_bytes()[:8], PNG_MAGIC)
        self.assertEqual(sorted(p.name for p in self.out.iterdir() if p.name.startswith(".")), [])

    @unittest.skipUnless(HAVE_MATPLOTLIB, NO_MATPLOTLIB)
    def test_run_with_repetitions(self):
        md = self.render(FIXTURES / "gpu_reps.json")
        self.assertTrue((self.out / "gpu_reps.md").exists())
        self.assertPlots(md, minimum=2)  # sigmoid and copy
        for expected in ("## Machine", "| GPU | Synthetic GPU (test fixture) |", "| L2 cache | 50 MiB |",
                         "## Summary", "## sigmoid", "## copy", "× naive", "× CPU",
                         "| warp | n:16777216 | 48.68 us | 2757 | 93.1% |",
                         "| cpu_omp | cpu | OpenMP threads + SIMD, vectorized exp | 1.19e-07 |"):
            self.assertIn(expected, md)

    @unittest.skipUnless(HAVE_MATPLOTLIB, NO_MATPLOTLIB)
    def test_two_machines_side_by_side(self):
        gpu_b = copy.deepcopy(fixture("gpu_reps.json"))
        gpu_b["context"].update(machine="Synthetic GPU B", gpu_name="Synthetic GPU B")
        md = self.render(FIXTURES / "gpu_reps.json", write_log(self.dir, "gpu_b.json", gpu_b))
        self.assertTrue((self.out / "gpu_reps_vs_gpu_b.md").exists())
        self.assertPlots(md, minimum=2)
        self.assertIn("|  | Synthetic GPU (test fixture) | Synthetic GPU B |", md)
        self.assertIn("| sigmoid | Synthetic GPU B | n:16777216 | warp |", md)

    @unittest.skipUnless(HAVE_MATPLOTLIB, NO_MATPLOTLIB)
    def test_cpu_only_run(self):
        log = fixture("gpu_single.json")
        ctx = {k: v for k, v in log["context"].items() if not k.startswith(("gpu_", "cuda_"))}
        ctx.update(machine="cpu-buildhost", gpu_skipped="no CUDA device: driver insufficient")
        log = {"context": ctx, "benchmarks": [b for b in log["benchmarks"]
                                              if "/cpu_" in b["name"]]}
        md = self.render(write_log(self.dir, "cpu.json", log))
        self.assertPlots(md, minimum=3)  # sigmoid, softmax, copy
        self.assertIn("| GPU skipped | no CUDA device: driver insufficient |", md)
        self.assertNotIn("## bias_relu", md)

    @unittest.skipUnless(HAVE_MATPLOTLIB, NO_MATPLOTLIB)
    def test_foreign_google_benchmark_log(self):
        md = self.render(FIXTURES / "foreign.json")
        self.assertPlots(md, minimum=1)
        self.assertIn("## Other benchmarks", md)
        self.assertIn("| BM_Parse/threads:2 | 1.25 ms |", md)
        self.assertNotIn("## Summary", md)

    def test_without_matplotlib_tables_are_written_with_the_install_line(self):
        md, stderr = self.render_tables_only(FIXTURES / "gpu_single.json")
        self.assertIn("python3 -m pip install matplotlib", stderr)
        self.assertIn("python3 -m pip install matplotlib", md)
        self.assertIn("## softmax", md)
        self.assertIn("| warp | rows:1024/cols:4096 | 13.11 us | 2560 | 86.4% | 1219× | 28.4× |",
                      md)
        self.assertEqual(list(self.out.glob("*.png")), [])

    def test_auto_is_measured_against_the_fastest_variant_at_each_shape(self):
        log = fixture("gpu_single.json")
        warp = next(b for b in log["benchmarks"]
                    if b["name"] == "softmax/warp/rows:4194/cols:1000/manual_time")
        auto = copy.deepcopy(warp)  # picked warp's kernel but took 10% longer
        auto.update(name="softmax/auto/rows:4194/cols:1000/manual_time",
                    run_name="softmax/auto/rows:4194/cols:1000/manual_time",
                    real_time=warp["real_time"] * 1.1, bytes_per_second=warp["bytes_per_second"] / 1.1)
        log["benchmarks"].append(auto)
        md, _ = self.render_tables_only(write_log(self.dir, "log.json", log))
        self.assertIn("Fastest GPU variant at each size (auto: how close its pick by shape came", md)
        self.assertIn("| rows:4194/cols:1000 | warp | 2444 | 82.5% | 2221 | 91% |", md)
        self.assertIn("| rows:1024/cols:4096 | warp | 2560 | 86.4% | – | – |", md)

    def test_failed_benchmarks_are_listed(self):
        log = fixture("gpu_single.json")
        log["benchmarks"].append({"name": "tanh/warp/n:7/manual_time", "run_type": "iteration",
                                  "error_occurred": True, "error_message": "mismatch: 1 of 7",
                                  "real_time": 0, "time_unit": "us"})
        md, _ = self.render_tables_only(write_log(self.dir, "log.json", log))
        self.assertIn("## Errors", md)
        self.assertIn("| tanh/warp/n:7/manual_time | mismatch: 1 of 7 |", md)

    def test_unusable_logs_exit_2_and_write_nothing(self):
        text = (FIXTURES / "gpu_single.json").read_text()
        (self.dir / "truncated.json").write_text(text[:-200])
        (self.dir / "shape.json").write_text('{"benchmarks": [{"name": "x"}]}')
        for name, message in (("truncated.json", "not valid JSON"),
                              ("shape.json", "'real_time' is missing"),
                              ("absent.json", "cannot read")):
            with self.subTest(log=name):
                r = run_script("report.py", self.dir / name, "--out", self.out)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn(message, r.stderr)
                self.assertNotIn("Traceback", r.stderr)
                self.assertFalse(self.out.exists())


if __name__ == "__main__":
    unittest.main()
