#!/usr/bin/env python3
"""The GPU check in one command, sized for a short lease on a GPU machine (scripts/gpu_check.sh).

    gpu_check.sh [--budget SECONDS] [--out DIR] [--only STEP[,STEP...]] [--bundle DIR]
    gpu_check.sh --prepare [--bundle DIR]               on a build machine: build and bundle
    gpu_check.sh --dry-run [--from-build DIR | --bundle DIR] [--out DIR] [--budget SECONDS]
    gpu_check.sh --plan [--budget SECONDS]              print the plan and exit

The run finishes within --budget seconds of wall time (default 480): every step runs under a
timeout, its share of the budget plus whatever earlier steps left unused, and the steps come in
order of value:

  preflight   nvidia-smi names the card; ldd of every carried binary finds every library; the
              Python that imports torch is found ($PYTHON, /opt/torch/.venv/bin/python3, python3)
  gpu_tests   the GoogleTest binaries (every registry variant, elementwise, softmax, risky paths)
  sweep_core  every GPU variant in f32 and bf16 at the shapes that matter most (n = 2^20,
              2^24, 2^26; rows x cols of 2^26 elements for cols 32 .. 32768, and 64 x 2^20),
              with repetitions
  torch       scripts/torch_compare.py: the peers (PyTorch eager, torch.compile, Liger-Kernel)
              forward and backward on the same tensors as every variant through the C
              interface, to a deadline inside its limit (what it left out is reported)
  memcheck    compute-sanitizer over the risky paths (tests/test_paths_gpu.cpp)
  racecheck   the same over the softmax kernels that use shared memory and barriers
  synccheck   (Rows/*_barriers, shapes sized for those slower tools)
  sweep_rest  the rest of the default sweep, CPU baselines included, family by family, while
              budget remains (a family cut short is reported; those before it are kept)
  finish      the report, the summary and the archive (time reserved for it from the start)

A step is PASS, FAIL, TIMEOUT (cut short by its limit), NOT RUN (it could not run here: no GPU
visible, no torch, no compute-sanitizer; the reason is given) or SKIPPED (left out by --only).
Only PASS is a pass. The torch step ends itself before its limit (torch_compare.py
--deadline-s, the limit less the kill grace and TORCH_MARGIN): stopped by that deadline with
what it ran passing, it is PASS, its line giving the rows written and how much was left out
(TIMEOUT if it measured nothing); killed at the limit it is TIMEOUT, keeping the rows it wrote
on SIGTERM. Library references (Thrust, CUB, cuDNN) are left out of the sanitizers: their code
is not this project's to fix.

--out DIR (default results/gpu_check) receives at most 8 files, each under 16 MiB:
summary.md (per step: status, seconds, one-line result; card, driver, commit; the verdict table
of torch.json, actbench's best against the peers, as report.md has it), actbench.json (the
sweeps merged), torch.json, report.md, and gpu_check.tgz (every log, the GoogleTest XML, the
per-family sweep logs, the plots). When DIR is not results/gpu_check, the same files are
also written there. Step outputs are kept in build/gpu_check_work; --only reruns the steps it
names there and packs again. Exit status: 0 every step that ran passed (NOT RUN steps are named
in the summary); 1 a step failed or timed out; 2 bad usage, no bundle, or no GPU.

--prepare builds the release preset and assembles the bundle (default build/gpu_bundle): the
binaries, the core library and every shared library they need that a stock CUDA 13 machine
may lack (the CUDA runtime, Google Benchmark, OpenMP, oneDNN), run paths relative to the bundle.
cuDNN is not carried: it comes from the torch wheel's nvidia/cudnn/lib on the GPU machine. The
peers' wheels are (PEER_WHEELS, pure Python: Liger-Kernel), downloaded into the bundle's
wheels/ and unzipped onto PYTHONPATH for the torch step; a download that fails leaves the peer
out, and BUNDLE.json and the torch log say so.
--dry-run checks, without a GPU, all that can be checked: the bundle's completeness (ldd, run
paths, size against what may travel), the plan against the budget, the Python lookup and the
output folder's layout. Standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import lzma
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "results" / "gpu_check"
DEFAULT_BUNDLE = ROOT / "build" / "gpu_bundle"
WORK = ROOT / "build" / "gpu_check_work"

# What may come back from the GPU machine, and what may travel to it.
MAX_OUT_FILES = 8
MAX_OUT_FILE_BYTES = 16 * 2 ** 20
MAX_CARRY_BYTES = 64 * 2 ** 20
WHEEL_ALLOWANCE = 2 * 2 ** 20        # the carried peer wheels together (Liger-Kernel's: 0.9 MiB)
# Pure-Python peers the GPU machine lacks and cannot download (it has no network), carried as
# wheels in the bundle's wheels/ and unzipped onto PYTHONPATH for the torch step: Liger-Kernel
# (Triton kernels over the torch and triton the machine has; --no-deps).
PEER_WHEELS = ["liger-kernel"]
CARRY_HEADROOM = 8 * 2 ** 20          # room to spare under MAX_CARRY_BYTES
# Carried libraries larger than this travel xz-compressed (preset 1: oneDNN's 38 MiB become
# ~8 MiB in ~3 s here); unpack() restores them where the bundle runs, before anything else.
COMPRESS_OVER = 4 * 2 ** 20
MAX_LOG_IN_ARCHIVE = 2 * 2 ** 20      # a longer log keeps its head and tail
KILL_GRACE = 5                        # seconds between SIGTERM and SIGKILL, taken from a limit
# Seconds of the torch step's limit (after run_limited's kill grace) that its deadline leaves: the
# log's writing and an item that runs past its estimate (a Triton compile, a library's first call).
TORCH_MARGIN = 8
MIN_BINARY_SHARE = 10                 # seconds kept for each test binary still to run

TEST_BINARIES = ["test_paths_gpu", "test_variants", "test_elementwise_gpu", "test_softmax_gpu"]
BUNDLE_BINARIES = ["bench/actbench", "bench/libactbench_capi.so", "libactbench_core.so",
                   *[f"tests/{t}" for t in TEST_BINARIES]]
# Libraries every Linux machine has (glibc, the GCC runtime) and the driver's: never carried.
SYSTEM_LIBRARY = re.compile(r"^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libgcc_s|"
                            r"libstdc\+\+|libcuda)\.so")
CUDNN_LIBRARY = re.compile(r"^libcudnn\.so")

CORE_N = "2^20,2^24,2^26"
CORE_SHAPES = ("2097152x32,524288x128,131072x512,65536x1024,16384x4096,4096x16384,"
               "2048x32768,64x1048576")
REPETITIONS = "--benchmark_repetitions=3"
CORE_FIRST = "softmax"
SANITIZED_PATHS = "*/RiskyPaths.*"
SANITIZED_BARRIERS = "Rows/RiskyPaths.*_barriers"
LIBRARIES_LEFT_OUT = ("library references (Thrust, CUB, cuDNN) are left out of the sanitizers: their "
                      "code is not this project's to fix (tests/test_paths_gpu.cpp runs our kernels only)")


@dataclass
class Step:
    name: str
    share: float  # seconds of the default 480 s budget (scaled to --budget)
    what: str


PLAN = [
    Step("preflight", 20, "nvidia-smi, ldd of the bundle, the Python with torch"),
    Step("gpu_tests", 100, "GoogleTest: every GPU variant, elementwise, softmax, risky paths"),
    Step("sweep_core", 115, "GPU variants at the shapes that matter most, 3 repetitions"),
    Step("torch", 70, "the peers, forward and backward, on the same tensors (scripts/torch_compare.py)"),
    Step("memcheck", 60, "compute-sanitizer memcheck over the risky paths"),
    Step("racecheck", 35, "compute-sanitizer racecheck over the softmax barrier kernels"),
    Step("synccheck", 25, "compute-sanitizer synccheck over the same"),
    Step("sweep_rest", 0, "the rest of the default sweep while budget remains"),
]
FINISH_SHARE = 20  # report, summary, archive: reserved from the start
DEFAULT_BUDGET = 480


@dataclass
class Result:
    status: str = "SKIPPED"  # PASS, FAIL, TIMEOUT, NOT RUN, SKIPPED
    seconds: float = 0.0
    limit: float = 0.0
    line: str = "left out by --only"


@dataclass
class Context:
    bundle: Path
    work: Path
    deadline: float
    env: dict[str, str]
    python: str | None = None      # the interpreter that imports torch
    report_python: str = sys.executable
    gpu: bool = False
    facts: dict[str, str] = field(default_factory=dict)  # card, driver, commit for the summary


# ---- running a command under a limit --------------------------------------------------------------

def run_limited(cmd: list[str], limit: float, log: Path, env: dict[str, str]) -> tuple[int, bool]:
    """Runs cmd in its own process group with stdout+stderr in log. Returns (exit code, timed
    out); a command past its limit gets SIGTERM, then SIGKILL 10 s later."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"$ {' '.join(cmd)}\n".encode())
        out.flush()
        try:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                    cwd=ROOT, start_new_session=True)
        except OSError as e:
            out.write(f"cannot run: {e}\n".encode())
            return 127, False
        try:
            return proc.wait(timeout=max(1.0, limit - 2 * KILL_GRACE)), False
        except subprocess.TimeoutExpired:
            # SIGTERM first (actbench then removes its unfinished log), then SIGKILL to whatever
            # is left of the group, grandchildren that ignore SIGTERM included.
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=KILL_GRACE)
                except subprocess.TimeoutExpired:
                    pass
            out.write(f"\n== cut short after {limit:.0f} s\n".encode())
            return -1, True


