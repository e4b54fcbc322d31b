"""scripts/fleet_report.py on synthetic fleets: per-GPU logs made from the GPU fixture
(fixtures/gpu_reps.json, itself synthetic), each with its own host, serial and a small
deterministic jitter, marked synthetic so that the report says they are no measurement.

A fleet of 8 GPUs of one model and 2 of another (1.3x slower: a mixed median would flag both):
one GPU planted 12% slower on one benchmark is the only outlier; the same fleet without the
plant (an A/A set) flags nothing. A job folder as scripts/fleet.sh leaves it lists the task
that failed and the task that never reported, with their nodes and exit status."""
from __future__ import annotations

import copy
import json
import re
import tempfile
import unittest
from pathlib import Path

from support import fixture, run_script, scale_time, changed, write_log

PLANTED = "sigmoid/warp/f32/n:16777216/manual_time"
MODEL_A = "Synthetic GPU A (test fixture)"
MODEL_B = "Synthetic GPU B (test fixture)"


def jitter(i: int, j: int) -> float:
    """A deterministic relative change within +-0.8%, different per GPU and benchmark."""
    return 1 + 0.004 * ((i * 7 + j * 3) % 5 - 2)


def gpu_log(i: int, model: str, scale: float = 1.0, node: str | None = None) -> dict:
    """GPU i of the fleet: the fixture with its own identity and times."""
    log = copy.deepcopy(fixture("gpu_reps.json"))
    node = node or f"node{i // 4:02d}"
    log["context"].update(gpu_name=model, machine=model, host_name=node, synthetic="true",
                          gpu_serial=f"SYN{1000 + i}", fleet_node=node, fleet_gpu_index=str(i % 4),
                          fleet_task=str(i), fleet_local_id=str(i % 4), fleet_job="42")
    names = list(dict.fromkeys(b["run_name"] for b in log["benchmarks"]))
    for j, name in enumerate(names):
        log = changed(log, name, scale_time(scale * jitter(i, j)))
    return log


def fleet(folder: Path, plant: float | None = None, copy_bw: float | None = None) -> list[Path]:
    """8 GPUs of model A, 2 of model B; GPU 5 planted `plant` slower on PLANTED."""
    paths = []
    for i in range(10):
        model, scale = (MODEL_A, 1.0) if i < 8 else (MODEL_B, 1.3)
        log = gpu_log(i, model, scale)
        if i == 5 and plant:
            log = changed(log, PLANTED, scale_time(plant))
        if i == 2 and copy_bw:
            log["context"]["gpu_copy_bw_gbs"] = str(float(log["context"]["gpu_copy_bw_gbs"]) * copy_bw)
        paths.append(write_log(folder, f"42_node{i // 4:02d}_gpu{i % 4}_SYN{1000 + i}.json", log))
    return paths


