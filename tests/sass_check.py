#!/usr/bin/env python3
"""Checks the SASS that runs: one CUDA source's machine code inside the built library.

  sass_check.py --lib libactbench_core.so --source kernels/NAME.cu --arch 90
                [--cuobjdump PATH] [--nvdisasm PATH]
                [--expect KERNEL_RE OPCODE_RE]...
                [--fit KERNEL_RE THREADS DYNAMIC_SMEM MIN_BLOCKS]...

Wired by actbench_sass_check() in tests/CMakeLists.txt, which holds each source's table of
expectations. The library's fatbin holds one ELF per source (cuobjdump names it by the
source's identifier); that ELF is extracted and read with `cuobjdump -elf -sass -res-usage`
(cuobjdump runs nvdisasm for the SASS). Fails when:

  - any function uses local memory: an LDL or STL instruction, or a local or stack frame
    in its resource usage (spills, or an array the compiler could not keep in registers);
  - --expect: a kernel whose name (mangled or demangled) matches KERNEL_RE has no
    instruction whose opcode (mnemonic and modifiers, e.g. LDG.E.128.CONSTANT) matches
    OPCODE_RE in full; each KERNEL_RE must match a kernel;
  - --fit: a kernel matching KERNEL_RE, launched with THREADS threads per block ("bounds":
    at its own __launch_bounds__) and DYNAMIC_SMEM bytes of dynamic shared memory, cannot
    keep MIN_BLOCKS blocks resident on one SM given its registers and shared memory, or
    cannot be launched that way at all; each KERNEL_RE must match a kernel, and every
    kernel must match some --fit (its block size is an assumption to be stated).

Prints one line per kernel and --fit: threads, launch bound, registers, static + dynamic
shared memory, resident blocks and warps per SM (and what limits them), and the widths in
bits of its global loads (LDG, and LDGSTS for cp.async) and stores (STG).

Exits 77 (CTest: skipped), saying why, when cuobjdump or nvdisasm is missing or the
architecture has no limits below; 2 for bad arguments; 1 when a check fails.
"""

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

from ptx_check import check_expectations, compile_re, demangle, finish, matching

TOOL = "sass_check"
SKIPPED = 77
INSTALL_HINT = ("scripts/deps.sh installs both (PyPI's nvidia-cuda-cuobjdump and "
                "nvidia-cuda-nvdisasm), or put the CUDA toolkit's bin/ on PATH, then reconfigure")

# What an SM holds, per architecture (CUDA C++ Programming Guide, "Technical Specifications
# per Compute Capability"; allocation rules as cuda_occupancy.h applies them).
Limits = collections.namedtuple("Limits", [
    "regs_per_sm", "sub_partitions", "reg_granule", "max_regs_per_thread", "regs_per_block",
    "threads_per_sm", "threads_per_block", "blocks_per_sm", "smem_per_sm", "smem_per_block",
    "smem_static_max", "smem_reserved", "smem_granule"])
LIMITS = {
    90: Limits(regs_per_sm=65536,          # 64K 32-bit registers per SM,
               sub_partitions=4,           # split over 4 sub-partitions (a warp lives in one)
               reg_granule=256,            # allocated per warp in units of 256 (8 per thread)
               max_regs_per_thread=255,
               regs_per_block=65536,
               threads_per_sm=2048,        # 64 warps
               threads_per_block=1024,
               blocks_per_sm=32,
               smem_per_sm=228 * 1024,     # the largest carveout
               smem_per_block=227 * 1024,  # with the opt-in above 48 KB (occupancy.h does it)
               smem_static_max=48 * 1024,
               smem_reserved=1024,         # the driver's per-block reservation
               smem_granule=128),
}
WARP = 32

