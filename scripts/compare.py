#!/usr/bin/env python3
"""Compares two Google Benchmark JSON logs (actbench's or any other) and fails on a real slowdown.

    scripts/compare.py BASE.json [BASE.json ...] NEW.json [--threshold 0.05]
                       [--noise-factor 2] [--spread-factor 5] [--max-band 0.15]
                       [--max-run-shift 0.1] [--allow-different-machines]

Benchmarks are matched by full name, element type included (`sigmoid/warp/bf16/n:1024` and
`sigmoid/warp/f16/n:1024` are two benchmarks; a name from a log before the types,
`sigmoid/warp/n:1024`, is the f32 one and is shown as `sigmoid/warp/f32/n:1024`), and judged on
their repetitions (the log's iteration rows), with a noise model built for a shared machine,
whose interference only ever adds time:

  * each side's time is the median, over the processes that took repetitions (the
    `process_index` scripts/merge_logs.py gives each; a plain Google Benchmark log is one
    process), of each process's fastest repetition;
  * its noise is the larger of the spread between processes (half the range of their
    fastest repetitions, over the time) and the spread of the fast end (the 30th percentile
    of all repetitions over the fastest);
  * the change is taken relative to the other benchmarks' (the median of their changes:
    what the machine did between the runs), and the noise band is max(threshold,
    noise-factor x the noisier side's noise, spread-factor x the others' spread: 1.4826 x
    the median of their absolute relative changes, how far benchmarks moved among themselves
    between the two runs); SLOWER or FASTER beyond the band, SAME within it. The others',
    not all: a benchmark's own change, a regression, moves neither its reference nor its
    band;
  * a benchmark is UNCERTAIN, not judged, when a side has fewer than 5 repetitions (a log
    without repetitions, or one that kept only aggregates, carries no noise estimate), when a
    side was stalled (a repetition 10x its fastest or more), or when its band is wider than
    --max-band (15%): too noisy to tell a regression from noise;
  * when the whole run moved beyond --max-run-shift (10%), the machine changed between the
    runs (a burst of load, clocks): nothing is judged, and the summary says the runs are not
    comparable. A change of code moves the benchmarks it touches, not the median of all.

Why this model. Measured on the 2-core build machine: 6 `scripts/bench.sh --quick` runs of one
build on a quiet machine and 3 with the other core busy (each 4 processes x 5 interleaved
repetitions of 126 benchmarks), every ordered pair compared, and a 25% slowdown planted into
each benchmark a pair judged:

    model (band factor; max band 15%)            quiet: false-alarm pairs, judged   busy
    median, 3 x robust cv (1.4826 MAD / median)      0 of 30, 12%                   0 of 6, 0%
    10th percentile, 2 x (p30 - min) / min           2 of 30, 69%                   0 of 6, 35%
    fastest, 2 x (p25 - min) / min                   2 of 30, 79%                   1 of 6, 44%
    process minima, 2 x noise above, absolute        0 of 30, 62%                   2 of 6, 33%
    process minima, 2 x noise above, run-relative    0 of 30, 62%                   0 of 6, 33%

(every plant into a judged benchmark was caught, alone, in every model). The old median/MAD
model never false-alarmed but judged almost nothing: slow repetitions are most of a shared
machine's spread, and the fast end is steady. Two runs' fastest repetitions still differ when a
process draws another layout or library path (one oneDNN benchmark was 2.4x slower in one
process of six, every repetition alike), which only repetitions from several processes show;
and the other core's load slows every benchmark a little, which the run-relative change
removes. Logs of one process lack the first: 6 single-process --quick runs compared so gave
false alarms in 10 of 30 pairs (the median/MAD model in 4-6), and compare.py warns on such a
log. scripts/aa_check.py repeats the A/A check on any machine.

The benchmarks' spread. Two runs also differ by what lasts a run: 16 --quick runs of one build
on a quiet machine (8 back-to-back pairs over 30 minutes, 143 benchmarks each), all 240
ordered pairs compared: without the spread term (--spread-factor 0) 79 pairs had a benchmark
SLOWER or FASTER beyond its band (one benchmark 19% off, every process of each run agreeing),
with a spread factor of 5 (the default) 12, judging 33% of the benchmarks rather than 45%; a
25% plant into a judged benchmark (8 a pair) was caught, and named alone, 1151 times in
1200. The spread and the reference are the other benchmarks': a benchmark's own change never
widens its band (with all of them, a plant into a 20-benchmark log moved the median enough to
leave every benchmark UNCERTAIN); and those with a noise estimate only, not the stalled ones
(below), whose changes on a busy machine would leave no band under --max-band.

Stalls. With the other core busy, a parallel benchmark (cpu_omp, oneDNN, the threaded memcpy)
loses a time slice whenever the scheduler holds one of its threads at a barrier: 69-75 of 143
benchmarks of each of 3 busy --quick runs had a repetition 10x their fastest or more (up to
235x), every one of them threaded, against none in 14 of 16 quiet runs (23 and 41 in the
other two, which ran beside another busy process); and their fastest repetitions then moved
from run to run too (gelu_tanh/cpu_omp/f32/n:65536: 33.9-34.2 us in all four processes
of one busy run, 54.2-54.7 us in all four of the next, the only benchmark beyond its band).
Such a benchmark is UNCERTAIN, saying so, and the single-threaded ones are judged: 8 busy runs
(4 back-to-back pairs), all 56 ordered pairs, had no benchmark beyond its band, judging 41% of
the benchmarks, and 448 of 448 plants into them were caught alone.

A baseline of several runs. Noise measured within one run cannot see what moves between runs
taken at different times: on the build machine a benchmark's fastest repetitions agreed within
each of two runs and differed by 20% between them (relu/cpu_omp/bf16: 7.6-7.7 us in all four
processes of one run, 9.2-9.6 us in all four of another, the whole run moving 8%). Several
BASE logs (runs of one build on one machine, best taken at different times) are pooled into
one baseline, each run's processes its own (gbjson.pool), so that the spread between
processes includes the spread between runs. Measured on 6 --quick runs of one build over 17
minutes, the other core busy for most of them (3 back-to-back pairs, 210 benchmarks each):
one base log against each other run, 4 of the 30 ordered pairs false-alarmed (each across two
pairs, none within one); two base logs pooled against a third run, 0 of 60 (7% of benchmarks
judged; back-to-back pairs judged 2-47%). A CI that compares against a stored baseline taken
on another day keeps two or more runs of it.

Each benchmark is SAME, FASTER, SLOWER, UNCERTAIN, NEW (only in NEW.json), GONE (only in
BASE.json) or ERROR (errored on either side). Logs from different machines (context machine /
gpu_name / host_name) are refused unless --allow-different-machines; several BASE logs must
come from one machine in any case.

Exit status: 0 no regression (UNCERTAIN benchmarks do not fail it: the summary line counts
them and a warning on stderr says so); 1 at least one SLOWER or ERROR; 2 unusable input
(unreadable, truncated or wrongly shaped JSON, different machines, bad arguments).

Standard library only, so that it runs on any CI machine.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gbjson  # noqa: E402  (the scripts folder is not a package)

NOISE_FACTOR = 2.0
MAX_BAND = 0.15
MIN_REPETITIONS = 5  # fewer: UNCERTAIN (and 4 vs 4 is the least a rank test can reject at 5%)
MAX_RUN_SHIFT = 0.1
SPREAD_FACTOR = 5.0
# A repetition this many times the fastest: stalled (see unjudgeable). A repetition is the mean
# of many iterations: no benchmark's own variation comes near it, a time slice lost does.
STALL_RATIO = 10.0
MIN_BENCHMARKS_FOR_SHIFT = 5


STATUSES = ("SLOWER", "FASTER", "SAME", "UNCERTAIN", "NEW", "GONE", "ERROR")


@dataclass
class Verdict:
    """How one benchmark changed."""

    name: str
    status: str  # one of STATUSES
    base_ns: float | None = None
    new_ns: float | None = None
    change: float | None = None    # new / base - 1
    relative: float | None = None  # the change relative to the whole run's (see compare)
    band: float | None = None      # the relative change that counts as noise
    note: str = ""


def unjudgeable(b: gbjson.Benchmark) -> str | None:
    """Why one side's repetitions cannot carry a noise estimate, or None."""
    if b.repetitions >= MIN_REPETITIONS:
        fastest = min(b.times_ns)
        stall = max(b.times_ns) / fastest if fastest > 0 else math.inf
        if stall < STALL_RATIO:
            return None
        return (f"a repetition took {stall:.0f}x its fastest: the benchmark was stalled (on a "
                f"busy machine the scheduler holds one of a parallel region's threads for a "
                f"time slice), and then its fastest repetitions move from run to run as well")
    if not b.times_ns:
        return ("only aggregates (--benchmark_report_aggregates_only): no repetitions to "
                "estimate the noise from")
    return (f"{b.repetitions} repetition{'s' if b.repetitions > 1 else ''}, fewer than the "
            f"{MIN_REPETITIONS} a noise estimate needs")