def tail(path: Path, lines: int = 3) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


# ---- preflight ---------------------------------------------------------------------------------

PROBE = ("import json, os\n"
         "facts = {}\n"
         "try:\n"
         "    import torch; facts['torch'] = torch.__version__\n"
         "except Exception as e: facts['torch_error'] = repr(e)[:200]\n"
         "try:\n"
         "    import matplotlib; facts['matplotlib'] = matplotlib.__version__\n"
         "except Exception: pass\n"
         "try:\n"
         "    import nvidia.cudnn; facts['cudnn'] = os.path.join(list(nvidia.cudnn.__path__)[0], 'lib')\n"
         "except Exception: pass\n"
         "print(json.dumps(facts))\n")


@dataclass
class Pythons:
    torch: str | None      # the interpreter that imports torch
    report: str            # the one report.py runs with (matplotlib if any has it)
    cudnn: str | None      # nvidia/cudnn/lib of the torch wheel
    how: str               # one line for the summary


def find_pythons(limit: float) -> Pythons:
    """One probe (torch, matplotlib, the cuDNN wheel) per candidate, all within `limit`:
    $PYTHON, the torch venv, python3 on PATH, Debian's python3."""
    deadline = time.monotonic() + limit
    candidates = [("$PYTHON", os.environ.get("PYTHON")), ("the torch venv", "/opt/torch/.venv/bin/python3"),
                  ("python3 on PATH", shutil.which("python3")), ("the system's", "/usr/bin/python3")]
    seen, tried = set(), []
    torch = report = cudnn = None
    how = ""
    for label, exe in candidates:
        if not exe or exe in seen or not Path(exe).is_file() or time.monotonic() > deadline:
            continue
        seen.add(exe)
        try:
            out = subprocess.run([exe, "-c", PROBE], capture_output=True, text=True,
                                 timeout=max(1.0, deadline - time.monotonic()))
            facts = json.loads(out.stdout or "{}")
        except (subprocess.SubprocessError, OSError, ValueError):
            tried.append(f"{exe} (no answer)")
            continue
        if torch is None and "torch" in facts:
            torch, how = exe, f"{exe} ({label}): torch {facts['torch']}"
            cudnn = facts.get("cudnn")
        elif "torch" not in facts:
            tried.append(exe)
        if report is None and "matplotlib" in facts:
            report = exe
    if cudnn is None:  # a cuDNN wheel beside some other interpreter
        found = sorted(Path("/").glob("opt/*/.venv/lib/python3*/site-packages/nvidia/cudnn/lib"))
        cudnn = str(found[0]) if found else None
    if torch is None:
        how = "no Python that imports torch (tried: " + (", ".join(tried) or "none found") + ")"
    return Pythons(torch, report or sys.executable, cudnn if cudnn and Path(cudnn).is_dir() else None, how)


def library_env(extra: list[str]) -> dict[str, str]:
    """The environment of every step. The bundle's run paths find its own libraries (patchelf'd
    at --prepare), so LD_LIBRARY_PATH adds only cuDNN's folder: nothing of the bundle can shadow
    the libraries torch brings (its CUDA runtime above all)."""
    env = dict(os.environ)
    paths = [p for p in extra if p]
    if env.get("LD_LIBRARY_PATH"):
        paths.append(env["LD_LIBRARY_PATH"])
    if paths:
        env["LD_LIBRARY_PATH"] = ":".join(paths)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def ldd_problems(bundle: Path, env: dict[str, str], log: Path) -> list[str]:
    """'binary: library' for every library ldd cannot resolve (or a missing binary), for the
    binaries and the carried libraries alike."""
    problems = []
    carried = [f"lib/{p.name}" for p in sorted((bundle / "lib").glob("*"))]
    with log.open("a") as out:
        for rel in BUNDLE_BINARIES + carried:
            path = bundle / rel
            if not path.exists():
                problems.append(f"{rel}: missing from the bundle")
                continue
            res = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env, timeout=60)
            out.write(f"== ldd {rel}\n{res.stdout}{res.stderr}")
            problems += [f"{rel}: {line.strip()}" for line in (res.stdout + res.stderr).splitlines()
                         if "not found" in line]
    return problems


