#!/usr/bin/env python3
"""Turns actbench logs (Google Benchmark JSON) into a Markdown report with PNG plots.

    scripts/report.py RUN.json [RUN2.json ...] --out DIR

One log gives DIR/<stem>.md; several give one combined report, DIR/<stem1>_vs_<stem2>.md
(H100 vs H200, before vs after), where every plot has one line style per run. Every family
(sigmoid, softmax, ...) has a section and a plot per element type (f32, f16, bf16: the type is
part of every benchmark's name; a log from before the types is all f32; no plot where the runs
hold one shape of it, as a --quick run's f16 and bf16: the table says all), which shows:

  * effective bandwidth (GB/s from the ideal bytes) against size, with each run's measured copy
    bandwidth as the roofline, and error bars for the noise where there are repetitions;
  * percent of that copy bandwidth (the bench's pct_copy_bw counter), except where the
    benchmark's working set (its ideal_bytes counter: bytes read + written) fits in the
    device's caches (the CPU's, from the log's `caches`; the GPU's L2, `gpu_l2_bytes`): a copy
    measured on buffers larger than the caches is no roofline there, so the tables say
    "in cache" instead;
  * speed-up over the best CPU baseline (cpu_* variant) at the same size, and over the first
    rung of the family's ladder (naive; unfused for bias_*, swiglu and geglu), for the GPU
    variants (per element, as the CPU sweep may have fewer rows at the same row length);
  * tables at the largest size and at every size, times as the median over repetitions with
    their spread (gbjson's robust cv: 1.4826 x the median absolute deviation / the median),
    and the maximum error of every variant next to the tolerance the registry gives it for
    its type (with its ulps, the relative tolerance in units of the type's epsilon, where the
    registry states them) and the share of that tolerance its worst element used (the bench's
    tol_used counter).

Where the runs hold more than one type, a section sets the types side by side: per family and
shape, the best variant of each type (the highest GB/s among the project's own GPU variants:
no library reference, peer or CPU baseline; among the CPU baselines in a run without GPU
rows), its GB/s, its % of copy (the bench's pct_copy_bw: against a copy of the same bytes, the
type's own roofline) and its speed-up in time over the first type.

Where a run holds the peers (a scripts/torch_compare.py log: rows of torch, torch_compile or
liger, or its peers_unavailable), a verdict section, per family and per type and shape of that
run (never one run's variant against another run's peer): actbench's best variant (named, as
above) and auto, each peer (torch, torch_compile, liger, and the cudnn variant as it is) as
time and % of copy, the speed-up over the best peer (its time over actbench's best: above 1,
actbench is faster), bold and marked where a peer wins, a geomean per family, per peer and
over the best peer; an absent peer with the log's reason. scripts/gpu_check.py's summary has
the same section (verdict_section).

Where the runs hold backward families (sigmoid_backward, ..., softmax_backward), a section sets
each activation's forward and backward side by side: per type and shape, the best variant of
each (as above), its GB/s and % of copy, and, where a run holds PyTorch's rows of both
(scripts/torch_compare.py), the training step: the best forward's time plus the best
backward's against PyTorch's forward plus its backward, with a plot per activation and type.

Sizes are n for elementwise families and the row length (cols) for bias_*, softmax and the
gated swiglu and geglu (the output's: their x holds rows x 2 cols; what they move comes, as
every family's, from the ideal_bytes counter), one line per total size (rows x cols) swept
over at least SWEEP_POINTS row lengths; shapes of other totals are drawn as points, not
joined, as they are no sweep. Alt texts name the panels drawn. Variants, their order (ladder
step), which ones run on the CPU and their summaries come from the log's `actbench_variants`
context entry; a log without it is read from the names, and benchmarks whose names do not
follow actbench's scheme (any other Google Benchmark log) are shown as they are, in one table
and one plot.

Plots need matplotlib. Without it the report is still written, tables only, with a warning
(on stderr and in the report) saying `python3 -m pip install matplotlib`: the GPU machines may
have no network, and the tables are the numbers. Files are written atomically (temp file,
rename). Exit status: 0 written; 2 unusable input (unreadable or malformed log).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gbjson  # noqa: E402  (the scripts folder is not a package)

PIP_HINT = "python3 -m pip install matplotlib"

# Context entries shown at the top, in this order, with a readable label.
CONTEXT_FIELDS = [
    ("machine", "machine"), ("gpu_name", "GPU"), ("gpu_sm_count", "SMs"),
    ("gpu_l2_bytes", "L2 cache"), ("gpu_theoretical_bw_gbs", "theoretical bandwidth (GB/s)"),
    ("gpu_copy_bw_gbs", "measured GPU copy bandwidth (GB/s)"),
    ("gpu_compute_capability", "compute capability"), ("gpu_memory_bytes", "GPU memory"),
    ("cpu_copy_bw_gbs", "measured CPU copy bandwidth (GB/s)"),
    ("cuda_driver_version", "CUDA driver"), ("cuda_runtime_version", "CUDA runtime"),
    ("gpu_skipped", "GPU skipped"), ("host_cpu", "host CPU"), ("host_name", "host"),
    ("num_cpus", "CPUs"), ("git_sha", "git sha"), ("build_type", "build type"),
    ("library_build_type", "Google Benchmark build"),
    ("l2_flush", "GPU L2 before each timed iteration"),
    ("date", "date"),
]
# Google Benchmark's own context entries that say nothing about the numbers.
CONTEXT_HIDDEN = {"executable", "mhz_per_cpu", "cpu_scaling_enabled", "caches", "load_avg",
                  "actbench_variants", "peers_unavailable"}  # the verdict shows the latter
# Counters the bench writes beside the times: the bytes a call moves (every input read and
# every output written once), and the worst element's |got - ref| / (atol + rtol·|ref|).
IDEAL_BYTES, TOL_USED = "ideal_bytes", "tol_used"


# ---- the numbers ------------------------------------------------------------------------------

@dataclass
class Row:
    """One benchmark of one run, with everything the tables and plots show."""

    run: int                  # index into the runs
    variant: gbjson.VariantInfo
    name: gbjson.BenchName
    x: int                    # the size the family is plotted against
    series: tuple[int, str]   # one line per series: (order, legend label)
    time_ns: float
    gbps: float | None
    pct_copy: float | None
    counters: dict[str, float]    # all of the benchmark's counters (errors among them)
    noise: float | None           # robust cv of the time over repetitions; None below 2
    cache: str | None = None      # the cache the working set fits in: % of copy is no roofline
    x_cpu: float | None = None    # speed-up over the best CPU baseline at this shape
    x_first: float | None = None  # speed-up over the family's first GPU variant at this shape


@dataclass
class Family:
    """The benchmarks of one family in one element type (over all runs)."""

    name: str
    x_label: str
    rows: list[Row]
    variants: list[gbjson.VariantInfo]        # ladder order
    first: gbjson.VariantInfo | None          # what x_first divides by
    row_shaped: bool                          # x is the row length, a series one total
    dtype: str = gbjson.DEFAULT_DTYPE

    @property
    def title(self) -> str:
        """`softmax (bf16)`: how headings, plots and the summary name it."""
        return f"{self.name} ({self.dtype})"

    @property
    def key(self) -> str:
        """`softmax_bf16`: the plot's file-name part and its key."""
        return f"{gbjson.slug(self.name)}_{self.dtype}"


def size_axis(name: gbjson.BenchName) -> tuple[str, int, tuple[int, str]]:
    """(axis label, x, series) of a benchmark. Elementwise families are plotted against n.
    Row-shaped ones (bias_*, gated, softmax) against the row length, which decides how their
    kernels work, with one line per total size: the sweep keeps rows x cols about constant and
    adds a few shapes of other totals, and a CPU sweep may use a smaller total."""
    params = dict(name.params)
    if "rows" in params and "cols" in params:
        log2_total = round(math.log2(params["rows"] * params["cols"]))
        return "row length (cols)", params["cols"], (log2_total,
                                                     f"~{size_label(2 ** log2_total)} elements")
    key = "n" if "n" in params else name.params[0][0]
    others = ", ".join(f"{k}={v}" for k, v in name.params if k != key)
    return "elements (n)" if key == "n" else key, params[key], (0, others)


