#!/usr/bin/env python3
"""Compares two actbench (Google Benchmark JSON) logs and fails on a real slowdown.

    scripts/compare.py BASE.json NEW.json [--threshold 0.05] [--cv-factor 2] [--alpha 0.05]
                       [--allow-different-machines]

Benchmarks are matched by run_name and compared on their median time over repetitions (the
single time when a log has no repetitions). Timing noise decides what counts as a change:

  * a change within max(threshold, cv-factor * cv) is SAME, cv being the larger coefficient of
    variation of the two sides, so a noisy CPU baseline does not fail CI;
  * with at least 5 repetitions on both sides, a two-sided Mann-Whitney U test on the
    repetitions must also reject "same distribution" at --alpha: a shift of the median that
    the repetitions do not support is SAME too.

Each benchmark is SAME, FASTER, SLOWER, NEW (only in NEW.json), GONE (only in BASE.json) or
ERROR (errored on either side). Logs from different machines (context machine / gpu_name) are
refused unless --allow-different-machines.

Exit status: 0 no regression; 1 at least one SLOWER or ERROR; 2 unusable input (unreadable,
truncated or wrongly shaped JSON, different machines, bad arguments).

Standard library only, so that it runs on any CI machine.
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gbjson  # noqa: E402  (the scripts folder is not a package)

MIN_REPETITIONS_FOR_TEST = 5
_EXACT_TEST_MAX_PAIRS = 400  # n1 * n2 up to which the exact U distribution is cheap


def mann_whitney_p(a: list[float], b: list[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test that a and b come from one distribution.

    Exact (by counting rank orderings) for small samples without ties, where the normal
    approximation is poor; otherwise the normal approximation with tie and continuity
    corrections."""
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return 1.0
    ranks = _midranks(a + b)
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2  # pairs (x in a, y in b) with x > y
    ties = _tie_sizes(a + b)
    if not ties and n1 * n2 <= _EXACT_TEST_MAX_PAIRS:
        counts = _u_counts(n1, n2)
        tail = sum(counts[: int(min(u1, n1 * n2 - u1)) + 1])
        return min(1.0, 2 * tail / math.comb(n1 + n2, n1))
    n = n1 + n2
    tie_term = sum(t ** 3 - t for t in ties) / (n * (n - 1))
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term))
    if sigma == 0:
        return 1.0
    z = max(0.0, abs(u1 - n1 * n2 / 2) - 0.5) / sigma
    return math.erfc(z / math.sqrt(2))


def _midranks(values: list[float]) -> list[float]:
    """1-based ranks, tied values sharing the mean of their ranks."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _tie_sizes(values: list[float]) -> list[int]:
    counts: dict[float, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return [c for c in counts.values() if c > 1]


@functools.lru_cache(maxsize=None)
def _u_counts(n1: int, n2: int) -> tuple[int, ...]:
    """counts[u]: how many orderings of n1 a's and n2 b's give U = u. The largest element is
    either an a (it beats all n2 b's) or a b (it adds nothing)."""
    if n1 == 0 or n2 == 0:
        return (1,)
    counts = [0] * (n1 * n2 + 1)
    for u, c in enumerate(_u_counts(n1 - 1, n2)):
        counts[u + n2] += c
    for u, c in enumerate(_u_counts(n1, n2 - 1)):
        counts[u] += c
    return tuple(counts)


@dataclass
class Verdict:
    """How one benchmark changed."""

    name: str
    status: str  # SAME, FASTER, SLOWER, NEW, GONE, ERROR
    base_ns: float | None = None
    new_ns: float | None = None
    change: float | None = None  # new / base - 1
    band: float | None = None    # the relative change that counts as noise
    p_value: float | None = None
    note: str = ""


def judge(name: str, base: gbjson.Benchmark | None, new: gbjson.Benchmark | None,
          args: argparse.Namespace) -> Verdict:
    """Classifies one benchmark present in at least one of the logs."""
    if base is None or new is None:
        side, present = ("new", new) if base is None else ("base", base)
        v = Verdict(name, "NEW" if base is None else "GONE",
                    base_ns=base.center_ns if base else None,
                    new_ns=new.center_ns if new else None)
        if present.failed:
            v.status, v.note = "ERROR", _errors(side, present)
        return v
    v = Verdict(name, "SAME", base.center_ns, new.center_ns)
    if base.failed or new.failed or base.center_ns is None or new.center_ns is None:
        v.status = "ERROR"
        v.note = "; ".join(_errors(side, b) for side, b in (("base", base), ("new", new))
                           if b.failed)
        return v
    if base.center_ns > 0:
        v.change = new.center_ns / base.center_ns - 1
    else:
        v.change = 0.0 if new.center_ns == 0 else math.inf
    v.band = max(args.threshold, args.cv_factor * max(base.cv, new.cv))
    significant = True
    if min(len(base.times_ns), len(new.times_ns)) >= MIN_REPETITIONS_FOR_TEST:
        v.p_value = mann_whitney_p(base.times_ns, new.times_ns)
        significant = v.p_value < args.alpha
    if abs(v.change) > v.band and significant:
        v.status = "SLOWER" if v.change > 0 else "FASTER"
    return v


def _errors(side: str, b: gbjson.Benchmark) -> str:
    return f"{side}: " + " | ".join(b.errors or ["no timing"])


def compare(base: gbjson.Run, new: gbjson.Run, args: argparse.Namespace) -> list[Verdict]:
    """Verdicts in BASE order, then the benchmarks only NEW has."""
    names = list(base.benchmarks) + [n for n in new.benchmarks if n not in base.benchmarks]
    return [judge(n, base.benchmarks.get(n), new.benchmarks.get(n), args) for n in names]


def machine_mismatch(base: gbjson.Run, new: gbjson.Run) -> str | None:
    """Why the two logs come from different machines, or None. Compares the first identity
    both logs state: the benchmark's own machine name, then the GPU name, then the host."""
    for key in ("machine", "gpu_name", "host_name"):
        a, b = base.context.get(key), new.context.get(key)
        if a and b:
            return None if a == b else f"{key} {a!r} (base) vs {b!r} (new)"
    return None


def setting_warnings(base: gbjson.Run, new: gbjson.Run) -> list[str]:
    """Settings that make times incomparable without making the comparison wrong to run."""
    return [f"warning: {key} differs: {base.context[key]!r} (base) vs {new.context[key]!r} (new)"
            for key in ("l2_flush", "build_type", "library_build_type")
            if key in base.context and key in new.context
            and base.context[key] != new.context[key]]


def format_table(verdicts: list[Verdict]) -> str:
    header = ("benchmark", "base", "new", "change", "noise", "p", "status")
    rows = [(v.name, gbjson.format_time(v.base_ns), gbjson.format_time(v.new_ns),
             "-" if v.change is None else f"{v.change:+.1%}",
             "-" if v.band is None else f"±{v.band:.1%}",
             "-" if v.p_value is None else f"{v.p_value:.3f}",
             v.status) for v in verdicts]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:-1], widths[1:-1])]
        lines.append("  ".join(cells + [r[-1]]).rstrip())
    return "\n".join(lines)


