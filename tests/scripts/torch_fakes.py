"""Stand-ins for what scripts/torch_compare.py needs of PyTorch and of the C interface, neither
of which is here: a torch that names a card, a library in which every variant supports every
shape, a small registry (the copy, an elementwise and a row-shaped activation, each with its
backward family, in f32, bf16 and f16), and measure_shape replaced by one that takes a given
time per call and writes a row per call. With them torch_compare.compare runs as it does on a
GPU machine: its order of the work, its deadline, SIGTERM and the log.

main() is torch_compare.py's main over these fakes: gpu_check.py's torch step runs it as its
Python (see executable()), with torch_compare.py's own arguments."""
from __future__ import annotations

import sys
import time
import types
from pathlib import Path
from typing import Callable

import torch_compare
from torch_compare import CVariant

HERE = Path(__file__).resolve().parent
# (family, variants, activation, row-shaped) in the real registry's order: forward families,
# their backward families, the copy last.
FAMILIES = [("sigmoid", ("naive", "warp"), "sigmoid", False),
            ("softmax", ("warp",), "softmax", True),
            ("sigmoid_backward", ("warp",), "sigmoid", False),
            ("softmax_backward", ("warp",), "softmax", True),
            ("copy", ("cuda_memcpy",), "identity", False)]


def registry() -> list[CVariant]:
    """Every family of FAMILIES in every type, as load_library lists a registry."""
    found = []
    for family, names, activation, _ in FAMILIES:
        for dtype in torch_compare.DTYPE_CODES:
            for name in names:
                found.append(CVariant(len(found), family, name, "gpu", activation, False, 1, 0.0,
                                      0.0, f"fake {name}", dtype,
                                      backward=family.endswith("_backward")))
    return found


class FakeBench:
    """What torch_compare.compare asks of a Bench outside measure_shape."""

    def __init__(self) -> None:
        props = types.SimpleNamespace(name="Fake GPU", multi_processor_count=132, major=9,
                                      minor=0, total_memory=1 << 37, L2_cache_size=50 << 20)
        cuda = types.SimpleNamespace(get_device_properties=lambda device: props,
                                     empty_cache=lambda: None)
        self.torch = types.SimpleNamespace(__version__="0.0+fake", cuda=cuda,
                                           version=types.SimpleNamespace(cuda="13.0"),
                                           device=lambda name: name)
        self.lib = types.SimpleNamespace(actbench_variant_supports=lambda index, cols: 1)
        self.iterations = 10


def measure_shape_taking(seconds: Callable[[int], float], pass_time: Callable[[float], None]):
    """A measure_shape whose k-th call (PyTorch's, then each variant's; counted over the run)
    takes seconds(k), passed by pass_time, and yields a timed row that agreed."""
    calls = [0]

    def measure_shape(bench: FakeBench, members: list[CVariant], rows: int, cols: int) -> list[dict]:
        first = members[0]
        out = []
        for name in ["torch"] + [v.name for v in members]:
            pass_time(seconds(calls[0]))
            calls[0] += 1
            moved = torch_compare.ideal_bytes(first, rows, cols)
            out.append(torch_compare.row(
                torch_compare.bench_name(first.family, name, first.dtype, first.row_shaped, rows, cols),
                10.0, bench.iterations, {"bytes_per_second": moved / 10e-6, "ideal_bytes": moved,
                                         "max_abs_err": 0.0, "max_rel_err": 0.0}))
        return out
    return measure_shape


def main(argv: list[str], seconds_per_call: float, hang_at: int | None = None) -> int:
    """torch_compare.py's main with these fakes and the real clock: each call sleeps
    seconds_per_call, call number hang_at a minute."""
    started = time.monotonic()
    args = torch_compare.parse_args(argv)
    torch_compare.measure_shape = measure_shape_taking(
        lambda k: 60.0 if k == hang_at else seconds_per_call, time.sleep)
    return torch_compare.compare(FakeBench(), registry(), args.quick,
                                 torch_compare.Deadline(args.deadline_s, started), args.out)


def executable(folder: Path, seconds_per_call: float, hang_at: int | None = None) -> Path:
    """A script that stands for the Python that imports torch: run as `it torch_compare.py
    ARGS...`, it is main(ARGS) over these fakes."""
    path = folder / "fake_python"
    path.write_text(f"#!{sys.executable}\n"
                    "import sys\n"
                    f"sys.path[:0] = [{str(HERE)!r}, {str(torch_compare.ROOT / 'scripts')!r}]\n"
                    "import torch_fakes\n"
                    f"sys.exit(torch_fakes.main(sys.argv[2:], {seconds_per_call!r}, {hang_at!r}))\n")
    path.chmod(0o755)
    return path