def judge(name: str, base: gbjson.Benchmark | None, new: gbjson.Benchmark | None,
          args: argparse.Namespace) -> Verdict:
    """Classifies one benchmark present in at least one of the logs."""
    def time_of(b: gbjson.Benchmark) -> float | None:  # a log of aggregates only: its center
        return b.fast_ns if b.times_ns else b.center_ns

    if base is None or new is None:
        side, present = ("new", new) if base is None else ("base", base)
        v = Verdict(name, "NEW" if base is None else "GONE",
                    base_ns=time_of(base) if base else None, new_ns=time_of(new) if new else None)
        if present.failed:
            v.status, v.note = "ERROR", _errors(side, present)
        return v
    v = Verdict(name, "SAME", time_of(base), time_of(new))
    if base.failed or new.failed or v.base_ns is None or v.new_ns is None:
        v.status = "ERROR"
        v.note = "; ".join(_errors(side, b) for side, b in (("base", base), ("new", new))
                           if b.failed or time_of(b) is None)
        return v
    if v.base_ns > 0:
        v.change = v.new_ns / v.base_ns - 1
    else:
        v.change = 0.0 if v.new_ns == 0 else math.inf
    reasons = [f"{side}: {why}" for side, why in
               (("base", unjudgeable(base)),
                ("new", unjudgeable(new))) if why]
    if reasons:
        v.status, v.note = "UNCERTAIN", "; ".join(reasons)
        return v
    v.band = max(args.threshold, args.noise_factor * max(base.fast_noise, new.fast_noise))
    if v.band > args.max_band:
        v.status = "UNCERTAIN"
        v.note = (f"noise band ±{v.band:.0%} is wider than --max-band {args.max_band:.0%}: "
                  f"too noisy to tell such a change from noise")
    return v  # SAME until compare() weighs the change against the run's


