"""scripts/gbjson.py: names (element types included, and the names of logs from before them),
folding of repetitions and the registry, on which report.py and compare.py both stand."""
from __future__ import annotations

import copy
import json
import math
import statistics
import tempfile
import unittest
from pathlib import Path

from support import FIXTURES, fixture, write_log

import gbjson


class Names(unittest.TestCase):
    def test_actbench_names_drop_what_google_benchmark_appends(self):
        n = gbjson.parse_name("softmax/warp/bf16/rows:4096/cols:1000/manual_time")
        self.assertEqual((n.family, n.variant, n.dtype, n.variant_id, n.family_variant),
                         ("softmax", "warp", "bf16", "softmax/warp/bf16", "softmax/warp"))
        self.assertEqual(n.params, (("rows", 4096), ("cols", 1000)))
        self.assertEqual(n.shape, "rows:4096/cols:1000")
        self.assertEqual(n.param("cols"), 1000)
        self.assertEqual(n.key, n.raw)
        n = gbjson.parse_name("relu/cpu_omp/f16/n:1024/min_time:0.050/repeats:3/real_time/threads:1")
        self.assertEqual((n.variant_id, n.dtype, n.shape), ("relu/cpu_omp/f16", "f16", "n:1024"))

    def test_every_type_is_parsed(self):
        for dtype in gbjson.DTYPES:
            with self.subTest(dtype=dtype):
                n = gbjson.parse_name(f"copy/cuda_memcpy/{dtype}/n:65536")
                self.assertEqual((n.family, n.variant, n.dtype, n.shape),
                                 ("copy", "cuda_memcpy", dtype, "n:65536"))

    def test_names_from_before_the_types_are_f32(self):
        old = gbjson.parse_name("sigmoid/warp/n:1024/manual_time")
        new = gbjson.parse_name("sigmoid/warp/f32/n:1024/manual_time")
        self.assertEqual((old.dtype, old.variant_id, old.shape), ("f32", "sigmoid/warp/f32", "n:1024"))
        self.assertEqual(old.raw, "sigmoid/warp/n:1024/manual_time")
        self.assertEqual(old.key, new.key)
        self.assertEqual(old.key, "sigmoid/warp/f32/n:1024/manual_time")
        # what Google Benchmark appends stays: manual and real time are different benchmarks
        self.assertNotEqual(gbjson.parse_name("sigmoid/warp/n:1024/real_time").key, new.key)
        self.assertNotEqual(gbjson.parse_name("sigmoid/warp/f16/n:1024/manual_time").key, new.key)

    def test_backward_families_parse_as_families_of_their_own(self):
        n = gbjson.parse_name("bias_relu_backward/fused/bf16/rows:4096/cols:1024/manual_time")
        self.assertEqual((n.family, n.variant, n.dtype, n.shape),
                         ("bias_relu_backward", "fused", "bf16", "rows:4096/cols:1024"))
        self.assertEqual(gbjson.forward_family(n.family), "bias_relu")
        n = gbjson.parse_name("sigmoid_backward/warp/f32/n:1024/manual_time")
        self.assertEqual((n.variant_id, n.shape), ("sigmoid_backward/warp/f32", "n:1024"))
        self.assertNotEqual(n.key, gbjson.parse_name("sigmoid/warp/f32/n:1024/manual_time").key)
        old = gbjson.parse_name("relu_backward/warp/n:1024/manual_time")  # before the types
        self.assertEqual(old.key, "relu_backward/warp/f32/n:1024/manual_time")
        for family in ("sigmoid", "softmax", "copy", "_backward", "backward"):
            with self.subTest(family=family):
                self.assertIsNone(gbjson.forward_family(family))
        self.assertEqual(gbjson.forward_family("softmax_backward"), "softmax")

    def test_other_names_stay_as_they_are(self):
        for raw in ("BM_memcpy/8", "BM_StringCopy", "BM_Parse/threads:2", "a/b/c",
                    "sigmoid/warp/n:abc", "sigmoid/warp", "sigmoid/warp/f16",
                    "sigmoid/warp/f16/abc"):
            with self.subTest(raw=raw):
                n = gbjson.parse_name(raw)
                self.assertIsNone(n.family)
                self.assertIsNone(n.dtype)
                self.assertIsNone(n.variant_id)
                self.assertEqual(n.raw, raw)
                self.assertEqual(n.key, raw)

    def test_slug_matches_the_log_names_of_bench_sh(self):
        self.assertEqual(gbjson.slug("NVIDIA H100 80GB HBM3"), "NVIDIA-H100-80GB-HBM3")
        self.assertEqual(gbjson.slug("cpu-build.host"), "cpu-build-host")


