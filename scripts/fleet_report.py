#!/usr/bin/env python3
"""Merges the logs of many GPUs (one actbench log each) into one fleet report, and finds the
slow GPU.

    scripts/fleet_report.py LOG.json [LOG.json ...] --out DIR
    scripts/fleet_report.py --dir RESULTS/<job> [--out DIR]      a scripts/fleet.sh job

Writes DIR/fleet.md (and DIR/fleet.json, the verdict for a program; DIR/fleet_<model>.png
plots with matplotlib): per GPU its card, CUDA driver, serial (where the log's context has
`gpu_serial`: scripts/fleet.sh adds it), measured copy bandwidth and each family's best
variant as % of copy; per GPU model the fleet median and spread of every benchmark; and the
outliers.

Logs are grouped by model, never mixed into one median: a GPU's is its context `gpu_name`;
a log without a GPU (CPU benchmarks only, `gpu_skipped`) is a CPU host, grouped by its
`machine` (cpu-<host>): the CPU model a log names is too coarse to tell CPUs apart (a VM says
"AMD EPYC"). A GPU's time on a benchmark is the median over its repetitions: a GPU that
throttles part of the time shows there, where its fastest repetition would hide it. Per
model and benchmark, over its GPUs:

    band = max(FLOOR, NOISE_FACTOR x 1.4826 x MAD / median)    (5%, 3: defaults)

(1.4826 x MAD / median is the fleet's robust spread: the relative standard deviation a normal
distribution with that median absolute deviation has; one slow GPU barely moves it.) A GPU
slower than the median by more than the band is an outlier, reported with how much slower.
The measured copy bandwidth (context gpu_copy_bw_gbs, cpu_copy_bw_gbs on a CPU host) is
judged the same way, lower being slower. A model with fewer than MIN_GPUS (3) GPUs is shown but
not judged: two values have no majority to be slower than. The CPU baselines of a GPU's log
are left out: they measure its host, whose cores the node's other GPU tasks share meanwhile.

--dir reads a fleet job's folder: logs/*.json, and tasks/<task>.status (how each task ended),
tasks/job (how many tasks there were) and tasks/scheduler.txt (what Slurm said at the merge),
so that a task that failed, or never reported, is listed with its node and exit status. A
GPU task whose log ran without a GPU counts as failed. Logs marked synthetic (context
`synthetic` or `fixture`) make the report say so at the top: they are no measurement.

The report is written whole or not at all (a temporary folder, renamed). Exit status: 0 every
judged GPU within its band and no failed task; 1 outliers or failed tasks (listed); 2 unusable
input (an unreadable or malformed LOG, a folder with nothing to report, bad arguments).
Standard library only; matplotlib optional.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gbjson  # noqa: E402  (the scripts folder is not a package)
from report import import_pyplot  # noqa: E402  (matplotlib on Agg, or None: one way for every report)

FLOOR = 0.05
NOISE_FACTOR = 3.0
MIN_GPUS = 3
COPY_BW = "copy bandwidth"  # the metric name of the context's measured copy bandwidth
PIP_HINT = "python3 -m pip install matplotlib"


class ReportError(Exception):
    """Input the report cannot use: printed as one line, exit 2."""


# ---- the fleet ---------------------------------------------------------------------------------

@dataclass
class Member:
    """One GPU's log (a CPU host's, without a GPU)."""

    run: gbjson.Run
    label: str            # how tables name it: "node7 GPU 3", "node7 task 0", or the log's host
    node: str
    gpu: str | None       # the GPU index Slurm bound (context fleet_gpu_index)
    serial: str | None
    task: str | None      # Slurm's task id (context fleet_task)
    group: str            # the model: gpu_name, or "CPU host <machine>"
    on_gpu: bool
    times: dict[str, float] = field(default_factory=dict)  # benchmark key -> median ns
    errors: list[str] = field(default_factory=list)        # benchmarks that errored

    @property
    def copy_bw(self) -> float | None:
        return self.run.ctx_float("gpu_copy_bw_gbs" if self.on_gpu else "cpu_copy_bw_gbs")


@dataclass
class Failure:
    """A task that failed or never reported, or a log that cannot be used."""

    who: str
    node: str
    exit: str
    why: str


@dataclass
class Metric:
    """One benchmark (or the copy bandwidth) over one model's GPUs."""

    key: str
    lower_is_slower: bool                 # a bandwidth: less is worse
    values: dict[int, float]              # member index -> value
    median: float = math.nan
    spread: float | None = None           # 1.4826 x MAD / median
    band: float | None = None
    slower: dict[int, float] = field(default_factory=dict)  # member -> relative slowdown

    def judge(self, floor: float, factor: float, min_gpus: int) -> None:
        vals = list(self.values.values())
        self.median = statistics.median(vals)
        if self.median <= 0:
            return
        mad = statistics.median(abs(v - self.median) for v in vals)
        self.spread = gbjson.MAD_TO_SIGMA * mad / self.median
        for i, v in self.values.items():
            if v > 0:
                self.slower[i] = (self.median / v if self.lower_is_slower else v / self.median) - 1
        if len(vals) >= min_gpus:
            self.band = max(floor, factor * self.spread)


