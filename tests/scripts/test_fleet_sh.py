"""scripts/fleet.sh as a cluster user runs it: its usage text, its errors, the sbatch commands it
would submit (--dry-run, one task per GPU), and, on a real Slurm that the test starts for
itself (tests/scripts/local_slurm.py: munged, slurmctld and slurmd on 127.0.0.1), two jobs of
two CPU-only tasks each: one whose tasks all pass, merged into a report that finds nothing;
one whose second task fails, listed in the report with its node and exit status.

The jobs run the actbench named by the ACTBENCH environment variable (CTest sets it to the
built binary); without it the Slurm test skips. Without Slurm and MUNGE installed it fails:
scripts/deps.sh installs them (slurm-wlm, munge), and CI must run it."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from support import ROOT
import gbjson
from local_slurm import ClusterError, LocalSlurm

FLEET_SH = ROOT / "scripts" / "fleet.sh"
ACTBENCH = os.environ.get("ACTBENCH", "")
# Two small CPU benchmarks, one process, briefly timed: a task in a few seconds.
SMALL = ["--quick", "--filter", "^(relu|sigmoid)/cpu_scalar/f32/n:1024$", "--",
         "--processes", "1", "--", "--benchmark_min_time=0.001"]
JOB_TIMEOUT = 60  # seconds for a job and its merge, from submission


def fleet_sh(*args: str, env: dict | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([str(FLEET_SH), *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


class Usage(unittest.TestCase):
    def test_help_prints_a_usage_text(self):
        r = fleet_sh("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("usage: scripts/fleet.sh"), r.stdout)
        for option in ("--nodes N", "--nodelist LIST", "--partition NAME", "--gpus-per-node G",
                       "--ntasks-per-node T", "--quick", "--filter REGEX", "--binary PATH",
                       "--bundle DIR", "--results DIR", "--sbatch-arg ARG", "--wait", "--dry-run",
                       "-- FLAGS", "Exit status", "<job>_<node>_gpu<index>_<serial>.json"):
            self.assertIn(option, r.stdout)

    def test_bad_usage_exits_2_naming_what_was_typed(self):
        cases = [(["--nope"], "'--nope'"), (["--nodes", "0"], "--nodes: '0'"),
                 (["--gpus-per-node=x"], "--gpus-per-node: 'x'"), (["--filter"], "--filter needs a value"),
                 (["--gpus-per-node", "2", "--ntasks-per-node", "2"], "--gpus-per-node and --ntasks-per-node"),
                 (["--binary", "/nonexistent/actbench"], "/nonexistent/actbench"),
                 (["--bundle", "/nonexistent/bundle"], "/nonexistent/bundle"),
                 (["--binary", "/bin/sh", "--bundle", "/tmp"], "--binary and --bundle"),
                 (["--", "--results", "x"], "'--results' after --"),
                 (["--", "--device=1"], "'--device=1' after --"),
                 (["--sbatch-arg", "--output=x"], "--sbatch-arg '--output=x'"),
                 (["--merge-sbatch-arg=--dependency=afterok:1"], "'--dependency=afterok:1'")]
        for args, named in cases:
            r = fleet_sh("--dry-run", *args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(named, r.stderr, args)
            self.assertIn("--help", r.stderr, args)
            self.assertEqual(r.stdout, "", args)

    def test_dry_run_asks_one_task_per_gpu(self):
        r = fleet_sh("--dry-run", "--nodes", "2", "--gpus-per-node", "4", "--partition", "gpu",
                     "--binary", "/bin/sh", "--results", "/shared/fleet", "--sbatch-arg", "--time=30",
                     "--quick", "--", "--processes", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        bench, merge = [l for l in r.stdout.splitlines() if l.startswith("sbatch ")]
        for arg in ("--hold", "--no-requeue", "--nodes=2", "--ntasks=8", "--ntasks-per-node=4",
                    "--gpus-per-task=1", "--exclusive", "--partition=gpu", "--time=30",
                    "--output=/shared/fleet/%j/job.out", "fleet_task.sh batch", "/shared/fleet 4 /bin/sh",
                    "--quick --filter -/cpu_ --processes 2"):
            self.assertIn(arg, bench)
        for arg in ("--dependency=afterany:JOB", "--ntasks=1", "--partition=gpu",
                    "--output=/shared/fleet/JOB/merge.out", "fleet_task.sh merge"):
            self.assertIn(arg, merge)
        self.assertNotIn("--time=30", merge)
        # Without GPUs: CPU-only tasks, no GPU asked for.
        r = fleet_sh("--dry-run", "--ntasks-per-node", "2", "--binary", "/bin/sh", "--no-exclusive")
        self.assertEqual(r.returncode, 0, r.stderr)
        bench = next(l for l in r.stdout.splitlines() if l.startswith("sbatch "))
        self.assertIn("--nodes=1 --ntasks=2 --ntasks-per-node=2", bench)
        self.assertIn("batch", bench)
        self.assertNotIn("--filter", bench)  # CPU-only tasks run the CPU benchmarks
        for arg in ("gpus", "--exclusive"):
            self.assertNotIn(arg, bench.split("fleet_task.sh")[0])


@unittest.skipUnless(ACTBENCH, "ACTBENCH (the actbench binary) is not set")
class OnSlurm(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.dir.chmod(0o711)  # the cluster's MUNGE socket lies below it (local_slurm.py)
        self.results = self.dir / "results"

    def tearDown(self):
        self.tmp.cleanup()

    def submit(self, slurm: LocalSlurm, *args: str) -> tuple[subprocess.CompletedProcess, str, str]:
        """fleet.sh --wait: the jobs run, merge and end within JOB_TIMEOUT, or the test fails with
        the queue and the daemons' logs."""
        try:
            r = fleet_sh("--nodes", "1", "--ntasks-per-node", "2", "--results", str(self.results),
                         "--wait", *args, *SMALL, env=slurm.env(), timeout=JOB_TIMEOUT)
        except subprocess.TimeoutExpired as e:
            queue = subprocess.run(["squeue", "-o", "%i %j %T %R"], capture_output=True, text=True,
                                   env=slurm.env(), timeout=20).stdout
            self.fail(f"the fleet jobs did not end within {JOB_TIMEOUT} s\n{e.stdout}\n{queue}\n"
                      + slurm.logs())
        ids = [l.split()[3].rstrip(":,") for l in r.stdout.splitlines()
               if l.startswith(("fleet.sh: benchmark job ", "fleet.sh: merge job "))]
        self.assertEqual(len(ids), 2, r.stdout + r.stderr)
        return r, ids[0], ids[1]

    def test_fleet_job_runs_merges_and_lists_the_failed_task(self):
        started = time.monotonic()
        try:
            with LocalSlurm(self.dir / "cluster") as slurm:
                self.check_clean_job(slurm)
                self.check_job_with_a_failed_task(slurm)
        except ClusterError as e:
            self.fail(f"the test's Slurm cluster: {e}")
        print(f"fleet test: cluster up, two jobs run and merged, cluster down in "
              f"{time.monotonic() - started:.1f} s")

    def check_clean_job(self, slurm: LocalSlurm) -> None:
        r, job, merge = self.submit(slurm, "--binary", ACTBENCH)
        out = self.results / job
        merged = (out / "merge.out").read_text() if (out / "merge.out").exists() else "(no merge.out)"
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + merged)
        self.assertIn(f"report: {out}/report/fleet.md", r.stdout)
        logs = sorted(p.name for p in (out / "logs").iterdir())
        self.assertEqual(logs, [f"{job}_{slurm.node}_cpu0.json", f"{job}_{slurm.node}_cpu1.json"])
        for task, name in enumerate(logs):
            run = gbjson.load(out / "logs" / name)
            self.assertEqual({k: run.context.get(k) for k in ("fleet_job", "fleet_node", "fleet_local_id")},
                             {"fleet_job": job, "fleet_node": slurm.node, "fleet_local_id": str(task)})
            self.assertIn("gpu_skipped", run.context)  # no GPU here: the CPU benchmarks, and why
            self.assertEqual(sorted(b.name.key for b in run.benchmarks.values()),
                             ["relu/cpu_scalar/f32/n:1024", "sigmoid/cpu_scalar/f32/n:1024"])
            status = (out / "tasks" / f"{task}.status").read_text()
            self.assertIn("exit=0\n", status)
            self.assertIn(f"node={slurm.node}\n", status)
        summary = json.loads((out / "report" / "fleet.json").read_text())
        self.assertEqual((summary["exit"], summary["job"], summary["failed"], summary["outliers"]),
                         (0, job, [], []))
        self.assertEqual(summary["groups"], [{"name": f"CPU host {run.machine}", "gpu": False,
                                              "members": 2, "judged": False}])
        md = (out / "report" / "fleet.md").read_text()
        self.assertIn(f"# Fleet report: job {job}", md)
        self.assertIn("Slurm job", md)
        self.assertIn("fleet_report.py: report:", (out / "merge.out").read_text())
        self.assertEqual(slurm.job(merge).get("ExitCode"), "0:0")
        leftovers = [str(p) for p in self.results.rglob("*") if ".tmp" in p.name]
        self.assertEqual(leftovers, [])

    def check_job_with_a_failed_task(self, slurm: LocalSlurm) -> None:
        # The second task's actbench fails at once, leaving no log (bench.sh exits 3 with it).
        wrapper = self.dir / "actbench-fails-in-task-1"
        wrapper.write_text(f'#!/bin/sh\n[ "$SLURM_PROCID" = 1 ] && exit 3\nexec "{ACTBENCH}" "$@"\n')
        wrapper.chmod(0o755)
        r, job, merge = self.submit(slurm, "--binary", str(wrapper))
        out = self.results / job
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("the fleet report's verdict: exit 1", r.stdout)
        self.assertEqual(sorted(p.name for p in (out / "logs").iterdir()), [f"{job}_{slurm.node}_cpu0.json"])
        summary = json.loads((out / "report" / "fleet.json").read_text())
        self.assertEqual(summary["exit"], 1)
        [failed] = summary["failed"]
        self.assertEqual((failed["who"], failed["node"], failed["exit"]), ("task 1", slurm.node, "3"))
        self.assertIn("wrote no log (exit 3)", failed["why"])
        md = (out / "report" / "fleet.md").read_text()
        self.assertIn(f"| task 1 | {slurm.node} | 3 |", md)
        self.assertEqual(slurm.job(merge).get("ExitCode"), "1:0")
        self.assertEqual(slurm.job(job).get("ExitCode"), "3:0")


if __name__ == "__main__":
    unittest.main()