def _errors(side: str, b: gbjson.Benchmark) -> str:
    return f"{side}: " + " | ".join(b.errors or ["no timing"])


def compare(base: gbjson.Run, new: gbjson.Run, args: argparse.Namespace) -> list[Verdict]:
    """Verdicts in BASE order, then the benchmarks only NEW has; none judged when the whole
    run moved (see run_shift). Each benchmark is judged against the others: its change
    relative to theirs (the median of their changes), within a band at least spread_factor x
    their spread (run_spread), so that its own change, a regression, moves neither."""
    base_keyed, new_keyed = base.by_key(), new.by_key()
    names = list(base_keyed) + [n for n in new_keyed if n not in base_keyed]
    verdicts = [judge(n, base_keyed.get(n), new_keyed.get(n), args) for n in names]
    shift = run_shift(verdicts)
    moved = 0.0 if shift is None else shift[0]
    changes = spread_changes(verdicts)
    for v in verdicts:
        if v.status != "SAME":
            continue
        if abs(moved) > args.max_run_shift:
            v.status = "UNCERTAIN"
            v.note = (f"the whole run moved {moved:+.0%} (median of {shift[1]} benchmarks): "
                      f"the machine changed between the runs, no benchmark can be judged")
            continue
        others = [c for k, c in changes.items() if k != id(v)]
        if len(others) < MIN_BENCHMARKS_FOR_SHIFT:
            v.relative = v.change
        else:
            their_shift = statistics.median(others)
            v.relative = (1 + v.change) / (1 + their_shift) - 1
            spread = run_spread(others, their_shift)
            if args.spread_factor * spread > v.band:
                v.band = args.spread_factor * spread
                if v.band > args.max_band:
                    v.status = "UNCERTAIN"
                    v.note = (f"the benchmarks moved ±{spread:.1%} among themselves between "
                              f"the runs (their spread): a band of {args.spread_factor:g} x that, "
                              f"±{v.band:.0%}, is wider than --max-band {args.max_band:.0%}")
                    continue
        if abs(v.relative) > v.band:
            v.status = "SLOWER" if v.relative > 0 else "FASTER"
    return verdicts