@dataclass
class Group:
    name: str
    on_gpu: bool
    members: list[int]                    # indices into Fleet.members
    metrics: list[Metric] = field(default_factory=list)

    @property
    def judged(self) -> bool:
        return any(m.band is not None for m in self.metrics)


@dataclass
class Outlier:
    member: int
    metric: Metric

    @property
    def slower(self) -> float:
        return self.metric.slower[self.member]


@dataclass
class Fleet:
    members: list[Member]
    groups: list[Group]
    outliers: list[Outlier]
    failures: list[Failure]
    job: dict[str, str]
    floor: float
    factor: float
    min_gpus: int

    @property
    def synthetic(self) -> list[Member]:
        return [m for m in self.members if is_synthetic(m.run)]

    @property
    def status(self) -> int:
        return 1 if self.outliers or self.failures else 0


def is_synthetic(run: gbjson.Run) -> bool:
    value = str(run.context.get("synthetic", "")).lower()
    return value not in ("", "0", "false", "no") or "fixture" in run.context


def member_of(run: gbjson.Run) -> Member:
    ctx = run.context
    on_gpu = bool(ctx.get("gpu_name")) and "gpu_skipped" not in ctx
    node = str(ctx.get("fleet_node") or ctx.get("host_name") or "?")
    gpu = ctx.get("fleet_gpu_index")
    task = ctx.get("fleet_task")
    if gpu is not None:
        label = f"{node} GPU {gpu}"
    elif ctx.get("fleet_local_id") is not None:
        label = f"{node} task {ctx['fleet_local_id']}"
    else:
        label = f"{node} ({run.path.stem})"
    group = str(ctx["gpu_name"]) if on_gpu else f"CPU host {run.machine}"
    m = Member(run, label, node, None if gpu is None else str(gpu),
               str(ctx["gpu_serial"]) if ctx.get("gpu_serial") else None,
               None if task is None else str(task), group, on_gpu)
    for key, b in run.by_key().items():
        variant = run.variants.get(b.name.variant_id) if b.name.variant_id else None
        if b.failed:
            m.errors.append(f"{key}: {b.errors[0]}")
        elif on_gpu and variant is not None and variant.is_cpu:
            continue  # the host's, measured while the node's other GPU tasks ran: no GPU figure
        elif b.center_ns is not None and b.center_ns > 0:
            m.times[key] = b.center_ns
    return m