def preflight(ctx: Context, limit: float) -> Result:
    begin = time.monotonic()
    log = ctx.work / "preflight.log"
    log.write_text("")
    smi = shutil.which("nvidia-smi")
    try:
        query = subprocess.run([smi, "--query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem",
                                "--format=csv,noheader"], capture_output=True, text=True,
                               timeout=min(30.0, limit / 2)) if smi else None
    except subprocess.TimeoutExpired:
        query = None
    kernel = os.uname().release
    ctx.facts["kernel"] = kernel + (" (gVisor: no compute-sanitizer, no ncu)" if kernel.startswith("4.4.0") else "")
    with log.open("a") as out:
        out.write(f"== kernel {ctx.facts['kernel']}\n== nvidia-smi\n"
                  f"{query.stdout + query.stderr if query else 'nvidia-smi not found or no answer'}\n")
    if query and query.returncode == 0 and query.stdout.strip():
        ctx.gpu = True
        fields = [f.strip() for f in query.stdout.splitlines()[0].split(",")]
        ctx.facts["card"], ctx.facts["driver"] = fields[0], fields[1]
    pythons = find_pythons(max(5.0, limit - (time.monotonic() - begin) - 5))
    ctx.python, ctx.report_python = pythons.torch, pythons.report
    ctx.env = library_env([pythons.cudnn] if pythons.cudnn else [])
    problems = ldd_problems(ctx.bundle, ctx.env, log)
    with log.open("a") as out:
        out.write(f"== python: {pythons.how}; report.py with {pythons.report}\n"
                  f"== cuDNN: {pythons.cudnn or 'no torch wheel folder found'}\n")
        out.write("".join(f"ldd: {p}\n" for p in problems))
    if not ctx.gpu:
        return Result("NOT RUN", line="no GPU: nvidia-smi " + ("found no card" if smi else "not found")
                      + "; the GPU steps cannot run here")
    if problems:
        return Result("FAIL", line=f"{len(problems)} unresolved: " + "; ".join(problems[:3]))
    return Result("PASS", line=f"{ctx.facts['card']}, driver {ctx.facts['driver']}, kernel {kernel}; "
                  f"{pythons.how}")


# ---- GoogleTest ---------------------------------------------------------------------------------

def gtest_counts(report: Path) -> tuple[int, int, int, list[str], list[str]]:
    """(passed, failed, skipped, failed names, skip reasons) of a --gtest_output=xml file (the
    XML, unlike GoogleTest's JSON, carries each skip's message: "file:line\nreason")."""
    passed = failed = skipped = 0
    failures, skips = [], []
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname')}.{case.get('name')}"
        if case.find("failure") is not None:
            failed += 1
            failures.append(name)
        elif case.get("result") == "skipped" or case.find("skipped") is not None:
            skipped += 1
            message = (case.find("skipped").get("message", "") if case.find("skipped") is not None else "")
            lines = message.splitlines()
            skips.append(" ".join(lines[1:]) if len(lines) > 1 else message or "skipped")
        elif case.get("status") == "run":
            passed += 1
    return passed, failed, skipped, failures, skips


def run_gtests(ctx: Context, step: str, limit: float, binaries: list[str], prefix: list[str],
               gtest_filter: str | None = None) -> Result:
    """Each binary (under `prefix`, e.g. compute-sanitizer) in turn within one limit, each given
    what is left less a minimum kept for the binaries after it; one cut short does not stop
    the others. The log keeps GoogleTest's [ RUN ] lines, so a hang names its test."""
    start = time.monotonic()
    log = ctx.work / f"{step}.log"
    totals = [0, 0, 0]
    failures, skips, broken, cut = [], [], [], []
    for k, name in enumerate(binaries):
        left = limit - (time.monotonic() - start) - MIN_BINARY_SHARE * (len(binaries) - k - 1)
        report = ctx.work / f"{step}_{name}.xml"
        report.unlink(missing_ok=True)
        cmd = prefix + [str(ctx.bundle / "tests" / name), f"--gtest_output=xml:{report}"]
        if gtest_filter:
            cmd.append(f"--gtest_filter={gtest_filter}")
        rc, timed_out = run_limited(cmd, max(left, MIN_BINARY_SHARE), log, ctx.env)
        if timed_out:
            cut.append(f"{name} cut short (last started: {last_started(log) or 'none'})")
            continue
        if not report.exists():
            broken.append(f"{name} exit {rc}, no test report (last started: {last_started(log) or 'none'})")
            continue
        try:
            p, f, s, fails, msgs = gtest_counts(report)
        except ElementTree.ParseError as e:
            broken.append(f"{name} exit {rc}, unreadable test report ({e})")
            continue
        totals = [totals[0] + p, totals[1] + f, totals[2] + s]
        failures += fails
        skips += msgs
        if rc != 0 and not fails:
            broken.append(f"{name} exit {rc}" + (f" ({sanitizer_summary(log)})" if prefix else ""))
    passed, failed, skipped = totals
    counts = f"{passed} passed, {failed} failed, {skipped} skipped"
    no_gpu = [m for m in skips if m.startswith("no GPU")]
    if ctx.gpu and no_gpu and passed:  # nvidia-smi sees a card that the CUDA runtime cannot use
        broken.append(f"{len(no_gpu)} GPU tests skipped on a machine with a GPU: {no_gpu[0][:100]}")
    if broken or failed:
        return Result("FAIL", line=counts + "".join(f"; {b}" for b in broken + cut)
                      + (f"; failed: {', '.join(failures[:5])}" if failures else ""))
    if cut:
        return Result("TIMEOUT", line=counts + "".join(f"; {c}" for c in cut))
    if passed == 0:
        why = skips[0] if skips else "no test ran"
        return Result("NOT RUN", line=f"{counts}: {why}")
    reasons = sorted({m if len(m) <= 72 else m[:71] + "…" for m in skips if m})
    return Result("PASS", line=counts + (f" ({'; '.join(reasons[:3])})" if reasons else ""))


def last_started(log: Path) -> str | None:
    """The last test GoogleTest started in the log: the one that hung when nothing follows it."""
    found = re.findall(r"^\[ RUN      \] (\S+)", log.read_text(errors="replace"), re.M)
    return found[-1] if found else None


def sanitizer_summary(log: Path) -> str:
    found = re.findall(r"ERROR SUMMARY: (\d+) errors?", log.read_text(errors="replace"))
    return f"{sum(map(int, found))} sanitizer errors" if found else "see the log"


def gpu_tests(ctx: Context, limit: float) -> Result:
    if not ctx.gpu:
        return Result("NOT RUN", line="no GPU visible")
    (ctx.work / "gpu_tests.log").write_text("")
    return run_gtests(ctx, "gpu_tests", limit, TEST_BINARIES, [])


def sanitizer(tool: str, gtest_filter: str):
    def step(ctx: Context, limit: float) -> Result:
        if not ctx.gpu:
            return Result("NOT RUN", line="no GPU visible")
        exe = shutil.which("compute-sanitizer")
        if not exe:
            return Result("NOT RUN", line="compute-sanitizer not found")
        print(f"   {LIBRARIES_LEFT_OUT}", flush=True)
        (ctx.work / f"{tool}.log").write_text(LIBRARIES_LEFT_OUT + "\n")
        res = run_gtests(ctx, tool, limit, ["test_paths_gpu"],
                         [exe, "--tool", tool, "--error-exitcode", "3", "--print-limit", "30"], gtest_filter)
        refused = re.search(r"Device not supported|[Uu]nable to (?:initialize|attach)[^\n]*",
                            (ctx.work / f"{tool}.log").read_text(errors="replace"))
        if refused:  # e.g. under gVisor: the tool cannot attach to this GPU at all
            return Result("NOT RUN", line=f"compute-sanitizer refused the device: {refused.group(0)}")
        if res.status in ("PASS", "FAIL"):
            res.line = f"{sanitizer_summary(ctx.work / f'{tool}.log')}; {res.line}"
        return res
    return step


