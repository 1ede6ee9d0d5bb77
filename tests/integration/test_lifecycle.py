"""Atomic and idempotent: validated before Docker is touched, `up` twice changes nothing, an `up`
interrupted anywhere is completed by the next one, and `down` leaves nothing, even half-made."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import EMUKUBE, run
from emukube import cluster_ops as ops
from emukube.api import Cluster
from emukube.images import resolve

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: echo
          image: emukube/echo:1.0
          ports: [{name: http, containerPort: 8080}]
          readinessProbe: {httpGet: {path: /readyz, port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast}
"""
# Interrupting every step is about the controller that holds the applied objects: no pods needed.
SETTINGS = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: fast}\n"
EXTRA = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {round: 'ROUND'}\n"
# Engine calls that change something: an interruption at any of them must be recoverable.
MUTATING = ("create_network", "create_volume", "create_container", "put_archive", "start", "rename",
            "remove_container", "stop", "kill")
USED: list[str] = []  # every cluster this module makes, checked for leftovers at the end


def name(suffix: str) -> str:
    cluster = f"tlc{os.getpid() % 100000}{suffix}"
    USED.append(cluster)
    return cluster


def manifest(tmp_path: Path, replicas: int = 2, text: str = MANIFEST) -> Path:
    path = tmp_path / f"app-{replicas}.yaml"
    path.write_text(text.replace("REPLICAS", str(replicas)))
    return path


def made_by(engine, cluster: str) -> list[str]:
    label = {"label": f"emukube.io/cluster={cluster}"}
    return sorted([f"container {c.name}" for c in engine.containers.list(all=True, filters=label)]
                  + [f"network {n.name}" for n in engine.networks.list(filters=label)]
                  + [f"volume {v.name}" for v in engine.volumes.list(filters=label)])


def containers(engine, cluster: str) -> dict[str, tuple]:
    """name -> (id, started at, restarts): what must not change when nothing changed."""
    out = {}
    for c in engine.containers.list(all=True, filters={"label": f"emukube.io/cluster={cluster}"}):
        out[c.name] = (c.id, c.attrs["State"]["StartedAt"], c.attrs["RestartCount"])
    return out


def applied(cluster: str) -> list[tuple[str, str]]:
    return sorted((o["kind"], o["metadata"]["name"]) for o in Cluster(cluster).objects())


def wait_for(condition, what: str, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"{what} did not happen within {timeout:.0f}s")


@pytest.fixture(scope="module", autouse=True)
def no_leftovers(engine):
    yield
    for cluster in set(USED):
        run("down", cluster=cluster, check=False)
    assert [made_by(engine, c) for c in set(USED) if made_by(engine, c)] == []


# -- validated before Docker is touched -------------------------------------------------

def test_a_failed_allocation_creates_nothing(engine, tmp_path):
    cluster = name("alloc")
    bad = MANIFEST.replace("selector: {app: web}\n  ports", "clusterIP: 10.200.0.1\n  selector: {app: web}\n  ports")
    result = run("up", str(manifest(tmp_path, text=bad)), cluster=cluster, check=False)
    assert result.returncode == 2
    assert 'The Service "web" is invalid: spec.clusterIPs: Invalid value: []string{"10.200.0.1"}' in result.stderr
    assert "Traceback" not in result.stderr
    assert made_by(engine, cluster) == []


def test_a_missing_system_image_creates_nothing(engine, tmp_path):
    cluster = name("image")
    result = run("up", str(manifest(tmp_path)), cluster=cluster, check=False,
                 env={"EMUKUBE_IMAGE_CONTROLLER": "emukube/no-such-image:0"})
    assert result.returncode == 2
    assert result.stderr.strip() == 'error: image "emukube/no-such-image:0" (the controller) is not present on the engine'
    assert made_by(engine, cluster) == []


# -- idempotent -------------------------------------------------------------------------

def code_version() -> str:
    return hashlib.sha256(ops._code_archive()).hexdigest()


def test_up_twice_changes_nothing_the_second_time(engine, tmp_path):
    cluster = name("twice")
    path = manifest(tmp_path)
    first = run("up", str(path), cluster=cluster, timeout=300)
    code = code_version()
    assert first.stdout.splitlines()[:3] == ["deployment/web created", "service/web created",
                                             "configmap/settings created"]
    before = containers(engine, cluster)
    assert len(before) == 5  # controller, CoreDNS, 2 pods, 1 proxy
    second = run("up", str(path), cluster=cluster, timeout=300)
    again = run("apply", str(path), "--no-wait", cluster=cluster)
    assert second.stdout.splitlines()[:3] == ["deployment/web unchanged", "service/web unchanged",
                                              "configmap/settings unchanged"]
    assert "configured" not in again.stdout and "created" not in again.stdout
    after = containers(engine, cluster)
    if code_version() != code:  # emukube's code was edited meanwhile: a new controller is right
        before.pop(ops.controller_name(cluster)), after.pop(ops.controller_name(cluster))
    assert after == before  # same ids, none restarted
    run("down", cluster=cluster)
    assert made_by(engine, cluster) == []


# -- interrupted ------------------------------------------------------------------------

class Interrupted(Exception):
    pass