def build(runs: list[gbjson.Run], failures: list[Failure], job: dict[str, str],
          floor: float = FLOOR, factor: float = NOISE_FACTOR, min_gpus: int = MIN_GPUS) -> Fleet:
    members = [member_of(r) for r in runs]
    seen: dict[str, int] = {}
    for m in members:  # two logs of one GPU (a rerun) keep apart by their file names
        seen[m.label] = seen.get(m.label, 0) + 1
    for m in members:
        if seen[m.label] > 1:
            m.label = f"{m.label} ({m.run.path.stem})"
    by_name: dict[str, Group] = {}
    for i, m in enumerate(members):
        by_name.setdefault(m.group, Group(m.group, m.on_gpu, [])).members.append(i)
    groups = sorted(by_name.values(), key=lambda g: (not g.on_gpu, -len(g.members), g.name))
    outliers = []
    for g in groups:
        copy = Metric(COPY_BW, True, {i: members[i].copy_bw for i in g.members
                                      if members[i].copy_bw})
        keys = dict.fromkeys(k for i in g.members for k in members[i].times)
        g.metrics = [copy] if copy.values else []
        g.metrics += [Metric(k, False, {i: members[i].times[k] for i in g.members
                                        if k in members[i].times}) for k in keys]
        for metric in g.metrics:
            metric.judge(floor, factor, min_gpus)
            if metric.band is not None:
                outliers += [Outlier(i, metric) for i, s in metric.slower.items() if s > metric.band]
    outliers.sort(key=lambda o: -o.slower)
    failures = list(failures)
    for m in members:
        if m.errors:
            failures.append(Failure(m.label, m.node, "-", f"{len(m.errors)} benchmark(s) errored, "
                                    f"e.g. {m.errors[0]}"))
    return Fleet(members, groups, outliers, failures, job, floor, factor, min_gpus)


# ---- a fleet job's folder ---------------------------------------------------------------------

def key_values(text: str) -> dict[str, str]:
    """`key=value` lines (a task's status, the job file)."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def scheduler_facts(path: Path) -> tuple[dict[str, str], list[str]]:
    """What scontrol said of the job (its `Key=Value` fields) and sacct's rows, if anything."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}, []
    fields: dict[str, str] = {}
    sacct = []
    for line in text.splitlines():
        if line.startswith("scontrol: "):
            fields.update(re.findall(r"(\w[\w/:]*)=(\S*)", line[len("scontrol: "):]))
        elif line.startswith("sacct: "):
            sacct.append(line[len("sacct: "):])
    return fields, sacct