def build_families(runs: list[gbjson.Run]) -> list[Family]:
    """Groups every timed actbench benchmark of every run by family and element type, in
    registry order of the families, each family's types in gbjson.DTYPES order."""
    by_family: dict[tuple[str, str], list[Row]] = {}
    labels: dict[str, str] = {}
    for i, run in enumerate(runs):
        for b in run.benchmarks.values():
            if b.name.family is None or b.center_ns is None or b.failed:
                continue
            label, x, series = size_axis(b.name)
            labels.setdefault(b.name.family, label)
            gbps = b.counter("bytes_per_second")
            variant = gbjson.variant_info(runs, b.name.variant_id)
            row = Row(i, variant, b.name, x, series, b.center_ns,
                      gbps / 1e9 if gbps is not None else None, b.counter("pct_copy_bw"),
                      b.counters, b.robust_cv)
            row.cache = cache_resident(run, variant.device, row)
            by_family.setdefault((b.name.family, b.name.dtype), []).append(row)
    families = []
    for (name, dtype), rows in by_family.items():
        variants = sorted({r.variant.id: r.variant for r in rows}.values(),
                          key=lambda v: (v.step, v.variant))
        gpu = [v for v in variants if not v.is_cpu]
        fam = Family(name, labels[name], rows, variants, gpu[0] if len(gpu) > 1 else None,
                     any(r.name.param("cols") is not None for r in rows), dtype)
        _add_speedups(fam)
        families.append(fam)
    order = _family_order(runs)
    return sorted(families, key=lambda f: (order.get(f.name, len(order)), dtype_order(f.dtype)))


def dtype_order(dtype: str) -> int:
    """f32, f16, bf16, then anything else."""
    return gbjson.DTYPES.index(dtype) if dtype in gbjson.DTYPES else len(gbjson.DTYPES)


def _family_order(runs: list[gbjson.Run]) -> dict[str, int]:
    order: dict[str, int] = {}
    for run in runs:
        for v in run.variants.values():
            order.setdefault(v.family, len(order))
    return order


def _add_speedups(fam: Family) -> None:
    """Speed-ups of GPU variants against the same run at the same x (n; the row length for
    softmax). Times are compared per element, because the CPU sweep may use fewer rows than
    the GPU's at the same row length; at the same shape this is the plain ratio of times."""
    def per_element(r: Row) -> float:
        return r.time_ns / math.prod(v for _, v in r.name.params)

    same_x: dict[tuple, list[Row]] = {}
    for r in fam.rows:
        same_x.setdefault((r.run, r.x), []).append(r)
    for rows in same_x.values():
        cpu = [per_element(r) for r in rows if r.variant.is_cpu]
        first = [per_element(r) for r in rows if fam.first and r.variant.id == fam.first.id]
        for r in rows:
            if r.variant.is_cpu or r.time_ns <= 0:
                continue
            r.x_cpu = min(cpu) / per_element(r) if cpu else None
            r.x_first = min(first) / per_element(r) if first else None


def copy_bandwidth(run: gbjson.Run, runs: list[gbjson.Run], device: str,
                   dtype: str = gbjson.DEFAULT_DTYPE) -> float | None:
    """A run's copy bandwidth in GB/s on a device: the figure the bench measured and put in
    the context (a copy of large buffers: bytes are bytes, whatever type they hold), else the
    best the copy family reached in the same type, else in any type."""
    if run.ctx_float(f"{device}_copy_bw_gbs"):
        return run.ctx_float(f"{device}_copy_bw_gbs")
    copies = [b for b in run.benchmarks.values()
              if b.name.family == "copy" and b.counter("bytes_per_second")
              and gbjson.variant_info(runs, b.name.variant_id).device == device]
    best = ([b.counter("bytes_per_second") for b in copies if b.name.dtype == dtype]
            or [b.counter("bytes_per_second") for b in copies])
    return max(best) / 1e9 if best else None


