"""Stand-ins for what scripts/torch_compare.py needs of PyTorch and of the C interface, neither
of which is here: a torch that names a card, a library in which every variant supports every
shape, a small registry (the copy, an elementwise and a row-shaped activation, each with its
backward family, in f32, bf16 and f16), and measure_shape replaced by one that takes a given
time per call and writes a row per call. With them torch_compare.compare runs as it does on a
GPU machine: its order of the work, its deadline, SIGTERM and the log.

For the peers, PeerBench runs torch_compare's own measure_shape over a PyTorch of mocks
(fake_torch) whose numerics are stubbed (every result agrees, every call takes 10 us), with a
torch.compile that compiles at its first call (FakeCompile: it records its arguments, and
fails at the compiles it is told to, as Inductor does, with a message of several lines), and
a Liger-Kernel softmax (fake_liger: its Function's forward and backward, put on sys.modules).

main() is torch_compare.py's main over these fakes: gpu_check.py's torch step runs it as its
Python (see executable()), with torch_compare.py's own arguments."""
from __future__ import annotations

import contextlib
import sys
import time
import types
from pathlib import Path
from typing import Any, Callable, Iterator
from unittest import mock

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


class FakeBench(torch_compare.Bench):
    """What torch_compare.compare asks of a Bench outside measure_shape: a PyTorch without
    torch.compile (the peers are PyTorch's eager calls, and Liger-Kernel's where it imports)."""

    def __init__(self) -> None:
        self.init_peers("default", "fake PyTorch: no torch.compile")
        props = types.SimpleNamespace(name="Fake GPU", multi_processor_count=132, major=9,
                                      minor=0, total_memory=1 << 37, L2_cache_size=50 << 20)
        cuda = types.SimpleNamespace(get_device_properties=lambda device: props,
                                     empty_cache=lambda: None)
        self.torch = types.SimpleNamespace(__version__="0.0+fake", cuda=cuda,
                                           version=types.SimpleNamespace(cuda="13.0"),
                                           device=lambda name: name)
        self.lib = types.SimpleNamespace(actbench_variant_supports=lambda index, cols: 1)
        self.iterations = 10


class CompileError(RuntimeError):
    """What a failing compile raises (Dynamo wraps Inductor's errors in a RuntimeError)."""


class FakeCompile:
    """torch.compile: returns fn wrapped, compiled at its first call (counted in calls), which
    raises CompileError where fails(k) for the k-th compile of the run."""

    def __init__(self, fails: Callable[[int], bool] = lambda k: False) -> None:
        self.fails = fails
        self.compiled: list[dict[str, Any]] = []  # per torch.compile: its keyword arguments
        self.calls: list[int] = []  # per torch.compile: the calls of what it returned

    def __call__(self, fn: Callable[..., Any], **kwargs: Any) -> Callable[..., Any]:
        k = len(self.compiled)
        self.compiled.append(kwargs)
        self.calls.append(0)

        def compiled(*args: Any) -> Any:
            if self.calls[k] == 0 and self.fails(k):
                raise CompileError("backend='inductor' raised:\nCompilationError: at 3:4:\n...")
            self.calls[k] += 1
            return mock.MagicMock(name=f"compiled {k} result")
        return compiled


def fake_torch(compile: Callable[..., Any] | None) -> mock.MagicMock:
    """A PyTorch of mocks: any op returns a mock; a card, a version, torch.compile (none where
    compile is None)."""
    torch = mock.MagicMock(name="torch")
    torch.__version__ = "0.0+fake"
    torch.version = types.SimpleNamespace(cuda="13.0")
    torch.cuda.get_device_properties.return_value = types.SimpleNamespace(
        name="Fake GPU", multi_processor_count=132, major=9, minor=0, total_memory=1 << 37,
        L2_cache_size=50 << 20)
    if compile is None:
        del torch.compile
    else:
        torch.compile = compile
    return torch


class PeerBench(torch_compare.Bench):
    """A Bench over fake_torch: its own peer calls (torch.compile, Liger-Kernel) and its
    measure_shape's order; inputs, references and errors stubbed, every call agreeing and
    timed at 10 us (time_us makes one call, the one a timing would)."""

    def __init__(self, compile: Callable[..., Any] | None, mode: str = "default") -> None:
        self.torch = fake_torch(compile)
        self.lib = types.SimpleNamespace(actbench_variant_supports=lambda index, cols: 1)
        self.iterations = 10
        self.device = "cuda"
        # with a torch.compile, Triton (absent here) is taken to be there
        self.init_peers(mode, None if compile else torch_compare.compile_unavailable(self.torch))
        self.timed: list[Any] = []  # each call time_us timed

    def inputs(self, v: CVariant, rows: int, cols: int) -> tuple[Any, Any]:
        return mock.MagicMock(name="x"), (mock.MagicMock(name="b") if v.has_bias else None)

    def backward_inputs(self, v: CVariant, rows: int, cols: int) -> tuple[Any, Any]:
        return mock.MagicMock(name="saved"), mock.MagicMock(name="dy")

    def reference(self, v: CVariant, x: Any, b: Any) -> Any:
        return mock.MagicMock(name="reference")

    def backward_reference(self, v: CVariant, saved: Any, dy: Any) -> tuple[Any, Any]:
        return mock.MagicMock(name="reference"), None

    def errors(self, got: Any, ref: Any) -> tuple[float, float]:
        return 0.0, 0.0

    def agrees(self, v: CVariant, got: Any, ref: Any, bound: Any = None) -> bool:
        return True

    def time_us(self, op: Callable[[], Any]) -> float:
        self.timed.append(op())
        return 10.0

    def actbench_op(self, v: CVariant, x: Any, b: Any, y: Any) -> Callable[[], None]:
        return lambda: None

    def actbench_backward_op(self, v: CVariant, saved: Any, dy: Any, dx: Any,
                             dbias: Any) -> Callable[[], None]:
        return lambda: None


class LigerSoftmaxFunction:
    """liger_kernel.ops.softmax.LigerSoftmaxFunction: apply (the forward) leaves its settings on
    the output's grad_fn, as an autograd Function's forward leaves them on its ctx; backward
    records the ctx and dy it was given."""

    backward_calls: list[tuple[Any, Any]] = []

    @staticmethod
    def apply(x: Any) -> Any:
        return types.SimpleNamespace(grad_fn=types.SimpleNamespace(BLOCK_SIZE=1024, num_warps=4))

    @staticmethod
    def backward(ctx: Any, dy: Any) -> Any:
        LigerSoftmaxFunction.backward_calls.append((ctx, dy))
        return mock.MagicMock(name="liger dx")


@contextlib.contextmanager
def fake_liger() -> Iterator[type]:
    """liger_kernel importable, with its softmax only (its gated kernels do not import)."""
    softmax = types.ModuleType("liger_kernel.ops.softmax")
    softmax.LigerSoftmaxFunction = LigerSoftmaxFunction
    LigerSoftmaxFunction.backward_calls = []
    torch_compare.liger_import.cache_clear()  # a lookup made without it
    try:
        with mock.patch.dict(sys.modules, {"liger_kernel": types.ModuleType("liger_kernel"),
                                           "liger_kernel.ops": types.ModuleType("liger_kernel.ops"),
                                           "liger_kernel.ops.softmax": softmax}):
            yield LigerSoftmaxFunction
    finally:
        torch_compare.liger_import.cache_clear()


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
