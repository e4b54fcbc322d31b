""".github/workflows/gpu.yml's comparison step, run by bash here as the GPU runner runs it: the
runs of results/baselines/<gpu>/ pooled against the new log, a warning for a baseline of one
run or none, and the exit status that fails the job on a regression. No GPU is needed: the
step only reads logs (the real A/A fixtures of the build machine stand in for a GPU's)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from support import FIXTURES, ROOT, changed, fixture, scale_time, write_log

WORKFLOW = ROOT / ".github" / "workflows" / "gpu.yml"
STEP = "- name: Compare with the baseline"
PLANTED = "sigmoid/cpu_scalar/f32/n:65536"  # judged in the fixtures' A/A pair


def step_script(workflow: Path, step: str) -> str:
    """The `run: |` block of the step whose line starts with `step`, dedented: the lines below
    `run: |` indented deeper than it (a YAML literal block; the workflow has no other form)."""
    lines = workflow.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(step))
    run = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == "run: |")
    indent = len(lines[run]) - len(lines[run].lstrip())
    block = []
    for line in lines[run + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        block.append(line)
    margin = min(len(line) - len(line.lstrip()) for line in block if line.strip())
    return "\n".join(line[margin:] for line in block) + "\n"


class CompareStep(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="gpu_workflow_"))
        self.addCleanup(shutil.rmtree, self.dir)
        self.baseline = self.dir / "baselines" / "nvidia-h200"
        self.script = step_script(WORKFLOW, STEP)

    def add_baseline(self, *names: str) -> None:
        self.baseline.mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copy(FIXTURES / name, self.baseline / name)

    def run_step(self, log: Path) -> tuple[int, str, str]:
        """The step's script under bash -e (GitHub's shell for `run`), in the checkout: exit
        status, what it printed, and the job summary it wrote."""
        summary = self.dir / "summary.md"
        summary.unlink(missing_ok=True)
        env = dict(os.environ, BASELINE=str(self.baseline), LOG=str(log),
                   RUNNER_TEMP=str(self.dir), GITHUB_STEP_SUMMARY=str(summary))
        r = subprocess.run(["bash", "-e", "-c", self.script], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr, summary.read_text() if summary.exists() else ""

    def expect(self, code: int, *said: str, log: Path = FIXTURES / "cpu_quick_b.json") -> str:
        """Runs the step on log; checks its exit status and that it said each of `said`;
        returns the job summary it wrote."""
        status, out, summary = self.run_step(log)
        self.assertEqual(status, code, out)
        for text in said:
            self.assertIn(text, out)
        return summary

    def test_the_step_is_found_and_pools_every_run_of_the_folder(self):
        self.assertIn('"$BASELINE"/*.json', self.script)
        self.assertIn('scripts/compare.py "${runs[@]}" "$LOG"', self.script)

    def test_without_a_baseline_it_passes_with_a_warning(self):
        self.assertEqual(self.expect(0, "::warning::no baseline runs in"), "")

    def test_an_empty_folder_is_no_baseline(self):
        self.baseline.mkdir(parents=True)
        (self.baseline / "README.md").write_text("not a run\n")
        self.expect(0, "::warning::no baseline runs in")

    def test_a_baseline_file_of_the_old_layout_is_named(self):
        self.baseline.parent.mkdir(parents=True)
        shutil.copy(FIXTURES / "cpu_quick_a.json", self.baseline.with_suffix(".json"))
        self.expect(0, "nvidia-h200.json is a baseline of the old layout and is not read",
                    "::warning::no baseline runs in")

    def test_a_log_that_cannot_be_compared_fails_the_job_with_the_reason(self):
        self.add_baseline("cpu_quick_a.json")
        (self.baseline / "notes.json").write_text('{"not": "a Google Benchmark log"}')
        self.expect(2, "compare.py: error:", "::error::compare.py could not compare")

    def test_a_baseline_of_one_run_is_compared_and_warned_about(self):
        self.add_baseline("cpu_quick_a.json")
        self.assertIn("no regression", self.expect(0, "holds one run"))

    def test_two_runs_are_pooled_and_a_planted_slowdown_fails_the_job(self):
        # The fixtures hold one quiet A/A pair: the pool holds the new log's own run, which
        # tests the plumbing (both runs read, pooled, the verdict and the exit status), not
        # compare.py's judgement (test_compare does that).
        self.add_baseline("cpu_quick_a.json", "cpu_quick_b.json")
        code, out, summary = self.run_step(FIXTURES / "cpu_quick_b.json")
        self.assertEqual(code, 0, out)
        self.assertNotIn("holds one run", out)
        self.assertIn("2 runs pooled", out)
        slow = write_log(self.dir, "slow.json", changed(fixture("cpu_quick_b.json"), PLANTED,
                                                          scale_time(1.25)))
        code, out, summary = self.run_step(slow)
        self.assertEqual(code, 1, out)
        slower = [line.split()[0] for line in out.splitlines() if line.endswith("  SLOWER")]
        self.assertEqual(slower, [PLANTED])
        self.assertIn("REGRESSION", summary)


if __name__ == "__main__":
    unittest.main()
