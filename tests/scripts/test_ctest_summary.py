"""scripts/ctest_summary.py: the closing summary of scripts/test.sh, read from CTest's JUnit
file and its --show-only=json-v1 listing (synthetic ones here, shaped as CTest 3.25 writes
them)."""
from __future__ import annotations

import json
import tempfile
import unittest
from pathlib import Path
from xml.sax.saxutils import escape

from support import run_script

NO_GPU = "no GPU: cudaGetDeviceCount failed with cudaErrorInsufficientDriver"


def gtest_skip_output(name: str, reason: str) -> str:
    return (f"[ RUN      ] {name}\n/src/tests/test_variants.cpp:77: Skipped\n{reason}\n"
            f"[  SKIPPED ] {name} (0 ms)\n[  PASSED  ] 0 tests.\n")


def passed(name: str) -> tuple[str, str, str, str]:
    return name, "run", "", f"[ RUN      ] {name}\n[       OK ] {name} (0 ms)\n"


def gpu_skipped(name: str) -> tuple[str, str, str, str]:
    return name, "notrun", "SKIP_REGULAR_EXPRESSION_MATCHED", gtest_skip_output(name, NO_GPU)


def script_skipped(name: str, reason: str) -> tuple[str, str, str, str]:
    return (name, "notrun", "SKIP_RETURN_CODE=77",
            f"test_x ... skipped '{reason}'\n\nOK (skipped=1)\nSKIPPED {name}: {reason}\n")


def failed(name: str) -> tuple[str, str, str, str]:
    return name, "fail", "", f"[ RUN      ] {name}\nx.cpp:3: Failure\n[  FAILED  ] {name}\n"


class Summary(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def summarize(self, cases, labels: dict[str, list[str]]):
        """Runs the script on a JUnit file of `cases` (name, status, skip message, output) and a
        listing giving each test `labels[name]`; returns (exit status, lines)."""
        xml = ['<?xml version="1.0" encoding="UTF-8"?>', f'<testsuite name="x" tests="{len(cases)}">']
        for name, status, message, output in cases:
            xml.append(f'<testcase name="{escape(name)}" classname="{escape(name)}" time="0.01" status="{status}">')
            if status == "notrun":
                xml.append(f'<skipped message="{message}"/>')
            elif status == "fail":
                xml.append('<failure message=""/>')
            xml.append(f"<system-out>{escape(output)}</system-out></testcase>")
        xml.append("</testsuite>")
        junit = self.dir / "junit.xml"
        junit.write_text("\n".join(xml))
        listing = {"kind": "ctestInfo", "tests": [
            {"name": name, "properties": [{"name": "LABELS", "value": value}] if value else []}
            for name, value in labels.items()]}
        shown = self.dir / "labels.json"
        shown.write_text(json.dumps(listing))
        r = run_script("ctest_summary.py", junit, shown, "--log", "build/release/Testing/test.log")
        return r.returncode, r.stdout.splitlines(), r.stderr

    def test_counts_and_skip_reasons_grouped_end_with_the_plain_line(self):
        gpu = [f"Gpu/VariantTest.MatchesReference/relu_naive_{i}" for i in range(3)]
        status, lines, _ = self.summarize(
            [passed("Sigmoid.IsSymmetric"), passed("ptx.softmax"), *map(gpu_skipped, gpu),
             script_skipped("scripts.test_report.ReportTest.test_plots", "matplotlib is not installed")],
            {"Sigmoid.IsSymmetric": ["cpu"], "ptx.softmax": ["static"], **{g: ["gpu"] for g in gpu},
             "scripts.test_report.ReportTest.test_plots": ["scripts"]})
        self.assertEqual(status, 0, lines)
        self.assertEqual(lines[-1], "2 passed, 0 failed, 4 skipped")
        self.assertIn(f"     3 skipped (gpu): {NO_GPU}", lines)
        self.assertIn("     1 skipped (scripts): matplotlib is not installed", lines)
        self.assertIn("labels: cpu 1, gpu 3, scripts 1, static 1", lines)
        self.assertTrue(any("build/release/Testing/test.log" in line for line in lines))

    def test_a_failure_is_named_and_fails_the_run(self):
        status, lines, _ = self.summarize(
            [passed("Sigmoid.IsSymmetric"), failed("Compare.CountsUlps"),
             ("Runner.Missing", "notrun", "Unable to find executable: /x/test_runner", "")],
            {"Sigmoid.IsSymmetric": ["cpu"], "Compare.CountsUlps": ["cpu"], "Runner.Missing": ["cpu"]})
        self.assertEqual(status, 1)
        self.assertEqual(lines[-1], "1 passed, 2 failed, 0 skipped")
        self.assertIn("  Compare.CountsUlps [cpu]", lines)
        self.assertIn("  Runner.Missing [cpu]: not run: Unable to find executable: /x/test_runner", lines)

    def test_a_gpu_test_labelled_cpu_is_caught(self):
        status, lines, _ = self.summarize(
            [gpu_skipped("Gpu/VariantTest.A"), gpu_skipped("SoftmaxGpu.RowSums")],
            {"Gpu/VariantTest.A": ["gpu"], "SoftmaxGpu.RowSums": ["cpu"]})
        self.assertEqual(status, 1)
        self.assertIn("  SoftmaxGpu.RowSums: labelled cpu but skipped for want of a GPU", lines)
        self.assertEqual(lines[-1], "0 passed, 0 failed, 2 skipped")

    def test_a_cpu_test_labelled_gpu_is_caught_where_there_is_no_gpu(self):
        cases = [gpu_skipped("Gpu/VariantTest.A"), passed("Registry.IdsAreUnique")]
        status, lines, _ = self.summarize(cases, {"Gpu/VariantTest.A": ["gpu"], "Registry.IdsAreUnique": ["gpu"]})
        self.assertEqual(status, 1)
        self.assertIn("  Registry.IdsAreUnique: labelled gpu but passed without a GPU", lines)
        # On a GPU machine nothing skips for want of one, and a passing gpu test is right.
        status, lines, _ = self.summarize([passed("Gpu/VariantTest.A")], {"Gpu/VariantTest.A": ["gpu"]})
        self.assertEqual(status, 0, lines)

    def test_a_test_without_exactly_one_label_is_caught(self):
        status, lines, _ = self.summarize(
            [passed("a"), passed("b"), passed("c")], {"a": [], "b": ["cpu", "static"], "c": ["cpu", "slow"]})
        self.assertEqual(status, 1)
        self.assertIn("labels: cpu 1, unlabelled 2", lines)
        self.assertTrue(any(line.startswith("  a: labels none") for line in lines), lines)
        self.assertTrue(any(line.startswith("  b: labels ['cpu', 'static']") for line in lines), lines)
        self.assertFalse(any(line.startswith("  c:") for line in lines), lines)

    def test_no_test_run_leaves_the_verdict_to_ctest(self):
        status, lines, _ = self.summarize([], {"Sigmoid.IsSymmetric": ["cpu"]})
        self.assertEqual(status, 0, lines)
        self.assertIn("== test summary: no tests (full output: build/release/Testing/test.log)", lines)
        self.assertEqual(lines[-1], "0 passed, 0 failed, 0 skipped")

    def test_unreadable_input_is_a_usage_error(self):
        r = run_script("ctest_summary.py", self.dir / "missing.xml", self.dir / "missing.json")
        self.assertEqual(r.returncode, 2)
        self.assertIn("missing.xml", r.stderr)
        bad = self.dir / "bad.xml"
        bad.write_text("<testsuite")
        r = run_script("ctest_summary.py", bad, bad)
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()