def summary_line(verdicts: list[Verdict], args: argparse.Namespace) -> str:
    counts = {s: sum(v.status == s for v in verdicts)
              for s in ("SLOWER", "FASTER", "SAME", "NEW", "GONE", "ERROR")}
    failed = counts["SLOWER"] + counts["ERROR"]
    parts = ", ".join(f"{n} {s.lower()}" for s, n in counts.items())
    rule = (f"noise band max({args.threshold:.0%}, {args.cv_factor:g} x cv), Mann-Whitney "
            f"p < {args.alpha:g} with >= {MIN_REPETITIONS_FOR_TEST} repetitions")
    return f"{parts} ({rule}): {'REGRESSION' if failed else 'no regression'}"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="compare.py", description=__doc__.split("\n\n")[0],
        epilog="exit status: 0 no regression, 1 a SLOWER or ERROR benchmark, 2 unusable input")
    p.add_argument("base", type=Path, help="baseline log (Google Benchmark JSON)")
    p.add_argument("new", type=Path, help="log to check against it")
    p.add_argument("--threshold", type=float, default=0.05,
                   help="smallest relative change in median time that counts (default 0.05)")
    p.add_argument("--cv-factor", type=float, default=2.0,
                   help="the noise band is at least this many coefficients of variation "
                        "(default 2)")
    p.add_argument("--alpha", type=float, default=0.05,
                   help="significance level of the Mann-Whitney test (default 0.05)")
    p.add_argument("--allow-different-machines", action="store_true",
                   help="compare logs whose machine or GPU names differ")
    args = p.parse_args(argv)
    if args.threshold < 0 or args.cv_factor < 0 or not 0 < args.alpha <= 1:
        p.error("--threshold and --cv-factor must be >= 0 and --alpha in (0, 1]")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        base, new = gbjson.load(args.base), gbjson.load(args.new)
    except gbjson.LogError as e:
        print(f"compare.py: error: {e}", file=sys.stderr)
        return 2
    mismatch = machine_mismatch(base, new)
    if mismatch and not args.allow_different_machines:
        print(f"compare.py: error: the logs come from different machines: {mismatch}; "
              f"pass --allow-different-machines to compare them anyway", file=sys.stderr)
        return 2
    for warning in setting_warnings(base, new) + ([f"warning: {mismatch}"] if mismatch else []):
        print(f"compare.py: {warning}", file=sys.stderr)
    verdicts = compare(base, new, args)
    print(f"base: {base.path} ({base.machine})\nnew:  {new.path} ({new.machine})\n")
    print(format_table(verdicts))
    for v in verdicts:
        if v.note:
            print(f"{v.status} {v.name}: {v.note}")
    print()
    print(summary_line(verdicts, args))
    return 1 if any(v.status in ("SLOWER", "ERROR") for v in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
