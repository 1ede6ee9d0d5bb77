"""An `up` interrupted anywhere (Ctrl-C, SIGKILL) is completed by the next one, and an `apply`
to a running cluster goes through its API server alone, losing none of the objects before."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
from conftest import run
from leftovers import Clusters, containers, made_by, wait_for, write_app

from emukube.client.cluster import Cluster
from emukube.lifecycle import ops

CLUSTERS = Clusters("tli")
no_leftovers = CLUSTERS.fixture()
name = CLUSTERS.name
# Interrupting every step is about the controller that holds the applied objects: no pods needed.
SETTINGS = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: fast}\n"
EXTRA = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {round: 'ROUND'}\n"
# Engine calls that change something: an interruption at any of them must be recoverable.
MUTATING = ("create_network", "create_volume", "create_container", "put_archive", "start", "rename",
            "remove_container", "stop", "kill")


def applied(cluster: str) -> list[tuple[str, str]]:
    return sorted((o["kind"], o["metadata"]["name"]) for o in Cluster(cluster).objects())


def interrupting_client(at: int | str, calls: list[str]):
    """The engine client whose `at`-th mutating call (or first one of that name) raises
    KeyboardInterrupt (what Ctrl-C raises), before the call is made. Every mutating call's name
    is recorded in `calls`."""
    client = docker.from_env(timeout=120)
    for method in MUTATING:
        original = getattr(client.api, method)

        def wrapper(*args, _original=original, _method=method, **kwargs):
            calls.append(_method)
            if len(calls) == at or _method == at:
                raise KeyboardInterrupt
            return _original(*args, **kwargs)

        setattr(client.api, method, wrapper)
    return client


def controller_runs(cluster: str, generation: str) -> bool:
    status = ops.read_status(Cluster(cluster).client, cluster)
    return status is not None and status.generation == generation


def apply_interrupted_at(cluster: str, path: Path, at: int | str) -> list[str]:
    calls: list[str] = []
    handle = Cluster(cluster)
    handle._client = interrupting_client(at, calls)
    try:
        handle.apply(path, wait=False)
    except KeyboardInterrupt:
        return calls
    return []  # finished before the `at`-th call


def test_up_interrupted_at_every_engine_call_is_completed_by_the_next_up(engine, tmp_path):
    cluster = name("steps")
    path = write_app(tmp_path, text=SETTINGS)
    steps: list[str] = []

    def interrupted_then_completed(at: int | str) -> bool:
        """One round: `up` interrupted at `at`, then the next `up`; False if nothing interrupted it."""
        calls = apply_interrupted_at(cluster, path, at)
        if calls:
            steps.append(calls[-1])
            handle = Cluster(cluster)
            handle.apply(path, wait=False)  # the next `up`
            state = ops.read_state(handle.client, cluster)
            assert state.controller.name == ops.controller_name(cluster), steps
            generation = state.controller.labels["emukube.io/generation"]
            wait_for(lambda: controller_runs(cluster, generation), f"the controller after an interrupt at {steps}")
            assert applied(cluster) == [("ConfigMap", "settings")]
        run("down", cluster=cluster)
        assert made_by(engine, cluster) == []
        return bool(calls)

    for at in range(1, 30):  # every call by its place, until an `up` ran to the end
        if not interrupted_then_completed(at):
            break
    # A round may make one call more (another test's network took the subnet first: a second
    # create_network), which shifts the places of the calls after it in that round: any call
    # the places missed is interrupted by its name.
    wanted = ["create_network", "create_container", "put_archive", "rename", "start"]
    for method in [m for m in wanted if m not in steps]:
        interrupted_then_completed(method)
    assert set(wanted) <= set(steps), steps


def test_apply_touches_no_engine_and_keeps_what_was_applied_before(engine, tmp_path):
    """Objects go through the cluster's API server: an `apply` to a running cluster makes no
    mutating engine call at all (the controller is not replaced), and keeps earlier objects."""
    cluster = name("swap")
    extra = tmp_path / "extra.yaml"
    run("up", str(write_app(tmp_path, text=SETTINGS)), "--no-wait", cluster=cluster)
    before = ops.read_state(Cluster(cluster).client, cluster).controller.id
    for round_ in range(3):
        extra.write_text(EXTRA.replace("ROUND", str(round_)))
        calls = apply_interrupted_at(cluster, extra, 1)
        assert calls == [], f"apply made engine calls: {calls}"
        assert applied(cluster) == [("ConfigMap", "extra"), ("ConfigMap", "settings")]
    state = ops.read_state(Cluster(cluster).client, cluster)
    assert state.controller.id == before and state.controller.status == "running"
    run("down", cluster=cluster)


# `emukube up`, able to print every thread's stack on SIGUSR1: an `up` that outlives its
# interrupt says where it stands.
UP_WITH_STACKS = ("import faulthandler, signal, sys; faulthandler.register(signal.SIGUSR1, all_threads=True); "
                  "sys.argv[0] = 'emukube'; from emukube.cli.app import main; main()")


def start_up(cluster: str, path: Path) -> subprocess.Popen:
    env = dict(os.environ, EMUKUBE_CLUSTER=cluster)
    return subprocess.Popen([sys.executable, "-c", UP_WITH_STACKS, "up", str(path), "--timeout", "200s"],
                            env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def signal_when(proc: subprocess.Popen, sig: int, condition, what: str) -> tuple[int, str]:
    wait_for(lambda: condition() or proc.poll() is not None, what)
    assert proc.poll() is None, f"`up` finished before {what}"
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)
        time.sleep(1)
        proc.kill()  # not left running to make things after the test
        _, err = proc.communicate(timeout=30)
        raise AssertionError(f"`up` still ran 60 s after signal {sig} at {what}; its threads:\n{err}") from None
    return proc.returncode, err


@pytest.mark.parametrize("sig, moment", [
    (signal.SIGINT, "network"), (signal.SIGKILL, "controller"), (signal.SIGINT, "pods"),
], ids=["SIGINT-network", "SIGKILL-controller", "SIGINT-pods"])
def test_up_killed_shortly_after_it_starts_is_completed_by_the_next_up(engine, tmp_path, sig, moment):
    cluster = name(f"k{sig}{moment[:3]}")
    path = write_app(tmp_path)
    label = {"label": f"emukube.io/cluster={cluster}"}
    moments = {
        "network": lambda: engine.networks.list(filters=label),
        "controller": lambda: engine.containers.list(ignore_removed=True, all=True, filters={
            "label": [f"emukube.io/cluster={cluster}", "emukube.io/role=controller"]}),
        "pods": lambda: engine.containers.list(ignore_removed=True, filters={"label": [f"emukube.io/cluster={cluster}",
                                                                   "emukube.io/role=pod"]}),
    }
    proc = start_up(cluster, path)
    code, err = signal_when(proc, sig, moments[moment], f"the {moment} appeared")
    if sig == signal.SIGINT:
        assert code == 130 and "Traceback" not in err, err
    else:
        assert code == -signal.SIGKILL
    result = run("up", str(path), cluster=cluster, timeout=300)
    assert "web" in result.stdout
    assert len([c for c in containers(engine, cluster) if "_pod_" in c]) == 2
    run("down", cluster=cluster)
    assert made_by(engine, cluster) == []
