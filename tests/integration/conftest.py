"""Integration tests run real containers through the real engine. No engine = failure, not skip."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
import pytest

HERE = Path(__file__).parent
# `emukube up` merges its context into the kubeconfig kubectl reads (kind's convention): the
# tests' clusters go to a file of their own, never the user's ~/.kube/config.
_KUBE_DIR = tempfile.mkdtemp(prefix="emukube-tests-kube-")
os.environ["KUBECONFIG"] = str(Path(_KUBE_DIR) / "config")


def pytest_unconfigure(config):
    """Each test process's kubeconfig folder goes with it (157 of them had piled up in /tmp)."""
    shutil.rmtree(_KUBE_DIR, ignore_errors=True)
EMUKUBE = shutil.which("emukube", path=str(Path(sys.executable).parent)) or "emukube"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def engine():
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"no Docker engine answers ({exc}); run `make test`, which starts one", pytrace=False)
    return client


def run(*args: str, cluster: str | None = None, check: bool = True, timeout: float = 240,
        env: dict | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    cmd = [EMUKUBE, *args]
    full_env = dict(os.environ, **(env or {}))
    if cluster:
        full_env["EMUKUBE_CLUSTER"] = cluster
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env, input=input)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


@contextlib.contextmanager
def holding_port(port: int):
    """For a test that needs one fixed host port (a manifest's nodePort): such tests take turns.
    Each looked for the port to be free and then made its cluster, so two of them in two workers
    could both see it free and one lose the race (README walkthrough against the newcomer's holder)."""
    with open(Path(tempfile.gettempdir()) / f"emukube-tests-port-{port}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def wait_until(check, what: str, timeout: float = 60, every: float = 0.5):
    """check()'s first truthy result; fails naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"not within {timeout:.0f}s: {what}")


class Cluster:
    def __init__(self, name: str):
        self.name = name

    def emukube(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return run(*args, cluster=self.name, **kw)

    def pods(self, prefix: str = "", namespace: str = "default") -> list[str]:
        out = self.emukube("get", "pods", "-n", namespace).stdout.splitlines()[1:]
        return [line.split()[0] for line in out if line.startswith(prefix)]

    def client_pod(self) -> str:
        return self.pods("web-")[0]

    def sh(self, script: str, pod: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return self.emukube("exec", pod or self.client_pod(), "--", "sh", "-c", script, check=check)

    def svc_field(self, name: str, column: int) -> str:
        return self.emukube("get", "svc", name).stdout.splitlines()[1].split()[column]


@pytest.fixture(scope="module")
def cluster(engine, request):
    """One cluster per test module, removed afterwards whatever happened."""
    name = f"t{os.getpid() % 100000}{request.module.__name__.rsplit('_', 1)[-1][:6]}"
    manifest = getattr(request.module, "MANIFEST", HERE / "manifests" / "services.yaml")
    c = Cluster(name)
    try:
        c.emukube("up", str(manifest), "--timeout", "150s", *getattr(request.module, "UP_ARGS", ()), timeout=300)
        yield c
    finally:
        run("down", cluster=name, check=False)