def read_job_dir(folder: Path) -> tuple[list[gbjson.Run], list[Failure], dict[str, str]]:
    if not folder.is_dir():
        raise ReportError(f"{folder}: not a folder")
    tasks_dir = folder / "tasks"
    job: dict[str, str] = {}
    try:
        job = key_values((tasks_dir / "job").read_text(encoding="utf-8"))
    except OSError:
        pass
    sched, sacct = scheduler_facts(tasks_dir / "scheduler.txt")
    job.setdefault("job", sched.get("JobId", folder.name))
    if sched.get("NodeList") and sched["NodeList"] != "(null)":
        job.setdefault("nodes", sched["NodeList"])
    if sched.get("JobState"):
        job["state"] = sched["JobState"]
    statuses: dict[str, dict[str, str]] = {}
    for path in sorted(tasks_dir.glob("*.status")) if tasks_dir.is_dir() else []:
        try:
            statuses[path.stem] = key_values(path.read_text(encoding="utf-8", errors="replace"))
        except OSError as e:
            statuses[path.stem] = {"task": path.stem, "exit": "?", "note": f"unreadable: {e.strerror}"}
    runs: list[gbjson.Run] = []
    failures: list[Failure] = []
    loaded: dict[str, gbjson.Run] = {}
    for path in sorted((folder / "logs").glob("*.json")):
        try:
            run = gbjson.load(path)
        except gbjson.LogError as e:
            failures.append(Failure(path.name, "?", "-", f"log unusable: {e}"))
            continue
        runs.append(run)
        loaded[f"logs/{path.name}"] = run

    def scheduler_says() -> str:
        state = sched.get("JobState")
        if not state:
            return "the scheduler no longer knows the job"
        reason = sched.get("Reason")
        return (f"job {state}, exit code {sched.get('ExitCode', '?')}"
                + (f" ({reason})" if reason and reason != "None" else ""))

    for task, st in sorted(statuses.items(), key=lambda kv: _number_first(kv[0])):
        node, gpu = st.get("node", "?"), st.get("gpu", "none")
        who = f"task {task}" + (f" (GPU {gpu})" if gpu != "none" else "")
        code, note = st.get("exit", "?"), st.get("note", "")
        log = st.get("log", "")
        if code != "0":
            why = note or f"bench.sh exited {code}"
            failures.append(Failure(who, node, code, f"{why} (tasks/{task}/bench.out)"))
        elif not log:
            failures.append(Failure(who, node, code, "reported success but left no log"))
        elif log not in loaded:
            if not (folder / log).exists():  # one that exists but cannot be read is listed above
                failures.append(Failure(who, node, code, f"{log} is missing"))
        elif gpu != "none" and "gpu_skipped" in loaded[log].context:
            failures.append(Failure(who, node, code, f"ran without its GPU: "
                                    f"{loaded[log].context['gpu_skipped']}"))
    expected = _int(job.get("ntasks")) or _int(sched.get("NumTasks"))
    where = job.get("nodes", "?")
    for task in range(expected or 0):
        if str(task) not in statuses:
            failures.append(Failure(f"task {task}", where, sched.get("ExitCode", "?"),
                                    f"wrote no status (killed, or its node failed): "
                                    f"{scheduler_says()}"))
    if not expected and not statuses and job.get("state"):
        failures.append(Failure(f"job {job['job']}", where, sched.get("ExitCode", "?"),
                                f"no task ran: {scheduler_says()}"))
    if sacct and failures:
        job["sacct"] = "\n".join(sacct)
    if not runs and not failures:
        raise ReportError(f"{folder}: nothing to report (no logs/*.json, no tasks/*.status, "
                          f"no job the scheduler knows)")
    return runs, failures, job


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _number_first(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (1 << 30, text)


# ---- the report --------------------------------------------------------------------------------

def pct(x: float | None, signed: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x * 100:+.1f}%" if signed else f"{x * 100:.1f}%"


def value_cell(metric: Metric, v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.1f} GB/s" if metric.lower_is_slower else gbjson.format_time(v)


def driver(ctx: dict[str, Any]) -> str:
    raw = ctx.get("cuda_driver_version")
    try:
        v = int(raw)
        return f"CUDA {v // 1000}.{v % 1000 // 10}"
    except (TypeError, ValueError):
        return str(raw) if raw else "-"


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
    return [line(header), line(["---"] * len(header)), *map(line, rows), ""]


def cache_bytes(m: Member) -> float | None:
    """The largest cache of the device the member's numbers come from: the GPU's L2, or the
    CPU's last level (Google Benchmark's `caches`)."""
    if m.on_gpu:
        return m.run.ctx_float("gpu_l2_bytes")
    caches = m.run.context.get("caches")
    sizes = [c.get("size") for c in caches if isinstance(c, dict)] if isinstance(caches, list) else []
    sizes = [s for s in sizes if isinstance(s, (int, float))]
    return max(sizes) if sizes else None


def best_of_family(m: Member) -> dict[tuple[str, str], tuple[str, float, bool]]:
    """Per (family, type), at the family's largest shape in the log, the variant with the
    highest % of copy: among the project's own GPU kernels on a GPU, the CPU baselines on a
    CPU host; and whether its working set (ideal_bytes) fits in the device's cache, where a
    copy measured on larger buffers is no roofline. The copy roofline itself is left out."""
    cache = cache_bytes(m)
    largest: dict[tuple[str, str], int] = {}
    rows = []
    for b in m.run.benchmarks.values():
        name = b.name
        if name.family is None or name.family == "copy" or b.failed:
            continue
        v = m.run.variants.get(name.variant_id)
        if v is None or not (v.is_own_gpu if m.on_gpu else v.is_cpu):
            continue
        value = b.counter("pct_copy_bw")
        if value is None:
            continue
        size = math.prod(p for _, p in name.params)
        key = (name.family, name.dtype)
        largest[key] = max(size, largest.get(key, 0))
        ideal = b.counter("ideal_bytes")
        rows.append((key, size, name.variant, value, bool(cache and ideal and ideal <= cache)))
    best: dict[tuple[str, str], tuple[str, float, bool]] = {}
    for key, size, variant, value, in_cache in rows:
        if size == largest[key] and value > best.get(key, ("", -math.inf, False))[1]:
            best[key] = (variant, value, in_cache)
    return best


def best_cell(best: tuple[str, float, bool] | None) -> str:
    if best is None:
        return "-"
    variant, value, in_cache = best
    return f"{variant} {value:.0f}%" + (" (in cache)" if in_cache else "")


def family_order(members: list[Member]) -> dict[str, int]:
    order: dict[str, int] = {}
    for m in members:
        for v in m.run.variants.values():
            order.setdefault(v.family, len(order))
    return order


def markdown(fleet: Fleet, plots: dict[str, str], plot_note: str | None) -> str:
    ms = fleet.members
    job = fleet.job.get("job")
    out = [f"# Fleet report: job {job}" if job else f"# Fleet report: {len(ms)} logs", ""]
    if fleet.synthetic:
        out += [f"> **SYNTHETIC: {len(fleet.synthetic)} of {len(ms)} logs are made up** (context "
                f"`synthetic`/`fixture`, e.g. {fleet.synthetic[0].run.path.name}): test "
                f"fixtures, not a measurement of any GPU.", ""]
    slow = sorted({o.member for o in fleet.outliers})
    judged = sum(len(g.members) for g in fleet.groups if g.judged)
    if fleet.status == 0 and judged:
        out.append(f"**Verdict: every judged GPU ({judged} of {len(ms)}) within its model's band; "
                   f"no failed task.**")
    elif fleet.status == 0:
        out.append(f"**Verdict: no failed task; nothing judged (no model has {fleet.min_gpus} "
                   f"logs or more).**")
    else:
        parts = []
        if fleet.outliers:
            parts.append(f"{len(fleet.outliers)} outlier(s) on {len(slow)} GPU(s): "
                         + ", ".join(ms[i].label for i in slow))
        if fleet.failures:
            parts.append(f"{len(fleet.failures)} failed task(s) or log(s)")
        out.append(f"**Verdict: {'; '.join(parts)}.**")
    out.append("")
    if job:
        facts = [f"{k} {fleet.job[k]}" for k in ("ntasks", "nodes", "state") if fleet.job.get(k)]
        out += [f"Slurm job {job}: " + ", ".join(facts) + ".", ""]
    models = ", ".join(f"{g.name} ({len(g.members)}{'' if g.judged else ', not judged'})"
                       for g in fleet.groups)
    out += [f"- logs: {len(ms)}; models: {models or 'none'}",
            f"- a GPU's time is the median over its repetitions; per model and benchmark the band "
            f"is max({fleet.floor:.0%}, {fleet.factor:g} x 1.4826 x MAD / median) over the model's "
            f"GPUs, and a GPU slower than the median by more than it is an outlier (the copy "
            f"bandwidth likewise, lower being slower); a model of fewer than {fleet.min_gpus} GPUs "
            f"is shown, not judged; a GPU log's CPU baselines are left out (they measure the "
            f"host, shared by the node's tasks)", ""]
    if plot_note:
        out += [f"> {plot_note}", ""]

    if fleet.failures:
        out += ["## Failed tasks", ""]
        out += md_table(["task or log", "node", "exit status", "what happened"],
                        [[f.who, f.node, f.exit, f.why] for f in fleet.failures])
        if fleet.job.get("sacct"):
            out += ["What sacct says of the job:", "", "```", fleet.job["sacct"], "```", ""]

    out += ["## Outliers", ""]
    if fleet.outliers:
        out += md_table(["model", "GPU", "serial", "benchmark", "its value", "model median",
                         "slower by", "band"],
                        [[ms[o.member].group, ms[o.member].label, ms[o.member].serial or "-",
                          o.metric.key, value_cell(o.metric, o.metric.values[o.member]),
                          value_cell(o.metric, o.metric.median), pct(o.slower, True),
                          pct(o.metric.band)] for o in fleet.outliers])
    else:
        out += ["None: no judged GPU is slower than its model's median beyond the band.", ""]

    order = family_order(ms)
    for g in fleet.groups:
        out += group_section(fleet, g, order, plots.get(g.name))
    return "\n".join(out)


def group_section(fleet: Fleet, g: Group, order: dict[str, int], plot: str | None) -> list[str]:
    ms = fleet.members
    kind = "GPUs" if g.on_gpu else "tasks"
    count = f"{len(g.members)} {kind if len(g.members) != 1 else kind[:-1]}"
    out = [f"## {g.name}: {count}", ""]
    if not g.judged:
        out += [f"Not judged: fewer than {fleet.min_gpus} {kind} of this model.", ""]
    if plot:
        out += [f"![{g.name}: copy bandwidth of each of its {kind}, and each benchmark's time "
                f"relative to the model's median]({plot})", ""]
    flagged = {}
    for o in fleet.outliers:
        flagged[o.member] = flagged.get(o.member, 0) + 1
    copy = next((m for m in g.metrics if m.key == COPY_BW), None)
    out += [f"### {'GPUs' if g.on_gpu else 'Tasks'}", ""]
    out += md_table(
        ["GPU" if g.on_gpu else "task", "serial", "card" if g.on_gpu else "CPU", "driver", "copy bandwidth",
         "vs median", "outliers", "log"],
        [[ms[i].label, ms[i].serial or "-", str(ms[i].run.context.get("gpu_name") if g.on_gpu
                                                  else ms[i].run.context.get("host_cpu", "-")),
          driver(ms[i].run.context) if g.on_gpu else "-",
          f"{ms[i].copy_bw:.1f} GB/s" if ms[i].copy_bw else "-",
          pct(copy.values[i] / copy.median - 1, True) if copy and i in copy.values else "-",
          str(flagged.get(i, 0)), ms[i].run.path.name] for i in g.members])

    best = {i: best_of_family(ms[i]) for i in g.members}
    keys = sorted({k for b in best.values() for k in b},
                  key=lambda k: (order.get(k[0], len(order)), gbjson.DTYPES.index(k[1])
                                 if k[1] in gbjson.DTYPES else len(gbjson.DTYPES)))
    for dtype in dict.fromkeys(k[1] for k in keys):
        cols = [k for k in keys if k[1] == dtype]
        out += [f"### Best variant, % of copy bandwidth at each family's largest size ({dtype})", ""]
        out += md_table(["GPU" if g.on_gpu else "task", *[k[0] for k in cols]],
                        [[ms[i].label, *[best_cell(best[i].get(k)) for k in cols]] for i in g.members])

    out += [f"### Every benchmark over the model's {kind}", ""]
    rows = []
    for metric in g.metrics:
        slowest = max(metric.slower, key=metric.slower.get) if metric.slower else None
        values = list(metric.values.values())
        fast, slow_v = (max(values), min(values)) if metric.lower_is_slower else (min(values), max(values))
        rows.append([metric.key, str(len(values)), value_cell(metric, metric.median),
                     pct(metric.spread), pct(metric.band) if metric.band is not None else "not judged",
                     value_cell(metric, fast), value_cell(metric, slow_v),
                     f"{ms[slowest].label} ({pct(metric.slower[slowest], True)})" if slowest is not None else "-"])
    out += md_table(["benchmark", kind, "median", "spread", "band", "fastest", "slowest",
                     "slowest, vs median"], rows)
    return out


def summary(fleet: Fleet) -> dict[str, Any]:
    ms = fleet.members
    return {
        "exit": fleet.status,
        "synthetic": bool(fleet.synthetic),
        "job": fleet.job.get("job"),
        "groups": [{"name": g.name, "gpu": g.on_gpu, "members": len(g.members), "judged": g.judged}
                   for g in fleet.groups],
        "outliers": [{"model": ms[o.member].group, "member": ms[o.member].label,
                      "node": ms[o.member].node, "task": ms[o.member].task, "gpu": ms[o.member].gpu,
                      "serial": ms[o.member].serial, "log": ms[o.member].run.path.name,
                      "benchmark": o.metric.key, "value": o.metric.values[o.member],
                      "median": o.metric.median, "slower": o.slower, "band": o.metric.band}
                     for o in fleet.outliers],
        "failed": [{"who": f.who, "node": f.node, "exit": f.exit, "why": f.why}
                   for f in fleet.failures],
    }


# ---- plots ---------------------------------------------------------------------------------------

def plot_group(plt: Any, fleet: Fleet, g: Group, path: Path) -> None:
    """Top: each GPU's copy bandwidth, the median dashed. Below: every benchmark's time on each
    GPU relative to the model's median, the outliers in red, the band's floor dotted."""
    ms = fleet.members
    labels = [ms[i].label for i in g.members]
    width = max(6.0, 0.35 * len(labels) + 2)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(width, 7), sharex=True,
                                      gridspec_kw={"height_ratios": [1, 2]})
    xs = range(len(g.members))
    copy = next((m for m in g.metrics if m.key == COPY_BW), None)
    if copy:
        top.bar(xs, [copy.values.get(i, 0) for i in g.members], color="tab:blue")
        top.axhline(copy.median, color="black", linestyle="--", linewidth=1)
    top.set_ylabel("copy GB/s")
    top.set_title(f"{g.name}: {len(labels)} {'GPU' if g.on_gpu else 'task'}{'s' if len(labels) != 1 else ''}"
                  + ("" if g.judged else " (not judged)")
                  + (" - SYNTHETIC" if fleet.synthetic else ""))
    flagged = {(o.member, o.metric.key) for o in fleet.outliers}
    for x, i in enumerate(g.members):
        for metric in g.metrics:
            if metric.key == COPY_BW or i not in metric.slower:
                continue
            red = (i, metric.key) in flagged
            bottom.plot(x, metric.slower[i] * 100, "o", markersize=5 if red else 3,
                        color="tab:red" if red else "tab:gray", alpha=1 if red else 0.5)
    bottom.axhline(0, color="black", linewidth=1)
    if g.judged:
        bottom.axhline(fleet.floor * 100, color="tab:red", linestyle=":", linewidth=1)
    bottom.set_ylabel("time vs model median (%)")
    bottom.set_xticks(list(xs))
    bottom.set_xticklabels(labels, rotation=60, ha="right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---- files -----------------------------------------------------------------------------------------

def write_report(fleet: Fleet, out: Path, plots_wanted: bool = True) -> tuple[Path, str | None]:
    """Writes fleet.md, fleet.json and the plots into a temporary folder beside `out`, then
    renames it to `out` (or, when `out` exists, moves the files in, plots first and the
    Markdown last): a reader sees the whole report or none."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        plt = import_pyplot() if plots_wanted else None
        note = None if plt or not plots_wanted else f"plots left out: matplotlib is not installed ({PIP_HINT})"
        plots: dict[str, str] = {}
        if plt:
            for g in fleet.groups:
                name = f"fleet_{gbjson.slug(g.name)}.png"
                plot_group(plt, fleet, g, tmp / name)
                plots[g.name] = name
        (tmp / "fleet.json").write_text(json.dumps(summary(fleet), indent=1) + "\n", encoding="utf-8")
        (tmp / "fleet.md").write_text(markdown(fleet, plots, note) + "\n", encoding="utf-8")
        if not out.exists():
            os.rename(tmp, out)
        else:
            names = sorted(p.name for p in tmp.iterdir())
            for name in sorted(names, key=lambda n: (n == "fleet.md", n)):
                os.replace(tmp / name, out / name)
            tmp.rmdir()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / "fleet.md", note


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="fleet_report.py", description=__doc__.split("\n\n")[0],
        epilog="exit status: 0 all within band, 1 outliers or failed tasks, 2 unusable input")
    p.add_argument("logs", type=Path, nargs="*", help="one actbench log per GPU")
    p.add_argument("--dir", type=Path, help="a scripts/fleet.sh job's folder (RESULTS/<job>)")
    p.add_argument("--out", type=Path, help="the report's folder (default with --dir: DIR/report)")
    p.add_argument("--floor", type=float, default=FLOOR, help="the band's floor (default 0.05)")
    p.add_argument("--noise-factor", type=float, default=NOISE_FACTOR,
                   help="the band in robust spreads of the fleet (default 3)")
    p.add_argument("--min-gpus", type=int, default=MIN_GPUS,
                   help="the fewest GPUs of a model that are judged (default 3)")
    p.add_argument("--no-plots", action="store_true", help="tables only")
    args = p.parse_args(argv)
    if bool(args.logs) == bool(args.dir):
        p.error("give the logs, or --dir with a fleet job's folder (not both)")
    if args.out is None:
        if not args.dir:
            p.error("--out DIR is needed with logs")
        args.out = args.dir / "report"
    if not (args.floor >= 0 and args.noise_factor >= 0 and args.min_gpus >= 2):
        p.error("--floor and --noise-factor must be >= 0, --min-gpus >= 2")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        if args.dir:
            runs, failures, job = read_job_dir(args.dir)
        else:
            runs, failures, job = [gbjson.load(p) for p in args.logs], [], {}
        fleet = build(runs, failures, job, args.floor, args.noise_factor, args.min_gpus)
    except (gbjson.LogError, ReportError) as e:
        print(f"fleet_report.py: error: {e}", file=sys.stderr)
        return 2
    try:
        path, note = write_report(fleet, args.out, not args.no_plots)
    except OSError as e:
        print(f"fleet_report.py: error: cannot write {args.out}: {e.strerror or e}", file=sys.stderr)
        return 2
    if note:
        print(f"fleet_report.py: warning: {note}", file=sys.stderr)
    ms = fleet.members
    if fleet.synthetic:
        print(f"fleet_report.py: SYNTHETIC logs ({len(fleet.synthetic)} of {len(ms)}): not a measurement")
    print(f"fleet_report.py: {len(ms)} logs, {len(fleet.groups)} model(s); "
          f"{len(fleet.outliers)} outlier(s) on {len({o.member for o in fleet.outliers})} GPU(s); "
          f"{len(fleet.failures)} failed")
    for o in fleet.outliers:
        print(f"fleet_report.py: OUTLIER {ms[o.member].label} ({ms[o.member].group}"
              f"{', serial ' + ms[o.member].serial if ms[o.member].serial else ''}): {o.metric.key} "
              f"{pct(o.slower, True)} slower than the median (band {pct(o.metric.band)})")
    for f in fleet.failures:
        print(f"fleet_report.py: FAILED {f.who} on {f.node}: exit {f.exit}: {f.why}")
    print(f"fleet_report.py: report: {path}")
    return fleet.status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