def timed_changes(verdicts: list[Verdict]) -> dict[int, float]:
    """The change of every benchmark timed on both sides (judged or not), by id() of its
    verdict."""
    return {id(v): v.change for v in verdicts
            if v.change is not None and math.isfinite(v.change) and v.status != "ERROR"}


def spread_changes(verdicts: list[Verdict]) -> dict[int, float]:
    """timed_changes of the benchmarks with a noise estimate (a band), not the stalled or
    unrepeated ones: what each benchmark's reference and spread are taken from."""
    return timed_changes([v for v in verdicts if v.band is not None])


def run_shift(verdicts: list[Verdict]) -> tuple[float, int] | None:
    """How the whole run moved: the median change over every benchmark timed on both sides,
    judged or not, and their number (None for fewer than MIN_BENCHMARKS_FOR_SHIFT). A change
    of code moves the benchmarks it touches; a change of the machine between the runs (load,
    clocks, a neighbour) moves them all, which noise measured within each run cannot see: two
    A/A runs on either side of a burst of load came out 46-84% apart with bands of 6-9%."""
    changes = list(timed_changes(verdicts).values())
    if len(changes) < MIN_BENCHMARKS_FOR_SHIFT:
        return None
    return statistics.median(changes), len(changes)


def run_spread(changes: list[float], shift: float) -> float:
    """How far benchmarks moved among themselves between the two runs: 1.4826 x the median of
    their absolute changes relative to the run's shift (the standard deviation a normal
    distribution of them would have; deaf to the few a change of code moves). Noise within a
    run cannot see it: a machine's state that lasts a run (where its threads land, a
    neighbour's load) moves some benchmarks of that run in all of its processes alike."""
    return gbjson.MAD_TO_SIGMA * statistics.median(abs((1 + c) / (1 + shift) - 1) for c in changes)


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
    header = ("benchmark", "base", "new", "change", "vs run", "noise", "status")
    rows = [(v.name, gbjson.format_time(v.base_ns), gbjson.format_time(v.new_ns),
             "-" if v.change is None else f"{v.change:+.1%}",
             "-" if v.relative is None else f"{v.relative:+.1%}",
             "-" if v.band is None else f"±{v.band:.1%}",
             v.status) for v in verdicts]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:-1], widths[1:-1])]
        lines.append("  ".join(cells + [r[-1]]).rstrip())
    return "\n".join(lines)


def summary_line(verdicts: list[Verdict], args: argparse.Namespace) -> str:
    """`0 slower, ... 2 uncertain, ...: no regression; 2 UNCERTAIN not judged` and the rule."""
    counts = {s: sum(v.status == s for v in verdicts) for s in STATUSES}
    parts = ", ".join(f"{n} {s.lower()}" for s, n in counts.items())
    shift = run_shift(verdicts)
    changes = list(spread_changes(verdicts).values())
    spread = "" if len(changes) < MIN_BENCHMARKS_FOR_SHIFT else (
        f", {args.spread_factor:g} x the benchmarks' spread "
        f"±{run_spread(changes, statistics.median(changes)):.1%}")
    rule = (f"fastest repetition (median over processes), noise band max({args.threshold:.0%}, "
            f"{args.noise_factor:g} x its spread{spread}) up to {args.max_band:.0%}, "
            f">= {MIN_REPETITIONS} repetitions")
    outcome = "REGRESSION" if exit_status(verdicts) == 1 else "no regression"
    if counts["UNCERTAIN"]:
        outcome += f"; {counts['UNCERTAIN']} UNCERTAIN (not judged)"
    if shift is not None:
        moved = abs(shift[0]) > args.max_run_shift
        outcome += (f"; the whole run moved {shift[0]:+.1%}" + (
            f", beyond --max-run-shift {args.max_run_shift:.0%}: the runs are not comparable "
            f"(rerun both on a quiet machine)" if moved else ", and each change is judged relative to that"))
    return f"{parts} ({rule}): {outcome}"


def single_process_warning(run: gbjson.Run, side: str) -> str | None:
    """A warning for a log whose repetitions all come from one process, or None."""
    if any(len(set(b.processes)) > 1 for b in run.benchmarks.values()):
        return None
    return (f"warning: the {side} log's repetitions come from one process: what differs between "
            f"processes (layout, a library's dispatch) is not in its noise, and a judgement may "
            f"be a false alarm (scripts/bench.sh --processes N runs several)")


