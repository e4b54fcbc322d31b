"""Loading, validating and folding Google Benchmark JSON logs, shared by report.py,
compare.py and torch_compare.py.

Standard library only: compare.py must run on a CI machine where nothing else is installed.

A log is read once into a `Run`: its context, the registry (from the `actbench_variants`
context entry, or inferred from the names of a log that lacks it), and one `Benchmark` per
run_name with the repetitions folded together. Everything a script needs to know about the log
format (Google Benchmark 1.7.1 field names, the suffixes it appends to names, the actbench
naming scheme `family/variant/dtype/key:value...`) lives here, so the scripts never parse names
or rows themselves.

Element types. Every actbench variant moves one element type, `f32`, `f16` or `bf16`, and the
type is part of its identity: the variant id is `family/variant/dtype` (`sigmoid/warp/bf16`) and
the benchmark name `family/variant/dtype/n:N` or `family/variant/dtype/rows:R/cols:C`. Logs
from before the types have no dtype part (`sigmoid/warp/n:1024`, registry ids `sigmoid/warp`):
everything in them is read as f32, the only type there was, and their names get the same
canonical form (`BenchName.key`) as a new log's, so that an old baseline and a new run match.

Backward families. The gradient of a forward family is the family named after it with
`_backward` (`sigmoid_backward/warp/f32/n:1024`, `bias_relu_backward/fused/bf16/rows:R/cols:C`):
its names parse, key and compare as every other family's, and `forward_family` pairs it with
the forward family it differentiates.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

TIME_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}

# Parts Google Benchmark appends to a registered name (UseManualTime, MinTime, Repetitions,
# Iterations, Threads): not part of actbench's identity of a benchmark.
_GB_NAME_PART = re.compile(
    r"manual_time|real_time|process_time|(min_time|min_warmup_time|iterations|repeats|threads):.*")
_PARAM = re.compile(r"([A-Za-z_]\w*):(\d+)")
_WORD = re.compile(r"[A-Za-z_][\w.-]*")

# The element types, in the order reports show them; a name or registry entry without one is
# from before the types, when everything was f32.
DTYPES = ("f32", "f16", "bf16")
DEFAULT_DTYPE = "f32"
# Variant::step tiers (kernels/registry.h): the project's own kernels climb from 0, library
# references (Thrust, CUB, cuDNN) start at LIBRARY_STEP, CPU baselines at CPU_STEP; a peer
# such as PyTorch, torch.compile or Liger-Kernel in a torch_compare.py log sits above them all.
LIBRARY_STEP, CPU_STEP = 10, 20
# The library references and peers by name, for a log whose steps were inferred from the names.
LIBRARY_VARIANTS = frozenset({"thrust", "cub", "cudnn", "torch", "torch_compile", "liger"})
# A backward family's name: its forward family's, then this (registry.h's Family::backward).
BACKWARD_SUFFIX = "_backward"

# Fields Google Benchmark writes on a row; every other numeric field is a user counter.
GB_ROW_FIELDS = frozenset({
    "name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
    "repetition_index", "threads", "aggregate_name", "aggregate_unit", "error_occurred",
    "error_message", "iterations", "real_time", "cpu_time", "time_unit", "cpu_coefficient",
    "real_coefficient", "big_o", "rms", "allocs_per_iter", "max_bytes_used", "label",
    "process_index"})
# The median absolute deviation times this estimates the standard deviation of a normal
# distribution (1 / the 75th percentile of the standard normal).
MAD_TO_SIGMA = 1.4826
# Complexity rows (SetComplexityN) carry coefficients, not times.
_COMPLEXITY_AGGREGATES = frozenset({"BigO", "RMS"})


def quantile(ordered: list[float], p: float) -> float:
    """The p-quantile of sorted values, interpolated between the two nearest (numpy's
    default, `linear`)."""
    k = (len(ordered) - 1) * p
    i = int(k)
    return ordered[i] + (ordered[min(i + 1, len(ordered) - 1)] - ordered[i]) * (k - i)


class LogError(Exception):
    """A log that cannot be used. The message names the file and the problem; the scripts print
    it and exit 2, never a traceback."""


@dataclass(frozen=True)
class BenchName:
    """A benchmark's identity parsed from its run_name. family/variant are None for a name that
    does not follow actbench's scheme (a foreign log): such a benchmark is shown as-is."""

    raw: str
    family: str | None = None
    variant: str | None = None
    params: tuple[tuple[str, int], ...] = ()
    dtype: str | None = None  # f32, f16 or bf16 for an actbench name (f32 when it names none)
    key: str = ""  # the canonical name: `raw` with the dtype part it lacked (see parse_name)

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", self.raw)

    @property
    def variant_id(self) -> str | None:
        """`family/variant/dtype`: the registry entry the benchmark measures."""
        return f"{self.family}/{self.variant}/{self.dtype}" if self.family else None

    @property
    def family_variant(self) -> str | None:
        """`family/variant` without the type: the same strategy in every type."""
        return f"{self.family}/{self.variant}" if self.family else None

    @property
    def shape(self) -> str:
        """`n:1024` or `rows:4096/cols:1000`: the size part of the name."""
        return "/".join(f"{k}:{v}" for k, v in self.params)

    def param(self, key: str) -> int | None:
        return dict(self.params).get(key)