# One SASS instruction line: /*0a30*/  [@!P0] OPCODE operands ;
INSTR_RE = re.compile(r"^\s*/\*[0-9a-f]+\*/\s+(?:@!?U?P[T0-9]\s+)?([A-Z][A-Z0-9_]*(?:\.[A-Z0-9_]+)*)")
SASS_FUNC_RE = re.compile(r"^\s*Function : (\S+)\s*$")
RES_FUNC_RE = re.compile(r"^\s*Function (\S+):\s*$")
RES_RE = re.compile(r"REG:(\d+) STACK:(\d+) SHARED:(\d+) LOCAL:(\d+)")
INFO_RE = re.compile(r"^\.nv\.info\.(\S+)\s*$")
SECTION_RE = re.compile(r"^\.\S")
LOCAL_OPS = ("LDL", "STL")
GLOBAL_OPS = {"LDG": "ld", "LDGSTS": "ld", "STG": "st"}
WIDTH_MODS = {"128": 128, "64": 64, "U16": 16, "S16": 16, "U8": 8, "S8": 8}


def skip(message):
    print(f"{TOOL}: SKIPPED: {message}")
    sys.exit(SKIPPED)


def die(message):
    sys.exit(finish([message], "", TOOL))


def run(command, env=None):
    try:
        proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    except (OSError, subprocess.SubprocessError) as e:
        die(f"cannot run {command[0]}: {e}")
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        die(f"{' '.join(command)} exited with {proc.returncode}")
    return proc.stdout


def find_tool(given, name):
    """The tool's path: `given` if it is one, else `name` on PATH; skips the test if neither."""
    for candidate in (given, name):
        path = shutil.which(candidate) if candidate else None
        if path:
            return path
    skip(f"{name} not found ({'not at ' + given if given else 'not on PATH'}): the SASS checks "
         f"did not run. {INSTALL_HINT}")


def elf_of_source(cuobjdump, lib, source, arch):
    """Name of the sm_<arch> ELF in lib's fatbin that was compiled from `source`."""
    # The plain listing gives each ELF's arch and identifier (the source compiled; nvcc writes
    # it with line information, -lineinfo), -lelf its name, both in fatbin order.
    idents = []
    kind = None
    for line in run([cuobjdump, lib]).splitlines():
        if line.startswith("Fatbin "):
            kind = line
        elif kind == "Fatbin elf code:" and line.startswith("arch = "):
            idents.append([line.split("=", 1)[1].strip(), None])
        elif kind == "Fatbin elf code:" and line.startswith("identifier = ") and idents:
            idents[-1][1] = line.split("=", 1)[1].strip()
    names = re.findall(r"^ELF file\s+\d+: (\S+)$", run([cuobjdump, "-lelf", lib]), re.M)
    if not names or len(names) != len(idents):
        die(f"{lib}: cuobjdump lists {len(names)} ELF file(s) but describes "
                         f"{len(idents)}: cannot tell which source each came from")
    ours = [name for name, (elf_arch, ident) in zip(names, idents)
            if elf_arch == f"sm_{arch}" and ident and
            (ident == source or ident.endswith("/" + source))]
    if not any(ident for _, ident in idents):
        die(f"{lib}: no ELF file names the source it was compiled from (nvcc records it with "
            f"line information: the library is built with -lineinfo)")
    if len(ours) != 1:
        held = ", ".join(f"{n} ({i})" for n, (_, i) in zip(names, idents))
        die(f"{lib} holds {len(ours)} sm_{arch} ELF file(s) compiled from {source} "
                         f"(it holds: {held})")
    if names.count(ours[0]) != 1:
        die(f"{lib} holds several ELF files named {ours[0]}: cuobjdump cannot "
                         f"extract one of them by name")
    return ours[0]


