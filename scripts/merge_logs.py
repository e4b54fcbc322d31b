#!/usr/bin/env python3
"""Merges the logs of the processes of one run into one Google Benchmark log.

    scripts/merge_logs.py OUT.json PART.json [PART.json ...]

scripts/bench.sh runs actbench as several processes one after another, each with its share of
the repetitions, because a process fixes things at its start that its repetitions then share:
where the allocator and the dynamic loader put code and data, which code path a library
dispatches to, where its threads land. Two runs of one build differ in them; repetitions taken
in one process cannot show that, so a noise estimate from them is too small, and a comparison
of two runs sees a different draw of them as a change. On the 2-core build machine, a oneDNN
benchmark's fastest repetition came out 2.4x slower in one process of six, every repetition of
that process alike. Repetitions taken over several processes carry that variation within the
log, where compare.py's noise model sees it.

The merged log has the first part's context, with `processes` (how many) and `date` (the first
part's: when the run started); its iteration rows are every part's, numbered 0..R-1 across the
parts (`repetitions` = R), in the order they ran, each with `process_index` (0..N-1: which
process took it; gbjson.py reads it, other readers ignore an unknown field); its aggregates (mean, median, stddev, cv of
every time and counter) are computed again over all of them, as Google Benchmark computes them,
so that any reader of Google Benchmark logs sees one run. Parts must come from one machine and
one build and hold the same benchmarks. The output is written to a temporary name and renamed,
so OUT is whole or absent.

Exit status: 0 merged; 2 unusable input (an unreadable or malformed part, parts that do not
match) or arguments. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gbjson  # noqa: E402  (the scripts folder is not a package)

# Context entries that must agree between the parts of one run.
SAME_CONTEXT = ("machine", "git_sha", "host_name", "executable", "build_type")
# Fields of a row that are neither times nor counters.
_NOT_MEASURED = gbjson.GB_ROW_FIELDS - {"real_time", "cpu_time"}


class MergeError(Exception):
    pass


def _iterations(path: Path, doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The part's iteration rows by run_name, in log order (error rows included)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for row in doc["benchmarks"]:
        if not isinstance(row, dict) or not isinstance(row.get("run_name", row.get("name")), str):
            raise MergeError(f"{path}: a benchmark row without a name")
        if row.get("run_type", "iteration") == "iteration":
            rows.setdefault(row.get("run_name", row["name"]), []).append(row)
    if not rows:
        raise MergeError(f"{path}: no iteration rows (a log of aggregates only cannot be merged)")
    return rows


_STATISTICS = {
    "mean": statistics.fmean,
    "median": statistics.median,
    "stddev": lambda v: statistics.stdev(v) if len(v) > 1 else 0.0,
}


def _aggregate(name: str, rows: list[dict[str, Any]], statistic: str) -> dict[str, Any]:
    """One aggregate row over `rows`, the fields Google Benchmark gives it."""
    first = rows[0]
    out = {k: first[k] for k in ("family_index", "per_family_instance_index", "threads", "time_unit",
                                 "label") if k in first}
    out.update(name=f"{name}_{statistic}", run_name=name, run_type="aggregate",
               repetitions=len(rows), aggregate_name=statistic,
               aggregate_unit="percentage" if statistic == "cv" else "time", iterations=len(rows))
    measured = [k for k, v in first.items()
                if k not in _NOT_MEASURED and isinstance(v, (int, float)) and not isinstance(v, bool)]
    for key in measured:
        values = [float(r[key]) for r in rows if isinstance(r.get(key), (int, float))]
        if len(values) != len(rows) or not all(map(math.isfinite, values)):
            continue
        if statistic == "cv":
            mean = statistics.fmean(values)
            out[key] = _STATISTICS["stddev"](values) / mean if mean else 0.0
        else:
            out[key] = _STATISTICS[statistic](values)
    return out


def merge(paths: list[Path]) -> dict[str, Any]:
    try:
        docs = [gbjson.read_doc(p) for p in paths]
    except gbjson.LogError as e:
        raise MergeError(str(e)) from None
    contexts = [d["context"] for d in docs]
    for path, ctx in zip(paths[1:], contexts[1:]):
        for key in SAME_CONTEXT:
            if contexts[0].get(key) != ctx.get(key):
                raise MergeError(f"{path}: context {key} is {ctx.get(key)!r}, the first part's "
                                 f"{contexts[0].get(key)!r}: not one run")
    parts = [_iterations(p, d) for p, d in zip(paths, docs)]
    for path, rows in zip(paths[1:], parts[1:]):
        if set(rows) != set(parts[0]):
            differ = sorted(set(rows) ^ set(parts[0]))
            raise MergeError(f"{path}: holds other benchmarks than {paths[0]} "
                             f"({len(differ)} differ, e.g. {differ[0]})")
    merged: list[dict[str, Any]] = []
    by_name: dict[str, list[dict[str, Any]]] = {name: [] for name in parts[0]}
    for process, rows in enumerate(parts):  # iteration rows in the order the parts ran
        for name, part_rows in rows.items():
            for row in part_rows:
                row = dict(row, repetition_index=len(by_name[name]), process_index=process)
                by_name[name].append(row)
    total = {name: len(rows) for name, rows in by_name.items()}
    for name, rows in by_name.items():
        for row in rows:
            row["repetitions"] = total[name]
        merged.extend(rows)
        timed = [r for r in rows if not r.get("error_occurred")]
        if len(timed) == len(rows) and len(rows) > 1:
            merged.extend(_aggregate(name, rows, s) for s in ("mean", "median", "stddev", "cv"))
    context = dict(contexts[0], processes=str(len(paths)))
    return {"context": context, "benchmarks": merged}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="merge_logs.py", description=__doc__.split("\n\n")[0],
                                epilog="exit status: 0 merged, 2 unusable parts or arguments")
    p.add_argument("out", type=Path, help="the merged log to write")
    p.add_argument("parts", type=Path, nargs="+", help="the processes' logs, in the order they ran")
    args = p.parse_args(argv)
    try:
        doc = merge(args.parts)
    except MergeError as e:
        print(f"merge_logs.py: error: {e}", file=sys.stderr)
        return 2
    tmp = args.out.with_name(f".{args.out.name}.tmp.{os.getpid()}")
    try:
        tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        tmp.replace(args.out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        print(f"merge_logs.py: error: cannot write {args.out}: {e.strerror or e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
