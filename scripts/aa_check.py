#!/usr/bin/env python3
"""The A/A check of the regression gate: two runs of one build must compare as no regression,
and a 25% slowdown planted into any one benchmark must be caught and named alone.

    scripts/aa_check.py [--pairs 5] [--busy] [-- bench.sh flags...]

Each pair runs `scripts/bench.sh --quick` twice (the logs land in results/ like any run's),
compares the two logs with scripts/compare.py, which must exit 0, then plants a 25% slowdown
into a copy of the second log, one benchmark at a time (every benchmark the A/A comparison
judged, in turn), and checks that each comparison exits 1 naming that benchmark alone as
SLOWER. UNCERTAIN benchmarks (too noisy on this machine to judge) are counted, not planted
into; a pair in which compare.py judged nothing cannot show a plant caught, and fails.
With two pairs or more, each run is then also compared against the other pairs' runs taken
at other times: against each one alone (counted: a one-run baseline from another time is
where false alarms come from) and against each other pair's two runs pooled as one baseline
(compare.py BASE BASE NEW), which must pass as the A/A pairs must.
--busy keeps all cores but one busy during the runs (one bounded busy loop per core, started
before and stopped after each run by its PID): the shared-machine case. Flags after `--` go
to bench.sh after --quick.

Prints one line per pair and a summary. Exit status: 0 every pair passed; 1 an A/A pair
false-alarmed (SLOWER or ERROR), judged nothing, or a plant was missed or not named alone;
2 bad arguments, or a run that left no log.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import gbjson  # noqa: E402  (the scripts folder is not a package)

PLANT = 1.25
# Spins until its deadline (seconds from now), so a loop orphaned by a killed check still ends.
BUSY_LOOP = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\n" \
            "while time.monotonic() < end:\n    pass\n"
BUSY_LIMIT_S = 900


class RunFailed(Exception):
    pass


@dataclass
class Comparison:
    code: int
    statuses: dict[str, str] = field(default_factory=dict)  # benchmark -> status
    summary: str = ""

    def named(self, status: str) -> list[str]:
        return [n for n, s in self.statuses.items() if s == status]


def compare(base: Path | tuple[Path, ...], new: Path) -> Comparison:
    """scripts/compare.py BASE [BASE ...] NEW as a user runs it: its exit status and its
    table."""
    bases = [str(b) for b in (base if isinstance(base, tuple) else (base,))]
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "compare.py"), *bases, str(new)],
                       capture_output=True, text=True)
    if r.returncode not in (0, 1):
        raise RunFailed(f"compare.py {' '.join(bases)} {new} exited {r.returncode}: "
                        f"{r.stderr.strip()}")
    lines = r.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("benchmark "))
    c = Comparison(r.returncode, summary=lines[-1])
    for line in lines[header + 1:]:
        if not line.strip():
            break
        c.statuses[line.split()[0]] = line.split()[-1]
    return c


def busy_loops(count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(BUSY_LIMIT_S)])
            for _ in range(count)]


def stop(loops: list[subprocess.Popen]) -> None:
    for p in loops:
        p.terminate()
    for p in loops:
        p.wait()


def bench(flags: list[str], busy: int) -> tuple[Path, float]:
    """One `scripts/bench.sh --quick` run: the log it wrote and its wall time in seconds."""
    before = {p: p.stat().st_mtime_ns for p in (ROOT / "results").glob("*.json")}
    loops = busy_loops(busy)
    t0 = time.monotonic()
    try:
        r = subprocess.run([str(ROOT / "scripts" / "bench.sh"), "--quick", *flags],
                           capture_output=True, text=True)
    finally:
        stop(loops)
    seconds = time.monotonic() - t0
    written = [p for p in (ROOT / "results").glob("*.json")
               if before.get(p) != p.stat().st_mtime_ns]
    if r.returncode != 0 or len(written) != 1:
        raise RunFailed(f"scripts/bench.sh --quick exited {r.returncode} and wrote "
                        f"{len(written)} logs:\n{r.stderr[-2000:]}")
    return written[0], seconds


def plant(log: dict, name: str, folder: Path) -> Path:
    """A copy of `log` with every time of benchmark `name` (not its cv) made PLANT x slower.
    `name` is matched as compare.py matches benchmarks, by canonical name: compare.py shows a
    log's `sigmoid/warp/n:1024` (from before the element types) as `sigmoid/warp/f32/n:1024`."""
    out = copy.deepcopy(log)
    wanted = gbjson.parse_name(name).key
    for row in out["benchmarks"]:
        if gbjson.parse_name(row.get("run_name", row["name"])).key == wanted \
                and row.get("aggregate_name") != "cv":
            for time_key in ("real_time", "cpu_time"):
                row[time_key] *= PLANT
    path = folder / "planted.json"
    path.write_text(json.dumps(out))
    return path