class Folding(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def test_repetitions_fold_to_median_cv_and_maxima(self):
        log = fixture("gpu_reps.json")
        name = "sigmoid/warp/f32/n:16777216/manual_time"
        rows = [b for b in log["benchmarks"]
                if b["run_name"] == name and b["run_type"] == "iteration"]
        rows[3]["max_abs_err"] = 1e-3  # one repetition saw a larger error
        b = gbjson.load(write_log(self.dir, "log.json", log)).benchmarks[name]
        times = [r["real_time"] * 1e3 for r in rows]  # us -> ns
        self.assertEqual(len(b.times_ns), 5)
        self.assertAlmostEqual(b.center_ns, statistics.median(times))
        self.assertAlmostEqual(b.cv, statistics.stdev(times) / statistics.fmean(times))
        self.assertEqual(b.counters["max_abs_err"], 1e-3)
        self.assertAlmostEqual(b.counters["bytes_per_second"],
                               statistics.median(r["bytes_per_second"] for r in rows))

    def test_robust_cv_ignores_an_outlier_repetition(self):
        log = fixture("gpu_reps.json")
        name = "sigmoid/warp/f32/n:16777216/manual_time"
        for row in log["benchmarks"]:
            if row["run_name"] == name and row["run_type"] == "iteration":
                row["real_time"] = [100, 98, 500, 102, 101][row["repetition_index"]]
        b = gbjson.load(write_log(self.dir, "log.json", log)).benchmarks[name]
        self.assertEqual(b.repetitions, 5)
        # median 101 us; deviations 1, 3, 399, 1, 0: MAD 1 us. The stdev-based cv is 99%.
        self.assertAlmostEqual(b.robust_cv, 1.4826 * 1 / 101)
        self.assertGreater(b.cv, 0.9)

    def test_single_run_has_no_robust_cv(self):
        b = next(iter(gbjson.load(FIXTURES / "gpu_single.json").benchmarks.values()))
        self.assertEqual(b.repetitions, 1)
        self.assertIsNone(b.robust_cv)

    def test_aggregates_only_log_uses_its_median_and_cv(self):
        log = fixture("gpu_reps.json")
        log["benchmarks"] = [b for b in log["benchmarks"] if b["run_type"] == "aggregate"]
        run = gbjson.load(write_log(self.dir, "log.json", log))
        b = run.benchmarks["copy/cpu_memcpy/f32/n:1048576/real_time"]
        median = [r for r in log["benchmarks"] if r["name"].endswith("real_time_median")
                  and r["run_name"] == "copy/cpu_memcpy/f32/n:1048576/real_time"][0]
        self.assertEqual(b.times_ns, [])
        self.assertEqual(b.repetitions, 0)
        self.assertIsNone(b.robust_cv)
        self.assertAlmostEqual(b.center_ns, median["real_time"] * 1e3)
        self.assertGreater(b.cv, 0)

    def test_errored_rows_mark_the_benchmark_failed(self):
        log = fixture("gpu_single.json")
        log["benchmarks"].append({"name": "tanh/warp/n:7/manual_time", "run_type": "iteration",
                                  "error_occurred": True, "error_message": "mismatch: 1 of 7",
                                  "real_time": 0, "time_unit": "us", "max_abs_err": math.nan})
        run = gbjson.load(write_log(self.dir, "log.json", log))
        b = run.benchmarks["tanh/warp/n:7/manual_time"]
        self.assertTrue(b.failed)
        self.assertEqual(b.errors, ["mismatch: 1 of 7"])
        self.assertIsNone(b.center_ns)

    def test_nan_counters_are_read(self):
        # Google Benchmark writes NaN unquoted; Python's json accepts it.
        text = (FIXTURES / "gpu_single.json").read_text().replace(
            '"max_abs_err": 5.96e-08', '"max_abs_err": NaN', 1)
        path = self.dir / "log.json"
        path.write_text(text)
        b = next(iter(gbjson.load(path).benchmarks.values()))
        self.assertTrue(math.isnan(b.counters["max_abs_err"]))
        self.assertIsNone(b.counter("max_abs_err"))


class Registry(unittest.TestCase):
    def test_variants_come_from_the_context(self):
        run = gbjson.load(FIXTURES / "gpu_single.json")
        self.assertTrue(run.has_registry)
        warp = run.variants["softmax/warp/f32"]
        self.assertEqual((warp.step, warp.device, warp.atol, warp.rtol, warp.dtype, warp.ulps),
                         (2, "gpu", 1e-9, 1e-5, "f32", None))
        self.assertTrue(warp.is_own_gpu)
        self.assertTrue(run.variants["softmax/cpu_scalar/f32"].is_cpu)
        self.assertFalse(run.variants["softmax/cpu_scalar/f32"].is_own_gpu)
        self.assertEqual(run.machine, "Synthetic GPU (test fixture)")
        self.assertEqual(run.ctx_float("gpu_copy_bw_gbs"), 2961.4)

    def test_without_registry_variants_are_inferred_from_names(self):
        log = copy.deepcopy(fixture("gpu_single.json"))
        del log["context"]["actbench_variants"]
        with tempfile.TemporaryDirectory() as tmp:
            run = gbjson.load(write_log(Path(tmp), "log.json", log))
        self.assertFalse(run.has_registry)
        self.assertEqual(list(run.variants)[:3],
                         ["sigmoid/naive/f32", "sigmoid/warp/f32", "sigmoid/cpu_omp/f32"])
        self.assertTrue(run.variants["sigmoid/cpu_omp/f32"].is_cpu)
        self.assertTrue(run.variants["sigmoid/cpu_omp/f32"].inferred)
        self.assertIsNone(run.variants["sigmoid/warp/f32"].atol)

    def test_each_type_is_a_variant_of_its_own(self):
        run = gbjson.load(FIXTURES / "gpu_types.json")
        f32, f16 = run.variants["sigmoid/warp/f32"], run.variants["sigmoid/warp/f16"]
        self.assertEqual((f32.dtype, f16.dtype, f16.family_variant), ("f32", "f16", "sigmoid/warp"))
        self.assertEqual((f16.rtol, f16.ulps), (2 ** -10, 1))
        self.assertIsNone(f32.ulps)
        self.assertEqual(run.variants["sigmoid/warp/bf16"].rtol, 2 ** -7)
        self.assertNotIn("softmax/warp/bf16", run.variants)
        b = run.benchmarks["sigmoid/warp/f16/n:16777216/manual_time"]
        self.assertEqual(gbjson.variant_info([run], b.name.variant_id), f16)
        # a registry entry without its dtype field takes the type from its id, else f32
        log = fixture("gpu_types.json")
        registry = json.loads(log["context"]["actbench_variants"])
        for entry in registry:
            del entry["dtype"]
        registry.append({"id": "sigmoid/old", "family": "sigmoid", "variant": "old", "step": 3})
        log["context"]["actbench_variants"] = json.dumps(registry)
        with tempfile.TemporaryDirectory() as tmp:
            run = gbjson.load(write_log(Path(tmp), "log.json", log))
        self.assertEqual(run.variants["sigmoid/warp/bf16"].dtype, "bf16")
        self.assertEqual(run.variants["sigmoid/old/f32"].dtype, "f32")

    def test_a_registry_from_before_the_types_is_f32(self):
        log = fixture("gpu_single.json")
        registry = json.loads(log["context"]["actbench_variants"])
        for entry in registry:
            entry["id"] = entry["id"].removesuffix("/f32")
            del entry["dtype"]
        log["context"]["actbench_variants"] = json.dumps(registry)
        for row in log["benchmarks"]:
            row["name"] = row["run_name"] = row["run_name"].replace("/f32/", "/")
        with tempfile.TemporaryDirectory() as tmp:
            run = gbjson.load(write_log(Path(tmp), "log.json", log))
        self.assertTrue(all(v.dtype == "f32" and not v.inferred for v in run.variants.values()))
        b = run.benchmarks["softmax/warp/rows:1024/cols:4096/manual_time"]
        self.assertEqual(run.variants[b.name.variant_id].rtol, 1e-5)

    def test_an_unknown_type_in_the_registry_is_refused(self):
        log = fixture("gpu_types.json")
        registry = json.loads(log["context"]["actbench_variants"])
        registry[0]["dtype"] = "f64"
        log["context"]["actbench_variants"] = json.dumps(registry)
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaisesRegex(gbjson.LogError, "dtype 'f64'"):
                gbjson.load(write_log(Path(tmp), "log.json", log))

    def test_library_references_and_peers_are_not_the_projects_own(self):
        own = gbjson.VariantInfo("sigmoid", "warp", 1, "gpu")
        library = gbjson.VariantInfo("sigmoid", "thrust", gbjson.LIBRARY_STEP, "gpu")
        torch = gbjson.VariantInfo("sigmoid", "torch", 30, "gpu")
        inferred = gbjson.VariantInfo("sigmoid", "cudnn", 4, "gpu", inferred=True)
        self.assertEqual([v.is_own_gpu for v in (own, library, torch, inferred)],
                         [True, False, False, False])

    def test_foreign_log_has_no_variants(self):
        run = gbjson.load(FIXTURES / "foreign.json")
        self.assertEqual(run.variants, {})
        self.assertEqual(run.machine, "laptop")
        self.assertEqual(run.benchmarks["BM_Parse/threads:2"].center_ns, 1.2501e6)


if __name__ == "__main__":
    unittest.main()
