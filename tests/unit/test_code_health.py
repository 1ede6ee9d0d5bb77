"""Issue 20's rules for the package, checked on every run: only three modules at the top level,
and no function over 60 lines without a comment that says why."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "emukube"
LONGEST = 60
REASON = "# Long because:"


def test_the_top_level_holds_only_the_entry_points_and_errors():
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py", "__main__.py", "errors.py"]


def long_functions_without_a_reason() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                body = lines[node.lineno - 1:node.end_lineno]
                if length > LONGEST and not any(line.strip().startswith(REASON) for line in body[:12]):
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_is_long_without_a_reason():
    assert long_functions_without_a_reason() == []


def test_the_cli_does_not_load_the_api_server_or_its_framework():
    """Every verb pays for what the CLI imports at start: the API server (aiohttp) runs in the
    cluster, never in the user's shell."""
    loaded = subprocess.run([sys.executable, "-c", "import sys, emukube.cli.app; print(' '.join(sys.modules))"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert not [m for m in loaded if m == "aiohttp" or m.startswith("emukube.apiserver")]


def test_every_public_name_is_importable_from_the_package():
    import emukube

    assert all(getattr(emukube, name) for name in emukube.__all__)


# Methods only the docker SDK's objects have: outside runtime/, code asks runtime/ instead.
SDK_METHODS = {"exec_run", "put_archive", "get_archive", "exec_inspect", "reload", "rename"}


def _own(receiver: ast.expr) -> bool:
    """runtime's own helpers (`engine.rename`) and emukube's objects (`self.proxies.reload`)."""
    while isinstance(receiver, ast.Attribute):
        receiver = receiver.value
    return isinstance(receiver, ast.Name) and receiver.id in ("engine", "self")


def test_only_runtime_calls_the_engine():
    calls = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).parts[0] == "runtime":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SDK_METHODS \
                    and not _own(node.func.value):
                calls.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} .{node.func.attr}()")
    assert calls == []


def test_test_files_have_names_of_their_own():
    """pytest imports test files by their base name (no packages under tests/): two of the same
    name in different folders stop the whole run at collection."""
    names = [p.name for p in (PACKAGE.parent / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
