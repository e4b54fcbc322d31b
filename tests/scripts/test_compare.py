"""scripts/compare.py as CI runs it: planted regressions and improvements, noise, repetitions
and their rank test, NEW/GONE, errors, machines, and bad input (exit 2, no traceback)."""
from __future__ import annotations

import copy
import tempfile
import unittest
from pathlib import Path

from support import changed, fixture, run_script, scale_time, write_log

import compare

WARP_16M = "sigmoid/warp/n:16777216/manual_time"  # a benchmark of both fixtures


def status_lines(stdout: str, status: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.rstrip().endswith(f"  {status}")]


class CompareCli(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.reps = fixture("gpu_reps.json")

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def compare(self, base: dict, new: dict, *flags: str):
        return run_script("compare.py", write_log(self.dir, "base.json", base),
                          write_log(self.dir, "new.json", new), *flags)

    def assertCleanFailure(self, r, message: str) -> None:
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(message, r.stderr)
        self.assertNotIn("Traceback", r.stderr)

    def test_log_against_itself_passes(self):
        r = self.compare(self.reps, self.reps)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(status_lines(r.stdout, "SAME")), 10)
        self.assertIn("no regression", r.stdout)

    def test_planted_regression_fails_naming_only_that_benchmark(self):
        r = self.compare(self.reps, changed(self.reps, WARP_16M, scale_time(1.25)))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        slower = status_lines(r.stdout, "SLOWER")
        self.assertEqual(len(slower), 1, r.stdout)
        self.assertTrue(slower[0].startswith(WARP_16M), slower)
        self.assertIn("+25.0%", slower[0])
        self.assertIn("1 slower", r.stdout)
        self.assertIn("REGRESSION", r.stdout)

    def test_improvement_is_faster_and_passes(self):
        r = self.compare(self.reps, changed(self.reps, WARP_16M, scale_time(0.75)))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        faster = status_lines(r.stdout, "FASTER")
        self.assertEqual(len(faster), 1, r.stdout)
        self.assertTrue(faster[0].startswith(WARP_16M))

    def test_change_within_cv_is_same(self):
        # Logs holding only aggregates (--benchmark_report_aggregates_only): cv 6% makes the
        # noise band 12%, so +8% is noise; with the fixture's cv of 0.8% it is not.
        def aggregates_only(log: dict, cv: float) -> dict:
            out = copy.deepcopy(log)
            out["benchmarks"] = [b for b in out["benchmarks"] if b["run_type"] == "aggregate"]
            for b in out["benchmarks"]:
                if b["aggregate_name"] == "cv":
                    b["real_time"] = cv
            return out

        for cv, status, code in ((0.06, "SAME", 0), (0.008, "SLOWER", 1)):
            with self.subTest(cv=cv):
                base = aggregates_only(self.reps, cv)
                r = self.compare(base, changed(base, WARP_16M, scale_time(1.08)))
                self.assertEqual(r.returncode, code, r.stdout + r.stderr)
                line = [x for x in r.stdout.splitlines() if x.startswith(WARP_16M)][0]
                self.assertTrue(line.endswith(status), line)
                self.assertIn(f"±{max(0.05, 2 * cv):.1%}", line)

    def test_median_shift_the_repetitions_do_not_support_is_same(self):
        # +7% in the median, but 2 of the 5 new repetitions sit among the old ones: the rank
        # test does not reject, so it is noise (--cv-factor 0 leaves the rank test alone).
        def times(values: list[float]):
            def change(row: dict) -> None:
                if row["run_type"] == "iteration":
                    row["real_time"] = values[row["repetition_index"]]
            return change

        base = changed(self.reps, WARP_16M, times([100.0, 100.5, 101.0, 101.5, 102.0]))
        overlapping = changed(self.reps, WARP_16M, times([99.0, 100.2, 108.0, 108.5, 109.0]))
        separated = changed(self.reps, WARP_16M, times([107.0, 107.5, 108.0, 108.5, 109.0]))
        for new, status, code in ((overlapping, "SAME", 0), (separated, "SLOWER", 1)):
            with self.subTest(status=status):
                r = self.compare(base, new, "--cv-factor", "0")
                self.assertEqual(r.returncode, code, r.stdout + r.stderr)
                line = [x for x in r.stdout.splitlines() if x.startswith(WARP_16M)][0]
                self.assertIn("+6.9%", line)
                self.assertTrue(line.endswith(status), line)

    def test_single_runs_compare_on_the_threshold(self):
        single = fixture("gpu_single.json")
        for factor, code in ((1.03, 0), (1.10, 1)):
            with self.subTest(factor=factor):
                r = self.compare(single, changed(single, WARP_16M, scale_time(factor)))
                self.assertEqual(r.returncode, code, r.stdout + r.stderr)

    def test_new_and_gone_are_reported_and_pass(self):
        new = copy.deepcopy(self.reps)
        for b in new["benchmarks"]:
            if b["run_name"] == WARP_16M:
                b["name"] = b["name"].replace("n:16777216", "n:33554432")
                b["run_name"] = b["run_name"].replace("n:16777216", "n:33554432")
        r = self.compare(self.reps, new)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(status_lines(r.stdout, "GONE")), 1, r.stdout)
        self.assertTrue(status_lines(r.stdout, "GONE")[0].startswith(WARP_16M))
        self.assertEqual(len(status_lines(r.stdout, "NEW")), 1, r.stdout)
        self.assertIn("1 new, 1 gone", r.stdout)

    def test_errored_benchmark_fails_with_its_message(self):
        def error(row: dict) -> None:
            row.update(error_occurred=True, error_message="mismatch: 3 of 16777216", real_time=0)

        new = changed(self.reps, WARP_16M, error)
        new["benchmarks"] = [b for b in new["benchmarks"]
                             if not (b["run_name"] == WARP_16M and b["run_type"] == "aggregate")]
        r = self.compare(self.reps, new)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(len(status_lines(r.stdout, "ERROR")), 1, r.stdout)
        self.assertIn("new: mismatch: 3 of 16777216", r.stdout)

    def test_truncated_log_exits_2(self):
        text = (Path(__file__).parent / "fixtures" / "gpu_reps.json").read_text()
        truncated = self.dir / "truncated.json"
        truncated.write_text(text[: len(text) // 2])
        r = run_script("compare.py", truncated, truncated)
        self.assertCleanFailure(r, "not valid JSON (truncated?)")

    def test_wrongly_shaped_log_exits_2(self):
        cases = {
            "a list": ([], "expected an object with a 'benchmarks' list"),
            "benchmarks not a list": ({"benchmarks": {}}, "'benchmarks' list"),
            "no benchmarks": ({"context": {}, "benchmarks": []}, "holds no benchmarks"),
            "row without a name": ({"benchmarks": [{"real_time": 1}]}, "'name' string"),
            "time not a number": ({"benchmarks": [{"name": "a", "real_time": "1"}]},
                                  "'real_time' is missing or not a finite number"),
            "unknown unit": ({"benchmarks": [{"name": "a", "real_time": 1, "time_unit": "xs"}]},
                             "time_unit 'xs'"),
            "bad registry": ({"context": {"actbench_variants": "[{]"},
                              "benchmarks": [{"name": "a", "real_time": 1}]},
                             "'actbench_variants' is not a JSON list"),
        }
        for case, (log, message) in cases.items():
            with self.subTest(case=case):
                self.assertCleanFailure(self.compare(self.reps, log), message)

    def test_missing_file_exits_2(self):
        r = run_script("compare.py", self.dir / "absent.json", self.dir / "absent.json")
        self.assertCleanFailure(r, "cannot read")

    def test_different_machines_are_refused_unless_allowed(self):
        gpu_b = copy.deepcopy(self.reps)
        gpu_b["context"].update(machine="Synthetic GPU B", gpu_name="Synthetic GPU B")
        self.assertCleanFailure(self.compare(self.reps, gpu_b), "different machines")
        r = self.compare(self.reps, gpu_b, "--allow-different-machines")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Synthetic GPU B", r.stderr)


class MannWhitney(unittest.TestCase):
    def test_exact_p_values(self):
        # Complete separation of 5 vs 5: 2 of the C(10, 5) = 252 orderings are as extreme.
        self.assertAlmostEqual(compare.mann_whitney_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]), 2 / 252)
        # Interleaved: U = 10 of 25, two-sided p = 0.6905 (tables of the U distribution).
        self.assertAlmostEqual(compare.mann_whitney_p([1, 3, 5, 7, 9], [2, 4, 6, 8, 10]),
                               0.690476, places=5)

    def test_ties_use_the_normal_approximation(self):
        self.assertEqual(compare.mann_whitney_p([1, 2, 3, 4, 5], [1, 2, 3, 4, 5]), 1.0)
        self.assertEqual(compare.mann_whitney_p([3, 3, 3, 3, 3], [3, 3, 3, 3, 3]), 1.0)
        p = compare.mann_whitney_p([1, 2, 2, 3, 4], [3, 4, 5, 6, 6])
        self.assertLess(p, 0.05)
        self.assertAlmostEqual(p, compare.mann_whitney_p([3, 4, 5, 6, 6], [1, 2, 2, 3, 4]))


if __name__ == "__main__":
    unittest.main()
