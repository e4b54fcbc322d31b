"""scripts/bench.sh as a user runs it: its usage text and errors, logs named by the UTC start
that never overwrite one another, and an interrupted run that leaves nothing behind.

The runs use the actbench named by the ACTBENCH environment variable (CTest sets it to the
built binary; `bench.sh --binary`, so nothing is built here) and write into a temporary folder
(`--results`); without ACTBENCH those tests skip."""
from __future__ import annotations

import datetime
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from support import ROOT

BENCH_SH = ROOT / "scripts" / "bench.sh"
ACTBENCH = os.environ.get("ACTBENCH", "")
STAMP = "%Y-%m-%dT%H%M%SZ"
LOG_NAME = re.compile(r"^(\d{4}-\d\d-\d\dT\d{6}Z)(-\d+)?_([^_]+_[^_]+)\.json$")
# One small CPU benchmark, timed briefly: a whole run in a second or two.
SMALL = ["--quick", "--processes", "1", "--filter", "^relu/cpu_scalar/f32/n:1024$", "--",
         "--benchmark_min_time=0.001"]


def bench_sh(*args: str, results: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    cmd = [str(BENCH_SH), "--binary", ACTBENCH, "--results", str(results), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def files_under(folder: Path) -> list[str]:
    """Every file (hidden ones too) under folder, relative to it; folders are left out."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir())


class Usage(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.results = Path(self.tmp.name) / "results"

    def tearDown(self):
        self.tmp.cleanup()

    def test_help_prints_a_usage_text(self):
        r = subprocess.run([str(BENCH_SH), "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("usage: scripts/bench.sh"), r.stdout)
        for option in ("--quick", "--filter REGEX", "--device N", "--warm", "--binary PATH",
                       "--results DIR", "-- FLAGS", "Exit status"):
            self.assertIn(option, r.stdout)
        for code in ("set -e", "usage()", "$(", "esac", "\n#"):  # the script's own text
            self.assertNotIn(code, r.stdout)

    def test_bad_usage_exits_2_naming_what_was_typed(self):
        cases = [(["--nope"], "'--nope'"), (["--filter"], "--filter needs a value"),
                 (["--results"], "--results needs a value"),
                 (["--binary", "/nonexistent/actbench"], "/nonexistent/actbench"),
                 (["--", "--benchmark_out=x.json"], "--benchmark_out=x.json"),
                 (["--", "--benchmark_out_format=csv"], "--benchmark_out_format=csv"),
                 (["--processes", "0"], "--processes: '0'"), (["--processes=x"], "--processes: 'x'"),
                 (["--", "--benchmark_repetitions=-1"], "--benchmark_repetitions: '-1'")]
        for args, named in cases:
            r = subprocess.run([str(BENCH_SH), "--results", str(self.results), *args],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(named, r.stderr, args)
            self.assertIn("--help", r.stderr, args)
            self.assertFalse(self.results.exists(), args)


@unittest.skipUnless(ACTBENCH, "ACTBENCH (the actbench binary) is not set")
class Runs(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.results = Path(self.tmp.name) / "results"

    def tearDown(self):
        self.tmp.cleanup()

    def logs(self) -> list[str]:
        return sorted(p.name for p in self.results.glob("*.json"))

    def test_log_is_named_by_its_start_and_never_overwritten(self):
        before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        r = bench_sh(*SMALL, results=self.results)
        self.assertEqual(r.returncode, 0, r.stderr)
        [first] = self.logs()
        stamp, serial, rest = LOG_NAME.match(first).groups()
        self.assertIsNone(serial)
        started = datetime.datetime.strptime(stamp, STAMP).replace(tzinfo=datetime.timezone.utc)
        # Google Benchmark's own `date` is taken when the benchmarks start, after the start.
        gb_date = datetime.datetime.fromisoformat(
            json.loads((self.results / first).read_text())["context"]["date"])
        self.assertLessEqual(before, started)
        self.assertLessEqual(started, gb_date)

        # A second run in the same second finds its name taken and takes the next serial: the
        # names of the coming seconds are occupied, as a run started just before would.
        now = datetime.datetime.now(datetime.timezone.utc)
        taken = {}
        for ahead in range(0, 60):
            name = f"{(now + datetime.timedelta(seconds=ahead)):{STAMP}}_{rest}.json"
            if name != first:
                taken[name] = f"a log of another run ({ahead})"
                (self.results / name).write_text(taken[name])
        first_text = (self.results / first).read_text()
        r = bench_sh(*SMALL, results=self.results)
        self.assertEqual(r.returncode, 0, r.stderr)
        [second] = sorted(set(self.logs()) - set(taken) - {first})
        self.assertRegex(second, r"^\d{4}-\d\d-\d\dT\d{6}Z-2_")
        self.assertIn(f"log: {self.results / second}", r.stdout)
        for name, text in taken.items():
            self.assertEqual((self.results / name).read_text(), text, name)
        self.assertEqual((self.results / first).read_text(), first_text)
        reports = files_under(self.results / "reports")
        for log in (first, second):
            self.assertIn(log.replace(".json", ".md"), reports)

    def test_processes_share_the_repetitions_in_one_log(self):
        r = bench_sh("--quick", "--processes", "2", "--filter", "^relu/cpu_scalar/f32/n:1024$", "--",
                     "--benchmark_min_time=0.001", "--benchmark_repetitions=5", results=self.results)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("process 2 of 2 (3 repetitions of each benchmark)", r.stdout)
        [log] = self.logs()
        doc = json.loads((self.results / log).read_text())
        self.assertEqual(doc["context"]["processes"], "2")
        rows = [b for b in doc["benchmarks"] if b["run_type"] == "iteration"]
        self.assertEqual([(b["repetition_index"], b["process_index"]) for b in rows],
                         [(0, 0), (1, 0), (2, 0), (3, 1), (4, 1), (5, 1)])
        self.assertEqual({b["repetitions"] for b in doc["benchmarks"]}, {6})
        median = [b for b in doc["benchmarks"] if b.get("aggregate_name") == "median"]
        self.assertEqual(len(median), 1)
        times = sorted(b["real_time"] for b in rows)
        self.assertAlmostEqual(median[0]["real_time"], (times[2] + times[3]) / 2)
        self.assertIn("reports/" + log.replace(".json", ".md"), files_under(self.results))
        self.assertEqual([f for f in files_under(self.results) if "/." in "/" + f], [])  # no temporaries

    def test_interrupted_run_leaves_nothing(self):
        # SIGINT to the whole process group, as Ctrl-C and `timeout -s INT` send it; SIGTERM to
        # the script alone, as `kill` sends it.
        for sig, to_group in ((signal.SIGINT, True), (signal.SIGTERM, False)):
            with self.subTest(signal=sig.name):
                results = self.results / sig.name
                cmd = [str(BENCH_SH), "--binary", ACTBENCH, "--results", str(results)]
                p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, start_new_session=True)
                try:
                    deadline = time.monotonic() + 60
                    while not list(results.rglob("*.tmp.*")):  # actbench has begun its log
                        self.assertIsNone(p.poll(), "bench.sh ended before actbench began")
                        self.assertLess(time.monotonic(), deadline)
                        time.sleep(0.05)
                    time.sleep(0.5)
                    if to_group:
                        os.killpg(p.pid, sig)
                    else:
                        p.send_signal(sig)
                    _, err = p.communicate(timeout=60)
                finally:
                    if p.poll() is None:
                        os.killpg(p.pid, signal.SIGKILL)
                        p.wait()
                self.assertEqual(p.returncode, 128 + sig, err)
                self.assertIn(f"interrupted (SIG{sig.name[3:]})", err)
                self.assertEqual(files_under(results), [])
                with self.assertRaises(ProcessLookupError):  # actbench has ended too
                    os.killpg(p.pid, 0)

    def test_interrupted_report_keeps_the_whole_log_alone(self):
        # A python3 ahead on PATH runs report.py, then stays in the report step until stopped.
        bin_dir = Path(self.tmp.name) / "bin"
        bin_dir.mkdir()
        mark = Path(self.tmp.name) / "report-written"
        wrapper = bin_dir / "python3"
        wrapper.write_text(f'#!/bin/sh\ncase "$1" in */report.py)\n  "{sys.executable}" "$@" || exit\n'
                           f'  touch "{mark}"; exec sleep 60 ;;\nesac\nexec "{sys.executable}" "$@"\n')
        wrapper.chmod(0o755)
        env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        cmd = [str(BENCH_SH), "--binary", ACTBENCH, "--results", str(self.results), *SMALL]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while not mark.exists():
                self.assertIsNone(p.poll(), "bench.sh ended before its report was written")
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.05)
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.assertEqual(p.returncode, 128 + signal.SIGTERM, err)
        [log] = self.logs()
        self.assertIn(f"the log {self.results / log} is whole, its report was not written", err)
        json.loads((self.results / log).read_text())
        self.assertEqual(files_under(self.results), [log])  # no report, no temporary


if __name__ == "__main__":
    unittest.main()