# ---- the sweep -------------------------------------------------------------------------------------

def registry(bundle: Path, env: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """(family, variant, element type, device) of every registered variant, from the bundle's
    `actbench --list` (ids are family/variant/type; the variants it lists as unavailable, with
    a reason instead of a device, are left out). Raises CalledProcessError when it fails."""
    out = subprocess.run([str(bundle / "bench" / "actbench"), "--list"], capture_output=True,
                         text=True, env=env, timeout=60, check=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1] in ("gpu", "cpu") and parts[0].count("/") == 2:
            family, variant, dtype = parts[0].split("/")
            rows.append((family, variant, dtype, parts[1]))
    return rows


def families(rows: list[tuple[str, str, str, str]], device: str | None) -> list[tuple[str, list[str]]]:
    """[(family, its variant/type ids on `device`, or all)] in registry order."""
    out: dict[str, list[str]] = {}
    for family, variant, dtype, dev in rows:
        if device is None or dev == device:
            out.setdefault(family, []).append(f"{variant}/{dtype}")
    return list(out.items())


# The order of the element types in a sweep: f32 (the baseline every other type is read
# against), then bf16 and f16. The core sweep takes f32 and bf16 (the type the 16-bit targets
# are stated in); f16 comes with the rest.
TYPE_ORDER = ("f32", "bf16", "f16")
CORE_TYPES = ("f32", "bf16")


def sweep_parts(rows: list[tuple[str, str, str, str]], core: bool) -> list[tuple[str, str, str, list[str]]]:
    """(family, type, device, variants) of each actbench run of a sweep, in the order they run.
    The core sweep: the GPU variants in CORE_TYPES, softmax first (its rows decide auto's
    thresholds, and it has the most variants), each family in f32 then bf16; the rest: every
    family's GPU variants in every type, then the CPU baselines, in the same order."""
    def parts(device: str) -> list[tuple[str, str, str, list[str]]]:
        out: dict[tuple[str, str], list[str]] = {}
        for family, variant, dtype, dev in rows:
            if dev == device:
                out.setdefault((family, dtype), []).append(variant)
        order = list(dict.fromkeys(f for f, _ in out))  # registry order of the families
        keys = sorted(out, key=lambda k: (order.index(k[0]), TYPE_ORDER.index(k[1])))
        return [(f, t, device, out[(f, t)]) for f, t in keys]
    gpu = parts("gpu")
    if core:
        return sorted((p for p in gpu if p[1] in CORE_TYPES), key=lambda p: p[0] != CORE_FIRST)
    return gpu + parts("cpu")


def sweep(ctx: Context, step: str, limit: float, core: bool) -> Result:
    if not ctx.gpu:
        return Result("NOT RUN", line="no GPU visible")
    start = time.monotonic()
    parts = sweep_parts(registry(ctx.bundle, ctx.env), core)
    names = [f"{f}/{t}/{d}" for f, t, d, _ in parts]
    log = ctx.work / f"{step}.log"
    log.write_text("")
    done, failed, benchmarks = [], [], 0
    for k, (family, dtype, device, members) in enumerate(parts):
        left = limit - (time.monotonic() - start)
        if left < 5:
            return Result("TIMEOUT", line=f"{len(done)} of {len(parts)} parts ({benchmarks} benchmarks) "
                          f"before the limit; not reached: {', '.join(names[k:])}")
        part = ctx.work / f"{step}_{family}_{dtype}_{device}.json"
        part.unlink(missing_ok=True)
        select = f"^{family}/({'|'.join(map(re.escape, members))})/{re.escape(dtype)}/"
        cmd = [str(ctx.bundle / "bench" / "actbench"), f"--benchmark_filter={select}", REPETITIONS,
               f"--benchmark_out={part}", "--benchmark_out_format=json"]
        if core:
            cmd += [f"--n={CORE_N}", f"--shape={CORE_SHAPES}"]
        rc, timed_out = run_limited(cmd, left, log, ctx.env)
        if timed_out:
            return Result("TIMEOUT", line=f"{names[k]} cut short; {len(done)} parts done before it "
                          f"({benchmarks} benchmarks), not reached: {', '.join(names[k + 1:]) or 'none'}")
        if part.exists():
            benchmarks += len({b["run_name"] for b in json.loads(part.read_text())["benchmarks"]})
        if rc != 0:
            failed.append(f"{names[k]} (exit {rc})")
        done.append(names[k])
    if failed:
        return Result("FAIL", line=f"{benchmarks} benchmarks; failed: {', '.join(failed)} (see {step}.log)")
    return Result("PASS", line=f"{benchmarks} benchmarks in {len(done)} parts, each verified, then timed")


def merged_log(work: Path) -> dict | None:
    """The core and rest sweeps' per-family logs as one: the core's rows first, a benchmark the
    core already timed is not taken again from the rest."""
    doc, seen = None, set()
    for step in ("sweep_core", "sweep_rest"):
        for part in sorted(work.glob(f"{step}_*.json")):
            data = json.loads(part.read_text())
            if doc is None:
                doc = {"context": data["context"], "benchmarks": []}
            fresh = [b for b in data["benchmarks"] if b.get("run_name", b["name"]) not in seen]
            doc["benchmarks"] += fresh
            seen |= {b.get("run_name", b["name"]) for b in fresh}
    if doc is not None:
        doc["context"]["gpu_check_parts"] = ", ".join(p.stem for p in sorted(work.glob("sweep_*_*.json")))
    return doc


# ---- torch ---------------------------------------------------------------------------------------

def torch_deadline(limit: float) -> float:
    """The --deadline-s of a torch step of `limit` seconds: done, log written, before
    run_limited's SIGTERM, with TORCH_MARGIN to spare."""
    return max(1.0, limit - 2 * KILL_GRACE - TORCH_MARGIN)


def torch_step(ctx: Context, limit: float) -> Result:
    if not ctx.gpu:
        return Result("NOT RUN", line="no GPU visible")
    if not ctx.python:
        return Result("NOT RUN", line="no Python that imports torch")
    out = ctx.work / "torch.json"
    out.unlink(missing_ok=True)
    log = ctx.work / "torch.log"
    peers = peer_path(ctx.bundle, ctx.work)
    env = dict(ctx.env)
    if peers:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(peers), env.get("PYTHONPATH", "")) if p)
    log.write_text(f"== peers from the bundle on PYTHONPATH: {peers or 'none carried'}\n")
    deadline = torch_deadline(limit)
    rc, timed_out = run_limited([ctx.python, str(ROOT / "scripts" / "torch_compare.py"), "--lib",
                                 str(ctx.bundle / "bench" / "libactbench_capi.so"), "--out", str(out),
                                 "--deadline-s", f"{deadline:.1f}"], limit, log, env)
    if not out.exists():
        if timed_out:
            return Result("TIMEOUT", line=f"killed at its {limit:.0f} s limit; no torch log")
        return Result("NOT RUN" if rc == 0 else "FAIL", line=tail(log, 1) or f"exit {rc}, no log")
    doc = json.loads(out.read_text())
    rows = len(doc["benchmarks"])
    cut = doc["context"].get("cut_short") or []
    what = f"{rows} rows"
    if cut:
        what += (f"; cut short, {len(cut)} family shapes left out: "
                 f"{doc['context'].get('cut_short_reason', 'no reason given')}")
    if timed_out:  # the log torch_compare.py wrote on SIGTERM
        return Result("TIMEOUT", line=f"killed at its {limit:.0f} s limit; {what}")
    if rc != 0:
        return Result("FAIL", line=f"{what}; {tail(log, 1)}")
    if cut and not rows:
        return Result("TIMEOUT", line=f"nothing measured before its {deadline:.1f} s deadline; {what}")
    return Result("PASS", line=what)


