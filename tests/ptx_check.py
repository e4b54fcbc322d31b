#!/usr/bin/env python3
"""Checks the device code of one CUDA source without a GPU (standard library only).

Two steps, wired by actbench_ptx_check() in tests/CMakeLists.txt:

  build time  ptx_check.py assemble --log NAME.ptxas.log -- nvcc -cubin -Xptxas -v NAME.ptx ...
              runs the command (ptxas through nvcc, on the PTX nvcc -ptx made of the source)
              and keeps its report, which ptxas writes to stderr, in the log.
  test time   ptx_check.py check --ptx NAME.ptx --log NAME.ptxas.log
                                 [--expect KERNEL_RE PATTERN_RE]...
              fails when a file is missing, when the log reports no function or is older than
              the PTX's entries, when any function spills (spill stores or loads), or when a
              kernel whose name (mangled or demangled) matches KERNEL_RE lacks PATTERN_RE in its
              PTX body; at least one kernel must match each KERNEL_RE. Prints one line per
              function: registers, stack frame, spills, name.

tests/sass_check.py, the same checks' counterpart on the SASS, shares its helpers.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

ENTRY_RE = re.compile(r"^\s*(?:\.visible\s+|\.weak\s+)*\.entry\s+([\w$.]+)\s*\(", re.M)
PROPS_RE = re.compile(r"Function properties for (\S+)")
SPILL_RE = re.compile(
    r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
COMPILING_RE = re.compile(r"Compiling (?:entry )?function '([^']+)'")
REGS_RE = re.compile(r"Used (\d+) registers")


def fail(message, tool="ptx_check"):
    print(f"{tool}: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def demangle(names):
    """Demangled names through c++filt when present; the names unchanged otherwise."""
    names = list(names)
    tool = shutil.which("c++filt")
    if not tool or not names:
        return {n: n for n in names}
    try:
        out = subprocess.run([tool], input="\n".join(names), capture_output=True, text=True,
                             check=True, timeout=60).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return {n: n for n in names}
    return dict(zip(names, out)) if len(out) == len(names) else {n: n for n in names}


def parse_ptx(text):
    """{entry name: PTX text from its .entry line up to the next entry}."""
    starts = [(m.start(), m.group(1)) for m in ENTRY_RE.finditer(text)]
    bodies = {}
    for k, (pos, name) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(text)
        bodies[name] = text[pos:end]
    return bodies


def parse_log(text):
    """{function name: {"regs", "stack", "spill_stores", "spill_loads"}} from ptxas -v."""
    funcs = {}
    current = None
    for line in text.splitlines():
        m = COMPILING_RE.search(line)
        if m:
            current = m.group(1)
            funcs.setdefault(current, {})
            continue
        m = PROPS_RE.search(line)
        if m:
            current = m.group(1)
            funcs.setdefault(current, {})
            continue
        m = SPILL_RE.search(line)
        if m and current is not None:
            stack, stores, loads = (int(g) for g in m.groups())
            funcs[current].update(stack=stack, spill_stores=stores, spill_loads=loads)
            continue
        m = REGS_RE.search(line)
        if m and current is not None:
            funcs[current]["regs"] = int(m.group(1))
    return funcs


def compile_re(text, what, tool="ptx_check"):
    """The compiled regex; a usage error (exit 2) when it does not compile."""
    try:
        return re.compile(text)
    except re.error as e:
        print(f"{tool}: bad {what} regex /{text}/: {e}", file=sys.stderr)
        sys.exit(2)


def matching(kernel_re, kernels, names):
    """The kernels whose name, mangled or demangled (names), matches kernel_re (compiled)."""
    return [k for k in kernels if kernel_re.search(k) or kernel_re.search(names[k])]


def check_expectations(expects, bodies, names, holds, where, source, tool="ptx_check"):
    """Errors of --expect KERNEL_RE PATTERN_RE pairs: at least one kernel of `bodies` must
    match each KERNEL_RE and holds(PATTERN, body) must be true for each that does. Prints
    one line per pair; `where` ends the error line ("in its PTX")."""
    errors = []
    for kernel_re, pattern_re in expects or []:
        kernel = compile_re(kernel_re, "kernel", tool)
        pattern = compile_re(pattern_re, "pattern", tool)
        matched = matching(kernel, bodies, names)
        if not matched:
            errors.append(f"no kernel of {source} matches /{kernel_re}/")
            continue
        lacking = [names[n] for n in matched if not holds(pattern, bodies[n])]
        errors += [f"{n}: no /{pattern_re}/ {where}" for n in sorted(lacking)]
        print(f"  /{pattern_re}/ in {len(matched) - len(lacking)} of {len(matched)} "
              f"kernel(s) matching /{kernel_re}/")
    return errors


def finish(errors, ok, tool="ptx_check"):
    """Exit status of a check: 1 with one FAIL line per error, else 0 with one ok line."""
    for e in errors:
        print(f"{tool}: FAIL: {e}", file=sys.stderr)
    if errors:
        return 1
    print(f"{tool}: ok: {ok}")
    return 0


def read(path, what):
    if not os.path.isfile(path):
        fail(f"missing {what} {path}: it is made at build time (build the project, or the "
             f"ptx_* target of this check, before running the test)")
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def cmd_assemble(args):
    if not args.command:
        fail("assemble: no command given after --")
    try:
        proc = subprocess.run(args.command, capture_output=True, text=True)
    except OSError as e:
        fail(f"assemble: cannot run {args.command[0]}: {e}")
    report = proc.stderr + proc.stdout
    if proc.returncode != 0:
        sys.stderr.write(report)
        fail(f"assemble: {' '.join(args.command)} exited with {proc.returncode}")
    with open(args.log, "w", encoding="utf-8") as f:
        f.write(report)
    return 0


def cmd_check(args):
    bodies = parse_ptx(read(args.ptx, "PTX"))
    funcs = parse_log(read(args.log, "ptxas log"))
    if not bodies:
        fail(f"{args.ptx} has no .entry: not the PTX of a CUDA source with kernels")
    if not funcs or not any("spill_stores" in f for f in funcs.values()):
        fail(f"{args.log} holds no ptxas -v function report (was -Xptxas -v passed?)")
    stale = sorted(set(bodies) - set(funcs))
    if stale:
        fail(f"{args.log} does not report {len(stale)} kernel(s) of {args.ptx}, e.g. "
             f"{stale[0]}: the two files are out of step; rebuild")

    names = demangle(set(bodies) | set(funcs))
    errors = []
    for name in sorted(funcs, key=lambda n: names[n]):
        f = funcs[name]
        stores, loads = f.get("spill_stores", 0), f.get("spill_loads", 0)
        print(f"  regs {f.get('regs', '-'):>3}  stack {f.get('stack', 0):>4}  "
              f"spills {stores}/{loads}  {names[name]}")
        if stores or loads:
            errors.append(f"{names[name]} spills: {stores} bytes stored, {loads} bytes loaded")

    errors += check_expectations(args.expect, bodies, names, lambda p, body: p.search(body),
                                 "in its PTX", args.ptx)

    return finish(errors, f"{len(funcs)} function(s), no spills, "
                          f"{len(args.expect or [])} pattern check(s) passed")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", required=True)
    a = sub.add_parser("assemble", help="run a compiler command, keep its report in a log")
    a.add_argument("--log", required=True)
    a.add_argument("command", nargs=argparse.REMAINDER)
    c = sub.add_parser("check", help="check a PTX file and its ptxas -v log")
    c.add_argument("--ptx", required=True)
    c.add_argument("--log", required=True)
    c.add_argument("--expect", nargs=2, action="append", metavar=("KERNEL_RE", "PATTERN_RE"))
    args = parser.parse_args()
    if args.step == "assemble":
        if args.command and args.command[0] == "--":
            args.command = args.command[1:]
        return cmd_assemble(args)
    return cmd_check(args)


if __name__ == "__main__":
    sys.exit(main())
