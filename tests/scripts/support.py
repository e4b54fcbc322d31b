"""Helpers shared by the script tests: where things are, running a script as a user would,
and fixture logs read, changed and written to a temporary folder."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(SCRIPTS))


def run_script(name: str, *args: str | Path) -> subprocess.CompletedProcess:
    """Runs scripts/<name> in a fresh interpreter; returns its exit status and output."""
    return subprocess.run([sys.executable, str(SCRIPTS / name), *map(str, args)],
                          capture_output=True, text=True, timeout=60)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def write_log(folder: Path, name: str, log: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(json.dumps(log, indent=1))
    return path


def changed(log: dict[str, Any], run_name: str, change: Callable[[dict], None]) -> dict:
    """A copy of `log` with `change` applied to every row (repetitions and aggregates) of one
    benchmark; fails loudly when the fixture has no such benchmark."""
    out = copy.deepcopy(log)
    rows = [b for b in out["benchmarks"] if b.get("run_name", b["name"]) == run_name]
    if not rows:
        raise KeyError(f"no benchmark {run_name!r} in the fixture")
    for row in rows:
        change(row)
    return out


def scale_time(factor: float) -> Callable[[dict], None]:
    """Multiplies a benchmark's times (not its cv, a ratio) by factor."""
    def change(row: dict) -> None:
        if row.get("aggregate_name") not in ("cv",):
            row["real_time"] *= factor
            row["cpu_time"] *= factor
    return change


def before_types(log: dict[str, Any]) -> dict[str, Any]:
    """A copy of `log` as actbench wrote it before the element types: no dtype part in the
    names or the registry ids (everything was f32)."""
    out = copy.deepcopy(log)
    for row in out["benchmarks"]:
        for key in ("name", "run_name"):
            row[key] = row[key].replace("/f32/", "/", 1)
    registry = json.loads(out["context"]["actbench_variants"])
    for entry in registry:
        entry["id"] = entry["id"].removesuffix("/f32")
        del entry["dtype"]
    out["context"]["actbench_variants"] = json.dumps(registry)
    return out