def cache_capacity(run: gbjson.Run, device: str) -> tuple[float, str] | None:
    """(bytes, description) of the most data a device's caches hold, from the log's context:
    the GPU's L2 (`gpu_l2_bytes`); for the CPU, the largest cache level summed over the
    machine (Google Benchmark's `caches`: size per instance, CPUs sharing one instance), as a
    multi-threaded baseline uses every core's share. None when the log does not say."""
    if device == "gpu":
        l2 = run.ctx_float("gpu_l2_bytes")
        return (l2, f"the GPU's {bytes_label(l2)} L2") if l2 else None
    caches = run.context.get("caches")
    cpus = int(run.ctx_float("num_cpus") or 1)
    best = None
    for c in caches if isinstance(caches, list) else []:
        try:
            size, sharing = int(c["size"]), max(1, int(c.get("num_sharing") or 1))
        except (TypeError, KeyError, ValueError):
            continue
        if c.get("type") not in ("Data", "Unified") or size <= 0:
            continue
        instances = max(1, cpus // sharing)
        if best is None or size * instances > best[0]:
            each = bytes_label(size)
            best = (size * instances, f"the CPU's L{c.get('level', '?')} cache "
                                      f"({f'{instances} × {each}' if instances > 1 else each})")
    return best


def cache_resident(run: gbjson.Run, device: str, r: Row) -> str | None:
    """The cache a row's working set (the bench's ideal_bytes counter: every input read and
    every output written once) fits in, or None: where it fits, the data need not come from
    memory at all, and a copy bandwidth measured on buffers larger than the caches is no
    roofline. None too for a log without the counter or the cache sizes."""
    capacity = cache_capacity(run, device)
    working_set = r.counters.get(IDEAL_BYTES)
    if capacity is None or working_set is None:
        return None
    return capacity[1] if working_set <= capacity[0] else None


def gpu_ran(run: gbjson.Run, runs: list[gbjson.Run]) -> bool:
    return "gpu_name" in run.context or any(
        b.name.family and not gbjson.variant_info(runs, b.name.variant_id).is_cpu
        for b in run.benchmarks.values())


def flush_value(run: gbjson.Run, runs: list[gbjson.Run]) -> str:
    """What the L2 flush applied to: GPU variants only, timed by CUDA events with the flush
    before each iteration (unless warm); CPU variants are never flushed."""
    if not gpu_ran(run, runs):
        return "not applicable: no GPU variant ran, and CPU variants are never flushed"
    value = str(run.context.get("l2_flush", "not logged"))
    return f"{value} (GPU variants only; CPU variants are never flushed)"


# ---- formatting --------------------------------------------------------------------------------

def fmt(value: float | None, kind: str) -> str:
    """A table cell: "–" for no value, else the kind's usual precision and unit."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–" if value is None else str(value)
    if kind == "gbps":
        return f"{value:.0f}" if value >= 100 else f"{value:.3g}"
    if kind == "pct":
        return f"{value:.1f}%"
    if kind == "x":
        return f"{value:.0f}×" if value >= 100 else f"{value:.3g}×"
    if kind == "used":
        return "0%" if value == 0 else f"{value:.3g}%"
    if kind == "err":
        return "0" if value == 0 else f"{value:.3g}" if 0.01 <= value < 1e4 else f"{value:.2e}"
    return str(value)


def bytes_label(value: float) -> str:
    """52428800 -> 50 MiB, 49152 -> 48 KiB."""
    for suffix, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= scale:
            return f"{value / scale:.4g} {suffix}"
    return f"{value:.0f} B"


def size_label(value: float) -> str:
    """1024 -> 1K, 16777216 -> 16M: binary multiples, as sizes in this suite are."""
    for suffix, scale in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if value >= scale and value % scale == 0:
            return f"{int(value // scale)}{suffix}"
    return f"{value:g}"


def md_table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
    return [line(header), "|" + "|".join(" --- " for _ in header) + "|",
            *(line(r) for r in rows), ""]


def run_labels(runs: list[gbjson.Run]) -> list[str]:
    """Machine names when they tell the runs apart (H100 vs H200), else file stems."""
    for labels in ([r.machine for r in runs], [r.path.stem for r in runs]):
        if len(set(labels)) == len(labels):
            return labels
    return [f"{i + 1}: {r.path.stem}" for i, r in enumerate(runs)]


def context_value(key: str, value: Any) -> str:
    if isinstance(value, list):  # a torch log's cut_short: how many were left out, the first few
        return f"{len(value)}: " + ", ".join(map(str, value[:3])) + (", …" if len(value) > 3 else "")
    if key in ("gpu_l2_bytes", "gpu_memory_bytes"):
        try:
            return bytes_label(int(value))
        except ValueError:
            pass
    if key.startswith("cuda_") and key.endswith("_version") and str(value).isdigit():
        v = int(value)
        return f"{v // 1000}.{v % 1000 // 10}"
    return str(value)


# ---- the Markdown ------------------------------------------------------------------------------

def markdown(runs: list[gbjson.Run], labels: list[str], families: list[Family],
             others: list[tuple[int, gbjson.Benchmark]], plots: dict[str, tuple[str, str]],
             plot_note: str | None) -> str:
    multi = len(runs) > 1
    out = [f"# actbench report: {' vs '.join(labels)}", "",
           "Generated by `scripts/report.py` from " +
           ", ".join(f"`{r.path.name}`" for r in runs) + ".", ""]
    if plot_note:
        out += [f"> **Note:** {plot_note}", ""]
    out += ["## Machine", ""] + context_table(runs, labels) + noise_note(runs)
    if families:
        out += ["## Summary", "",
                "The fastest variant of each family and element type at its largest size.", ""]
        out += md_table(["family", "type"] + (["run"] if multi else []) +
                        ["size", "fastest", "time", "GB/s", "% of copy", "× CPU", "× first step"],
                        summary_rows(families, labels, multi))
    out += verdict_section(runs, labels, families, multi)
    out += types_section(families, labels, multi)
    out += forward_backward_section(activations(families), labels, multi, plots)
    for fam in families:
        out += family_section(fam, labels, multi, plots.get(fam.key))
    failed = [(i, b) for i, run in enumerate(runs) for b in run.benchmarks.values() if b.failed]
    if failed:
        out += ["## Errors", "", "These benchmarks failed and are left out above.", ""]
        out += md_table(["benchmark"] + (["run"] if multi else []) + ["error"],
                        [[b.name.raw] + ([labels[i]] if multi else []) + ["; ".join(b.errors)]
                         for i, b in failed])
    if others:
        out += other_section(others, labels, multi, plots.get("other"))
    return "\n".join(out)


def context_table(runs: list[gbjson.Run], labels: list[str]) -> list[str]:
    def shown(key: str, run: gbjson.Run) -> bool:  # actbench logs say what the flush covers
        return key in run.context or (key == "l2_flush" and run.has_registry)

    def cell(key: str, run: gbjson.Run) -> str:
        if not shown(key, run):
            return "–"
        return flush_value(run, runs) if key == "l2_flush" else context_value(key, run.context[key])

    known = [(k, label) for k, label in CONTEXT_FIELDS if any(shown(k, r) for r in runs)]
    extra = sorted({k for r in runs for k in r.context}
                   - {k for k, _ in CONTEXT_FIELDS} - CONTEXT_HIDDEN)
    rows = [[label] + [cell(k, r) for r in runs] for k, label in known + [(k, k) for k in extra]]
    return md_table([""] + labels, rows)


def noise_note(runs: list[gbjson.Run]) -> list[str]:
    """How many repetitions the times are medians of, and what the ± next to them means; or
    that there is no noise estimate at all."""
    reps = sorted({b.repetitions for r in runs for b in r.benchmarks.values() if b.times_ns})
    if not reps:
        return []
    if reps[-1] < 2:
        return ["> **Note:** every benchmark ran once: the times carry no noise estimate "
                "(run with `--benchmark_repetitions=5` for one).", ""]
    counts = f"{reps[0]}–{reps[-1]}" if reps[0] != reps[-1] else str(reps[0])
    return [f"Times are medians over {counts} repetitions; ± is their spread, "
            f"{gbjson.MAD_TO_SIGMA} × the median absolute deviation as a percent of the median "
            f"(a cv that a few outliers do not inflate), drawn as error bars in the plots.", ""]


def summary_rows(families: list[Family], labels: list[str], multi: bool) -> list[list[str]]:
    rows = []
    for fam in families:
        for run, largest in sorted(largest_shapes(fam).items()):
            best = min((r for r in fam.rows if r.run == run and r.name.params == largest),
                       key=lambda r: r.time_ns)
            cells = metric_cells(best)
            if best.x_first is not None:
                cells[-1] += f" over {fam.first.variant}"
            rows.append([fam.name, fam.dtype] + ([labels[run]] if multi else []) +
                        [best.name.shape, best.variant.variant] + cells)
    return rows


# The gap between 1 and the next value of each type is 2^-this (its epsilon).
EPSILON_BITS = {"f32": 23, "f16": 10, "bf16": 7}
# The roofline itself: no strategy to compare across types.
TYPES_LEFT_OUT = frozenset({"copy"})


def types_section(families: list[Family], labels: list[str], multi: bool) -> list[str]:
    """The element types side by side, one table per family that the runs hold in more than
    one type: at every shape, each type's best variant, its GB/s and % of copy, and its
    speed-up in time over the first type. Empty when no family has two types."""
    by_name: dict[str, list[Family]] = {}
    for fam in families:
        if fam.name not in TYPES_LEFT_OUT:
            by_name.setdefault(fam.name, []).append(fam)
    tables = [(name, fams) for name, fams in by_name.items() if len(fams) > 1]
    if not tables:
        return []
    types = list(dict.fromkeys(f.dtype for _, fams in tables for f in fams))
    out = [f"## {' vs '.join(types)}", "",
           "Each element type's best variant at every shape: the highest GB/s among the "
           "project's own GPU variants (library references, peers and CPU baselines left out; "
           "in a run without GPU rows for the family, among its CPU baselines). % of copy is "
           "against a copy of the same bytes, the type's own roofline; × is the speed-up in "
           "time over the first type at the same shape (a 16-bit type moves half the bytes "
           "of f32: 2× at the same bandwidth). `copy` is the roofline and is left out.", ""]
    for name, fams in tables:
        out += [f"### {name}", ""] + types_table(fams, labels, multi)
    return out


def best_of_type(rows: list[Row], gpu_run: bool) -> Row | None:
    """The row with the highest GB/s among the project's own GPU variants (gpu_run: the run
    has some for the family) or else among the CPU baselines; None when there is none."""
    eligible = [r for r in rows if r.gbps is not None
                and (r.variant.is_own_gpu if gpu_run else r.variant.is_cpu)]
    return max(eligible, key=lambda r: r.gbps) if eligible else None


def types_table(fams: list[Family], labels: list[str], multi: bool) -> list[str]:
    """One family's types side by side (fams: the family in each of its types, in order)."""
    first = fams[0]
    gpu_runs = {r.run for f in fams for r in f.rows if r.variant.is_own_gpu}
    shapes: dict[tuple[int, tuple], Row] = {}  # (run, params) -> a row, for the x order
    for fam in fams:
        for r in fam.rows:
            if r.variant.is_own_gpu or (r.variant.is_cpu and r.run not in gpu_runs):
                shapes.setdefault((r.run, r.name.params), r)
    header = (["run"] if multi else []) + ["size"]
    for fam in fams:
        header += [f"{fam.dtype} best", f"{fam.dtype} GB/s", f"{fam.dtype} % of copy"]
        if fam is not first:
            header.append(f"{fam.dtype} × {first.dtype}")
    rows = []
    for (run, params), sample in sorted(shapes.items(),
                                        key=lambda kv: (kv[0][0], kv[1].x, kv[1].series)):
        cells = ([labels[run]] if multi else []) + [sample.name.shape]
        best = [best_of_type([r for r in fam.rows if r.run == run and r.name.params == params],
                             run in gpu_runs) for fam in fams]
        for fam, b in zip(fams, best):
            cells += ["–", "–", "–"] if b is None else \
                [b.variant.variant, fmt(b.gbps, "gbps"), pct_cell(b)]
            if fam is not first:
                ratio = best[0].time_ns / b.time_ns if b and best[0] and b.time_ns > 0 else None
                cells.append(fmt(ratio, "x"))
        rows.append(cells)
    return md_table(header, rows)