# ---- the plan ----------------------------------------------------------------------------------------

STEP_FUNCTIONS = {
    "preflight": preflight,
    "gpu_tests": gpu_tests,
    "sweep_core": lambda ctx, limit: sweep(ctx, "sweep_core", limit, core=True),
    "torch": torch_step,
    "memcheck": sanitizer("memcheck", SANITIZED_PATHS),
    "racecheck": sanitizer("racecheck", SANITIZED_BARRIERS),
    "synccheck": sanitizer("synccheck", SANITIZED_BARRIERS),
    "sweep_rest": lambda ctx, limit: sweep(ctx, "sweep_rest", limit, core=False),
}


def scaled_plan(budget: float) -> tuple[list[tuple[Step, float]], float]:
    """[(step, its share in seconds)] and the finish reserve. The preflight's and the finish's
    are fixed (they are short, and nothing runs without them); the others scale with a budget
    below the default; sweep_rest gets what the others leave."""
    fixed = PLAN[0].share + FINISH_SHARE
    scale = min(1.0, (budget - fixed) / (DEFAULT_BUDGET - fixed))
    shares = [(s, s.share if s.name == "preflight" else s.share * scale) for s in PLAN]
    finish = FINISH_SHARE
    rest = budget - sum(v for _, v in shares) - finish
    return [(s, rest if s.name == "sweep_rest" else v) for s, v in shares], finish


def print_plan(budget: float) -> list[str]:
    shares, finish = scaled_plan(budget)
    lines = [f"plan for a budget of {budget:.0f} s (each step bounded; unused time passes to later steps):"]
    lines += [f"  {s.name:<11} {v:5.0f} s  {s.what}" for s, v in shares]
    lines += [f"  {'finish':<11} {finish:5.0f} s  report, summary, archive (reserved)",
              f"  {'total':<11} {sum(v for _, v in shares) + finish:5.0f} s"]
    return lines


def run_plan(ctx: Context, budget: float, only: set[str] | None) -> dict[str, Result]:
    shares, finish = scaled_plan(budget)
    selected = [(s, v) for s, v in shares if only is None or s.name in only or s.name == "preflight"]
    results: dict[str, Result] = {s.name: Result() for s, _ in shares}
    banked = 0.0  # what earlier steps left of their shares
    for k, (step, share) in enumerate(selected):
        now = time.monotonic()
        # Never into the time the later steps and the finish are owed; sweep_rest takes all left.
        owed = finish + sum(v for s, v in selected[k + 1:] if s.name != "sweep_rest")
        limit = ctx.deadline - now - owed
        if step.name != "sweep_rest":
            limit = min(limit, share + banked)
        print(f"== {step.name}: up to {limit:.0f} s: {step.what}", flush=True)
        if limit < 3:
            results[step.name] = Result("TIMEOUT", 0.0, limit, "no time left in the budget")
        else:
            begin = time.monotonic()
            try:
                res = STEP_FUNCTIONS[step.name](ctx, limit)
            except Exception as e:  # a step's own failure must not cost the evidence of the others
                res = Result("FAIL", line=f"{type(e).__name__}: {e}")
            res.seconds, res.limit = time.monotonic() - begin, limit
            results[step.name] = res
            banked = max(0.0, share + banked - res.seconds) if step.name != "sweep_rest" else banked
        r = results[step.name]
        print(f"== {step.name}: {r.status} in {r.seconds:.0f} s: {r.line}", flush=True)
        if step.name == "preflight" and not ctx.gpu:
            for s, _ in selected[k + 1:]:
                results[s.name] = Result("NOT RUN", line="no GPU visible")
            break
    return results


# ---- the evidence --------------------------------------------------------------------------------------

def bundle_facts(bundle: Path) -> dict[str, str]:
    try:
        return json.loads((bundle / "BUNDLE.json").read_text())
    except (OSError, ValueError):
        return {}


def verdict_lines(torch_log: Path) -> list[str]:
    """The verdict table of the torch step's log (scripts/report.py's verdict_section, the one
    the report has), or a line saying why there is none. Standard library only, as report.py
    is without its plots."""
    if not torch_log.exists():
        return []
    try:
        if str(ROOT / "scripts") not in sys.path:
            sys.path.insert(0, str(ROOT / "scripts"))
        import gbjson
        import report as report_md
        run = gbjson.load(torch_log)
        return report_md.verdict_section([run], [run.machine], report_md.build_families([run]),
                                         multi=False)
    except Exception as e:  # the summary is written whatever the log holds
        return [f"verdict: not built from {torch_log.name}: {type(e).__name__}: {e}", ""]


def summary_md(ctx: Context, results: dict[str, Result], budget: float, elapsed: float,
               notes: list[str], verdict: list[str] | None = None) -> str:
    facts = bundle_facts(ctx.bundle)
    lines = ["# actbench GPU check", "",
             f"- card: {ctx.facts.get('card', 'none visible')}",
             f"- driver: {ctx.facts.get('driver', '-')}",
             f"- commit: {facts.get('git_sha', 'unknown')} (bundle built {facts.get('built', '?')}, "
             f"{facts.get('build_type', '?')})",
             f"- when: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%dT%H:%M:%SZ}, "
             f"{elapsed:.0f} s of a {budget:.0f} s budget",
             f"- python: {ctx.python or 'none with torch'}", "",
             "| step | status | seconds | limit | result |", "| --- | --- | --- | --- | --- |"]
    for name, r in results.items():
        lines.append(f"| {name} | {r.status} | {r.seconds:.0f} | {r.limit:.0f} | {r.line.replace('|', '/')} |")
    lines += [""] + [f"- {n}" for n in notes + [LIBRARIES_LEFT_OUT]]
    if verdict:
        lines += [""] + verdict
    return "\n".join(lines) + "\n"


def add_log(tar: tarfile.TarFile, path: Path, arcname: str) -> None:
    """A log longer than MAX_LOG_IN_ARCHIVE keeps its first and last halves of that size."""
    data = path.read_bytes()
    if len(data) > MAX_LOG_IN_ARCHIVE:
        half = MAX_LOG_IN_ARCHIVE // 2
        data = data[:half] + f"\n... {len(data) - 2 * half} bytes left out ...\n".encode() + data[-half:]
    info = tarfile.TarInfo(arcname)
    info.size, info.mtime = len(data), int(time.time())
    tar.addfile(info, io.BytesIO(data))