def exit_status(verdicts: list[Verdict]) -> int:
    """1 when a benchmark is SLOWER or failed, else 0 (UNCERTAIN ones included)."""
    return 1 if any(v.status in ("SLOWER", "ERROR") for v in verdicts) else 0


EPILOG = f"""\
statuses: SLOWER, FASTER, SAME; UNCERTAIN (not judged: fewer than {MIN_REPETITIONS} repetitions
on a side, only aggregates, a side stalled (a repetition {STALL_RATIO:g}x its fastest), a noise
band wider than --max-band, or the whole run moved by more than --max-run-shift); NEW, GONE (in one log only); ERROR (failed on a side).
exit status: 0 no regression (UNCERTAIN benchmarks do not fail it; the summary line counts
them and stderr warns), 1 a SLOWER or ERROR benchmark, 2 unusable input or arguments."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="compare.py", description=__doc__.split("\n\n")[0], epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("base", type=Path, nargs="+",
                   help="baseline log (Google Benchmark JSON); several runs of one build are "
                        "pooled into one baseline")
    p.add_argument("new", type=Path, help="log to check against it")
    p.add_argument("--threshold", type=float, default=0.05,
                   help="smallest relative change that counts (default 0.05)")
    p.add_argument("--noise-factor", type=float, default=NOISE_FACTOR,
                   help="the noise band is at least this many times the noisier side's spread "
                        f"(default {NOISE_FACTOR:g})")
    p.add_argument("--max-band", type=float, default=MAX_BAND,
                   help="a benchmark whose noise band is wider than this is UNCERTAIN "
                        f"(default {MAX_BAND:g})")
    p.add_argument("--max-run-shift", type=float, default=MAX_RUN_SHIFT,
                   help="when the median change of all benchmarks is beyond this, the machine "
                        "changed between the runs and nothing is judged "
                        f"(default {MAX_RUN_SHIFT:g})")
    p.add_argument("--spread-factor", type=float, default=SPREAD_FACTOR,
                   help="the noise band is at least this many times how far the benchmarks moved "
                        f"among themselves between the runs (default {SPREAD_FACTOR:g})")
    p.add_argument("--allow-different-machines", action="store_true",
                   help="compare logs whose machine or GPU names differ")
    args = p.parse_args(argv)
    if (args.threshold < 0 or args.noise_factor < 0 or args.spread_factor < 0
            or args.max_band < args.threshold or args.max_run_shift < 0):
        p.error("--threshold, --noise-factor, --spread-factor and --max-run-shift must be >= 0, "
                "--max-band at least --threshold")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        bases, new = [gbjson.load(path) for path in args.base], gbjson.load(args.new)
    except gbjson.LogError as e:
        print(f"compare.py: error: {e}", file=sys.stderr)
        return 2
    for other in bases[1:]:
        apart = machine_mismatch(bases[0], other)
        if apart:
            print(f"compare.py: error: the base logs come from different machines: {apart} "
                  f"({bases[0].path} vs {other.path}); a baseline of several runs is one "
                  f"machine's", file=sys.stderr)
            return 2
    base = gbjson.pool(bases)
    mismatch = machine_mismatch(base, new)
    if mismatch and not args.allow_different_machines:
        print(f"compare.py: error: the logs come from different machines: {mismatch}; "
              f"pass --allow-different-machines to compare them anyway", file=sys.stderr)
        return 2
    warnings = setting_warnings(base, new) + ([f"warning: {mismatch}"] if mismatch else [])
    warnings += [w for w in (single_process_warning(base, "base"), single_process_warning(new, "new")) if w]
    for warning in warnings:
        print(f"compare.py: {warning}", file=sys.stderr)
    verdicts = compare(base, new, args)
    pooled = f", {len(bases)} runs pooled" if len(bases) > 1 else ""
    print(f"base: {' + '.join(str(b.path) for b in bases)} ({base.machine}{pooled})\n"
          f"new:  {new.path} ({new.machine})\n")
    print(format_table(verdicts))
    for v in verdicts:
        if v.note:
            print(f"{v.status} {v.name}: {v.note}")
    print()
    print(summary_line(verdicts, args))
    uncertain = sum(v.status == "UNCERTAIN" for v in verdicts)
    if uncertain:
        print(f"compare.py: warning: {uncertain} of {len(verdicts)} benchmarks UNCERTAIN: not "
              f"judged (too few repetitions, stalled, or too noisy; see the notes above)",
              file=sys.stderr)
    return exit_status(verdicts)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
