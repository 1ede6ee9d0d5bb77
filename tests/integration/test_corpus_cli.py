"""`emukube up` on every bad-input case: exit 2, the expected lines, no traceback, nothing created."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from conftest import run
from leftovers import made_by

sys.path.insert(0, str(Path(__file__).parent.parent / "corpus"))
from cases import all_cases, stderr_lines  # noqa: E402

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_up_refuses_bad_input_and_creates_nothing(engine, case, tmp_path):
    cluster = f"tcorpus{os.getpid() % 100000}"
    path = case.write(tmp_path)
    result = run("up", str(path), "--timeout", "30s", cluster=cluster, check=False, timeout=120)
    try:
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
        assert stderr_lines(result.stderr) == case.lines(path)
        assert result.stdout == ""  # no "created" line for the valid documents of a bad file
        assert made_by(engine, cluster) == []
    finally:
        if made_by(engine, cluster):
            run("down", cluster=cluster, check=False)


def test_bad_input_on_stdin_names_stdin(engine):
    cluster = f"tcorpus{os.getpid() % 100000}"
    case = next(c for c in CASES if c.name == "duplicate-names.yaml")
    result = run("up", "-", cluster=cluster, check=False, input=case.source.read_text())
    assert result.returncode == 2
    assert stderr_lines(result.stderr) == case.lines("<stdin>")
    assert made_by(engine, cluster) == []
