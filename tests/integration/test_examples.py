"""Every command of examples/README.md, run as written, with its output checked.

One cluster per README section (named through EMUKUBE_CLUSTER, `emukube` being the venv's),
sections in parallel threads; each section's commands in order, through bash, stdout and
stderr together as a terminal shows them. The convention is in readme_sessions.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from readme_sessions import Section, Step, localize, matches, parse_markdown, printed_lines

from emukube.lifecycle.ops import down, read_state

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "examples" / "README.md"
SECTIONS = parse_markdown(README.read_text())
VENV_BIN = str(Path(sys.executable).parent)
PARALLEL = 4
ALLOCATED = "provided port is already allocated"  # a NodePort another cluster (test) holds


def _cluster_name(index: int) -> str:
    return f"x{os.getpid() % 100000}e{index}"


def _shell(command: str, cluster: str, timeout: float) -> tuple[int, str]:
    env = dict(os.environ, EMUKUBE_CLUSTER=cluster, PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)
    return done.returncode, done.stdout


def _run_step(step: Step, cluster: str, index: int) -> tuple[int, str]:
    command = localize(step.command, index)
    is_up = command.startswith("emukube up ")
    deadline = time.monotonic() + 300
    while True:
        code, out = _shell(command, cluster, timeout=400 if is_up else 150)
        # Host ports are shared by every cluster on the machine: wait for a test that holds one.
        if not (is_up and ALLOCATED in out and time.monotonic() < deadline):
            return code, out
        time.sleep(5)


def _aftermath(engine, step: Step, cluster: str, index: int) -> str:
    """For a step that did not do as written: the same command once more, 3 s later (whether
    what failed lasted), and the controller's latest log lines (its events and warnings)."""
    time.sleep(3)
    code, out = _shell(localize(step.command, index), cluster, timeout=150)
    try:
        logs = engine.containers.get(f"{cluster}_controller").logs(tail=40).decode(errors="replace")
    except Exception as exc:  # noqa: BLE001 - a diagnostic only
        logs = f"(no controller log: {exc})"
    return f"\n--- 3 s later the same command exited {code}:\n{out[-500:]}\n--- controller log:\n{logs}"


def _network_index(engine, cluster: str) -> int:
    state = read_state(engine, cluster)
    return state.net.index if state.net else 0


def run_section(engine, number: int, section: Section) -> list[str]:
    """Run a section's commands; return what differed (empty: all as written)."""
    cluster = _cluster_name(number)
    try:
        index = 0
        for step in section.steps:
            code, out = _run_step(step, cluster, index)
            index = index or _network_index(engine, cluster)
            expected = [localize(line, index) for line in step.expected]
            if not step.exit_ok(code) or not matches(expected, out):
                shown = "\n".join(printed_lines(out))
                return [f"$ {localize(step.command, index)}\n--- expected (exit {step.exit_code}):\n"
                        + "\n".join(expected) + f"\n--- got (exit {code}):\n{shown}"
                        + _aftermath(engine, step, cluster, index)]
        return []
    finally:
        down(engine, cluster)  # whatever the section got to


@pytest.fixture(scope="module")
def outcomes(engine):
    with ThreadPoolExecutor(PARALLEL) as pool:
        futures = {s.title: pool.submit(run_section, engine, i, s) for i, s in enumerate(SECTIONS)}
        return {title: f.result() for title, f in futures.items()}


@pytest.mark.parametrize("title", [s.title for s in SECTIONS])
def test_readme_section_runs_as_written(outcomes, title):
    problems = outcomes[title]
    assert not problems, "\n\n".join(problems)


def test_every_example_file_is_started_by_a_section():
    started = " ".join(step.command for s in SECTIONS for step in s.steps if step.command.startswith("emukube up"))
    files = sorted(p.name for p in (ROOT / "examples").glob("*.yaml"))
    assert files and [f for f in files if f"examples/{f}" not in started] == []
    assert all(s.steps[-1].command == "emukube down" for s in SECTIONS), "each section cleans up"


def test_the_output_convention_can_fail():
    expected = ["NAME ENDPOINTS ...", "web 10.96....:8080", "...", "* answered by pod/web-..."]
    assert matches(expected, "NAME   ENDPOINTS   AGE\nweb    10.96.1.2:8080\n\n* answered by pod/web-x1\n")
    assert matches(expected, "NAME ENDPOINTS AGE\nweb 10.96.1.2:8080\nmore\nlines\n* answered by pod/web-x\n")
    assert not matches(expected, "NAME ENDPOINTS AGE\nweb 10.97.1.2:8080\n* answered by pod/web-x\n")
    assert not matches(["10.96....:80"], "10.96.1.2:8080")
    assert not matches(expected, "NAME ENDPOINTS AGE\nweb 10.96.1.2:8080\n* answered by pod/web-x\nextra\n")
    assert localize("curl http://127.0.100.1/ 10.96.0.21 127.0.2.2", 3) == "curl http://127.0.103.1/ 10.99.0.21 127.0.5.2"
    steps = parse_markdown("## T\n```console\n$ a\nx\n(exit 7)\n$ b\n(exit ...)\n```\n")[0].steps
    assert [(s.command, s.expected, s.exit_code) for s in steps] == [("a", ["x"], 7), ("b", [], None)]
