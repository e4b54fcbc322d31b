"""scripts/merge_logs.py as bench.sh runs it: the processes' logs of one run folded into one
Google Benchmark log (every repetition, numbered across the parts, with its process; the
aggregates computed again over all of them), and parts that are not one run refused (exit 2,
nothing written)."""
from __future__ import annotations

import copy
import json
import statistics
import tempfile
import unittest
from pathlib import Path

from support import fixture, run_script, write_log

import gbjson

WARP_16M = "sigmoid/warp/f32/n:16777216/manual_time"


class MergeLogs(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.part = fixture("gpu_reps.json")  # 10 benchmarks, 5 repetitions each

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def merge(self, *parts: dict):
        paths = [write_log(self.dir, f"part{i}.json", p) for i, p in enumerate(parts)]
        out = self.dir / "merged.json"
        return run_script("merge_logs.py", out, *paths), out

    def test_parts_fold_into_one_log_of_every_repetition(self):
        slower = copy.deepcopy(self.part)
        for row in slower["benchmarks"]:
            row["real_time"] *= 2
        r, out = self.merge(self.part, slower)
        self.assertEqual(r.returncode, 0, r.stderr)
        run = gbjson.load(out)
        self.assertEqual(run.context["processes"], "2")
        self.assertEqual(run.context["date"], self.part["context"]["date"])
        b = run.benchmarks[WARP_16M]
        first = [row["real_time"] for row in self.part["benchmarks"]
                 if row["run_name"] == WARP_16M and row["run_type"] == "iteration"]
        self.assertEqual(b.repetitions, 10)
        self.assertEqual(b.processes, [0] * 5 + [1] * 5)
        self.assertEqual(b.process_minima(), [min(first) * 1000, 2 * min(first) * 1000])  # us -> ns
        rows = [row for row in json.loads(out.read_text())["benchmarks"] if row["run_name"] == WARP_16M]
        self.assertEqual([row["repetition_index"] for row in rows if row["run_type"] == "iteration"],
                         list(range(10)))
        aggregates = {row["aggregate_name"]: row for row in rows if row["run_type"] == "aggregate"}
        all_times = first + [2 * t for t in first]
        self.assertAlmostEqual(aggregates["median"]["real_time"], statistics.median(all_times))
        self.assertAlmostEqual(aggregates["mean"]["real_time"], statistics.fmean(all_times))
        self.assertAlmostEqual(aggregates["cv"]["real_time"],
                               statistics.stdev(all_times) / statistics.fmean(all_times))
        self.assertEqual(aggregates["mean"]["repetitions"], 10)
        self.assertEqual(aggregates["cv"]["aggregate_unit"], "percentage")

    def test_parts_of_different_runs_are_refused_and_nothing_is_written(self):
        other_build = copy.deepcopy(self.part)
        other_build["context"]["git_sha"] = "0123456789ab"
        fewer = copy.deepcopy(self.part)
        fewer["benchmarks"] = [row for row in fewer["benchmarks"] if row["run_name"] != WARP_16M]
        for case, part, message in (("another build", other_build, "context git_sha"),
                                    ("other benchmarks", fewer, "holds other benchmarks"),
                                    ("not a log", {"benchmarks": 3}, "not a Google Benchmark log")):
            with self.subTest(case):
                r, out = self.merge(self.part, part)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn(message, r.stderr)
                self.assertNotIn("Traceback", r.stderr)
                self.assertFalse(out.exists())
                self.assertEqual(sorted(p.name for p in self.dir.iterdir() if p.name.startswith(".")), [])

    def test_a_truncated_part_is_refused(self):
        path = write_log(self.dir, "part.json", self.part)
        text = path.read_text()
        path.write_text(text[: len(text) // 2])
        r = run_script("merge_logs.py", self.dir / "merged.json", write_log(self.dir, "a.json", self.part), path)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not valid JSON (truncated?)", r.stderr)


if __name__ == "__main__":
    unittest.main()