# ---- the verdict -------------------------------------------------------------------------------

# The peers the verdict sets actbench's best against, in column order: PyTorch eager,
# torch.compile and Liger-Kernel (scripts/torch_compare.py's rows), and the project's own cuDNN
# variant, a library reference of the registry, as it is.
PEERS = ("torch", "torch_compile", "liger", "cudnn")
# A run with rows of these, or that lists peers it left out, is a torch_compare.py run: peers
# and actbench's variants measured in one process on the same tensors, timed alike. The verdict
# reads those runs only, never one run's variant against another run's peer.
FRAMEWORK_PEERS = frozenset(PEERS[:3])
PEER_WINS = "◀ peer wins"


@dataclass
class VerdictRow:
    """One family, type and shape of one run: actbench's best variant there (best_of_type: the
    project's own GPU variants, auto among them), auto's row, each peer's that was measured,
    and why each peer that was not is absent (peer_absence), where the run says."""

    run: int
    dtype: str
    sample: Row               # a row of the shape: its name, x and series
    best: Row | None
    auto: Row | None
    peers: dict[str, Row]
    absent: dict[str, str]

    def over(self, peer: str) -> float | None:
        """The speed-up of actbench's best over a peer: the peer's time / the best's (above 1:
        actbench is faster)."""
        theirs = self.peers.get(peer)
        if self.best is None or theirs is None or self.best.time_ns <= 0:
            return None
        return theirs.time_ns / self.best.time_ns

    @property
    def best_peer(self) -> Row | None:
        """The fastest peer measured at this shape."""
        return min(self.peers.values(), key=lambda r: r.time_ns) if self.peers else None

    @property
    def speedup(self) -> float | None:
        """The best peer's time / actbench's best's: the verdict (below 1: a peer wins)."""
        best_peer = self.best_peer
        return self.over(best_peer.variant.variant) if best_peer else None


def geomean(values: Iterable[float | None]) -> float | None:
    """The geometric mean of the positive values given, None when there is none."""
    logs = [math.log(v) for v in values if v is not None and v > 0]
    return math.exp(sum(logs) / len(logs)) if logs else None


def unavailable_peers(run: gbjson.Run) -> dict[str, str]:
    """The log's peers_unavailable (torch_compare.py): reason by `family/peer`, `family/peer/
    dtype` or the row's full name; a JSON text of the same is read too."""
    value = run.context.get("peers_unavailable")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def peer_absence(run: gbjson.Run, family: str, peer: str, dtype: str, shape: str) -> str | None:
    """Why a peer has no timed row for a family, type and shape in a run: its failed row's
    error, else the most specific peers_unavailable entry (the row's name, then `family/peer/
    dtype`, then `family/peer`); None where the run says nothing (the peer has no such kernel,
    or is no peer of the run)."""
    name = f"{family}/{peer}/{dtype}/{shape}"
    failed = run.benchmarks.get(name)
    if failed is not None and failed.failed:
        return "failed: " + "; ".join(failed.errors)
    reasons = unavailable_peers(run)
    for key in (name, f"{family}/{peer}/{dtype}", f"{family}/{peer}"):
        if key in reasons:
            return reasons[key]
    return None


def verdict_runs(runs: list[gbjson.Run]) -> list[int]:
    """The runs the verdict reads: those with a framework peer's rows or peers_unavailable."""
    return [i for i, run in enumerate(runs)
            if "peers_unavailable" in run.context or any(
                b.name.variant in FRAMEWORK_PEERS for b in run.benchmarks.values())]


def verdict_rows(runs: list[gbjson.Run], families: list[Family]) -> dict[str, list[VerdictRow]]:
    """Per family (registry order; the copy, the roofline, left out), every type and shape of
    each verdict run, in the order of the run, the type, the size."""
    chosen = set(verdict_runs(runs))
    out: dict[str, list[VerdictRow]] = {}
    for fam in families:
        if fam.name in TYPES_LEFT_OUT:
            continue
        shapes: dict[tuple[int, tuple], list[Row]] = {}
        for r in fam.rows:
            if r.run in chosen:
                shapes.setdefault((r.run, r.name.params), []).append(r)
        for (run, _), rows in shapes.items():
            sample = rows[0]
            measured = {r.variant.variant: r for r in rows if r.variant.variant in PEERS}
            absent = {}
            for peer in PEERS:
                if peer not in measured:
                    why = peer_absence(runs[run], fam.name, peer, fam.dtype, sample.name.shape)
                    if why is not None:
                        absent[peer] = why
            out.setdefault(fam.name, []).append(VerdictRow(
                run, fam.dtype, sample, best_of_type(rows, gpu_run=True),
                next((r for r in rows if r.variant.variant == "auto"), None), measured, absent))
    for rows in out.values():
        rows.sort(key=lambda v: (v.run, dtype_order(v.dtype), v.sample.x, v.sample.series))
    return out


def timed_cell(r: Row) -> str:
    """`190 us · 94.2%`: a participant's time and its % of the measured copy bandwidth."""
    return f"{gbjson.format_time(r.time_ns)} · {pct_cell(r)}"


def verdict_cell(ratio: float | None, peer: str | None = None) -> str:
    """A speed-up of actbench's best over a peer, marked (bold, PEER_WINS) where the peer wins."""
    if ratio is None:
        return "–"
    text = fmt(ratio, "x") + (f" over {peer}" if peer else "")
    return f"**{text}** {PEER_WINS}" if ratio < 1 else text


def compile_note(run: gbjson.Run, label: str | None) -> list[str]:
    """torch.compile's settings and how long its compiles took (each row's compile_s, never
    inside its time), for a run with torch_compile rows."""
    seconds = sorted(b.counters["compile_s"] for b in run.benchmarks.values()
                     if b.name.variant == "torch_compile" and "compile_s" in b.counters)
    if not seconds:
        return []
    settings = run.context.get("torch_compile", "settings not logged")
    return [f"- torch_compile{f' ({label})' if label else ''}: {settings}. {len(seconds)} "
            f"compiles, {statistics.median(seconds):.3g} s median, {sum(seconds):.3g} s in all "
            f"(compile_s; not in any time)."]


