"""The pure cores (routing, contact centre) stay pure: no I/O, no clock reads (ARCHITECTURE principle 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PBX = Path(__file__).resolve().parent.parent / "pbx"
# acd/service.py is the contact centre's I/O edge (store, AMI); everything else there is pure.
CORE = sorted([*(PBX / "routing").glob("*.py"), *(p for p in (PBX / "acd").glob("*.py") if p.name != "service.py")])
FORBIDDEN_MODULES = {"sqlalchemy", "pbx.db", "socket", "asyncio", "redis", "aiohttp", "panoramisk", "time",
                     "os", "subprocess", "requests", "random"}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}
FORBIDDEN_MODULES |= {"pbx.state", "pbx.asterisk"}


def test_core_modules_exist() -> None:
    assert {p.name for p in CORE} >= {"engine.py", "compile.py", "schedule.py", "validate.py", "model.py",
                                      "dispatch.py", "agents.py", "ewt.py", "callback.py", "announce.py"}


@pytest.mark.parametrize("path", CORE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_core_module_does_no_io_and_reads_no_clock(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            names = []
        for name in names:
            assert not any(name == m or name.startswith(m + ".") for m in FORBIDDEN_MODULES), \
                f"{path.name} imports {name}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in CLOCK_CALLS, f"{path.name}:{node.lineno} calls .{node.func.attr}()"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"open", "print", "input"}, f"{path.name}:{node.lineno} calls {node.func.id}()"
