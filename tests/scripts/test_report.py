"""scripts/report.py: the Markdown and the plots from an actbench log, several runs side by
side, a CPU-only run, a foreign Google Benchmark log, no matplotlib, and bad input; the element
types (a section and a plot per type, the types side by side for the best variant, a log from
before the types read as f32); forward and backward families side by side, with the training
step against PyTorch's; the verdict against the peers (its arithmetic, who wins, absent peers
with their reasons, the peers' run alone); and what keeps a report from misleading: what the L2 flush
applies to, sizes that fit in cache, the share of its tolerance a variant used, shapes that
are no sweep, alt texts, and the noise."""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib.util
import io
import json
import re
import sys
import tempfile
import unittest
from pathlib import Path
from typing import Any
from unittest import mock

from support import FIXTURES, before_types, fixture, run_script, write_log

import gbjson
import report

HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
SWEEP = FIXTURES / "gpu_sweep.json"  # a full GPU sweep's shapes, with tol_used and ideal_bytes
# gpu_single's shapes in f32 and f16 (every family) and bf16 (sigmoid and copy), synthetic
TYPES = FIXTURES / "gpu_types.json"
# a torch_compare.py log of forward and backward families with PyTorch's rows, synthetic
BACKWARD = FIXTURES / "gpu_backward.json"
# a torch_compare.py log with every peer (torch, torch_compile, liger, cudnn), some winning, some
# absent for each reason, synthetic
PEERS = FIXTURES / "gpu_peers.json"
FLUSH_ROW = "| GPU L2 before each timed iteration |"
NO_FLUSH = "not applicable: no GPU variant ran, and CPU variants are never flushed"
NO_MATPLOTLIB = "matplotlib is not installed (python3 -m pip install matplotlib)"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def cpu_only(log: dict[str, Any], **context: Any) -> dict[str, Any]:
    """The CPU half of a GPU fixture, with the context actbench writes on a machine without a
    GPU (entries given as None are left out)."""
    ctx = {k: v for k, v in log["context"].items() if not k.startswith(("gpu_", "cuda_"))}
    ctx.update(machine="cpu-buildhost", gpu_skipped="no CUDA device: driver insufficient")
    ctx.update(context)
    return {"context": {k: v for k, v in ctx.items() if v is not None},
            "benchmarks": [b for b in log["benchmarks"] if "/cpu_" in b["name"]]}


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
        for old in self.out.glob("*.md"):  # the report of an earlier call in the same test
            old.unlink()
        stderr = io.StringIO()
        with mock.patch.dict(sys.modules, {"matplotlib": None}), \
                contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            code = report.main([*map(str, logs), "--out", str(self.out)])
        self.assertEqual(code, 0, stderr.getvalue())
        return next(self.out.glob("*.md")).read_text(), stderr.getvalue()

    def family(self, log: Path | dict, name: str,
               dtype: str = "f32") -> tuple[list[gbjson.Run], report.Family]:
        path = log if isinstance(log, Path) else write_log(self.dir, "log.json", log)
        runs = [gbjson.load(path)]
        return runs, next(f for f in report.build_families(runs)
                          if f.name == name and f.dtype == dtype)

    def figure(self, log: Path | dict, name: str, dtype: str = "f32") -> tuple[Any, str]:
        """The figure report.py draws for one family in one type, kept open, and its alt
        text."""
        runs, fam = self.family(log, name, dtype)
        plt = report.import_pyplot()
        with mock.patch.object(report, "save") as save, mock.patch.object(plt, "close"):
            alt = report.plot_family(plt, fam, runs, report.run_labels(runs), self.out / "x.png")
        fig = save.call_args.args[0]
        self.addCleanup(plt.close, fig)
        return fig, alt

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
                         "| warp | n:16777216 | 48.68 us ±0.59% | 2757 | 93.1% |",
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
        self.assertIn("| sigmoid | f32 | Synthetic GPU B | n:16777216 | warp |", md)

    @unittest.skipUnless(HAVE_MATPLOTLIB, NO_MATPLOTLIB)
    def test_cpu_only_run(self):
        md = self.render(write_log(self.dir, "cpu.json", cpu_only(fixture("gpu_single.json"))))
        self.assertPlots(md, minimum=3)  # sigmoid, softmax, copy
        self.assertIn("| GPU skipped | no CUDA device: driver insufficient |", md)
        self.assertNotIn("## bias_relu", md)
        # Only the bandwidth and % of copy panels are drawn, and the alt texts say so.
        alts = re.findall(r"!\[([^\]]*)\]", md)
        self.assertEqual(len(alts), 3)
        for alt in alts:
            self.assertIn("effective bandwidth", alt)
            self.assertNotIn("speed-up", alt)

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
                    if b["name"] == "softmax/warp/f32/rows:4194/cols:1000/manual_time")
        auto = copy.deepcopy(warp)  # picked warp's kernel but took 10% longer
        auto.update(name="softmax/auto/f32/rows:4194/cols:1000/manual_time",
                    run_name="softmax/auto/f32/rows:4194/cols:1000/manual_time",
                    real_time=warp["real_time"] * 1.1, bytes_per_second=warp["bytes_per_second"] / 1.1)
        log["benchmarks"].append(auto)
        md, _ = self.render_tables_only(write_log(self.dir, "log.json", log))
        self.assertIn("Fastest GPU variant at each size (auto: how close its pick by shape came", md)
        self.assertIn("| rows:4194/cols:1000 | warp | 2444 | 82.5% | 2221 | 91% |", md)
        self.assertIn("| rows:1024/cols:4096 | warp | 2560 | 86.4% | – | – |", md)

    def test_the_l2_flush_is_said_to_apply_to_gpu_variants_only(self):
        gpu, _ = self.render_tables_only(SWEEP)
        self.assertIn(f"{FLUSH_ROW} cold (GPU variants only; CPU variants are never flushed) |", gpu)
        # Whatever a CPU-only log says of the flush (older logs said "cold"), or if it says
        # nothing, the report claims no flush for CPU rows.
        for logged in ("cold", "not applicable: no GPU variants ran", None):
            with self.subTest(l2_flush=logged):
                log = write_log(self.dir, "cpu.json", cpu_only(fixture("gpu_sweep.json"), l2_flush=logged))
                md, _ = self.render_tables_only(log)
                self.assertIn(f"{FLUSH_ROW} {NO_FLUSH} |", md)
                self.assertNotIn("cold", md)
        both, _ = self.render_tables_only(SWEEP, log)
        self.assertIn(f"{FLUSH_ROW} cold (GPU variants only; CPU variants are never flushed) | "
                      f"{NO_FLUSH} |", both)

    def test_sizes_that_fit_in_cache_show_no_percent_of_copy(self):
        md, _ = self.render_tables_only(SWEEP)
        # 64K floats copied (512 KiB) fit in the CPU's caches; 16M (128 MiB) do not.
        self.assertIn("| cpu_memcpy | n:65536 | 11.39 us ±1.9% | 46 | in cache | – | – |", md)
        self.assertIn("| cpu_memcpy | n:16777216 | 4.456 ms ±2.1% | 30.1 | 100.4% | – | – |", md)
        # 4M floats in and out (32 MiB) fit in the GPU's 60 MiB L2; 16M do not.
        self.assertIn("| warp | n:4194304 | 7.645 us ±0.96% | 4389 | in cache |", md)
        self.assertIn("| warp | n:16777216 | 36.36 us ±2.3% | 3691 | 85.8% |", md)
        self.assertIn("fits in the CPU's L2 cache (16 × 2 MiB) / the GPU's 60 MiB L2, so not all", md)
        self.assertNotIn("111.3%", md.split("| cpu_onednn | n:1048576 |")[1].split("\n")[0])

    def test_cache_capacity_comes_from_the_logs_context(self):
        run = gbjson.load(SWEEP)
        self.assertEqual(report.cache_capacity(run, "gpu"), (62914560, "the GPU's 60 MiB L2"))
        # 16 CPUs with a private 2 MiB L2 each hold more than their one shared 8 MiB L3.
        self.assertEqual(report.cache_capacity(run, "cpu"), (32 << 20, "the CPU's L2 cache (16 × 2 MiB)"))
        # Two cores, 512 KiB L2 each and one 8 MiB L3 between them: the L3.
        run.context.update(num_cpus=2, caches=[
            {"type": "Data", "level": 1, "size": 32768, "num_sharing": 1},
            {"type": "Instruction", "level": 1, "size": 65536, "num_sharing": 1},
            {"type": "Unified", "level": 2, "size": 524288, "num_sharing": 1},
            {"type": "Unified", "level": 3, "size": 8388608, "num_sharing": 2}])
        self.assertEqual(report.cache_capacity(run, "cpu"), (8 << 20, "the CPU's L3 cache (8 MiB)"))
        del run.context["caches"], run.context["gpu_l2_bytes"]
        self.assertIsNone(report.cache_capacity(run, "cpu"))
        self.assertIsNone(report.cache_capacity(run, "gpu"))

    def test_a_log_without_ideal_bytes_says_it_cannot_mark_cache_resident_sizes(self):
        md, _ = self.render_tables_only(FIXTURES / "gpu_reps.json")
        self.assertIn("The log has no ideal_bytes counter (an older actbench)", md)
        self.assertIn("| cpu_omp | n:1048576 | 233 us ±0.59% | 36 | 116.1% |", md)

    def test_tolerance_used_is_shown_beside_the_raw_errors(self):
        md, _ = self.render_tables_only(SWEEP)
        self.assertIn("100% = failing", md)
        self.assertIn("| max abs err | max rel err | max ulp err | tolerance used | atol | rtol |", md)
        # A subnormal output flushed to 0: relative error 1, 2e6 ulps, 2.43% of the tolerance.
        self.assertIn("| cpu_onednn | cpu | oneDNN eltwise_logistic | 8.68e-08 | 1 | 2.15e+06 | "
                      "2.43% | 1.00e-37 | 1.00e-06 |", md)
        # The largest over the sizes (12%, 24% and 36% at different sizes).
        self.assertIn("| naive | gpu | one thread per element, scalar loads | 1.80e-07 | 3.60e-07 | 6 | 36% |", md)
        # A log from before the counter renders without the column.
        old, _ = self.render_tables_only(FIXTURES / "gpu_reps.json")
        self.assertNotIn("tolerance used", old)
        self.assertIn("| cpu_omp | cpu | OpenMP threads + SIMD, vectorized exp | 1.19e-07 | 2.30e-07 | "
                      "1.00e-37 | 1.00e-06 |", old)

    def test_noise_is_shown_where_there_are_repetitions(self):
        md, _ = self.render_tables_only(SWEEP)
        self.assertIn("Times are medians over 3 repetitions; ± is their spread, 1.4826 × the median "
                      "absolute deviation", md)
        self.assertIn("| warp | n:16777216 | 36.36 us ±2.3% |", md)
        single, _ = self.render_tables_only(FIXTURES / "gpu_single.json")
        self.assertIn("every benchmark ran once: the times carry no noise estimate", single)
        self.assertNotIn("±", single)
        # A time 10% either way puts a bandwidth of 100 between 100/1.1 and 100/0.9.
        _, fam = self.family(SWEEP, "sigmoid")
        row = dataclasses.replace(fam.rows[0], noise=0.1)
        (below,), (above,) = report.error_bars([row], [100.0])
        self.assertAlmostEqual(below, 100 - 100 / 1.1)
        self.assertAlmostEqual(above, 100 / 0.9 - 100)
        self.assertIsNone(report.error_bars([dataclasses.replace(row, noise=None)], [100.0]))

    @unittest.skipUnless(HAVE_MATPLOTLIB, NO_MATPLOTLIB)
    def test_plots_draw_error_bars_and_leave_cache_resident_sizes_out_of_percent_of_copy(self):
        fig, alt = self.figure(SWEEP, "copy")
        bandwidth, pct = fig.axes[:2]
        self.assertTrue(all(c.has_yerr for c in bandwidth.containers))
        self.assertIn("(sizes that fit in cache left out)", pct.get_title())
        xs = {x for c in pct.containers for x in c.lines[0].get_xdata()}
        self.assertEqual(min(xs), 1 << 24)
        self.assertTrue(alt.endswith("with error bars for the noise over repetitions"), alt)
        single, alt = self.figure(FIXTURES / "gpu_single.json", "sigmoid")
        self.assertFalse(any(c.has_yerr for c in single.axes[0].containers))
        self.assertNotIn("error bars", alt)

    @unittest.skipUnless(HAVE_MATPLOTLIB, NO_MATPLOTLIB)
    def test_shapes_that_are_no_sweep_over_the_row_length_are_not_joined(self):
        fig, alt = self.figure(SWEEP, "softmax")
        self.assertEqual(alt, "softmax (f32): effective bandwidth, percent of copy bandwidth, speed-up over "
                              "the best CPU baseline and speed-up over naive against row length "
                              "(cols), with error bars for the noise over repetitions")
        styles = {}
        for ax in (fig.axes[0], fig.axes[2]):
            for c in ax.containers:
                line = c.lines[0]
                styles[(ax.get_title(), tuple(line.get_xdata()))] = line.get_linestyle()
        sweep = (32, 128, 1024, 4096, 16384, 65536, 262144, 1 << 20)
        # The GPU's sweep at ~64M elements is a line; the CPU's two shapes at ~16M are points,
        # and so are the GPU's speed-ups over the CPU, which exist at those two row lengths only.
        self.assertEqual(styles[("Effective bandwidth", sweep)], "-")
        self.assertEqual(styles[("Effective bandwidth", (1024, 65536))], "None")
        self.assertEqual(styles[("Speed-up over the best CPU baseline", (1024, 65536))], "None")
        legend = [t.get_text() for t in fig.legends[0].get_texts()]
        self.assertIn("~16M elements (points: too few shapes to be a sweep)", legend)
        self.assertIn("~64M elements", legend)

    def test_failed_benchmarks_are_listed(self):
        log = fixture("gpu_single.json")
        log["benchmarks"].append({"name": "tanh/warp/f16/n:7/manual_time", "run_type": "iteration",
                                  "error_occurred": True, "error_message": "mismatch: 1 of 7",
                                  "real_time": 0, "time_unit": "us"})
        md, _ = self.render_tables_only(write_log(self.dir, "log.json", log))
        self.assertIn("## Errors", md)
        self.assertIn("| tanh/warp/f16/n:7/manual_time | mismatch: 1 of 7 |", md)

    def test_each_type_has_its_own_section_summary_row_and_tolerances(self):
        md, _ = self.render_tables_only(TYPES)
        headings = re.findall(r"^## (.*)$", md, re.MULTILINE)
        self.assertEqual(headings, [
            "Machine", "Summary", "f32 vs f16 vs bf16", "sigmoid (f32)", "sigmoid (f16)",
            "sigmoid (bf16)", "bias_relu (f32)", "bias_relu (f16)", "softmax (f32)",
            "softmax (f16)", "copy (f32)", "copy (f16)", "copy (bf16)"])
        self.assertIn("| family | type | size | fastest | time | GB/s | % of copy |", md)
        self.assertIn("| sigmoid | f16 | n:16777216 | warp | 25.32 us | 2651 | 89.5% | 103× | "
                      "1.32× over naive |", md)
        self.assertIn("| sigmoid | bf16 | n:16777216 | warp | 24.81 us | 2705 | 91.3% |", md)
        f16 = md.split("## sigmoid (f16)")[1].split("\n## ")[0]
        # speed-ups within the type: over f16's own naive and f16's CPU baseline
        self.assertIn("| warp | n:16777216 | 25.32 us | 2651 | 89.5% | 103× | 1.32× |", f16)
        # the 16-bit tolerances, with their ulps; f32 has none and no such column
        self.assertIn("ulps: rtol in units of f16's epsilon, 2^-10", f16)
        self.assertIn("| atol | rtol | ulps |", f16)
        self.assertIn("| naive | gpu | one thread per element, scalar loads | 4.88e-04 | 4.88e-04 | "
                      "0.5 | 50% | 5.96e-08 | 9.77e-04 | 1 |", f16)
        f32 = md.split("## sigmoid (f32)")[1].split("\n## ")[0]
        self.assertNotIn("ulps", f32)
        self.assertIn("| warp | n:16777216 | 48.68 us | 2757 | 93.1% | 76.6× | 1.14× |", f32)

    def test_types_side_by_side_for_the_best_variant(self):
        md, _ = self.render_tables_only(TYPES)
        section = md.split("## f32 vs f16 vs bf16")[1].split("\n## ")[0]
        self.assertIn("the highest GB/s among the project's own GPU variants", section)
        self.assertEqual(re.findall(r"^### (.*)$", section, re.MULTILINE),
                         ["sigmoid", "bias_relu", "softmax"])  # copy is the roofline
        self.assertIn("| size | f32 best | f32 GB/s | f32 % of copy | f16 best | f16 GB/s | "
                      "f16 % of copy | f16 × f32 | bf16 best | bf16 GB/s | bf16 % of copy | "
                      "bf16 × f32 |", section)
        # the best variant of each type, which may differ; % of copy as the bench measured it
        # against a copy of the same bytes, and "in cache" where the type's bytes fit in the L2
        self.assertIn("| n:65536 | warp | 560 | in cache | naive | 408 | in cache | 1.46× | "
                      "warp | 549 | in cache | 1.96× |", section)
        self.assertIn("| n:16777216 | warp | 2757 | 93.1% | warp | 2651 | 89.5% | 1.92× | "
                      "warp | 2705 | 91.3% | 1.96× |", section)
        softmax = section.split("### softmax")[1]
        self.assertIn("| size | f32 best | f32 GB/s | f32 % of copy | f16 best | f16 GB/s | "
                      "f16 % of copy | f16 × f32 |\n", softmax)
        self.assertIn("| rows:1024/cols:4096 | warp | 2560 | in cache | warp | 2327 | in cache | "
                      "1.82× |", softmax)
        # a log of one type has no such section
        for log in (SWEEP, FIXTURES / "gpu_single.json"):
            single, _ = self.render_tables_only(log)
            self.assertNotIn(" vs f16", single)

    def test_library_references_and_cpu_baselines_are_not_the_best_variant(self):
        log = fixture("gpu_types.json")
        registry = json.loads(log["context"]["actbench_variants"])
        registry.append({"id": "sigmoid/thrust/f16", "family": "sigmoid", "variant": "thrust",
                         "step": 10, "device": "gpu", "summary": "thrust::transform",
                         "atol": 5.96e-08, "rtol": 2 ** -10, "dtype": "f16", "ulps": 1})
        log["context"]["actbench_variants"] = json.dumps(registry)
        warp = next(b for b in log["benchmarks"]
                    if b["name"] == "sigmoid/warp/f16/n:16777216/manual_time")
        thrust = copy.deepcopy(warp)  # faster than warp, but a library's code
        thrust.update(name="sigmoid/thrust/f16/n:16777216/manual_time",
                      run_name="sigmoid/thrust/f16/n:16777216/manual_time",
                      real_time=warp["real_time"] / 1.05,
                      bytes_per_second=warp["bytes_per_second"] * 1.05)
        log["benchmarks"].append(thrust)
        md, _ = self.render_tables_only(write_log(self.dir, "log.json", log))
        section = md.split("## f32 vs f16 vs bf16")[1].split("\n## ")[0]
        self.assertIn("| n:16777216 | warp | 2757 | 93.1% | warp | 2651 | 89.5% | 1.92× |", section)
        self.assertIn("| sigmoid | f16 | n:16777216 | thrust |", md)  # the fastest of all
        # a GPU run's type without GPU rows at a shape has no best there, not its CPU baseline
        gone = fixture("gpu_types.json")
        gone["benchmarks"] = [b for b in gone["benchmarks"]
                              if not re.fullmatch(r"sigmoid/(naive|warp)/f16/n:16777216.*", b["name"])]
        md, _ = self.render_tables_only(write_log(self.dir, "gone.json", gone))
        self.assertIn("| n:16777216 | warp | 2757 | 93.1% | – | – | – | – | warp |", md)
        # a run without GPU rows sets its CPU baselines side by side
        cpu, _ = self.render_tables_only(write_log(self.dir, "cpu.json", cpu_only(fixture("gpu_types.json"))))
        section = cpu.split("## f32 vs f16 vs bf16")[1].split("\n## ")[0]
        self.assertIn("| n:16777216 | cpu_omp | 36 | 116.1% | cpu_omp | 25.7 | 82.9% | 1.43× | "
                      "cpu_omp | 26.2 | 84.6% | 1.46× |", section)

    def test_a_log_from_before_the_types_reads_as_f32(self):
        """The same log with names and registry ids without their dtype part (as actbench wrote
        them before the types) gives the same report."""
        log = fixture("gpu_sweep.json")
        old = before_types(log)
        self.assertNotIn("/f32/", json.dumps(old["benchmarks"]))
        (self.dir / "old").mkdir()
        new_md, _ = self.render_tables_only(write_log(self.dir, "run.json", log))
        old_md, _ = self.render_tables_only(write_log(self.dir / "old", "run.json", old))
        self.assertEqual(old_md, new_md)
        self.assertIn("## sigmoid (f32)", old_md)

    def test_the_copy_line_of_a_type_without_the_context_figure(self):
        run = gbjson.load(TYPES)
        self.assertEqual(report.copy_bandwidth(run, [run], "gpu", "f16"), 2961.4)
        del run.context["gpu_copy_bw_gbs"]
        best_f16 = max(b.counter("bytes_per_second") for b in run.benchmarks.values()
                       if b.name.variant_id == "copy/cuda_memcpy/f16")
        self.assertAlmostEqual(report.copy_bandwidth(run, [run], "gpu", "f16"), best_f16 / 1e9)
        self.assertNotAlmostEqual(report.copy_bandwidth(run, [run], "gpu", "f32"), best_f16 / 1e9)

    @unittest.skipUnless(HAVE_MATPLOTLIB, NO_MATPLOTLIB)
    def test_a_plot_per_family_and_type(self):
        md = self.render(TYPES)
        self.assertPlots(md, minimum=10)
        self.assertEqual(sorted(p.name for p in self.out.glob("*.png")), [
            f"gpu_types_{name}.png" for name in (
                "bias-relu_f16", "bias-relu_f32", "copy_bf16", "copy_f16", "copy_f32",
                "sigmoid_bf16", "sigmoid_f16", "sigmoid_f32", "softmax_f16", "softmax_f32")])
        self.assertIn("![sigmoid (bf16): effective bandwidth", md)
        fig, alt = self.figure(TYPES, "sigmoid", "f16")
        self.assertTrue(alt.startswith("sigmoid (f16): "), alt)
        self.assertTrue(fig._suptitle.get_text().startswith("sigmoid (f16): "))
        legend = [t.get_text() for t in fig.legends[0].get_texts()]
        self.assertIn("GPU copy 2961 GB/s", legend)
        # the f16 naive's points, not the f32 one's: the bandwidth at 16M is f16's
        bandwidth = fig.axes[0]
        ys = {round(y) for c in bandwidth.containers for y in c.lines[0].get_ydata()}
        self.assertIn(2010, ys)
        self.assertNotIn(2412, ys)

    def test_a_gated_family_is_row_shaped_and_moves_what_ideal_bytes_says(self):
        """swiglu as the bench logs it: rows:R/cols:C with C the output's row length, plotted
        against it, each GPU variant against unfused, and its working set taken from
        ideal_bytes (three tensors of R x C: x's halves read, y written) when judging what
        fits in the L2."""
        log = json.loads(json.dumps(fixture("gpu_single.json")).replace("bias_relu", "swiglu"))
        for b in log["benchmarks"]:
            name = gbjson.parse_name(b["name"])
            if name.family == "swiglu":
                b["ideal_bytes"] = 3 * 4 * name.param("rows") * name.param("cols")
        runs, fam = self.family(log, "swiglu")
        self.assertTrue(fam.row_shaped)
        self.assertEqual(fam.x_label, "row length (cols)")
        self.assertEqual(fam.first.variant, "unfused")
        cache = {r.name.shape: r.cache for r in fam.rows if r.variant.variant == "fused_warp"}
        self.assertEqual(cache["rows:1024/cols:1024"], "the GPU's 50 MiB L2")  # 12 MiB
        self.assertIsNone(cache["rows:16384/cols:1024"])  # 192 MiB
        self.assertTrue(all(r.x_first for r in fam.rows if r.variant.variant == "fused_warp"))
        md, _ = self.render_tables_only(write_log(self.dir, "gated.json", log))
        self.assertIn("## swiglu (f32)", md)

    def test_forward_and_backward_side_by_side_with_the_training_step(self):
        md, _ = self.render_tables_only(BACKWARD)
        section = md.split("## Forward and backward")[1].split("\n## ")[0]
        # an activation appears where its backward family does: softmax has none in the log,
        # tanh's forward is missing and shows as such
        self.assertEqual(re.findall(r"^### (.*)$", section, re.MULTILINE),
                         ["sigmoid", "tanh", "bias_relu"])
        sigmoid = section.split("### sigmoid")[1].split("### ")[0]
        self.assertIn("| type | size | forward best | forward GB/s | forward % of copy | "
                      "backward best | backward GB/s | backward % of copy | step (forward + "
                      "backward) | PyTorch's step | × PyTorch |", sigmoid)
        # the best of the project's own (warp over naive, never PyTorch): 190 + 300 us against
        # PyTorch's 210 + 350; the backward's bandwidth from its own three tensors
        self.assertIn("| f32 | n:67108864 | warp | 2826 | 94.2% | warp | 2684 | 89.5% | 490 us | "
                      "560 us | 1.14× |", sigmoid)
        self.assertIn("| f32 | n:1048576 | warp | 2097 | in cache | warp | 2097 | in cache | "
                      "10 us | 15 us | 1.5× |", sigmoid)
        # f16 has PyTorch's forward only: no step of PyTorch's to set against
        self.assertIn("| f16 | n:67108864 | warp | 2684 | 92.6% | warp | 2684 | 92.6% | 250 us | "
                      "– | – |", sigmoid)
        self.assertIn("| f32 | n:67108864 | – | – | – | warp | 2777 | 92.6% |\n",
                      section.split("### tanh")[1])
        self.assertIn("| f32 | rows:16384/cols:4096 | fused | 2826 | 94.2% | fused | 2876 | "
                      "95.9% | 470 us | 670 us | 1.43× |", section.split("### bias_relu")[1])
        # the backward families have their sections as every family does
        self.assertIn("## sigmoid_backward (f16)", md)
        self.assertIn("## bias_relu_backward (f32)", md)
        # without PyTorch's rows (an actbench log), no step columns; a log without backward
        # families has no such section
        log = fixture("gpu_backward.json")
        log["benchmarks"] = [b for b in log["benchmarks"] if "/torch/" not in b["name"]]
        ours, _ = self.render_tables_only(write_log(self.dir, "actbench.json", log))
        self.assertIn("| f32 | n:67108864 | warp | 2826 | 94.2% | warp | 2684 | 89.5% |\n", ours)
        self.assertNotIn("| PyTorch's step |", ours)
        types, _ = self.render_tables_only(TYPES)
        self.assertNotIn("## Forward and backward", types)

    @unittest.skipUnless(HAVE_MATPLOTLIB, NO_MATPLOTLIB)
    def test_a_forward_and_backward_plot_per_activation_and_type(self):
        log = fixture("gpu_backward.json")  # sigmoid's and tanh's alone: fewer plots to draw
        log["benchmarks"] = [b for b in log["benchmarks"]
                             if b["name"].startswith(("sigmoid", "tanh"))]
        # sigmoid's f16 rows at a second size too (the fixture has one: no plot against size)
        second = copy.deepcopy([b for b in log["benchmarks"] if "/f16/n:67108864" in b["name"]])
        for b in second:
            for key in ("name", "run_name"):
                b[key] = b[key].replace("n:67108864", "n:16777216")
        log["benchmarks"] += second
        md = self.render(write_log(self.dir, "bwd.json", log))
        self.assertPlots(md, minimum=5)
        fwd_bwd = sorted(p.name for p in self.out.glob("*forward-backward*.png"))
        self.assertEqual(fwd_bwd, [f"bwd_forward-backward_{k}.png" for k in
                                   ("sigmoid_f16", "sigmoid_f32")])
        # tanh_backward (f32) holds one shape: its table, and no plot of one column of dots
        tanh = md.split("## tanh_backward (f32)")[1].split("\n## ")[0]
        self.assertIn("One shape only: no plot against size", tanh)
        self.assertNotIn("![", tanh)
        section = md.split("## Forward and backward")[1].split("\n## ")[0]
        self.assertIn("tanh (f32): one shape only, no plot against size.", section)
        self.assertIn("![sigmoid (f16): effective bandwidth of the best forward, best backward "
                      "and PyTorch's forward against elements (n)](bwd_forward-backward_sigmoid_f16.png)",
                      section)
        runs = [gbjson.load(BACKWARD)]
        act = next(a for a in report.activations(report.build_families(runs))
                   if a.name == "sigmoid" and a.dtype == "f32")
        plt = report.import_pyplot()
        with mock.patch.object(report, "save") as save, mock.patch.object(plt, "close"):
            alt = report.plot_forward_backward(plt, act, runs, report.run_labels(runs),
                                               self.out / "x.png")
        fig = save.call_args.args[0]
        self.addCleanup(plt.close, fig)
        self.assertTrue(alt.startswith("sigmoid (f32): effective bandwidth of the best forward, "
                                       "best backward, PyTorch's forward and PyTorch's backward"), alt)
        legend = [t.get_text() for t in fig.legends[0].get_texts()]
        self.assertEqual(legend, ["best forward", "best backward", "PyTorch's forward",
                                  "PyTorch's backward", "GPU copy 3000 GB/s"])
        # the best backward's line: warp's bandwidth at both sizes
        ys = {tuple(round(y) for y in line.get_ydata()) for line in fig.axes[0].lines}
        self.assertIn((2097, 2684), ys)

    def test_the_verdict_sets_actbench_best_against_every_peer_with_the_reasons_of_the_absent(self):
        self.assertIn("synthetic", fixture("gpu_peers.json")["context"]["fixture"])
        md, _ = self.render_tables_only(PEERS)
        section = md.split("## Verdict: actbench against its peers")[1].split("\n## ")[0]
        # every family but the copy (the roofline), in registry order
        self.assertEqual(re.findall(r"^### (.*)$", section, re.MULTILINE),
                         ["sigmoid", "sigmoid_backward", "softmax", "softmax_backward", "swiglu"])
        self.assertIn("7 compiles, 2 s median, 14 s in all (compile_s; not in any time)", section)
        sigmoid = section.split("### sigmoid\n")[1].split("### ")[0]
        # columns: the peers the family has (no Liger kernel, no reason: no column); each cell
        # the time and its % of copy (in cache where the working set fits in the 50 MiB L2)
        self.assertIn("| type | size | actbench best | torch | torch_compile | cudnn | × best peer |",
                      sigmoid)
        self.assertIn("| f32 | n:1048576 | warp 4 us · in cache | 6 us · in cache | 8 us · in cache "
                      "| 5 us · in cache | 1.25× over cudnn |", sigmoid)
        # a peer that wins is bold and marked, in its cell and in the verdict; a tie is no win
        self.assertIn("| f32 | n:67108864 | warp 190 us · 94.2% | 210 us · 85.2% | **180 us · 99.4%** "
                      "| 200 us · 89.5% | **0.947× over torch_compile** ◀ peer wins |", sigmoid)
        self.assertIn("| bf16 | n:67108864 | warp 100 us · 89.5% | 110 us · 81.3% | 100 us · 89.5% | – "
                      "| 1× over torch_compile |", sigmoid)
        # geomeans over the family's types and shapes: per peer and over the best peer
        self.assertIn("| geomean |  |  | 1.22× | 1.24× | 1.15× | 1.06× |", sigmoid)
        softmax = section.split("### softmax\n")[1].split("### ")[0]
        self.assertIn("| type | size | actbench best | auto | torch | torch_compile | liger | cudnn "
                      "| × best peer |", softmax)
        # absent peers with the reason the run gives: a failed row, a failed compile
        self.assertIn("| bf16 | rows:4096/cols:1024 | warp 7 us · in cache | 7 us · in cache | "
                      "absent [1] | absent [2] | 8 us · in cache | 9 us · in cache | "
                      "1.14× over liger |", softmax)
        self.assertIn("- [1] failed: CUDA out of memory (synthetic)\n- [2] compile failed: "
                      "BackendCompilerFailed: backend='inductor' raised: RuntimeError: synthetic\n",
                      softmax)
        self.assertIn("| geomean |  |  |  | 1.26× | **0.987×** ◀ peer wins | 1.12× | 1.31× | 1.04× |",
                      softmax)
        # a Liger call not set up at one shape, Liger not importable for a whole family
        self.assertIn("| absent [1] | 1.11× over torch_compile |\n",
                      section.split("### softmax_backward")[1])
        self.assertIn("- [1] could not be set up: AttributeError: synthetic",
                      section.split("### softmax_backward")[1])
        self.assertIn("- [1] not importable: ImportError: cannot import name "
                      "'LigerSiLUMulFunction' (synthetic)", section.split("### swiglu")[1])
        # the settings are in the context table; the reasons are the verdict's, not repeated there
        self.assertIn("| torch_compile | torch.compile(mode='default', dynamic=False, "
                      "fullgraph=True), PyTorch 2.9.0:", md)
        self.assertNotIn("| peers_unavailable |", md)

    def test_the_verdict_arithmetic(self):
        runs = [gbjson.load(PEERS)]
        verdict = report.verdict_rows(runs, report.build_families(runs))
        self.assertNotIn("copy", verdict)
        big = next(v for v in verdict["sigmoid"] if v.dtype == "f32" and v.sample.x == 1 << 26)
        self.assertEqual((big.best.variant.variant, big.best_peer.variant.variant),
                         ("warp", "torch_compile"))
        self.assertAlmostEqual(big.speedup, 180 / 190)
        self.assertAlmostEqual(big.over("torch"), 210 / 190)
        self.assertIsNone(big.over("liger"))
        self.assertEqual(big.absent, {})
        self.assertAlmostEqual(report.geomean(v.speedup for v in verdict["sigmoid"]),
                               (5 / 4 * 180 / 190 * 100 / 100) ** (1 / 3))
        self.assertAlmostEqual(report.geomean([2.0, None, 8.0]), 4.0)
        self.assertIsNone(report.geomean([None]))
        # softmax's best is the project's own fastest, auto among them, never a peer or cuDNN
        long_rows = next(v for v in verdict["softmax"] if v.sample.x == 32768)
        self.assertEqual((long_rows.best.variant.variant, long_rows.auto.time_ns), ("online", 52e3))
        self.assertEqual(sorted(long_rows.peers), ["cudnn", "liger", "torch", "torch_compile"])
        short_bf16 = next(v for v in verdict["softmax"] if v.dtype == "bf16")
        self.assertEqual(sorted(short_bf16.absent), ["torch", "torch_compile"])
        self.assertAlmostEqual(short_bf16.speedup, 8 / 7)
        self.assertEqual(report.verdict_cell(0.9, "liger"), "**0.9× over liger** ◀ peer wins")
        self.assertEqual(report.verdict_cell(1.0, "liger"), "1× over liger")
        self.assertEqual(report.verdict_cell(None), "–")

    def test_the_verdict_reads_the_run_that_measured_the_peers(self):
        """Beside an actbench log (gpu_check's report reads both), the verdict's rows are the
        peers' run's alone; a log without peers has no verdict; PyTorch's rows alone make one."""
        md, _ = self.render_tables_only(TYPES, PEERS)
        section = md.split("## Verdict: actbench against its peers")[1].split("\n## ")[0]
        runs = {line.split(" | ")[0] for line in section.splitlines()
                if line.startswith("| ") and not line.startswith(("| run", "| ---"))}
        self.assertEqual(runs, {"| gpu_peers"})
        types, _ = self.render_tables_only(TYPES)
        self.assertNotIn("## Verdict", types)
        backward, _ = self.render_tables_only(BACKWARD)
        self.assertIn("| type | size | actbench best | torch | × best peer |\n",
                      backward.split("## Verdict")[1].split("### sigmoid\n")[1])

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