def parse_dump(text):
    """{function: {"ops": [opcode, ...], "regs", "stack", "shared", "local", "kernel",
    "max_threads"}} from `cuobjdump -elf -sass -res-usage` of one ELF."""
    funcs = collections.defaultdict(lambda: {"ops": [], "kernel": False, "max_threads": None})
    sass = res = info = None
    attribute = None
    for line in text.splitlines():
        m = SASS_FUNC_RE.match(line)
        if m:
            sass, res, info = m.group(1), None, None
            funcs[sass]  # a function with no instruction is still a function
            continue
        m = RES_FUNC_RE.match(line)
        if m:
            sass, res, info = None, m.group(1), None
            continue
        m = INFO_RE.match(line)
        if m:
            sass, res, info = None, None, m.group(1)
            funcs[info]["kernel"] = True  # only kernels have a .nv.info.<name> section
            continue
        if SECTION_RE.match(line):
            info = None
        if sass:
            m = INSTR_RE.match(line)
            if m:
                funcs[sass]["ops"].append(m.group(1))
        elif res:
            m = RES_RE.search(line)
            if m:
                regs, stack, shared, local = (int(g) for g in m.groups())
                funcs[res].update(regs=regs, stack=stack, shared=shared, local=local)
                res = None
        elif info:
            if "Attribute:" in line:
                attribute = line.split(":", 1)[1].strip()
            elif "Value:" in line and attribute == "EIATTR_MAX_THREADS":
                dims = [int(v, 16) for v in line.split(":", 1)[1].split()]
                funcs[info]["max_threads"] = dims[0] * dims[1] * dims[2]
    return dict(funcs)


def short(name):
    """A demangled kernel name for the table: no return type, namespace or parameter list."""
    name = re.sub(r"\b[A-Za-z_]\w*::", "", re.sub(r"^void ", "", name).replace("(anonymous namespace)::", ""))
    depth = 0
    for i, c in enumerate(name):  # the parameter list is the first '(' outside <...>
        depth += c == "<"
        depth -= c == ">"
        if c == "(" and depth == 0:
            return name[:i]
    return name


def width(op):
    mods = op.split(".")[1:]
    return next((WIDTH_MODS[m] for m in mods if m in WIDTH_MODS), 32)


def access_widths(ops):
    """{"ld": sorted widths of global loads, "st": of global stores} in bits."""
    widths = {"ld": set(), "st": set()}
    for op in ops:
        kind = GLOBAL_OPS.get(op.split(".")[0])
        if kind:
            widths[kind].add(width(op))
    return {k: sorted(v, reverse=True) for k, v in widths.items()}


