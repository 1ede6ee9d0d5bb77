"""examples/testing, as CI runs it: `pytest -n 2` through the plugin, then nothing is left."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from emukube.lifecycle import ops

ROOT = Path(__file__).resolve().parents[2]


def test_example_suite_passes_in_parallel_and_leaves_nothing(engine):
    prefix = f"ex{os.getpid() % 100000}x"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "examples/testing"],
        cwd=ROOT, env=dict(os.environ, EMUKUBE_TEST_PREFIX=prefix), capture_output=True, text=True, timeout=900)
    out = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, out
    assert " passed" in out and "failed" not in out and "error" not in out, out
    assert ops.all_clusters(engine, prefix) == []