class SyntheticFleet(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.logs = self.dir / "logs"
        self.logs.mkdir()
        self.out = self.dir / "report"

    def tearDown(self):
        self.tmp.cleanup()

    def report(self, *args, plots: bool = False) -> tuple:
        """The report's run and its fleet.json; tables only unless `plots` (matplotlib takes
        a second or two to start)."""
        r = run_script("fleet_report.py", *args, "--out", self.out, *([] if plots else ["--no-plots"]))
        summary = json.loads((self.out / "fleet.json").read_text()) if (self.out / "fleet.json").exists() else None
        return r, summary

    def test_planted_slow_gpu_is_flagged_alone(self):
        r, summary = self.report(*fleet(self.logs, plant=1.12), plots=True)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        try:
            import matplotlib  # noqa: F401
            self.assertEqual(sorted(p.name for p in self.out.glob("*.png")),
                             ["fleet_Synthetic-GPU-A-test-fixture.png",
                              "fleet_Synthetic-GPU-B-test-fixture.png"])
        except ImportError:
            self.assertIn("matplotlib is not installed", r.stderr)
        [outlier] = summary["outliers"]
        self.assertEqual((outlier["member"], outlier["benchmark"], outlier["serial"]),
                         ("node01 GPU 1", PLANTED, "SYN1005"))
        self.assertAlmostEqual(outlier["slower"], 0.12, delta=0.01)
        self.assertEqual(outlier["band"], 0.05)
        md = (self.out / "fleet.md").read_text()
        self.assertIn("SYNTHETIC", md)
        self.assertIn("+12.", md)
        self.assertIn("1 outlier(s) on 1 GPU(s): node01 GPU 1", md)
        self.assertIn(f"OUTLIER node01 GPU 1 ({MODEL_A}, serial SYN1005): {PLANTED} +12.", r.stdout)
        self.assertEqual(summary["failed"], [])

    def test_aa_fleet_flags_nothing(self):
        r, summary = self.report(*fleet(self.logs))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(summary["outliers"], [])
        self.assertTrue(summary["synthetic"])
        md = (self.out / "fleet.md").read_text()
        self.assertIn("SYNTHETIC", md)
        self.assertIn("Verdict: every judged GPU (8 of 10) within its model's band", md)

    def test_models_are_grouped_never_mixed(self):
        r, summary = self.report(*fleet(self.logs))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual([(g["name"], g["members"], g["judged"]) for g in summary["groups"]],
                         [(MODEL_A, 8, True), (MODEL_B, 2, False)])
        md = (self.out / "fleet.md").read_text()
        self.assertIn(f"## {MODEL_A}: 8 GPUs", md)
        self.assertIn(f"## {MODEL_B}: 2 GPUs", md)
        self.assertIn("Not judged: fewer than 3 GPUs of this model.", md)
        # Model B alone, with a third GPU, is judged and (1.3x slower than A) still flags nothing.
        extra = write_log(self.logs, "b3.json", gpu_log(10, MODEL_B, 1.3))
        r, summary = self.report(*sorted(self.logs.glob("*.json")))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual([g["judged"] for g in summary["groups"]], [True, True])
        extra.unlink()

    def test_low_copy_bandwidth_is_flagged(self):
        r, summary = self.report(*fleet(self.logs, copy_bw=0.85))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        [outlier] = summary["outliers"]
        self.assertEqual((outlier["member"], outlier["benchmark"]), ("node00 GPU 2", "copy bandwidth"))
        self.assertAlmostEqual(outlier["slower"], 1 / 0.85 - 1, delta=0.01)

    def test_per_gpu_tables(self):
        r, _ = self.report(*fleet(self.logs))
        self.assertEqual(r.returncode, 0, r.stderr)
        md = (self.out / "fleet.md").read_text()
        # card, driver, serial, copy bandwidth, and the best variant's % of copy per family
        self.assertRegex(md, rf"\| node00 GPU 0 \| SYN1000 \| {re.escape(MODEL_A)} \| CUDA 13\.0 \| "
                             rf"2961\.4 GB/s \| \+0\.0% \| 0 \| 42_node00_gpu0_SYN1000\.json \|")
        self.assertIn("### Best variant, % of copy bandwidth at each family's largest size (f32)", md)
        self.assertRegex(md, r"\| node00 GPU 0 \| warp \d+% \|")
        self.assertIn(f"| {PLANTED} | 8 |", md)
        # A GPU log's CPU baselines measure its host, shared by the node's tasks: left out.
        self.assertNotIn("sigmoid/cpu_omp/", md)
        self.assertNotIn("copy/cpu_memcpy/", md)

    def test_output_is_whole_and_replaced_in_place(self):
        paths = fleet(self.logs)
        self.out.mkdir()
        (self.out / "fleet.md").write_text("an older report")
        r, _ = self.report(*paths)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("# Fleet report", (self.out / "fleet.md").read_text())
        self.assertEqual([p.name for p in self.dir.iterdir() if p.name.startswith(".")], [])
        self.assertEqual([p.name for p in self.out.iterdir() if p.name.startswith(".")], [])

    def test_unusable_input_exits_2_with_one_line(self):
        broken = self.dir / "broken.json"
        broken.write_text('{"benchmarks": [')
        for args in ([str(broken)], [str(self.dir / "missing.json")], []):
            r = run_script("fleet_report.py", *args, "--out", self.out)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertNotIn("Traceback", r.stderr)
            self.assertFalse(self.out.exists(), args)
        r = run_script("fleet_report.py", "--dir", self.dir / "empty-job", "--out", self.out)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


class JobFolder(unittest.TestCase):
    """A folder as scripts/fleet.sh's job leaves it: logs/, tasks/<task>.status, tasks/job and
    what the scheduler said (tasks/scheduler.txt)."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.job = Path(self.tmp.name) / "42"
        (self.job / "logs").mkdir(parents=True)
        (self.job / "tasks").mkdir()

    def tearDown(self):
        self.tmp.cleanup()

    def status(self, task: int, **fields: str) -> None:
        lines = [f"{k}={v}" for k, v in dict(task=str(task), **fields).items()]
        (self.job / "tasks" / f"{task}.status").write_text("\n".join(lines) + "\n")

    def test_failed_and_silent_tasks_are_listed(self):
        (self.job / "tasks" / "job").write_text("job=42\nntasks=5\nnodes=node[00-01]\n")
        (self.job / "tasks" / "scheduler.txt").write_text(
            "scontrol: JobId=42 JobName=actbench-fleet JobState=FAILED Reason=NonZeroExitCode "
            "ExitCode=3:0 NumTasks=5 NodeList=node[00-01]\n")
        for task in range(3):
            name = f"42_node00_gpu{task}_SYN{1000 + task}.json"
            write_log(self.job / "logs", name, gpu_log(task, MODEL_A, node="node00"))
            self.status(task, node="node00", gpu=str(task), exit="0", log=f"logs/{name}")
        self.status(3, node="node01", gpu="0", exit="3",
                    note="bench.sh: actbench wrote no log (exit 3); nothing was kept")
        # task 4 never wrote a status
        r = run_script("fleet_report.py", "--dir", self.job, "--no-plots")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        summary = json.loads((self.job / "report" / "fleet.json").read_text())
        failed = {f["who"]: f for f in summary["failed"]}
        self.assertEqual(sorted(failed), ["task 3 (GPU 0)", "task 4"])
        self.assertEqual((failed["task 3 (GPU 0)"]["node"], failed["task 3 (GPU 0)"]["exit"]), ("node01", "3"))
        self.assertIn("actbench wrote no log (exit 3)", failed["task 3 (GPU 0)"]["why"])
        self.assertEqual((failed["task 4"]["node"], failed["task 4"]["exit"]), ("node[00-01]", "3:0"))
        self.assertIn("wrote no status", failed["task 4"]["why"])
        self.assertIn("job FAILED", failed["task 4"]["why"])
        md = (self.job / "report" / "fleet.md").read_text()
        self.assertIn("# Fleet report: job 42", md)
        self.assertIn("## Failed tasks", md)
        self.assertIn("| task 3 (GPU 0) | node01 | 3 |", md)
        self.assertIn("FAILED task 4 on node[00-01]", r.stdout)

    def test_gpu_task_that_ran_without_its_gpu_failed(self):
        (self.job / "tasks" / "job").write_text("job=42\nntasks=1\n")
        log = gpu_log(0, MODEL_A, node="node00")
        log["context"]["gpu_skipped"] = "no usable NVIDIA GPU or driver on this machine"
        write_log(self.job / "logs", "a.json", log)
        self.status(0, node="node00", gpu="0", exit="0", log="logs/a.json")
        r = run_script("fleet_report.py", "--dir", self.job, "--no-plots")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        summary = json.loads((self.job / "report" / "fleet.json").read_text())
        [failed] = summary["failed"]
        self.assertIn("ran without its GPU", failed["why"])
        self.assertEqual(summary["groups"][0]["name"], f"CPU host {MODEL_A}")

    def test_all_tasks_within_band(self):
        (self.job / "tasks" / "job").write_text("job=42\nntasks=3\n")
        for task in range(3):
            write_log(self.job / "logs", f"{task}.json", gpu_log(task, MODEL_A))
            self.status(task, node="node00", gpu=str(task), exit="0", log=f"logs/{task}.json")
        r = run_script("fleet_report.py", "--dir", self.job, "--no-plots")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
