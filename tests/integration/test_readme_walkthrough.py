"""The README's "Start here", typed into a real terminal (pexpect drives bash on a pty) command
by command, checking what a newcomer would read on the screen after each one.

The commands are read from the README, so the test follows it. `make test` is left out (it is
what runs this test); the cluster gets its own name through EMUKUBE_CLUSTER; the README's
LoadBalancer address (that of the first cluster on a machine) becomes the one `make demo`
printed for this cluster, as a reader would take it from there.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pexpect
import pytest
from conftest import holding_port
from readme_sessions import localize, printed_lines

from emukube.lifecycle.ops import down, other_clusters_node_ports, read_state

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "walkthrough-prompt> "
PHONE_PORT = 30080
KITCHEN = r"kitchen-[a-z0-9]+-[a-z0-9]{5}"
SKIPPED = {"make test": "runs the test suite, this test included"}


def start_here_commands() -> list[str]:
    section = (ROOT / "README.md").read_text().split("## Start here", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.splitlines():
            command = re.split(r"\s+#\s", line, maxsplit=1)[0].strip()
            if command and command not in SKIPPED:
                commands.append(command)
    return commands


class Terminal:
    """bash on a pty: type a line, read the screen up to the next prompt, and the exit status."""

    def __init__(self, cluster: str):
        env = dict(os.environ, EMUKUBE_CLUSTER=cluster, PS1=PROMPT, TERM="xterm-256color")
        env.pop("PROMPT_COMMAND", None)
        self.shell = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], cwd=str(ROOT), env=env,
                                   encoding="utf-8", timeout=60, dimensions=(50, 200))
        self.shell.expect_exact(PROMPT)

    def type(self, command: str, timeout: float) -> tuple[str, int]:
        self.shell.sendline(command)
        self.shell.expect_exact(PROMPT, timeout=timeout)
        lines = printed_lines(self.shell.before)
        shown = "\n".join(lines[1:] if lines and lines[0].strip().endswith(command[-20:]) else lines)
        self.shell.sendline("echo exit=$?")
        self.shell.expect(r"exit=(\d+)")
        status = int(self.shell.match.group(1))
        self.shell.expect_exact(PROMPT)
        return shown, status

    def close(self) -> None:
        self.shell.close(force=True)


def _wait_for_phone_port(engine, cluster: str) -> None:
    """NodePorts are host ports: another cluster (another test) may hold the shop's for a while."""
    deadline = time.monotonic() + 300
    while PHONE_PORT in other_clusters_node_ports(engine, cluster):
        if time.monotonic() > deadline:
            pytest.fail(f"port {PHONE_PORT} stayed taken by {other_clusters_node_ports(engine, cluster)[PHONE_PORT]}")
        time.sleep(5)


def _pods(engine, cluster: str, prefix: str) -> set[str]:
    from emukube.client.snapshot import Snapshot

    return {p.name for p in Snapshot(engine, cluster).pods if p.name.startswith(prefix)}


def test_start_here_reads_as_the_readme_says(engine):
    commands = start_here_commands()
    assert commands[0] == "make demo" and commands[-1].endswith("emukube down"), commands
    with holding_port(PHONE_PORT):  # the README's curl names it
        _walk(engine, commands)


def _walk(engine, commands: list[str]) -> None:
    cluster = f"t{os.getpid() % 100000}walk"
    _wait_for_phone_port(engine, cluster)
    term = Terminal(cluster)
    index, lb_ip, checked = 0, "", []
    try:
        for command in commands:
            typed = localize(command, index)
            screen, status = term.type(typed, timeout=600 if command.startswith("make") else 120)
            assert status == 0, f"$ {typed}\n{screen}"
            if command == "make demo":
                index = read_state(engine, cluster).net.index
                lb_ip = localize("127.0.100.1", index)
                for name in ("kitchen", "phone", "reception", "orders", "supplier", "cashier"):
                    assert re.search(rf"^{name}\s+(ClusterIP|NodePort|LoadBalancer|ExternalName)\s", screen, re.M), screen
                assert f"curl http://127.0.0.1:{PHONE_PORT}/" in screen and lb_ip in screen, screen
            elif command.startswith("curl "):
                assert re.fullmatch(KITCHEN, screen) and screen in _pods(engine, cluster, "kitchen-"), screen
            elif "kubectl get pods -o wide" in command:  # the real kubectl, with the context `up` made current
                rows = [line.split() for line in screen.splitlines()]
                assert rows[0][:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], screen
                kitchens = [r for r in rows[1:] if re.fullmatch(KITCHEN, r[0])]
                assert len(kitchens) == 3 and all(r[1:3] == ["1/1", "Running"] for r in kitchens), screen
            elif command.endswith("emukube get svc"):
                rows = {line.split()[0]: line.split() for line in screen.splitlines()[1:]}
                assert set(rows) >= {"kitchen", "phone", "reception", "orders", "supplier", "cashier"}, screen
                assert rows["reception"][3] == lb_ip and rows["phone"][4] == f"80:{PHONE_PORT}/TCP", screen
            elif command.endswith("emukube dns orders"):
                records = re.findall(r"^orders\.default\.svc\.cluster\.local\.\s+\d+\s+IN\s+A\s+10\.\d+\.\d+\.\d+$",
                                     screen, re.M)
                assert len(records) == 3 == len(screen.splitlines()), screen
            elif command.endswith("emukube dns supplier CNAME"):
                assert re.fullmatch(r"supplier\.default\.svc\.cluster\.local\.\s+\d+\s+IN\s+CNAME\s+"
                                    r"flour\.suppliers\.svc\.cluster\.local\.", screen), screen
            elif command.endswith("curl -s http://cashier/hostname"):
                assert screen in _pods(engine, cluster, "cashier-"), screen
            elif command.endswith("emukube curl svc/kitchen/hostname"):
                answer, note = screen.splitlines()
                assert answer in _pods(engine, cluster, "kitchen-"), screen
                assert note.startswith(f"* answered by pod/{answer} ") and "via service/kitchen" in note, screen
            elif command.endswith("emukube down"):
                assert re.fullmatch(rf"cluster {cluster} removed \(\d+ containers\)", screen), screen
            else:
                pytest.fail(f"README command without a check here: {command}")
            checked.append(command)
    finally:
        term.close()
        down(engine, cluster)
    assert checked == commands
