"""scripts/compare.py as CI runs it: planted regressions and improvements, the robust noise
band, UNCERTAIN comparisons, real A/A pairs, a foreign log, NEW/GONE, errors, machines, bad
input (exit 2, no traceback), and aa_check.py's plant."""
from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
import unittest
from pathlib import Path

from support import FIXTURES, before_types, changed, fixture, run_script, scale_time, write_log

import aa_check
import compare
import gbjson

WARP_16M = "sigmoid/warp/f32/n:16777216/manual_time"  # a benchmark of both fixtures


def repetition_times(values: list[float]):
    """Sets the times of a benchmark's repetitions (in the log's unit), one value each."""
    def change(row: dict) -> None:
        if row["run_type"] == "iteration":
            row["real_time"] = values[row["repetition_index"]]
    return change


def status_lines(stdout: str, status: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.rstrip().endswith(f"  {status}")]


def as_dtype(log: dict, run_name: str, dtype: str) -> dict:
    """A copy of `log` with one benchmark's rows also logged in another element type (the same
    family, variant, shape and times: only the type in the name differs)."""
    out = copy.deepcopy(log)
    rows = [copy.deepcopy(b) for b in out["benchmarks"] if b["run_name"] == run_name]
    for row in rows:
        for key in ("name", "run_name"):
            row[key] = row[key].replace("/f32/", f"/{dtype}/", 1)
    out["benchmarks"] += rows
    return out


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
        # a plain Google Benchmark log: its repetitions come from one process, and it is said
        for side in ("base", "new"):
            self.assertIn(f"warning: the {side} log's repetitions come from one process", r.stderr)

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

    def test_types_are_compared_apart(self):
        """The same family, variant and shape in f16 and in f32 are two benchmarks: a slowdown
        of the f16 one is named alone, with its type, and an f16 benchmark only the new log has
        is NEW, not matched with the f32 one."""
        warp_f16 = WARP_16M.replace("/f32/", "/f16/")
        both = as_dtype(self.reps, WARP_16M, "f16")
        r = self.compare(both, changed(both, warp_f16, scale_time(1.25)))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual([line.split()[0] for line in status_lines(r.stdout, "SLOWER")],
                         [warp_f16])
        self.assertEqual(len(status_lines(r.stdout, "SAME")), 10, r.stdout)
        r = self.compare(self.reps, both)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual([line.split()[0] for line in status_lines(r.stdout, "NEW")], [warp_f16])
        self.assertIn("1 new, 0 gone", r.stdout)

    def test_backward_families_are_compared_as_their_own_benchmarks(self):
        """sigmoid_backward's benchmark of the same variant and shape as a forward one is
        another benchmark: its slowdown is named alone."""
        backward = WARP_16M.replace("sigmoid/", "sigmoid_backward/", 1)
        log = copy.deepcopy(self.reps)
        rows = [copy.deepcopy(b) for b in log["benchmarks"] if b["run_name"] == WARP_16M]
        for row in rows:
            for key in ("name", "run_name"):
                row[key] = backward
        log["benchmarks"] += rows
        r = self.compare(log, changed(log, backward, scale_time(1.25)))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual([line.split()[0] for line in status_lines(r.stdout, "SLOWER")], [backward])
        self.assertEqual(len(status_lines(r.stdout, "SAME")), 10, r.stdout)

    def test_a_log_from_before_the_types_is_read_as_f32(self):
        """A baseline whose names have no dtype part (`sigmoid/warp/n:16777216/manual_time`)
        matches the f32 benchmarks of a new log, shown with their type."""
        old = before_types(self.reps)
        self.assertIn("sigmoid/warp/n:16777216/manual_time", {b["run_name"] for b in old["benchmarks"]})
        r = self.compare(old, self.reps)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(status_lines(r.stdout, "SAME")), 10, r.stdout)
        self.assertIn("0 new, 0 gone", r.stdout)
        r = self.compare(old, changed(self.reps, WARP_16M, scale_time(1.25)))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual([line.split()[0] for line in status_lines(r.stdout, "SLOWER")], [WARP_16M])
        # both styles in one log name one benchmark twice: refused, not guessed
        twice = copy.deepcopy(self.reps)
        twice["benchmarks"] += [b for b in old["benchmarks"] if b["run_name"].startswith("sigmoid/warp/n:")]
        self.assertCleanFailure(self.compare(self.reps, twice), "name the same benchmark")

    def test_noise_band_follows_the_noisier_side(self):
        # Repetitions 92..108 us: the fast end's spread is (30th percentile 96.8 - fastest 92)
        # / 92 = 5.2%, the band 2 x that = 10.4%, so +8% is noise; with the fixture's own
        # spread (under 1%) the 5% threshold rules.
        noisy = changed(self.reps, WARP_16M, repetition_times([100, 92, 108, 96, 104]))
        for base, status, code in ((noisy, "SAME", 0), (self.reps, "SLOWER", 1)):
            with self.subTest(status=status):
                r = self.compare(base, changed(base, WARP_16M, scale_time(1.08)))
                self.assertEqual(r.returncode, code, r.stdout + r.stderr)
                line = [x for x in r.stdout.splitlines() if x.startswith(WARP_16M)][0]
                self.assertTrue(line.endswith(status), line)
        line = [x for x in self.compare(noisy, noisy).stdout.splitlines()
                if x.startswith(WARP_16M)][0]
        self.assertIn(f"±{2 * (96.8 - 92) / 92:.1%}", line)

    def test_a_band_wider_than_max_band_is_uncertain(self):
        # (30th percentile 95.2 - fastest 88) / 88 = 8.2%: a band of 16.4%
        noisy = changed(self.reps, WARP_16M, repetition_times([100, 88, 112, 94, 106]))
        r = self.compare(self.reps, changed(noisy, WARP_16M, scale_time(1.5)))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(status_lines(r.stdout, "UNCERTAIN")), 1, r.stdout)
        self.assertIn(f"UNCERTAIN {WARP_16M}: noise band ±16% is wider than --max-band 15%",
                      r.stdout)
        r = self.compare(self.reps, changed(noisy, WARP_16M, scale_time(1.5)), "--max-band", "0.2")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)

    def test_processes_that_disagree_widen_the_band(self):
        """Repetitions from two processes (scripts/merge_logs.py's process_index): the time is
        the median of each process's fastest repetition, and half the distance between those
        is noise. Processes 20% apart make a band of 2 x 10/110 = 18%: UNCERTAIN; 2% apart,
        the band is the threshold, and +25% is caught."""
        def processes(times: list[float]):
            def change(row: dict) -> None:
                if row["run_type"] == "iteration":
                    i = row["repetition_index"]
                    row.update(real_time=times[i], process_index=0 if i < 3 else 1)
            return change

        apart = changed(self.reps, WARP_16M, processes([100, 101, 100.5, 120, 121]))
        r = self.compare(apart, apart)
        self.assertIn(f"UNCERTAIN {WARP_16M}: noise band ±18% is wider than --max-band 15%", r.stdout)
        line = [x for x in r.stdout.splitlines() if x.startswith(WARP_16M)][0]
        self.assertIn("110", line)  # the median of 100 and 120
        close = changed(self.reps, WARP_16M, processes([100, 101, 100.5, 102, 103]))
        r = self.compare(close, changed(close, WARP_16M, scale_time(1.25)))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual([x.split()[0] for x in status_lines(r.stdout, "SLOWER")], [WARP_16M])
        self.assertNotIn("come from one process", r.stderr)  # these logs span two

    def test_the_other_benchmarks_spread_widens_the_band(self):
        """The nine other benchmarks of the fixture moved 2-2.5% either way between the runs
        (their median 0, their spread 1.4826 x 2% = 3.0%; a band of 5 x that, 14.8%): WARP_16M
        +12% is within it, SAME; had they not moved, +12% is SLOWER (its own noise is under 1%).
        Moved 3.5-4% (spread 5.2%): no band under --max-band, UNCERTAIN, naming the spread."""
        names = sorted({row["run_name"] for row in self.reps["benchmarks"]} - {WARP_16M})
        def moved(steps: list[float]) -> dict:
            log = changed(self.reps, WARP_16M, scale_time(1.12))
            for name, step in zip(names, steps, strict=True):
                log = changed(log, name, scale_time(1 + step))
            return log
        r = self.compare(self.reps, moved([-0.025, 0.025, -0.02, 0.02, 0.0, -0.025, 0.025, -0.02, 0.02]))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        line = [x for x in r.stdout.splitlines() if x.startswith(WARP_16M)][0]
        self.assertTrue(line.endswith("SAME"), line)
        self.assertIn("±14.8%", line)
        r = self.compare(self.reps, moved([0.0] * 9))
        self.assertEqual([x.split()[0] for x in status_lines(r.stdout, "SLOWER")], [WARP_16M])
        r = self.compare(self.reps, moved([-0.04, 0.04, -0.035, 0.035, 0.0, -0.04, 0.04, -0.035, 0.035]))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"UNCERTAIN {WARP_16M}: the benchmarks moved ±5.2% among themselves", r.stdout)
        r = self.compare(self.reps, moved([-0.04, 0.04, -0.035, 0.035, 0.0, -0.04, 0.04, -0.035, 0.035]), "--spread-factor", "0")
        self.assertEqual([x.split()[0] for x in status_lines(r.stdout, "SLOWER")], [WARP_16M])

    def test_several_base_runs_are_pooled_their_spread_taken_as_noise(self):
        """Two base runs, each steady within itself (every repetition 100..101 us, and
        120..121 us), pooled: the spread between them is noise. Against the first alone, the
        second is +20% SLOWER (the false alarm a one-run baseline taken at another time gives);
        against both pooled it is not, and a log +25% beyond the slower run is still not taken
        as a regression the pool cannot tell from noise (band 2 x 10/110 = 18%: UNCERTAIN)."""
        fast = changed(self.reps, WARP_16M, repetition_times([100, 101, 100.5, 100.2, 100.8]))
        slow = changed(self.reps, WARP_16M, repetition_times([120, 121, 120.5, 120.2, 120.8]))
        paths = [write_log(self.dir, f"{name}.json", log)
                 for name, log in (("fast", fast), ("slow", slow))]
        r = run_script("compare.py", paths[0], paths[1])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual([x.split()[0] for x in status_lines(r.stdout, "SLOWER")], [WARP_16M])
        r = run_script("compare.py", *paths, write_log(self.dir, "new.json", slow))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"UNCERTAIN {WARP_16M}: noise band ±18% is wider than --max-band 15%", r.stdout)
        self.assertIn("2 runs pooled", r.stdout)
        self.assertIn(" + ", r.stdout.splitlines()[0])  # both base logs named
        self.assertNotIn("the base log's repetitions come from one process", r.stderr)  # it spans two
        # the other benchmarks, alike in both runs, are judged as before: +25% is caught alone
        other = "copy/cpu_memcpy/f32/n:16777216/real_time"
        r = run_script("compare.py", *paths,
                       write_log(self.dir, "planted.json", changed(slow, other, scale_time(1.25))))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual([x.split()[0] for x in status_lines(r.stdout, "SLOWER")], [other])

    def test_base_runs_from_different_machines_are_refused(self):
        gpu_b = copy.deepcopy(self.reps)
        gpu_b["context"].update(machine="Synthetic GPU B", gpu_name="Synthetic GPU B")
        r = run_script("compare.py", write_log(self.dir, "a.json", self.reps),
                       write_log(self.dir, "b.json", gpu_b), write_log(self.dir, "new.json", self.reps),
                       "--allow-different-machines")
        self.assertCleanFailure(r, "the base logs come from different machines")

    def test_a_run_that_moved_a_little_is_judged_relative_to_it(self):
        """All benchmarks 7% slower (under --max-run-shift 10%): the machine, not the code; a
        benchmark 25% slower than the rest is still caught, and named alone."""
        moved = copy.deepcopy(self.reps)
        for row in moved["benchmarks"]:
            scale_time(1.07)(row)
        r = self.compare(self.reps, moved)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(status_lines(r.stdout, "SAME")), 10, r.stdout)
        self.assertIn("the whole run moved +7.0%, and each change is judged relative to that", r.stdout)
        r = self.compare(self.reps, changed(moved, WARP_16M, scale_time(1.25)))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        [slower] = status_lines(r.stdout, "SLOWER")
        self.assertTrue(slower.startswith(WARP_16M), slower)
        self.assertIn("+33.8%", slower)   # the change itself
        self.assertIn("+25.0%", slower)   # and relative to the run's

    def test_an_outlier_repetition_neither_fails_nor_hides_a_regression(self):
        def outlier(factor: float):
            def change(row: dict) -> None:
                if row["run_type"] == "iteration" and row["repetition_index"] == 2:
                    row["real_time"] *= factor
            return change

        with self.subTest("one repetition 3x slower is not a regression"):
            r = self.compare(self.reps, changed(self.reps, WARP_16M, outlier(3.0)))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(status_lines(r.stdout, "SLOWER"), [])
        with self.subTest("an outlier in the base leaves the band narrow: +25% is caught"):
            base = changed(self.reps, WARP_16M, outlier(3.0))
            r = self.compare(base, changed(self.reps, WARP_16M, scale_time(1.25)))
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            slower = status_lines(r.stdout, "SLOWER")
            self.assertEqual(len(slower), 1, r.stdout)
            self.assertTrue(slower[0].startswith(WARP_16M), slower)

    def test_single_repetition_logs_are_uncertain_and_say_so(self):
        single = fixture("gpu_single.json")
        for factor in (1.0, 1.5):
            with self.subTest(factor=factor):
                r = self.compare(single, changed(single, WARP_16M, scale_time(factor)))
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                n = len(single["benchmarks"])
                self.assertEqual(len(status_lines(r.stdout, "UNCERTAIN")), n, r.stdout)
                self.assertIn(f"0 slower, 0 faster, 0 same, {n} uncertain", r.stdout)
                self.assertIn(f"no regression; {n} UNCERTAIN (not judged)", r.stdout)
                self.assertIn("1 repetition, fewer than the 5", r.stdout)
                self.assertIn(f"warning: {n} of {n} benchmarks UNCERTAIN", r.stderr)

    def test_too_few_repetitions_on_one_side_is_uncertain(self):
        four = copy.deepcopy(self.reps)
        four["benchmarks"] = [b for b in four["benchmarks"]
                              if not (b["run_name"] == WARP_16M and b.get("repetition_index") == 4)]
        r = self.compare(self.reps, changed(four, WARP_16M, scale_time(1.5)))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(status_lines(r.stdout, "UNCERTAIN")), 1, r.stdout)
        self.assertIn(f"UNCERTAIN {WARP_16M}: new: 4 repetitions, fewer than the 5", r.stdout)
        self.assertIn("1 uncertain", r.stdout)

    def test_aggregates_only_logs_are_uncertain(self):
        aggregates = copy.deepcopy(self.reps)
        aggregates["benchmarks"] = [b for b in aggregates["benchmarks"]
                                    if b["run_type"] == "aggregate"]
        r = self.compare(aggregates, changed(aggregates, WARP_16M, scale_time(1.5)))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(status_lines(r.stdout, "UNCERTAIN")), 10, r.stdout)
        self.assertIn("only aggregates (--benchmark_report_aggregates_only)", r.stdout)

    def test_help_documents_uncertain_and_the_exit_status(self):
        r = run_script("compare.py", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("UNCERTAIN (not judged", r.stdout)
        self.assertIn("0 no regression (UNCERTAIN benchmarks do not fail it", r.stdout)

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


class RealLogs(unittest.TestCase):
    """Real A/A pairs: two runs of one build, actbench's and a foreign Google Benchmark
    program's, each with 20 interleaved repetitions, from the quiet 2-core machine; and two
    pairs from it under load (about 14), whose benchmarks were stalled."""

    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def check_pair(self, a: str, b: str, judged_at_least: int) -> None:
        base, new = FIXTURES / a, FIXTURES / b
        r = run_script("compare.py", base, new)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        verdicts = compare.compare(gbjson.load(base), gbjson.load(new),
                                   compare.parse_args([str(base), str(new)]))
        judged = [v.name for v in verdicts if v.status in ("SAME", "FASTER")]
        self.assertGreaterEqual(len(judged), judged_at_least, r.stdout)
        uncertain = sum(v.status == "UNCERTAIN" for v in verdicts)
        self.assertIn(f"{uncertain} uncertain", r.stdout)
        # compare.py names benchmarks canonically (an older log's names gain their f32)
        logged = {bm.name.key: run_name for run_name, bm in gbjson.load(new).benchmarks.items()}
        for name in judged:
            with self.subTest(planted=name):
                planted = write_log(self.dir, "planted.json",
                                    changed(fixture(b), logged[name], scale_time(1.25)))
                r = aa_check.compare(base, planted)
                self.assertEqual(r.code, 1, r.summary)
                self.assertEqual(r.named("SLOWER"), [name])

    def test_actbench_quick_runs_pass_and_a_planted_slowdown_is_named_alone(self):
        self.check_pair("cpu_quick_a.json", "cpu_quick_b.json", judged_at_least=15)

    def test_foreign_runs_with_repetitions_pass_and_a_planted_slowdown_is_named_alone(self):
        self.check_pair("foreign_reps_a.json", "foreign_reps_b.json", judged_at_least=3)

    def test_pairs_taken_under_load_are_stalled_uncertain_not_regressions(self):
        """Taken during a parallel compile: every benchmark has a repetition 8-12000x its
        fastest on one side at least (a time slice lost, more than once): nothing is judged,
        each says why, and the pair passes."""
        for a, b, count in (("cpu_loaded_a.json", "cpu_loaded_b.json", 20),
                            ("foreign_loaded_a.json", "foreign_loaded_b.json", 6)):
            with self.subTest(pair=a):
                r = run_script("compare.py", FIXTURES / a, FIXTURES / b)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn(f"0 same, {count} uncertain", r.stdout)
                notes = [x for x in r.stdout.splitlines() if x.startswith("UNCERTAIN ")]
                self.assertEqual(len(notes), count, r.stdout)
                for note in notes:
                    self.assertIn("the benchmark was stalled", note)

    def test_a_whole_run_moved_by_the_machine_is_not_comparable_not_a_regression(self):
        """Every benchmark 50% slower: the machine changed between the runs (a burst of load),
        which no benchmark's own noise shows; nothing is judged, and the summary says so."""
        slower = fixture("cpu_quick_b.json")
        for row in slower["benchmarks"]:
            scale_time(1.5)(row)
        moved = write_log(self.dir, "moved.json", slower)
        r = run_script("compare.py", FIXTURES / "cpu_quick_a.json", moved)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("  SLOWER", r.stdout)
        self.assertIn("the runs are not comparable", r.stdout)
        self.assertRegex(r.stdout, r"the whole run moved \+\d+")
        # and a run that did not move as a whole says by how little, and judges
        r = run_script("compare.py", FIXTURES / "cpu_quick_a.json", FIXTURES / "cpu_quick_b.json")
        self.assertIn("the whole run moved", r.stdout)
        self.assertNotIn("not comparable", r.stdout)

    def test_aa_check_plants_times_but_not_the_cv(self):
        log = fixture("cpu_quick_b.json")
        name = "sigmoid/cpu_scalar/f32/n:1024"
        planted = json.loads(aa_check.plant(log, name, self.dir).read_text())
        scaled = 0
        for before, after in zip(log["benchmarks"], planted["benchmarks"]):
            factor = 1.25 if (before["run_name"] == name
                              and before.get("aggregate_name") != "cv") else 1.0
            scaled += factor != 1.0
            self.assertAlmostEqual(after["real_time"], before["real_time"] * factor)
        self.assertEqual(scaled, 20 + 3)  # the repetitions, mean, median, stddev

    def test_aa_check_across_pairs_pools_the_other_pairs_runs(self):
        """Two pairs: runs of one pair alike, the second pair's WARP_16M 30% slower in both of
        its runs (what a change of the machine between the pairs would do to one benchmark):
        a slower run against the first pair, alone or pooled, names it (the other way round it
        is FASTER, no alarm), and the check fails; with the pairs alike it passes."""
        reps = fixture("gpu_reps.json")
        slower = changed(reps, WARP_16M, scale_time(1.3))
        runs = [write_log(self.dir, f"{i}.json", log) for i, log in enumerate((reps, reps, slower, slower))]
        alike = [write_log(self.dir, f"alike{i}.json", reps) for i in range(2)]
        with contextlib.redirect_stdout(io.StringIO()) as out:
            self.assertFalse(aa_check.check_across([(runs[0], runs[1]), (runs[2], runs[3])]))
        self.assertIn("one-run baselines false-alarmed 2/4; two runs pooled 1/2", out.getvalue())
        self.assertIn("FALSE ALARM across pairs", out.getvalue())
        with contextlib.redirect_stdout(io.StringIO()) as out:
            self.assertTrue(aa_check.check_across([(runs[0], runs[1]), tuple(alike)]))
        self.assertIn("one-run baselines false-alarmed 0/4; two runs pooled 0/2", out.getvalue())

    def test_aa_check_refuses_bad_arguments(self):
        r = run_script("aa_check.py", "--pairs", "0")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--pairs must be at least 1", r.stderr)


if __name__ == "__main__":
    unittest.main()