def parse_name(run_name: str) -> BenchName:
    """Splits `family/variant/dtype/key:value...[/manual_time...]` into its parts. A name
    without the dtype part (a log from before the element types) is f32, and its `key` is the
    name with `/f32` put after the variant, as a new log names the same benchmark; the parts
    Google Benchmark appends stay in the key (a manual_time and a real_time measurement are
    different benchmarks). A name outside the scheme keeps family None and is its own key."""
    parts = [p for p in run_name.split("/") if not _GB_NAME_PART.fullmatch(p)]
    if len(parts) < 3 or not all(_WORD.fullmatch(p) for p in parts[:2]):
        return BenchName(run_name)
    dtype = parts[2] if parts[2] in DTYPES else None
    params = [_PARAM.fullmatch(p) for p in parts[3 if dtype else 2:]]
    if not params or not all(params):
        return BenchName(run_name)
    key = run_name
    if dtype is None:
        dtype = DEFAULT_DTYPE
        raw = run_name.split("/")
        named = [i for i, p in enumerate(raw) if not _GB_NAME_PART.fullmatch(p)]
        key = "/".join(raw[:named[1] + 1] + [dtype] + raw[named[1] + 1:])  # after the variant
    return BenchName(run_name, parts[0], parts[1],
                     tuple((m.group(1), int(m.group(2))) for m in params), dtype, key)


def forward_family(family: str) -> str | None:
    """The forward family a backward family differentiates (`bias_relu` for
    `bias_relu_backward`); None for a family that is no backward one."""
    if family.endswith(BACKWARD_SUFFIX) and len(family) > len(BACKWARD_SUFFIX):
        return family[:-len(BACKWARD_SUFFIX)]
    return None


@dataclass(frozen=True)
class VariantInfo:
    """One registry row as the benchmark binary exported it (context `actbench_variants`)."""

    family: str
    variant: str
    step: int
    device: str  # "gpu" or "cpu"
    summary: str = ""
    atol: float | None = None
    rtol: float | None = None
    inferred: bool = False  # not in the log's registry: guessed from a benchmark name
    dtype: str = DEFAULT_DTYPE  # the element type it moves
    ulps: float | None = None  # rtol in units of the type's epsilon (16-bit types)

    @property
    def id(self) -> str:
        return f"{self.family}/{self.variant}/{self.dtype}"

    @property
    def family_variant(self) -> str:
        """`family/variant`: the same strategy in every type."""
        return f"{self.family}/{self.variant}"

    @property
    def is_cpu(self) -> bool:
        return self.device == "cpu"

    @property
    def is_own_gpu(self) -> bool:
        """One of this project's GPU kernels: not a CPU baseline, not a library reference
        (Thrust, CUB, cuDNN) and not a peer (PyTorch). Read from the step tiers of the
        registry; for a variant inferred from a name, whose step says nothing, from its name."""
        if self.is_cpu:
            return False
        if self.inferred:
            return self.variant not in LIBRARY_VARIANTS
        return self.step < LIBRARY_STEP