OUTPUT_NAMES = ("summary.md", "actbench.json", "torch.json", "report.md", "gpu_check.tgz")


def finish(ctx: Context, results: dict[str, Result], budget: float, start: float,
           targets: list[Path]) -> list[str]:
    """Writes the evidence into a fresh folder, then puts it in each target folder, replacing
    only the files of an earlier check (OUTPUT_NAMES). A failing or slow report costs the
    report alone: it runs within what is left of the budget (at least 15 s), and the logs,
    the summary and the archive are written whatever it does. Returns the problems with the
    output's layout (none expected)."""
    notes = []
    stage = Path(tempfile.mkdtemp(prefix="gpu_check_out_"))
    try:
        log = merged_log(ctx.work)
        if log is not None:
            (stage / "actbench.json").write_text(json.dumps(log, indent=1))
        if (ctx.work / "torch.json").exists():
            shutil.copy(ctx.work / "torch.json", stage / "torch.json")
        logs = [p for p in (stage / "actbench.json", stage / "torch.json") if p.exists()]
        notes += report(ctx, logs, stage, max(15.0, ctx.deadline - time.monotonic() - 5))
        summary = summary_md(ctx, results, budget, time.monotonic() - start, notes,
                             verdict_lines(stage / "torch.json"))
        (stage / "summary.md").write_text(summary)
        with tarfile.open(stage / "gpu_check.tgz", "w:gz") as tar:
            for path in sorted(ctx.work.rglob("*")):
                if path.is_file():
                    add_log(tar, path, f"gpu_check/{path.relative_to(ctx.work)}")
            add_log(tar, stage / "summary.md", "gpu_check/summary.md")
        problems = layout_problems(stage)
        for target in dict.fromkeys(t.resolve() for t in targets):
            target.mkdir(parents=True, exist_ok=True)
            for name in OUTPUT_NAMES:
                (target / name).unlink(missing_ok=True)
            for f in stage.iterdir():
                shutil.copy(f, target / f.name)
        print(summary)
        return problems
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def report(ctx: Context, logs: list[Path], stage: Path, limit: float) -> list[str]:
    """report.py over the logs into the work folder (its plots go into the archive) and its
    Markdown into the stage as report.md. Returns notes for the summary."""
    if not logs:
        return ["report: no benchmark log to report on"]
    report_dir = ctx.work / "report"
    shutil.rmtree(report_dir, ignore_errors=True)
    rc, timed_out = run_limited([ctx.report_python, str(ROOT / "scripts" / "report.py"), *map(str, logs),
                                 "--out", str(report_dir)], limit, ctx.work / "report.log", ctx.env)
    if timed_out:
        return [f"report: cut short after {limit:.0f} s; the logs are whole (report.py can be rerun)"]
    notes = []
    mds = sorted(report_dir.glob("*.md"))
    if rc == 0 and mds:
        shutil.copy(mds[0], stage / "report.md")
    else:
        notes.append(f"report: exit {rc}: {tail(ctx.work / 'report.log', 1)}")
    if not list(report_dir.glob("*.png")):
        notes.append(f"report: no plots ({ctx.report_python} has no matplotlib?)")
    return notes


def layout_problems(folder: Path) -> list[str]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    problems = []
    if len(files) > MAX_OUT_FILES:
        problems.append(f"{len(files)} files in the output (at most {MAX_OUT_FILES} come back)")
    problems += [f"{p.name} is {p.stat().st_size / 2 ** 20:.1f} MiB (at most 16 MiB come back)"
                 for p in files if p.stat().st_size > MAX_OUT_FILE_BYTES]
    problems += [f"{p} is nested too deep" for p in files if len(p.relative_to(folder).parts) > 2]
    return problems


# ---- the bundle --------------------------------------------------------------------------------------

def git_sha() -> str:
    res = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
                         capture_output=True, text=True)
    if res.returncode != 0:
        return "unknown"
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return res.stdout.strip() + ("-dirty" if dirty else "")


def set_runpath(path: Path, runpath: str) -> None:
    """patchelf (scripts/deps.sh installs it): unlike CMake's ELF editor it can give a run path to
    a carried library that has none, so that no LD_LIBRARY_PATH is needed for the bundle."""
    tool = shutil.which("patchelf")
    if not tool:
        raise SystemExit("gpu_check.sh: patchelf not found (apt-get install patchelf; scripts/deps.sh does)")
    res = subprocess.run([tool, "--set-rpath", runpath, str(path)], capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"gpu_check.sh: cannot set the run path of {path}: {res.stderr.strip()}")


def assemble(build: Path, bundle: Path) -> dict[str, str]:
    """Copies the binaries of `build` and the libraries they need into `bundle`, with run paths
    inside the bundle only. Returns the manifest written as BUNDLE.json."""
    missing = [rel for rel in BUNDLE_BINARIES if not (build / rel).exists()]
    if missing:
        raise SystemExit(f"gpu_check.sh: {build} lacks {', '.join(missing)}: build it first "
                         f"(cmake --build {build})")
    shutil.rmtree(bundle, ignore_errors=True)
    (bundle / "lib").mkdir(parents=True)
    needed: dict[str, str] = {}
    cudnn = []
    for rel in BUNDLE_BINARIES:
        dest = bundle / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(build / rel, dest)
        subprocess.run(["strip", "--strip-unneeded", str(dest)], check=False, capture_output=True)
        set_runpath(dest, "$ORIGIN:$ORIGIN/lib" if dest.parent == bundle else "$ORIGIN/..:$ORIGIN/../lib")
        ldd = subprocess.run(["ldd", str(build / rel)], capture_output=True, text=True, check=True).stdout
        for name, target in re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M):
            if CUDNN_LIBRARY.match(name):
                cudnn.append(target)
            elif not SYSTEM_LIBRARY.match(name) and not name.startswith("libactbench_"):
                needed[name] = target
    compressed = []
    for name, target in sorted(needed.items()):
        lib = bundle / "lib" / name
        shutil.copy(Path(target).resolve(), lib)
        set_runpath(lib, "$ORIGIN")  # their own needs (oneDNN's OpenCL, OpenMP)
        if lib.stat().st_size > COMPRESS_OVER:
            with lib.open("rb") as src, lzma.open(lib.with_name(name + ".xz"), "wb", preset=1) as dst:
                shutil.copyfileobj(src, dst)
            lib.unlink()
            compressed.append(name)
    manifest = {
        "git_sha": git_sha(),
        "built": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%dT%H:%M:%SZ}",
        "build_type": cmake_cache(build).get("CMAKE_BUILD_TYPE", "?"),
        "from": str(build),
        "carried_libraries": ", ".join(sorted(needed)),
        "compressed_libraries": ", ".join(compressed),
        "cudnn": ("libcudnn.so.9 from the torch wheel on the GPU machine (built against "
                  f"{Path(cudnn[0]).parent})") if cudnn else "not used (built without cuDNN)",
        "cudnn_stand_in": str(Path(cudnn[0]).parent) if cudnn else "",
    }
    (bundle / "BUNDLE.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def fetch_wheels(bundle: Path, requirements: list[str],
                 pip: tuple[str, ...] = (sys.executable, "-m", "pip")) -> str:
    """Downloads each requirement's wheel (pure Python, without its dependencies) into the
    bundle's wheels/, whole or not at all (a temporary folder, renamed), and records what came in
    BUNDLE.json's `wheels`. A peer is optional: a download that fails is recorded with pip's
    last line, and the torch step says the peer is absent. Returns that record."""
    wheels, tmp = bundle / "wheels", bundle / ".wheels.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    notes = []
    for req in requirements:
        try:
            r = subprocess.run([*pip, "download", "--no-deps", "--only-binary=:all:", "--dest", str(tmp), req],
                               capture_output=True, text=True, timeout=180)
            why = "" if r.returncode == 0 else ((r.stderr or r.stdout).strip().splitlines() or ["pip failed"])[-1]
        except (OSError, subprocess.TimeoutExpired) as e:
            why = f"pip did not run: {e}"
        if why:
            notes.append(f"{req}: not carried ({why[:200]})")
    got = sorted(p.name for p in tmp.glob("*.whl"))
    size = sum(p.stat().st_size for p in tmp.glob("*.whl"))
    if size > WHEEL_ALLOWANCE:
        notes = [f"wheels of {size / 2 ** 20:.1f} MiB exceed the {WHEEL_ALLOWANCE / 2 ** 20:.0f} MiB allowance: none carried"]
        got = []
    shutil.rmtree(wheels, ignore_errors=True)
    if got:
        for p in tmp.iterdir():
            if p.name not in got:
                p.unlink()
        tmp.rename(wheels)
    else:
        shutil.rmtree(tmp)
    record = "; ".join(got + notes) or "none"
    manifest_path = bundle / "BUNDLE.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest["wheels"] = record
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    return record