def verdict_section(runs: list[gbjson.Run], labels: list[str], families: list[Family],
                    multi: bool) -> list[str]:
    """The verdict: per family, type and shape, actbench's best variant against every peer in
    the same run, with the speed-up over the best peer, marked where a peer wins, a geomean per
    family (per run), and % of copy beside every time; a peer absent with its reason. Empty
    where no run has peers (no torch_compare.py log). scripts/gpu_check.py's summary has the
    same table."""
    by_family = verdict_rows(runs, families)
    if not by_family:
        return []
    out = ["## Verdict: actbench against its peers", "",
           "Per family, type and shape, in the run that measured the peers "
           "(scripts/torch_compare.py: every call on the same tensors, verified against the "
           "same float64 reference and timed alike): actbench's best variant (the fastest of "
           "the project's own GPU variants, named), `auto` where the family has it, and each "
           "peer: PyTorch eager (torch), torch.compile (torch_compile), Liger-Kernel (liger) "
           "and the project's cuDNN variant (cudnn). Each cell is the time · its % of the "
           "measured copy bandwidth. × best peer is the fastest peer's time over actbench's "
           f"best (above 1: actbench is faster); a peer that wins is in bold and marked "
           f"{PEER_WINS}. The geomean row gives, per peer and over the best peer, the geometric "
           "mean of those speed-ups over the family's types and shapes. A peer that was not "
           "measured is `absent`, with the reason the run gives below the table (`–`: the run "
           "says nothing, the peer has no such kernel).", ""]
    out += [line for i in verdict_runs(runs)
            for line in compile_note(runs[i], labels[i] if multi else None)]
    if out[-1] != "":
        out.append("")
    for name, rows in by_family.items():
        peers = [p for p in PEERS if any(p in v.peers or p in v.absent for v in rows)]
        has_auto = any(v.auto for v in rows)
        header = (["run"] if multi else []) + ["type", "size", "actbench best"] + \
            (["auto"] if has_auto else []) + peers + ["× best peer"]
        notes: dict[str, int] = {}  # reason -> its footnote number

        def peer_cell(v: VerdictRow, peer: str) -> str:
            if peer in v.peers:
                cell = timed_cell(v.peers[peer])
                ratio = v.over(peer)
                return f"**{cell}**" if ratio is not None and ratio < 1 else cell
            if peer in v.absent:
                return f"absent [{notes.setdefault(v.absent[peer], len(notes) + 1)}]"
            return "–"

        table = []
        for v in rows:
            best_peer = v.best_peer
            table.append(([labels[v.run]] if multi else []) + [v.dtype, v.sample.name.shape] +
                         [f"{v.best.variant.variant} {timed_cell(v.best)}" if v.best else "–"] +
                         ([timed_cell(v.auto) if v.auto else "–"] if has_auto else []) +
                         [peer_cell(v, p) for p in peers] +
                         [verdict_cell(v.speedup, best_peer.variant.variant if best_peer else None)])
        for run in dict.fromkeys(v.run for v in rows):
            mine = [v for v in rows if v.run == run]
            table.append(([labels[run]] if multi else []) + ["geomean", "", ""] +
                         ([""] if has_auto else []) +
                         [verdict_cell(geomean(v.over(p) for v in mine)) for p in peers] +
                         [verdict_cell(geomean(v.speedup for v in mine))])
        out += [f"### {name}", ""] + md_table(header, table)
        out += [f"- [{k}] {reason}" for reason, k in notes.items()] + ([""] if notes else [])
    return out


# PyTorch's rows in a scripts/torch_compare.py log: <family>/torch/<dtype>/<shape>.
TORCH = "torch"


@dataclass
class ActivationPasses:
    """An activation in one element type whose backward family the runs hold: its forward
    family (None where the runs lack it) and its backward family."""

    name: str                 # the forward family's: sigmoid, bias_relu, softmax
    dtype: str
    forward: Family | None
    backward: Family

    @property
    def title(self) -> str:
        return f"{self.name} ({self.dtype})"

    @property
    def key(self) -> str:
        """The plot's file-name part and key (no family is named forward-backward)."""
        return f"forward-backward_{gbjson.slug(self.name)}_{self.dtype}"


@dataclass
class StepPoint:
    """One shape of one run of an ActivationPasses: the best variant of its forward and of its
    backward family there (best_of_type), and PyTorch's of each where the run has them."""

    run: int
    sample: Row               # a row of the shape: its name, x and series
    forward: Row | None
    backward: Row | None
    torch_forward: Row | None
    torch_backward: Row | None

    @property
    def step_ns(self) -> float | None:
        """A training step of the best variants: the forward's time plus the backward's."""
        return _sum_times(self.forward, self.backward)

    @property
    def torch_step_ns(self) -> float | None:
        return _sum_times(self.torch_forward, self.torch_backward)


def _sum_times(a: Row | None, b: Row | None) -> float | None:
    return a.time_ns + b.time_ns if a and b else None


def activations(families: list[Family]) -> list[ActivationPasses]:
    """Every backward family of the runs in each of its types, with its forward family in the
    same type, in the order of the backward families (the registry's)."""
    by_key = {(f.name, f.dtype): f for f in families}
    out = []
    for fam in families:
        forward = gbjson.forward_family(fam.name)
        if forward is not None:
            out.append(ActivationPasses(forward, fam.dtype, by_key.get((forward, fam.dtype)), fam))
    return out


def step_points(act: ActivationPasses) -> list[StepPoint]:
    """Every shape of either family in each run, in the order of the run, then the size. The
    best variant is the project's own GPU variant of the highest GB/s, or, in a run without
    any for these families, the best CPU baseline (as types_table picks it)."""
    fams = [f for f in (act.forward, act.backward) if f is not None]
    gpu_runs = {r.run for f in fams for r in f.rows if r.variant.is_own_gpu}
    shapes: dict[tuple[int, tuple], Row] = {}
    for fam in fams:
        for r in fam.rows:
            if r.variant.is_own_gpu or (r.variant.is_cpu and r.run not in gpu_runs):
                shapes.setdefault((r.run, r.name.params), r)
    points = []
    for (run, params), sample in sorted(shapes.items(),
                                        key=lambda kv: (kv[0][0], kv[1].x, kv[1].series)):
        def at(fam: Family | None) -> list[Row]:
            return [r for r in fam.rows if r.run == run and r.name.params == params] if fam else []

        def torch(fam: Family | None) -> Row | None:
            return next((r for r in at(fam) if r.variant.variant == TORCH), None)

        points.append(StepPoint(run, sample, best_of_type(at(act.forward), run in gpu_runs),
                                best_of_type(at(act.backward), run in gpu_runs),
                                torch(act.forward), torch(act.backward)))
    return points


def forward_backward_section(acts: list[ActivationPasses], labels: list[str], multi: bool,
                             plots: dict[str, tuple[str, str]]) -> list[str]:
    """Each activation's forward and backward side by side, one table per activation (its
    types and shapes as rows), and the training step where PyTorch's rows are there. Empty
    when the runs hold no backward family."""
    if not acts:
        return []
    out = ["## Forward and backward", "",
           "Per activation, type and shape, the best variant of its forward family and of its "
           "backward family (the highest GB/s among the project's own GPU variants; in a run "
           "without GPU rows for them, among the CPU baselines), each with its GB/s and % of "
           "copy (its own ideal bytes: a backward call reads the saved tensor and dy and writes "
           "dx, and a bias family's dbias, three tensors where the forward moves two). Where a "
           "run holds PyTorch's rows of both (scripts/torch_compare.py), a training step: the "
           "best forward's time plus the best backward's, each call timed alone, against "
           "PyTorch's eager forward plus its backward at the same shape; × PyTorch is PyTorch's "
           "step time over ours (above 1: ours is faster).", ""]
    for name in dict.fromkeys(a.name for a in acts):
        mine = [a for a in acts if a.name == name]
        points = [(a, p) for a in mine for p in step_points(a)]
        with_torch = any(p.torch_step_ns is not None for _, p in points)
        header = (["run"] if multi else []) + [
            "type", "size", "forward best", "forward GB/s", "forward % of copy", "backward best",
            "backward GB/s", "backward % of copy"]
        if with_torch:
            header += ["step (forward + backward)", "PyTorch's step", "× PyTorch"]
        rows = []
        for a, p in sorted(points, key=lambda ap: (ap[1].run, dtype_order(ap[0].dtype),
                                                   ap[1].sample.x, ap[1].sample.series)):
            cells = ([labels[p.run]] if multi else []) + [a.dtype, p.sample.name.shape]
            for best in (p.forward, p.backward):
                cells += ["–", "–", "–"] if best is None else \
                    [best.variant.variant, fmt(best.gbps, "gbps"), pct_cell(best)]
            if with_torch:
                ours, theirs = p.step_ns, p.torch_step_ns
                cells += [step_cell(ours), step_cell(theirs),
                          fmt(theirs / ours if ours and theirs else None, "x")]
            rows.append(cells)
        out += [f"### {name}", ""]
        for a in mine:
            if a.key in plots:
                out += [f"![{plots[a.key][1]}]({plots[a.key][0]})", ""]
            elif step_lines(pts := step_points(a)) and one_shape([p.sample for p in pts]):
                out += [f"{a.title}: one shape only, no plot against size.", ""]
        out += md_table(header, rows)
    return out