@dataclass
class Benchmark:
    """One benchmark of a log with its repetitions folded together.

    times_ns holds one time per repetition, in the order the log lists them (empty for a log
    that kept only aggregates). center_ns is their median (the log's own median or mean
    aggregate when it kept only aggregates); cv is the coefficient of variation over
    repetitions (0 when there is a single run); robust_cv (1.4826 x the median absolute
    deviation / the median: the cv a normal distribution would show, but deaf to a few
    outliers) is None below 2 repetitions. Counters are medians over repetitions, except max_*
    counters (errors), which stay maxima."""

    name: BenchName
    times_ns: list[float] = field(default_factory=list)
    processes: list[int] = field(default_factory=list)  # the process of each repetition
    center_ns: float | None = None
    cv: float = 0.0
    counters: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    @property
    def repetitions(self) -> int:
        """Repetitions whose times the log holds."""
        return len(self.times_ns)

    @property
    def robust_cv(self) -> float | None:
        if len(self.times_ns) < 2 or not self.center_ns:
            return None
        mad = statistics.median(abs(t - self.center_ns) for t in self.times_ns)
        return MAD_TO_SIGMA * mad / self.center_ns

    def process_minima(self) -> list[float]:
        """The fastest repetition of each process that took part (scripts/merge_logs.py
        numbers them; a log of one process has one)."""
        fastest: dict[int, float] = {}
        for process, t in zip(self.processes, self.times_ns):
            fastest[process] = min(t, fastest.get(process, math.inf))
        return [fastest[p] for p in sorted(fastest)]

    @property
    def fast_ns(self) -> float | None:
        """The time compare.py judges: the median over processes of each one's fastest
        repetition (the fastest repetition, for a log of one process). None without
        repetitions."""
        minima = self.process_minima()
        return statistics.median(minima) if minima else None

    @property
    def fast_noise(self) -> float | None:
        """The relative noise of fast_ns: the larger of the spread between processes (half the
        range of their fastest repetitions, over fast_ns) and the spread of the fast end of
        all repetitions (their 30th percentile over the fastest); None below 2 repetitions."""
        if len(self.times_ns) < 2 or not self.fast_ns:
            return None
        minima = self.process_minima()
        ordered = sorted(self.times_ns)
        between = (max(minima) - min(minima)) / 2 / self.fast_ns
        within = (quantile(ordered, 0.3) - ordered[0]) / ordered[0] if ordered[0] > 0 else math.inf
        return max(between, within)

    def counter(self, key: str) -> float | None:
        value = self.counters.get(key)
        return value if value is not None and math.isfinite(value) else None


@dataclass
class Run:
    """One log: where it came from, its context, its benchmarks by run_name (log order) and the
    variants it knows about, by id."""

    path: Path
    context: dict[str, Any]
    benchmarks: dict[str, Benchmark]
    variants: dict[str, VariantInfo]
    has_registry: bool  # variants came from actbench_variants rather than from the names

    @property
    def machine(self) -> str:
        """What the numbers were measured on: the GPU's name for a GPU run."""
        for key in ("machine", "gpu_name", "host_name"):
            if self.context.get(key):
                return str(self.context[key])
        return "unknown machine"

    def by_key(self) -> dict[str, Benchmark]:
        """The benchmarks by canonical name (BenchName.key: the dtype part always there), in
        log order: how two logs' benchmarks are matched, an old log's `sigmoid/warp/n:1024`
        with a new one's `sigmoid/warp/f32/n:1024`. Raises LogError when two names of the log
        mean the same benchmark."""
        keyed: dict[str, Benchmark] = {}
        for b in self.benchmarks.values():
            if b.name.key in keyed:
                raise LogError(f"{self.path}: {keyed[b.name.key].name.raw!r} and "
                               f"{b.name.raw!r} name the same benchmark ({b.name.key})")
            keyed[b.name.key] = b
        return keyed

    def ctx_float(self, key: str) -> float | None:
        """A numeric context entry (actbench writes them as strings)."""
        try:
            value = float(self.context[key])
        except (KeyError, TypeError, ValueError):
            return None
        return value if math.isfinite(value) else None


def slug(text: str) -> str:
    """A file-name form of a machine name: `NVIDIA H100 80GB HBM3` -> `NVIDIA-H100-80GB-HBM3`,
    the rule scripts/bench.sh names logs by and results/README.md gives for baselines."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "unknown"


def format_time(ns: float | None) -> str:
    """A time in the largest unit that keeps it >= 1: `4.28 us`, `3.728 ms`; `-` for none."""
    if ns is None:
        return "-"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.4g} {unit}"
    return f"{ns:.4g} ns"


def read_doc(path: str | Path) -> dict[str, Any]:
    """One log's JSON document, checked to be a Google Benchmark log with at least one
    benchmark row and a context object (empty when absent). Raises LogError with a one-line
    reason."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise LogError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise LogError(f"{path}: not valid JSON (truncated?): {e.msg} at line {e.lineno} "
                       f"column {e.colno}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise LogError(f"{path}: not a Google Benchmark log: expected an object with a "
                       f"'benchmarks' list")
    context = doc.get("context", {})
    if not isinstance(context, dict):
        raise LogError(f"{path}: 'context' is not an object")
    if not doc["benchmarks"]:
        raise LogError(f"{path}: the log holds no benchmarks")
    doc.setdefault("context", {})
    return doc