def peer_path(bundle: Path, work: Path) -> Path | None:
    """The carried wheels unzipped into work/pylib (a wheel of pure Python is its package tree),
    for PYTHONPATH; None when the bundle carries none."""
    wheels = sorted((bundle / "wheels").glob("*.whl"))
    if not wheels:
        return None
    target = work / "pylib"
    shutil.rmtree(target, ignore_errors=True)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            z.extractall(target)
    return target


def unpack(bundle: Path) -> list[str]:
    """Restores the libraries that travelled compressed (lib/NAME.xz -> lib/NAME, through a
    temporary, so an interrupted unpack leaves no half library); a library already there is
    kept. Returns the names unpacked."""
    done = []
    for packed in sorted((bundle / "lib").glob("*.xz")):
        lib = packed.with_suffix("")
        if lib.exists():
            continue
        tmp = lib.with_name(lib.name + ".tmp")
        with lzma.open(packed, "rb") as src, tmp.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        tmp.chmod(0o755)
        tmp.replace(lib)
        done.append(lib.name)
    return done


def cmake_cache(build: Path) -> dict[str, str]:
    try:
        text = (build / "CMakeCache.txt").read_text()
    except OSError:
        return {}
    return dict(re.findall(r"^([A-Za-z_]+):[A-Z]+=(.*)$", text, re.M))


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def source_tree_bytes() -> int:
    """What travels beside the bundle: the tracked and untracked-but-not-ignored files (outside
    a git checkout: every file but the build folders')."""
    res = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
                          "--exclude-standard"], capture_output=True)
    if res.returncode != 0:
        return sum(p.stat().st_size for p in ROOT.rglob("*") if p.is_file()
                   and not p.relative_to(ROOT).parts[0].startswith(("build", ".git")))
    return sum((ROOT / n).stat().st_size for n in res.stdout.decode().split("\0")
               if n and (ROOT / n).is_file())


def size_line(bundle: Path) -> tuple[str, bool]:
    b, t = tree_bytes(bundle), source_tree_bytes()
    wheels = tree_bytes(bundle / "wheels") if (bundle / "wheels").is_dir() else 0
    total = b - wheels + t + WHEEL_ALLOWANCE  # the wheels within their allowance
    ok = total + CARRY_HEADROOM <= MAX_CARRY_BYTES
    mib = 2 ** 20
    return (f"size: bundle {(b - wheels) / mib:.1f} MiB + source tree {t / mib:.1f} MiB + peer wheels "
            f"{wheels / mib:.1f} of {WHEEL_ALLOWANCE / mib:.0f} MiB = {total / mib:.1f} MiB of the {MAX_CARRY_BYTES / mib:.0f} MiB "
            f"that may travel ({'ok' if ok else 'TOO LARGE'}: {CARRY_HEADROOM / mib:.0f} MiB must stay spare)"), ok