def interrupting_client(at: int, calls: list[str]):
    """The engine client whose `at`-th mutating call raises KeyboardInterrupt (what Ctrl-C
    raises), before the call is made. Every mutating call's name is recorded in `calls`."""
    import docker

    client = docker.from_env(timeout=120)
    for method in MUTATING:
        original = getattr(client.api, method)

        def wrapper(*args, _original=original, _method=method, **kwargs):
            calls.append(_method)
            if len(calls) == at:
                raise KeyboardInterrupt
            return _original(*args, **kwargs)

        setattr(client.api, method, wrapper)
    return client


def controller_runs(cluster: str, generation: str) -> bool:
    status = ops.read_status(Cluster(cluster).client, cluster)
    return bool(status) and status.get("generation") == generation


def apply_interrupted_at(cluster: str, path: Path, at: int) -> list[str]:
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
    path = manifest(tmp_path, text=SETTINGS)
    steps = []
    for at in range(1, 30):
        calls = apply_interrupted_at(cluster, path, at)
        if not calls:
            break
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
    assert {"create_network", "create_container", "put_archive", "rename", "start"} <= set(steps)


def test_apply_interrupted_at_every_engine_call_keeps_what_was_applied_before(engine, tmp_path):
    """Replacing the controller (which holds the applied objects) is the delicate step: the new
    one is made beside the old and swapped in, so an interruption never loses earlier objects."""
    cluster = name("swap")
    extra = tmp_path / "extra.yaml"
    run("up", str(manifest(tmp_path, text=SETTINGS)), "--no-wait", cluster=cluster)
    steps = []
    for at in range(1, 30):
        extra.write_text(EXTRA.replace("ROUND", str(at)))  # a new desired state every round
        calls = apply_interrupted_at(cluster, extra, at)
        if not calls:
            break
        steps.append(calls[-1])
        assert ("ConfigMap", "settings") in applied(cluster), steps
        Cluster(cluster).apply(extra, wait=False)
        assert applied(cluster) == [("ConfigMap", "extra"), ("ConfigMap", "settings")], steps
        state = ops.read_state(Cluster(cluster).client, cluster)
        assert state.controller.name == ops.controller_name(cluster)
        assert state.controller.status in ("running", "restarting")
    assert {"create_container", "remove_container", "rename", "start"} <= set(steps)
    run("down", cluster=cluster)


def start_up(cluster: str, path: Path) -> subprocess.Popen:
    env = dict(os.environ, EMUKUBE_CLUSTER=cluster)
    return subprocess.Popen([EMUKUBE, "up", str(path), "--timeout", "200s"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def signal_when(proc: subprocess.Popen, sig: int, condition, what: str) -> tuple[int, str]:
    wait_for(lambda: condition() or proc.poll() is not None, what)
    assert proc.poll() is None, f"`up` finished before {what}"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


@pytest.mark.parametrize("sig, moment", [
    (signal.SIGKILL, "network"), (signal.SIGINT, "network"),
    (signal.SIGKILL, "controller"), (signal.SIGINT, "pods"),
], ids=["SIGKILL-network", "SIGINT-network", "SIGKILL-controller", "SIGINT-pods"])
def test_up_killed_shortly_after_it_starts_is_completed_by_the_next_up(engine, tmp_path, sig, moment):
    cluster = name(f"k{sig}{moment[:3]}")
    path = manifest(tmp_path)
    label = {"label": f"emukube.io/cluster={cluster}"}
    moments = {
        "network": lambda: engine.networks.list(filters=label),
        "controller": lambda: engine.containers.list(all=True, filters={
            "label": [f"emukube.io/cluster={cluster}", "emukube.io/role=controller"]}),
        "pods": lambda: engine.containers.list(filters={"label": [f"emukube.io/cluster={cluster}",
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


# -- down -------------------------------------------------------------------------------

def test_down_removes_a_half_made_cluster(engine):
    """Only the network, a volume and some containers (one never started), no controller."""
    cluster = name("half")
    client = Cluster(cluster).client
    net = ops.plan_network(client, cluster)
    ops.create_network(client, net)
    labels = {"emukube.io/cluster": cluster, "emukube.io/role": "pod"}
    pause = resolve(client, "pause")
    engine.volumes.create(f"{cluster}_default_p_data", labels={"emukube.io/cluster": cluster})
    running = engine.containers.run(pause, name=f"{cluster}_pod_default_a", labels=labels, detach=True,
                                    network=net.network_name)
    engine.containers.create(pause, name=f"{cluster}_pod_default_b", labels=labels, network=net.network_name)
    assert running.status in ("created", "running")
    assert len(made_by(engine, cluster)) == 4
    result = run("down", cluster=cluster)
    assert f"cluster {cluster} removed" in result.stdout
    assert made_by(engine, cluster) == []
    assert run("down", cluster=cluster).returncode == 0  # and again: nothing to do is fine


def test_down_after_the_controller_was_removed_by_hand(engine, tmp_path):
    cluster = name("noctl")
    run("up", str(manifest(tmp_path, replicas=1)), "--no-wait", cluster=cluster)
    wait_for(lambda: len(containers(engine, cluster)) >= 3, "the pods")
    engine.containers.get(ops.controller_name(cluster)).remove(force=True)
    run("down", cluster=cluster)
    assert made_by(engine, cluster) == []