def step_cell(ns: float | None) -> str:
    return "–" if ns is None else gbjson.format_time(ns)


def largest_shapes(fam: Family) -> dict[int, tuple]:
    """The largest shape of the family in each run (runs may sweep different sizes)."""
    largest: dict[int, Row] = {}
    for r in fam.rows:
        if r.run not in largest or (r.x, r.series) > (largest[r.run].x, largest[r.run].series):
            largest[r.run] = r
    return {run: r.name.params for run, r in largest.items()}


def metric_cells(r: Row) -> list[str]:
    return [time_cell(r.time_ns, r.noise), fmt(r.gbps, "gbps"), pct_cell(r),
            fmt(r.x_cpu, "x"), fmt(r.x_first, "x")]


def time_cell(ns: float, noise: float | None) -> str:
    """`48.68 us ±0.41%`: the median and its spread over repetitions, when there are some."""
    if noise is None:
        return gbjson.format_time(ns)
    return f"{gbjson.format_time(ns)} ±{100 * noise:.2g}%" if noise < 0.1 else \
        f"{gbjson.format_time(ns)} ±{100 * noise:.0f}%"


IN_CACHE = "in cache"


def pct_cell(r: Row) -> str:
    return IN_CACHE if r.cache else fmt(r.pct_copy, "pct")


def cache_note(fam: Family) -> list[str]:
    """Says which caches made some sizes' % of copy meaningless, once per family; or, for a log
    from before the bench logged ideal_bytes, that it cannot tell."""
    caches = sorted({r.cache for r in fam.rows if r.cache})
    if not any(IDEAL_BYTES in r.counters for r in fam.rows):
        return ["The log has no ideal_bytes counter (an older actbench): sizes whose working "
                "set fits in cache are not marked, and there % of copy is no roofline.", ""]
    if not caches:
        return []
    gpu = any(r.cache and not r.variant.is_cpu for r in fam.rows)
    return [f"\"{IN_CACHE}\": the working set (bytes read + written) fits in "
            f"{' / '.join(caches)}, so not all of that traffic has to reach memory within the "
            "timed call" + (" (on the GPU, even with the L2 flushed before each call, the "
                            "output can stay in the L2)" if gpu else "") +
            ", and the copy bandwidth, measured on buffers larger than the caches, is no "
            "roofline: % of copy is left out there, in the tables and the plot.", ""]


def family_section(fam: Family, labels: list[str], multi: bool,
                   plot: tuple[str, str] | None) -> list[str]:
    out = [f"## {fam.title}", ""]
    if plot:
        out += [f"![{plot[1]}]({plot[0]})", ""]
    elif one_shape(fam.rows):
        out += ["One shape only: no plot against size (the table has every value).", ""]
    out += cache_note(fam)
    first = f"× {fam.first.variant}" if fam.first else "× first step"
    header = ["variant"] + (["run"] if multi else []) + [
        "size", "time", "GB/s", "% of copy", "× CPU", first]

    def rows(selected: list[Row]) -> list[list[str]]:
        order = {v.id: i for i, v in enumerate(fam.variants)}
        selected = sorted(selected, key=lambda r: (order[r.variant.id], r.run, r.x, r.series))
        return [[r.variant.variant] + ([labels[r.run]] if multi else []) +
                [r.name.shape] + metric_cells(r) for r in selected]

    largest = largest_shapes(fam)
    out += winners_section(fam, labels, multi)
    out += ["Largest size:", ""]
    out += md_table(header, rows([r for r in fam.rows if r.name.params == largest[r.run]]))
    out += ["<details><summary>All sizes</summary>", ""]
    out += md_table(header, rows(fam.rows)) + ["</details>", ""]
    keys = error_counters(fam)
    tol_used = any(TOL_USED in r.counters for r in fam.rows)
    ulps = any(v.ulps is not None for v in fam.variants)
    out += ["Variants and accuracy (largest error over all sizes; tolerance "
            "|got - ref| <= atol + rtol·|ref| against the double-precision reference" +
            (f"; ulps: rtol in units of {fam.dtype}'s epsilon"
             + (f", 2^-{EPSILON_BITS[fam.dtype]}" if fam.dtype in EPSILON_BITS else "")
             if ulps else "") +
            ("; tolerance used: the worst element's |got - ref| / (atol + rtol·|ref|), 100% "
             "= failing, so a large relative or ulp error with little tolerance used is an "
             "output near zero that atol covers" if tol_used else "") + "):", ""]
    out += md_table(["variant", "device", "what it is"] + (["run"] if multi else []) +
                    [k.replace("_", " ") for k in keys] +
                    (["tolerance used"] if tol_used else []) + ["atol", "rtol"] +
                    (["ulps"] if ulps else []),
                    accuracy_rows(fam, keys, tol_used, labels, multi, ulps))
    return out


def winners_section(fam: Family, labels: list[str], multi: bool) -> list[str]:
    """The fastest GPU variant at every shape, and where the family has a variant that picks
    among the others by shape (`auto`), how close its pick came: the sweep that justifies
    its thresholds. Empty for a family with fewer than two GPU variants."""
    gpu = [r for r in fam.rows if not r.variant.is_cpu]
    if len({r.variant.id for r in gpu}) < 2:
        return []
    shapes: dict[tuple[int, tuple], list[Row]] = {}
    for r in gpu:
        shapes.setdefault((r.run, r.name.params), []).append(r)
    has_auto = any(r.variant.variant == "auto" for r in gpu)
    header = (["run"] if multi else []) + ["size", "fastest GPU variant", "GB/s", "% of copy"]
    if has_auto:
        header += ["auto GB/s", "auto / fastest"]
    rows = []
    for (run, _), group in sorted(shapes.items(), key=lambda kv: (kv[0][0], kv[1][0].x, kv[1][0].series)):
        best = min(group, key=lambda r: r.time_ns)
        row = ([labels[run]] if multi else []) + [best.name.shape, best.variant.variant,
                                                  fmt(best.gbps, "gbps"), pct_cell(best)]
        if has_auto:
            auto = next((r for r in group if r.variant.variant == "auto"), None)
            row += ([fmt(auto.gbps, "gbps"), f"{best.time_ns / auto.time_ns:.0%}"] if auto else ["–", "–"])
        rows.append(row)
    return ["Fastest GPU variant at each size" +
            (" (auto: how close its pick by shape came to it)" if has_auto else "") + ":", ""] + \
        md_table(header, rows)


def error_counters(fam: Family) -> list[str]:
    """The max_*_err counters the family's rows carry: abs, rel, ulp first."""
    found = {k for r in fam.rows for k in r.counters
             if k.startswith("max_") and k.endswith("_err")}
    preferred = [k for k in ("max_abs_err", "max_rel_err", "max_ulp_err") if k in found]
    return preferred + sorted(found - set(preferred))


def accuracy_rows(fam: Family, keys: list[str], tol_used: bool, labels: list[str],
                  multi: bool, ulps: bool = False) -> list[list[str]]:
    rows = []
    for v in fam.variants:
        for run in sorted({r.run for r in fam.rows if r.variant.id == v.id}):
            mine = [r for r in fam.rows if r.variant.id == v.id and r.run == run]
            used = _max_counter(mine, TOL_USED)
            rows.append([v.variant, v.device, v.summary or "–"] +
                        ([labels[run]] if multi else []) +
                        [fmt(_max_counter(mine, k), "err") for k in keys] +
                        ([fmt(None if used is None else 100 * used, "used")] if tol_used else []) +
                        [fmt(v.atol, "err"), fmt(v.rtol, "err")] +
                        ([fmt(v.ulps, "err")] if ulps else []))
    return rows