def load(path: str | Path) -> Run:
    """Reads and validates one log. Raises LogError with a one-line reason."""
    path = Path(path)
    doc = read_doc(path)
    context = doc["context"]
    benchmarks = _fold(path, doc["benchmarks"])
    registry = _registry(path, context)
    variants = _add_inferred(dict(registry or {}), benchmarks.values())
    run = Run(path, context, benchmarks, variants, registry is not None)
    run.by_key()  # two names of one benchmark (old and new style) cannot be told apart
    return run


def pool(runs: list[Run]) -> Run:
    """Several runs of one benchmark set as one baseline: each benchmark with every run's
    repetitions, each run's processes numbered apart from the others' (run 0's first, then
    run 1's, ...), so that Benchmark.fast_ns is the median over all their processes and
    fast_noise's spread between processes is also the spread between the runs. The first run's
    path and context; a benchmark some runs lack holds the others'. The caller checks that
    the runs come from one machine."""
    if len(runs) == 1:
        return runs[0]
    pooled: dict[str, Benchmark] = {}
    centers: dict[str, list[float]] = {}
    first_process = 0
    for run in runs:
        after = first_process
        for key, b in run.by_key().items():
            into = pooled.setdefault(key, Benchmark(b.name, counters=dict(b.counters)))
            into.times_ns += b.times_ns
            into.processes += [first_process + p for p in b.processes]
            into.errors += [e for e in b.errors if e not in into.errors]
            if b.center_ns is not None:
                centers.setdefault(key, []).append(b.center_ns)
            after = max([after] + [first_process + p + 1 for p in b.processes])
        first_process = after
    for key, b in pooled.items():
        if b.times_ns:
            _center_and_cv(b)
        elif key in centers:  # only aggregates in every run: the median of their centers
            b.center_ns = statistics.median(centers[key])
    first = runs[0]
    return Run(first.path, first.context, {b.name.raw: b for b in pooled.values()},
               first.variants, first.has_registry)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


@dataclass
class _Rows:
    """The rows of one run_name while the log is read."""

    times_ns: list[float] = field(default_factory=list)
    processes: list[int] = field(default_factory=list)
    counters: list[dict[str, float]] = field(default_factory=list)
    aggregates: dict[str, tuple[float, dict[str, float]]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _fold(path: Path, rows: list[Any]) -> dict[str, Benchmark]:
    grouped: dict[str, _Rows] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("name"), str):
            raise LogError(f"{path}: benchmarks[{i}] is not an object with a 'name' string")
        where = f"{path}: benchmarks[{i}] ({row['name']})"
        run_name = row.get("run_name", row["name"])
        if not isinstance(run_name, str):
            raise LogError(f"{where}: 'run_name' is not a string")
        aggregate = row.get("aggregate_name")
        if row.get("run_type") == "aggregate" and aggregate in _COMPLEXITY_AGGREGATES:
            continue
        g = grouped.setdefault(run_name, _Rows())
        if row.get("error_occurred"):
            message = str(row.get("error_message") or "error")
            if message not in g.errors:
                g.errors.append(message)
            continue
        value = _number(row.get("real_time"))
        if value is None or not math.isfinite(value):
            raise LogError(f"{where}: 'real_time' is missing or not a finite number")
        counters = {k: v for k, v in ((k, _number(v)) for k, v in row.items()
                                      if k not in GB_ROW_FIELDS) if v is not None}
        if row.get("aggregate_unit") == "percentage":  # cv: a fraction, not a time
            g.aggregates[str(aggregate)] = (value, counters)
            continue
        unit = row.get("time_unit", "ns")
        if unit not in TIME_UNIT_NS:
            raise LogError(f"{where}: time_unit {unit!r} is not one of "
                           f"{', '.join(TIME_UNIT_NS)}")
        value *= TIME_UNIT_NS[unit]
        if row.get("run_type") == "aggregate":
            g.aggregates[str(aggregate)] = (value, counters)
        else:
            process = row.get("process_index", 0)
            if isinstance(process, bool) or not isinstance(process, int) or process < 0:
                raise LogError(f"{where}: 'process_index' is not a non-negative integer")
            g.times_ns.append(value)
            g.processes.append(process)
            g.counters.append(counters)
    return {name: _benchmark(name, g) for name, g in grouped.items()}


