#!/usr/bin/env python3
"""The closing summary of scripts/test.sh: how many tests passed, failed and were skipped, the
skip reasons grouped with their counts, the failed tests by name, and a check that the labels
tell the truth (every test has exactly one of cpu, gpu, scripts, static; on a machine without
a GPU, every gpu test skipped for that reason and no other test did). Its last line is
'N passed, N failed, N skipped'.

    ctest_summary.py JUNIT LABELS [--log PATH]

JUNIT is CTest's --output-junit file, LABELS the output of `ctest --show-only=json-v1` (the
JUnit file does not carry labels). Exit status: 0 when nothing failed and the labels hold (a
run of no tests too: CTest's own exit status says whether that is an error), 1 otherwise, 2 on
bad usage or an unreadable file. Standard library only.
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass

LABELS = ("cpu", "gpu", "scripts", "static")
# ACT_REQUIRE_GPU (tests/test_support.h) starts its skip message with this.
NO_GPU = "no GPU"
MAX_LISTED = 20  # failed tests named one by one; the rest are counted
MAX_REASONS = 10  # skip reasons shown; the rest are counted

# GoogleTest: "<file>:<line>: Skipped", the message, then "[  SKIPPED ] <test>".
GTEST_SKIP = re.compile(r"^.*:\d+: Skipped\n(.*?)\n\[  SKIPPED \]", re.S | re.M)
# tests/scripts/run.py: "SKIPPED <unittest id>: <reason>".
UNITTEST_SKIP = re.compile(r"^SKIPPED \S+: (.*)$", re.M)


@dataclass
class Result:
    name: str
    outcome: str  # passed, failed, skipped
    detail: str  # a skip's reason, or how a test failed where CTest says (else empty)


def skip_reason(output: str) -> str:
    """The reason a skipped test printed, on one line."""
    for pattern in (GTEST_SKIP, UNITTEST_SKIP):
        m = pattern.search(output)
        if m and m.group(1).strip():
            return " ".join(m.group(1).split())
    return "no reason in the test's output"


def read_junit(path: str) -> list[Result]:
    """CTest's JUnit file as results. CTest marks a skip (SKIP_REGULAR_EXPRESSION or
    SKIP_RETURN_CODE) as status="notrun" with a SKIP_* message; any other test that did not run
    (executable missing, failed fixture) counts as failed, as CTest counts it."""
    results = []
    for case in ET.parse(path).getroot().iter("testcase"):
        status = case.get("status")
        name = case.get("name", "?")
        output = case.findtext("system-out") or ""
        if status == "run":
            results.append(Result(name, "passed", ""))
        elif status == "disabled":
            results.append(Result(name, "skipped", "disabled in CTest"))
        elif status == "notrun":
            skipped = case.find("skipped")
            message = skipped.get("message", "") if skipped is not None else ""
            if message.startswith("SKIP_"):
                results.append(Result(name, "skipped", skip_reason(output)))
            else:
                results.append(Result(name, "failed", f"not run: {message or 'no reason given'}"))
        else:
            failure = case.find("failure")
            message = failure.get("message", "") if failure is not None else ""
            results.append(Result(name, "failed", message))
    return results


def read_labels(path: str) -> dict[str, list[str]]:
    """Test name -> its labels, from `ctest --show-only=json-v1`."""
    labels = {}
    for test in json.load(open(path))["tests"]:
        values = [p["value"] for p in test.get("properties", []) if p.get("name") == "LABELS"]
        labels[test["name"]] = values[0] if values else []
    return labels


def label_of(name: str, labels: dict[str, list[str]]) -> str:
    ours = [label for label in labels.get(name, []) if label in LABELS]
    return ours[0] if len(ours) == 1 else "unlabelled"


def label_problems(results: list[Result], labels: dict[str, list[str]]) -> list[str]:
    problems = []
    for name, values in sorted(labels.items()):
        ours = [label for label in values if label in LABELS]
        if len(ours) != 1:
            problems.append(f"{name}: labels {values or 'none'}, want exactly one of {', '.join(LABELS)}")
    no_gpu = any(r.outcome == "skipped" and r.detail.startswith(NO_GPU) for r in results)
    if no_gpu:  # then every gpu test skips for that reason, and only gpu tests do
        for r in results:
            label = label_of(r.name, labels)
            needs_gpu = r.outcome == "skipped" and r.detail.startswith(NO_GPU)
            if label == "gpu" and r.outcome == "passed":
                problems.append(f"{r.name}: labelled gpu but passed without a GPU")
            elif label != "gpu" and needs_gpu:
                problems.append(f"{r.name}: labelled {label} but skipped for want of a GPU")
    return problems


def summarize(results: list[Result], labels: dict[str, list[str]], log: str | None) -> tuple[list[str], int]:
    """The summary's lines and the exit status."""
    counts = collections.Counter(r.outcome for r in results)
    by_label = collections.Counter(label_of(r.name, labels) for r in results)
    lines = ["", f"== test summary: {len(results) or 'no'} tests"
             + (f" (full output: {log})" if log else "")]
    if results:
        lines.append("labels: " + ", ".join(f"{label} {by_label[label]}"
                                            for label in (*LABELS, "unlabelled") if by_label[label]))

    reasons: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in results:
        if r.outcome == "skipped":
            reasons[r.detail][label_of(r.name, labels)] += 1
    ranked = sorted(reasons.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    for reason, per_label in ranked[:MAX_REASONS]:
        where = ", ".join(sorted(per_label))
        lines.append(f"{sum(per_label.values()):6d} skipped ({where}): {reason}")
    if len(ranked) > MAX_REASONS:
        rest = sum(sum(c.values()) for _, c in ranked[MAX_REASONS:])
        lines.append(f"{rest:6d} skipped for {len(ranked) - MAX_REASONS} other reasons (see the full output)")

    failed = [r for r in results if r.outcome == "failed"]
    if failed:
        lines.append("failed (their output is above and in the full output):")
        lines += [f"  {r.name} [{label_of(r.name, labels)}]" + (f": {r.detail}" if r.detail else "")
                  for r in failed[:MAX_LISTED]]
        if len(failed) > MAX_LISTED:
            lines.append(f"  ... and {len(failed) - MAX_LISTED} more")

    problems = label_problems(results, labels)
    if problems:
        lines.append(f"{len(problems)} label errors (`ctest -L gpu` would select the wrong tests):")
        lines += [f"  {p}" for p in problems[:MAX_LISTED]]
        if len(problems) > MAX_LISTED:
            lines.append(f"  ... and {len(problems) - MAX_LISTED} more")

    lines.append(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    return lines, 1 if failed or problems else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("junit", help="CTest's --output-junit file")
    parser.add_argument("labels", help="`ctest --show-only=json-v1` output")
    parser.add_argument("--log", help="where the full output is, to say so")
    args = parser.parse_args(argv)
    try:
        results = read_junit(args.junit)
        labels = read_labels(args.labels)
    except (OSError, ET.ParseError, ValueError, KeyError) as e:
        print(f"ctest_summary.py: cannot read {args.junit} / {args.labels}: {e}", file=sys.stderr)
        return 2
    lines, status = summarize(results, labels, args.log)
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