def _max_counter(rows: list[Row], key: str) -> float | None:
    """The largest value of a counter over rows; NaN (a NaN error) wins."""
    values = [r.counters[key] for r in rows if key in r.counters]
    if any(v is not None and math.isnan(v) for v in values):
        return math.nan
    return max(values) if values else None


def other_section(others: list[tuple[int, gbjson.Benchmark]], labels: list[str], multi: bool,
                  plot: tuple[str, str] | None) -> list[str]:
    out = ["## Other benchmarks", "",
           "Names outside actbench's `family/variant/size` scheme, as logged.", ""]
    if plot:
        out += [f"![{plot[1]}]({plot[0]})", ""]
    keys = list(dict.fromkeys(k for _, b in others for k in b.counters))
    out += md_table(["benchmark"] + (["run"] if multi else []) + ["time"] + keys,
                    [[b.name.raw] + ([labels[i]] if multi else []) +
                     [time_cell(b.center_ns, b.robust_cv)] +
                     [f"{b.counters[k]:.4g}" if k in b.counters else "–" for k in keys]
                     for i, b in others])
    return out


# ---- the plots --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Panel:
    title: str
    y_label: str
    value: Callable[[Row], float | None]
    ratio: bool  # may span orders of magnitude: log scale when it does
    per_time: bool  # the value is a constant / time: the time's noise gives its error bar


PANELS = [
    Panel("Effective bandwidth", "GB/s (ideal bytes / time)", lambda r: r.gbps, True, True),
    Panel("Percent of copy bandwidth", "% of measured copy bandwidth",
          lambda r: None if r.cache else r.pct_copy, False, True),
    Panel("Speed-up over the best CPU baseline", "× (CPU time / GPU time)",
          lambda r: r.x_cpu, True, False),
    Panel("Speed-up over {first}", "× ({first} time / time)", lambda r: r.x_first, True, False),
]
LOG_SCALE_SPAN = 20  # a ratio panel goes log-scale when its values span more than this
# A total size (rows x cols) with fewer row lengths than this is a few shapes, not a sweep
# over the row length: its points are drawn unjoined.
SWEEP_POINTS = 3
LINE_STYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D", "v", "P", "X"]