def _benchmark(run_name: str, g: _Rows) -> Benchmark:
    b = Benchmark(parse_name(run_name), times_ns=g.times_ns, processes=g.processes, errors=g.errors)
    if g.times_ns:
        _center_and_cv(b)
        b.counters = _fold_counters(g.counters)
        return b
    # Only aggregates (--benchmark_report_aggregates_only): take the log's own statistics.
    for name in ("median", "mean"):
        if name in g.aggregates:
            b.center_ns, b.counters = g.aggregates[name]
            break
    if "cv" in g.aggregates:
        b.cv = g.aggregates["cv"][0]
    elif "stddev" in g.aggregates and "mean" in g.aggregates and g.aggregates["mean"][0] > 0:
        b.cv = g.aggregates["stddev"][0] / g.aggregates["mean"][0]
    return b


def _center_and_cv(b: Benchmark) -> None:
    """center_ns and cv from the repetitions' times (b.times_ns, not empty)."""
    b.center_ns = statistics.median(b.times_ns)
    if len(b.times_ns) >= 2 and b.center_ns > 0:
        b.cv = statistics.stdev(b.times_ns) / statistics.fmean(b.times_ns)


def _fold_counters(per_repetition: list[dict[str, float]]) -> dict[str, float]:
    keys = dict.fromkeys(k for counters in per_repetition for k in counters)
    folded = {}
    for key in keys:
        values = [c[key] for c in per_repetition if key in c]
        finite = [v for v in values if math.isfinite(v)]
        if key.startswith("max_"):  # a maximum over repetitions is still a maximum; NaN wins
            folded[key] = math.nan if len(finite) < len(values) else max(finite)
        else:
            folded[key] = statistics.median(finite) if finite else values[0]
    return folded


def _registry(path: Path, context: dict[str, Any]) -> dict[str, VariantInfo] | None:
    """The registry the benchmark binary exported, or None when the log has none."""
    raw = context.get("actbench_variants")
    if raw is None:
        return None
    try:
        entries = json.loads(raw) if isinstance(raw, str) else raw
        variants = {}
        for e in entries:
            v = VariantInfo(family=str(e["family"]), variant=str(e["variant"]),
                            step=int(e.get("step", 0)), device=str(e.get("device", "gpu")),
                            summary=str(e.get("summary", "")),
                            atol=_number(e.get("atol")), rtol=_number(e.get("rtol")),
                            dtype=_entry_dtype(e), ulps=_number(e.get("ulps")))
            variants[v.id] = v
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise LogError(f"{path}: context 'actbench_variants' is not a JSON list of variants "
                       f"({type(e).__name__}: {e})") from None
    return variants


def _entry_dtype(entry: dict[str, Any]) -> str:
    """A registry entry's element type: its `dtype`, else the last part of its id
    (`sigmoid/warp/bf16`), else f32 (a registry from before the types)."""
    dtype = entry.get("dtype")
    if dtype is None:
        last = str(entry.get("id", "")).rsplit("/", 1)[-1]
        dtype = last if last in DTYPES else DEFAULT_DTYPE
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r} of {entry.get('id', entry['family'])!r} is not one "
                         f"of {', '.join(DTYPES)}")
    return str(dtype)


def _add_inferred(variants: dict[str, VariantInfo],
                  benchmarks: Iterable[Benchmark]) -> dict[str, VariantInfo]:
    """Adds the variants the names show but the registry lacks (all of them for a log without
    actbench_variants): after the known ones in order of appearance, cpu_* on the CPU."""
    step = max((v.step for v in variants.values()), default=-1)
    for b in benchmarks:
        vid = b.name.variant_id
        if vid and vid not in variants:
            step += 1
            device = "cpu" if b.name.variant.startswith("cpu_") else "gpu"
            variants[vid] = VariantInfo(b.name.family, b.name.variant, step, device,
                                        inferred=True, dtype=b.name.dtype)
    return variants


def variant_info(runs: list[Run], vid: str) -> VariantInfo:
    """A variant as the first run that has it in its registry describes it (tolerances and
    summaries come from there), else as inferred from the names."""
    known = [run.variants[vid] for run in runs if vid in run.variants]
    return min(known, key=lambda v: v.inferred)