def check_pair(index: int, args: argparse.Namespace, folder: Path) -> tuple[bool, tuple[Path, Path]]:
    """One A/A pair and its plants: whether it passed, and its two logs."""
    (a, ta), (b, tb) = bench(args.flags, args.busy), bench(args.flags, args.busy)
    aa = compare(a, b)
    changes = ", ".join(f"{len(aa.named(s))} {s.lower()}"
                        for s in ("SLOWER", "FASTER", "SAME", "UNCERTAIN", "ERROR"))
    judged = [n for n, status in aa.statuses.items() if status in ("SAME", "FASTER")]
    aa_ok = aa.code == 0 and bool(judged)
    log = json.loads(b.read_text())
    missed = []
    for name in judged:
        caught = compare(a, plant(log, name, folder))
        if caught.code != 1 or caught.named("SLOWER") != [name]:
            missed.append(f"{name} (exit {caught.code}, SLOWER: "
                          f"{', '.join(caught.named('SLOWER')) or 'none'})")
    print(f"pair {index}/{args.pairs}{' busy' if args.busy else ''}: {a.name} vs {b.name} "
          f"({ta:.0f} s, {tb:.0f} s): A/A exit {aa.code}, {changes}"
          f"{'' if aa.code == 0 else ' FALSE ALARM'}{'' if judged else ' NOTHING JUDGED'}; "
          f"{PLANT - 1:.0%} plants caught alone {len(judged) - len(missed)}/{len(judged)}",
          flush=True)
    if not aa_ok:
        print(f"    {aa.summary}")
        for name in aa.named("SLOWER") + aa.named("ERROR"):
            print(f"    {aa.statuses[name]}: {name}")
    for m in missed:
        print(f"    missed: {m}")
    return aa_ok and not missed, (a, b)


def check_across(pairs: list[tuple[Path, Path]]) -> bool:
    """Every run against the runs of the other pairs: each alone (counted), and each other
    pair's two pooled (must pass). Whether none of the pooled comparisons false-alarmed."""
    alone = alarms = pooled = pooled_alarms = 0
    for i, (_, run) in enumerate(pairs):
        for j, other in enumerate(pairs):
            if i == j:
                continue
            for base in other:
                alone += 1
                alarms += compare(base, run).code != 0
            c = compare(other, run)
            pooled += 1
            if c.code != 0:
                pooled_alarms += 1
                print(f"    FALSE ALARM across pairs: {other[0].name} + {other[1].name} vs "
                      f"{run.name}: {', '.join(c.named('SLOWER') + c.named('ERROR'))}")
    print(f"across pairs: one-run baselines false-alarmed {alarms}/{alone}; "
          f"two runs pooled {pooled_alarms}/{pooled}", flush=True)
    return pooled_alarms == 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="aa_check.py", description=__doc__.split("\n\n")[0],
                                epilog="exit status: 0 every pair passed, 1 a false alarm or a "
                                       "missed plant, 2 bad arguments or a run without a log")
    p.add_argument("--pairs", type=int, default=5, help="A/A pairs to run (default 5)")
    p.add_argument("--busy", action="store_const", const=max(1, (os.cpu_count() or 2) - 1),
                   default=0, help="keep all cores but one busy during the runs")
    p.add_argument("flags", nargs="*", help="bench.sh flags (after --)")
    args = p.parse_args(argv)
    if args.pairs < 1:
        p.error("--pairs must be at least 1")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    passed, logs = 0, []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for i in range(1, args.pairs + 1):
                ok, pair = check_pair(i, args, Path(tmp))
                passed += ok
                logs.append(pair)
            across = len(logs) < 2 or check_across(logs)
        except RunFailed as e:
            print(f"aa_check.py: error: {e}", file=sys.stderr)
            return 2
    ok = passed == args.pairs and across
    print(f"aa_check: {passed}/{args.pairs} pairs passed"
          f"{' with the other cores busy' if args.busy else ''}"
          f"{'' if across else ', and a pooled baseline false-alarmed across pairs'}: "
          f"{'OK' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