def import_pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (files only, no display), or None."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def plot_family(plt: Any, fam: Family, runs: list[gbjson.Run], labels: list[str],
                path: Path) -> str:
    """Draws the family's panels into path; returns the alt text: what the picture shows."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    first = fam.first.variant if fam.first else ""
    panels = [p for p in PANELS if any(p.value(r) is not None for r in fam.rows)]
    cols = 1 if len(panels) == 1 else 2
    nrows = (len(panels) + 1) // 2
    fig, axes = plt.subplots(nrows, cols, figsize=(6.2 * cols, 4.2 * nrows), squeeze=False)
    colors = plt.get_cmap("tab10" if len(fam.variants) <= 10 else "tab20").colors
    color = {v.id: colors[i % len(colors)] for i, v in enumerate(fam.variants)}
    series_values = sorted({r.series for r in fam.rows})
    marker = {s: MARKERS[i % len(MARKERS)] for i, s in enumerate(series_values)}
    run_ids = sorted({r.run for r in fam.rows})
    style = {run: LINE_STYLES[i % len(LINE_STYLES)] for i, run in enumerate(run_ids)}
    swept = swept_series(fam)
    refs: list[Line2D] = []
    for ax, panel in zip(axes.flat, panels):
        lines: dict[tuple, list[Row]] = {}
        for r in fam.rows:
            if panel.value(r) is not None:
                lines.setdefault((r.variant.id, r.run, r.series), []).append(r)
        for (vid, run, series), pts in lines.items():
            pts.sort(key=lambda r: r.x)
            ys = [panel.value(r) for r in pts]
            ax.errorbar([r.x for r in pts], ys, yerr=error_bars(pts, ys) if panel.per_time else None,
                        color=color[vid], linestyle=style[run] if joined(fam, pts) else "none",
                        marker=marker[series], markersize=4, linewidth=1.5, elinewidth=1,
                        capsize=2)
        if panel is PANELS[0]:
            refs = _copy_lines(ax, fam, runs, run_ids, style)
        if panel is PANELS[1]:
            ax.axhline(100, color="0.4", linewidth=1, linestyle="-")
            ax.set_ylim(bottom=0)
        if panel in PANELS[2:]:
            ax.axhline(1, color="0.4", linewidth=0.8)
        left_out = panel is PANELS[1] and any(r.cache and r.pct_copy is not None for r in fam.rows)
        ax.set_title(panel.title.format(first=first) +
                     ("\n(sizes that fit in cache left out)" if left_out else ""))
        ax.set_xlabel(fam.x_label)
        ax.set_ylabel(panel.y_label.format(first=first))
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_locator(LogLocator(base=2, numticks=9))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: size_label(v)))
        values = [v for r in fam.rows if (v := panel.value(r)) is not None and v > 0]
        if panel.ratio and values and max(values) > LOG_SCALE_SPAN * min(values):
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
        ax.grid(True, which="major", alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    handles = [Line2D([], [], color=color[v.id], marker="o", markersize=4,
                      label=f"{v.variant} ({v.device})") for v in fam.variants]
    if len(run_ids) > 1:
        handles += [Line2D([], [], color="0.3", linestyle=style[i], label=labels[i])
                    for i in run_ids]
    if len(series_values) > 1 or len(swept) < len(series_values):
        handles += [Line2D([], [], color="0.3", marker=marker[s], linestyle="none",
                           label=s[1] + ("" if s in swept else
                                         " (points: too few shapes to be a sweep)"))
                    for s in series_values]
    noisy = any(r.noise for r in fam.rows)
    fig.suptitle(f"{fam.title}: " + " vs ".join(labels[i] for i in run_ids) +
                 ("; error bars: ± robust cv of the time over repetitions" if noisy else ""),
                 fontsize=13)
    fig.tight_layout()
    fig.legend(handles=handles + refs, loc="upper left", bbox_to_anchor=(1.0, 0.95),
               frameon=False, title="variant (device)")
    save(fig, path)
    plt.close(fig)
    titles = [p.title.format(first=first) for p in panels]
    titles = [t[0].lower() + t[1:] for t in titles]
    shown = ", ".join(titles[:-1]) + (" and " if len(titles) > 1 else "") + titles[-1]
    return (f"{fam.title}: {shown} against {fam.x_label}" +
            (", with error bars for the noise over repetitions" if noisy else ""))


def one_shape(rows: list[Row]) -> bool:
    """Whether rows are all of one shape (one x and one series: a row-shaped family's 64 x 1024
    and 16384 x 1024 are two): a plot against size would be a column of dots that says no more
    than the table (a --quick run's f16 and bf16 families), and is not drawn."""
    return len({(r.x, r.series) for r in rows}) <= 1


def joined(fam: Family, pts: list[Row]) -> bool:
    """Whether the points of one variant, run and series in a panel are drawn as a line: always
    for a family sized by n alone; for a row-shaped family only when they sweep one total
    (rows x cols) over at least SWEEP_POINTS row lengths, as a few shapes of one total (or a
    panel that has values at a few of them only) are no sweep over the row length."""
    return not fam.row_shaped or len({r.x for r in pts}) >= SWEEP_POINTS


def swept_series(fam: Family) -> set[tuple[int, str]]:
    """The series that some variant of some run draws as a line (in the bandwidth panel, which
    has every row)."""
    lines: dict[tuple, list[Row]] = {}
    for r in fam.rows:
        lines.setdefault((r.variant.id, r.run, r.series), []).append(r)
    return {key[2] for key, pts in lines.items() if joined(fam, pts)}


def error_bars(pts: list[Row], ys: list[float]) -> list[list[float]] | None:
    """Below/above offsets of a value that is a constant over the time, from the time's noise
    (t(1 ± cv) gives value / (1 ± cv)); None when no point has repetitions."""
    if not any(r.noise for r in pts):
        return None
    cvs = [min(r.noise or 0.0, 0.99) for r in pts]
    return [[y - y / (1 + cv) for y, cv in zip(ys, cvs)],
            [y / (1 - cv) - y for y, cv in zip(ys, cvs)]]


def _copy_lines(ax: Any, fam: Family, runs: list[gbjson.Run], run_ids: list[int],
                style: dict[int, str]) -> list[Any]:
    """Draws each run's copy bandwidth on the devices the family runs on; returns legend
    entries."""
    from matplotlib.lines import Line2D

    handles = []
    devices = sorted({v.device for v in fam.variants})
    for run in run_ids:
        for device in devices:
            bw = copy_bandwidth(runs[run], runs, device, fam.dtype)
            if bw is None:
                continue
            shade = "0.15" if device == "gpu" else "0.55"
            ax.axhline(bw, color=shade, linestyle=style[run], linewidth=2.2, alpha=0.6)
            handles.append(Line2D([], [], color=shade, linestyle=style[run], linewidth=2.2,
                                  alpha=0.6, label=f"{device.upper()} copy {bw:.0f} GB/s"))
    return handles


# The lines of a forward-and-backward plot: (legend label, the row of a StepPoint it draws).
STEP_LINES: list[tuple[str, Callable[[StepPoint], Row | None]]] = [
    ("best forward", lambda p: p.forward), ("best backward", lambda p: p.backward),
    ("PyTorch's forward", lambda p: p.torch_forward),
    ("PyTorch's backward", lambda p: p.torch_backward)]


def step_lines(points: list[StepPoint]) -> list[int]:
    """The STEP_LINES that some point has a bandwidth for, by index."""
    return [k for k, (_, pick) in enumerate(STEP_LINES)
            if any((r := pick(p)) is not None and r.gbps is not None for p in points)]


def plot_forward_backward(plt: Any, act: ActivationPasses, runs: list[gbjson.Run],
                          labels: list[str], path: Path) -> str:
    """The effective bandwidth of an activation's best forward and best backward variant (and
    PyTorch's of each where the runs have them) against size, one line style per run, with the
    copy roofline, into path; returns the alt text. Only for an act with some line to draw
    (step_lines)."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, LogLocator

    points = step_points(act)
    run_ids = sorted({p.run for p in points})
    style = {run: LINE_STYLES[i % len(LINE_STYLES)] for i, run in enumerate(run_ids)}
    colors = plt.get_cmap("tab10").colors
    fig, ax = plt.subplots(figsize=(7.4, 4.6))
    drawn = step_lines(points)
    for k in drawn:
        lines: dict[tuple, list[Row]] = {}
        for p in points:
            if (r := STEP_LINES[k][1](p)) is not None and r.gbps is not None:
                lines.setdefault((p.run, r.series), []).append(r)
        for (run, _), pts in lines.items():
            pts.sort(key=lambda r: r.x)
            ax.plot([r.x for r in pts], [r.gbps for r in pts], color=colors[k],
                    linestyle=style[run] if joined(act.backward, pts) else "none",
                    marker=MARKERS[k], markersize=4, linewidth=1.5)
    refs = _copy_lines(ax, act.backward, runs, run_ids, style)
    ax.set_title(f"{act.title}: forward and backward")
    ax.set_xlabel(act.backward.x_label)
    ax.set_ylabel(PANELS[0].y_label)
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(LogLocator(base=2, numticks=9))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: size_label(v)))
    ax.set_ylim(bottom=0)
    ax.grid(True, which="major", alpha=0.3)
    handles = [Line2D([], [], color=colors[k], marker=MARKERS[k], markersize=4,
                      label=STEP_LINES[k][0]) for k in drawn]
    if len(run_ids) > 1:
        handles += [Line2D([], [], color="0.3", linestyle=style[i], label=labels[i])
                    for i in run_ids]
    fig.tight_layout()
    fig.legend(handles=handles + refs, loc="upper left", bbox_to_anchor=(1.0, 0.95),
               frameon=False)
    save(fig, path)
    plt.close(fig)
    names = [STEP_LINES[k][0] for k in drawn]
    shown = ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]
    return f"{act.title}: effective bandwidth of the {shown} against {act.backward.x_label}"


def plot_others(plt: Any, others: list[tuple[int, gbjson.Benchmark]], labels: list[str],
                path: Path) -> str:
    """A bar of time per benchmark and run; returns the alt text."""
    names = list(dict.fromkeys(b.name.raw for _, b in others))
    run_ids = sorted({i for i, _ in others})
    height = 0.8 / len(run_ids)
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.35 * len(names) * len(run_ids)))
    for k, run in enumerate(run_ids):
        times = {b.name.raw: b.center_ns for i, b in others if i == run}
        ys = [j + k * height for j, n in enumerate(names) if n in times]
        ax.barh(ys, [times[n] for n in names if n in times], height=height, label=labels[run])
    ax.set_yticks([j + height * (len(run_ids) - 1) / 2 for j in range(len(names))], names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("time per iteration (ns)")
    ax.set_title("Other benchmarks: time per iteration")
    ax.grid(True, axis="x", alpha=0.3)
    if len(run_ids) > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    save(fig, path)
    plt.close(fig)
    return "time per iteration of each benchmark" + (", one bar per run" if len(run_ids) > 1 else "")


# ---- files ------------------------------------------------------------------------------------

def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Writes through a temp file in the same folder and renames it over `path`, so a reader
    never sees half a report and an interrupted run leaves the old one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save(fig: Any, path: Path) -> None:
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))


def report_stem(runs: list[gbjson.Run]) -> str:
    stems = [r.path.stem for r in runs]
    if len(stems) <= 3:
        return "_vs_".join(stems)
    return f"{stems[0]}_and_{len(stems) - 1}_more"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="report.py", description=__doc__.split("\n\n")[0])
    p.add_argument("logs", nargs="+", type=Path, help="Google Benchmark JSON logs")
    p.add_argument("--out", type=Path, required=True, help="folder for the .md and .png files")
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        runs = [gbjson.load(path) for path in args.logs]
    except gbjson.LogError as e:
        print(f"report.py: error: {e}", file=sys.stderr)
        return 2
    labels = run_labels(runs)
    families = build_families(runs)
    others = [(i, b) for i, run in enumerate(runs) for b in run.benchmarks.values()
              if b.name.family is None and b.center_ns is not None and not b.failed]
    stem = report_stem(runs)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"report.py: error: cannot create {args.out}: {e.strerror}", file=sys.stderr)
        return 2
    plt = import_pyplot()
    # Family.key, ActivationPasses.key or "other" -> (file, alt text)
    plots: dict[str, tuple[str, str]] = {}
    note = None
    if plt is None:
        note = f"plots left out: matplotlib is not installed ({PIP_HINT})"
        print(f"report.py: warning: {note}", file=sys.stderr)
    else:
        for fam in families:
            if not one_shape(fam.rows):
                name = f"{stem}_{fam.key}.png"
                plots[fam.key] = (name, plot_family(plt, fam, runs, labels, args.out / name))
        for act in activations(families):
            points = step_points(act)
            if step_lines(points) and not one_shape([p.sample for p in points]):
                name = f"{stem}_{act.key}.png"
                plots[act.key] = (name, plot_forward_backward(plt, act, runs, labels,
                                                              args.out / name))
        if others:
            name = f"{stem}_other.png"
            plots["other"] = (name, plot_others(plt, others, labels, args.out / name))
    md_path = args.out / f"{stem}.md"
    text = markdown(runs, labels, families, others, plots, note)
    atomic_write(md_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    print(f"report.py: wrote {md_path}" + (f" and {len(plots)} plot(s)" if plots else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