def runpath_problems(bundle: Path) -> list[str]:
    problems = []
    for rel in BUNDLE_BINARIES + [f"lib/{p.name}" for p in sorted((bundle / "lib").iterdir()) if p.suffix != ".xz"]:
        res = subprocess.run(["readelf", "-d", str(bundle / rel)], capture_output=True, text=True)
        for path in re.findall(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[(.*)\]", res.stdout):
            problems += [f"{rel}: run path {p} points outside the bundle" for p in path.split(":")
                         if p and not p.startswith("$ORIGIN")]
    return problems


# ---- the commands ------------------------------------------------------------------------------------

def prepare(bundle: Path) -> int:
    subprocess.run(["bash", "-c", "source scripts/deps.sh && actbench_ensure_deps"], cwd=ROOT, check=True)
    preset = "release"
    subprocess.run(["cmake", "--preset", preset], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", "--preset", preset], cwd=ROOT, check=True)
    build = ROOT / "build" / preset
    assemble(build, bundle)
    print(f"gpu_check.sh: peers carried: {fetch_wheels(bundle, PEER_WHEELS)}")
    line, ok = size_line(bundle)
    print(f"gpu_check.sh: bundle {bundle}; {line}")
    print(f"gpu_check.sh: carry {bundle.relative_to(ROOT) if bundle.is_relative_to(ROOT) else bundle} "
          f"and run scripts/gpu_check.sh --out \"$OUT\" there")
    return 0 if ok else 1


def dry_run(args: argparse.Namespace) -> int:
    """Everything but the GPU. Exit 0 when every check holds."""
    problems: list[str] = []
    temp = None
    if args.from_build:
        temp = Path(tempfile.mkdtemp(prefix="gpu_bundle_"))
        bundle = temp / "gpu_bundle"
        manifest = assemble(args.from_build.resolve(), bundle)
        print(f"dry run: bundle assembled from {args.from_build} into {bundle}")
    else:
        bundle = args.bundle
        if not (bundle / "BUNDLE.json").exists():
            print(f"gpu_check.sh: no bundle at {bundle}: run --prepare, or pass --from-build DIR",
                  file=sys.stderr)
            return 2
        manifest = bundle_facts(bundle)
    try:
        print(f"dry run: carried libraries: {manifest.get('carried_libraries')}; cuDNN: {manifest.get('cudnn')}")
        pythons = find_pythons(60)
        python = pythons.torch
        print(f"dry run: python: {pythons.how}; report.py with {pythons.report}")
        stand_in = pythons.cudnn or manifest.get("cudnn_stand_in") or ""
        if stand_in and not pythons.cudnn:
            print(f"dry run: cuDNN resolved from {stand_in} here (on the GPU machine: the torch wheel's folder)")
        env = library_env([stand_in] if stand_in else [])
        line, ok = size_line(bundle)  # as it travels: before the compressed libraries unpack
        unpacked = unpack(bundle)
        if unpacked:
            print(f"dry run: unpacked {', '.join(unpacked)} (they travel xz-compressed)")
        with tempfile.TemporaryDirectory() as logs:
            problems += ldd_problems(bundle, env, Path(logs) / "ldd.log")
        problems += runpath_problems(bundle)
        if not temp:  # a prepared bundle goes back to how it travels
            for name in unpacked:
                (bundle / "lib" / name).unlink()
        print("dry run: ldd of " + ", ".join(BUNDLE_BINARIES) + (": clean" if not problems else ""))
        with tempfile.TemporaryDirectory() as scratch:
            peers = peer_path(bundle, Path(scratch))
            carried = sorted(p.name for p in peers.iterdir() if p.is_dir() and not p.name.endswith(".dist-info")) if peers else []
            print(f"dry run: peer wheels: {manifest.get('wheels', 'none')}; unzipped: {', '.join(carried) or 'nothing'}")
        print("dry run: " + line)
        if not ok:
            problems.append(line)
        plan = print_plan(args.budget)
        print("dry run: " + "\n".join(plan))
        shares, finish_reserve = scaled_plan(args.budget)
        total = sum(v for _, v in shares) + finish_reserve
        if total > args.budget + 1e-6 or any(v < 0 for _, v in shares):
            problems.append(f"the plan takes {total:.0f} s of a {args.budget:.0f} s budget")
        try:
            fams = families(registry(bundle, env), None)
            print(f"dry run: the sweeps run {len(fams)} families: {', '.join(f for f, _ in fams)}")
            if not fams:
                problems.append("the bundle's actbench --list lists no variant")
        except subprocess.CalledProcessError as e:
            problems.append(f"the bundle's actbench --list failed: {e.stderr.strip()[:200]}")
        # The evidence's layout, from a run in which no GPU step ran and one tiny CPU sweep did:
        # the bundle's actbench runs, its log is merged and reported as a GPU run's would be.
        work = Path(tempfile.mkdtemp(prefix="gpu_check_work_"))
        try:
            ctx = Context(bundle, work, time.monotonic() + args.budget, env, python, pythons.report)
            results = {s.name: Result("NOT RUN", line="dry run") for s in PLAN}
            rc, timed_out = run_limited([str(bundle / "bench" / "actbench"), "--benchmark_filter=^copy/",
                                         "--n=2^16", f"--benchmark_out={work / 'sweep_core_copy.json'}",
                                         "--benchmark_out_format=json"], 60, work / "sweep_core.log", env)
            if rc != 0 or timed_out:
                problems.append(f"the bundle's actbench failed a CPU run: {tail(work / 'sweep_core.log')}")
            out = Path(tempfile.mkdtemp(prefix="gpu_check_dry_out_"))
            layout = finish(ctx, results, args.budget, time.monotonic(), [out])
            names = sorted(p.name for p in out.iterdir())
            expected = {"summary.md", "gpu_check.tgz", "actbench.json", "report.md"}
            problems += [f"the output lacks {n}" for n in sorted(expected - set(names))]
            print(f"dry run: output folder holds {len(names)} files ({', '.join(names)}); with "
                  f"torch.json from a GPU run, {len(set(names) | {'torch.json'})} of at most {MAX_OUT_FILES}")
            problems += layout
            shutil.rmtree(out, ignore_errors=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    finally:
        if temp:
            shutil.rmtree(temp, ignore_errors=True)
    for p in problems:
        print(f"dry run: FAIL: {p}", file=sys.stderr)
    print(f"dry run: {'FAILED' if problems else 'passed'} ({len(problems)} problems)")
    return 1 if problems else 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="gpu_check.sh", description=__doc__.split("\n\n")[0],
                                epilog="exit status: 0 every step that ran passed, 1 a step failed or "
                                       "timed out, 2 bad usage, no bundle or no GPU")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--prepare", action="store_true", help="build and assemble the bundle (build machine)")
    mode.add_argument("--dry-run", action="store_true", help="check everything but the GPU")
    mode.add_argument("--plan", action="store_true", help="print the plan and exit")
    p.add_argument("--budget", type=float, default=DEFAULT_BUDGET,
                   help=f"wall-time budget in seconds (default {DEFAULT_BUDGET})")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the evidence goes")
    p.add_argument("--only", help="comma-separated steps to rerun: " + ",".join(s.name for s in PLAN))
    p.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE, help="the bundle (default build/gpu_bundle)")
    p.add_argument("--from-build", type=Path, help="--dry-run: assemble a bundle from this build folder")
    args = p.parse_args(argv)
    if not 120 <= args.budget <= 3600:
        p.error(f"--budget {args.budget:g}: between 120 and 3600 seconds")
    if args.only is not None:
        names = {s.name for s in PLAN}
        args.only = {s.strip() for s in args.only.split(",") if s.strip()}
        unknown = args.only - names
        if unknown or not args.only:
            p.error(f"--only: unknown step(s) {', '.join(sorted(unknown)) or '(none given)'}; "
                    f"steps: {', '.join(s.name for s in PLAN)}")
    if args.from_build and not args.dry_run:
        p.error("--from-build goes with --dry-run")
    args.bundle = args.bundle.resolve()
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.plan:
        print("\n".join(print_plan(args.budget)))
        return 0
    if args.prepare:
        return prepare(args.bundle)
    if args.dry_run:
        return dry_run(args)
    if not (args.bundle / "bench" / "actbench").exists():
        print(f"gpu_check.sh: no bundle at {args.bundle}: run `scripts/gpu_check.sh --prepare` on a "
              f"build machine and carry it", file=sys.stderr)
        return 2
    start = time.monotonic()
    unpack(args.bundle)
    if args.only is None:
        shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True, exist_ok=True)
    ctx = Context(args.bundle, WORK, start + args.budget, library_env([]))
    print("\n".join(print_plan(args.budget)), flush=True)
    results = run_plan(ctx, args.budget, args.only)
    if not ctx.gpu:  # no evidence from a machine that has no GPU: nothing is written
        if (WORK / "preflight.log").exists():
            sys.stderr.write((WORK / "preflight.log").read_text(errors="replace"))
        print(f"gpu_check.sh: no GPU here ({results['preflight'].line}): nothing was checked, "
              f"nothing written", file=sys.stderr)
        return 2
    problems = finish(ctx, results, args.budget, start, [args.out, DEFAULT_OUT])
    for p in problems:
        print(f"gpu_check.sh: output: {p}", file=sys.stderr)
    bad = [n for n, r in results.items() if r.status in ("FAIL", "TIMEOUT")]
    print(f"gpu_check.sh: {'FAILED: ' + ', '.join(bad) if bad else 'every step that ran passed'}; "
          f"evidence in {args.out}")
    return 1 if bad or problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