def round_up(value, granule):
    return -(-value // granule) * granule


def resident_blocks(lim, regs, static_smem, threads, dynamic_smem):
    """(blocks of `threads` threads resident per SM, the limit that binds, or why none fits),
    following the hardware's allocation rules as cudaOccupancyMaxActiveBlocksPerMultiprocessor
    does with the largest shared-memory carveout."""
    warps = -(-threads // WARP)
    regs_per_warp = round_up(regs * WARP, lim.reg_granule)
    smem = round_up(static_smem + dynamic_smem + lim.smem_reserved, lim.smem_granule)
    if threads > lim.threads_per_block:
        return 0, f"{threads} threads exceed the {lim.threads_per_block} of a block"
    if regs > lim.max_regs_per_thread:
        return 0, f"{regs} registers exceed the {lim.max_regs_per_thread} of a thread"
    if regs_per_warp * round_up(warps, lim.sub_partitions) > lim.regs_per_block:
        return 0, (f"{threads} threads x {regs} registers exceed the {lim.regs_per_block} "
                   f"registers of a block")
    if static_smem > lim.smem_static_max:
        return 0, f"{static_smem} bytes of static shared memory exceed {lim.smem_static_max}"
    if static_smem + dynamic_smem > lim.smem_per_block:
        return 0, (f"{static_smem} + {dynamic_smem} bytes of shared memory exceed the "
                   f"{lim.smem_per_block} of a block")
    by = {
        "blocks": lim.blocks_per_sm,
        "threads": lim.threads_per_sm // WARP // warps,
        "regs": (lim.regs_per_sm // lim.sub_partitions // regs_per_warp * lim.sub_partitions
                 // warps) if regs_per_warp else lim.blocks_per_sm,
        "smem": lim.smem_per_sm // smem,
    }
    blocks = min(by.values())
    return blocks, "/".join(k for k, v in by.items() if v == blocks)


def max_regs_for(lim, static_smem, threads, dynamic_smem, blocks):
    """The most registers per thread that keep `blocks` blocks resident (0: none do)."""
    return next((r for r in range(lim.max_regs_per_thread, 0, -1)
                 if resident_blocks(lim, r, static_smem, threads, dynamic_smem)[0] >= blocks), 0)


def parse_fit(fit, tool=TOOL):
    kernel_re, threads, dynamic_smem, blocks = fit
    try:
        threads = threads if threads == "bounds" else int(threads)
        dynamic_smem, blocks = int(dynamic_smem), int(blocks)
    except ValueError:
        print(f"{tool}: --fit {' '.join(fit)}: THREADS (a number or 'bounds'), DYNAMIC_SMEM "
              f"and MIN_BLOCKS are numbers", file=sys.stderr)
        sys.exit(2)
    return compile_re(kernel_re, "--fit kernel", tool), threads, dynamic_smem, blocks


def check_fit(lim, name, f, threads, dynamic_smem, min_blocks):
    """(table line, errors) of one kernel launched as one --fit row says."""
    errors = []
    bound = f["max_threads"]
    if threads == "bounds":
        if bound is None:
            return "", [f"{name}: --fit says it runs at its __launch_bounds__, but it has none"]
        threads = bound
    if bound is not None and threads > bound:
        errors.append(f"{name}: launched with {threads} threads, but its __launch_bounds__ "
                      f"allows {bound}")
    blocks, limit = resident_blocks(lim, f["regs"], f["shared"], threads, dynamic_smem)
    warps = blocks * -(-threads // WARP)
    if blocks < min_blocks:
        need = max_regs_for(lim, f["shared"], threads, dynamic_smem, min_blocks)
        hint = (f"at most {need} registers a thread would fit" if need
                else "no register count fits: shared memory or threads bind")
        errors.append(f"{name}: {min_blocks} block(s) of {threads} threads must stay resident "
                      f"per SM, {blocks} can ({limit}; {f['regs']} registers, "
                      f"{f['shared']} + {dynamic_smem} bytes of shared memory; {hint})")
    widths = access_widths(f["ops"])
    smem = f"{f['shared']}+{dynamic_smem}" if dynamic_smem else str(f["shared"])
    line = (f"  {threads:>5} {bound or '-':>5} {f['regs']:>4} {smem:>11} {blocks:>3} >={min_blocks:<2}"
            f" {warps:>3} {100 * warps * WARP // lim.threads_per_sm:>3}% {limit:<12}"
            f" {','.join(map(str, widths['ld'])) or '-':<9} {','.join(map(str, widths['st'])) or '-':<9}"
            f" {short(name)}")
    return line, errors


HEADER = (f"  {'thr':>5} {'bound':>5} {'regs':>4} {'smem B':>11} {'blk':>3} {'need':<4}"
          f" {'wrp':>3} {'occ':>4} {'limited by':<12} {'LDG bits':<9} {'STG bits':<9} kernel")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lib", required=True, help="the built library (or any fatbin holder)")
    parser.add_argument("--source", required=True, help="the CUDA source, as the build names it")
    parser.add_argument("--arch", required=True, type=int, help="the SM version checked, e.g. 90")
    parser.add_argument("--cuobjdump", default="", help="cuobjdump to use (default: PATH's)")
    parser.add_argument("--nvdisasm", default="", help="nvdisasm to use (default: PATH's)")
    parser.add_argument("--expect", nargs=2, action="append", default=[],
                        metavar=("KERNEL_RE", "OPCODE_RE"))
    parser.add_argument("--fit", nargs=4, action="append", default=[],
                        metavar=("KERNEL_RE", "THREADS", "DYNAMIC_SMEM", "MIN_BLOCKS"))
    args = parser.parse_args()
    fits = [parse_fit(f) for f in args.fit]
    if args.arch not in LIMITS:
        skip(f"no SM limits for sm_{args.arch} in {__file__} (known: "
             f"{', '.join(f'sm_{a}' for a in LIMITS)}): add them to check its SASS")
    lim = LIMITS[args.arch]
    if not os.path.isfile(args.lib):
        die(f"missing {args.lib}: build the library before running the test")
    if not shutil.which("c++filt"):
        die("c++filt (binutils) is needed to read the kernels' names")
    cuobjdump = find_tool(args.cuobjdump, "cuobjdump")
    nvdisasm = find_tool(args.nvdisasm, "nvdisasm")

    elf = elf_of_source(cuobjdump, args.lib, args.source, args.arch)
    env = dict(os.environ, NVDISASM_PATH=os.path.dirname(nvdisasm))
    with tempfile.TemporaryDirectory() as tmp:
        # -xelf matches by partial name: other ELF files may come out too; ours is exact.
        subprocess.run([cuobjdump, "-xelf", elf, os.path.abspath(args.lib)], cwd=tmp,
                       capture_output=True, check=False)
        cubin = os.path.join(tmp, elf)
        if not os.path.isfile(cubin):
            die(f"cuobjdump -xelf {elf} {args.lib} extracted nothing")
        funcs = parse_dump(run([cuobjdump, "-elf", "-sass", "-res-usage", cubin], env=env))

    source = f"{args.source} in {os.path.basename(args.lib)}"
    names = demangle(funcs)
    errors = []
    missing = [names[n] for n, f in funcs.items() if "regs" not in f]
    errors += [f"{n}: no resource usage in cuobjdump's report" for n in sorted(missing)]
    funcs = {n: f for n, f in funcs.items() if "regs" in f}
    for n in sorted(funcs, key=lambda n: names[n]):
        f = funcs[n]
        local = sorted({op for op in f["ops"] if op.split(".")[0] in LOCAL_OPS})
        if local or f["local"] or f["stack"]:
            errors.append(f"{names[n]}: local memory ({', '.join(local) or 'no LDL/STL'}; "
                          f"{f['local']} bytes local, {f['stack']} bytes of stack)")

    kernels = {n: f for n, f in funcs.items() if f["kernel"]}
    print(f"{TOOL}: {source}: sm_{args.arch} ELF {elf}, {len(funcs)} function(s), "
          f"{len(kernels)} kernel(s)")
    print(HEADER)
    fitted = set()
    for kernel_re, threads, dynamic_smem, blocks in fits:
        matched = matching(kernel_re, kernels, names)
        if not matched:
            errors.append(f"no kernel of {source} matches --fit /{kernel_re.pattern}/")
        for n in sorted(matched, key=lambda n: names[n]):
            line, errs = check_fit(lim, names[n], kernels[n], threads, dynamic_smem, blocks)
            if line:
                print(line)
            errors += errs
            fitted.add(n)
    errors += [f"{names[n]}: no --fit row states the block size it is launched with"
               for n in sorted(set(kernels) - fitted, key=lambda n: names[n])]

    ops = {n: "\n".join(f["ops"]) for n, f in kernels.items()}
    errors += check_expectations(
        args.expect, ops, names,
        lambda p, body: any(p.fullmatch(op) for op in body.split("\n")),
        "among its SASS opcodes", source, TOOL)
    return finish(errors, f"{len(funcs)} function(s) without local memory, {len(kernels)} "
                          f"kernel(s) fit as stated, {len(args.expect)} opcode check(s) passed", TOOL)


if __name__ == "__main__":
    sys.exit(main())
