"""The Docker engine restarted under a running cluster: `emukube up` brings it back.

dockerd stops every container when it stops; on its return Docker restarts emukube's own
containers (restart policy "always"), and the controller brings back the pods. `up` with the
same manifest then returns once every Service answers again, at the same ClusterIP and
NodePort. The engine is stopped and started as this project starts it (scripts/ensure-docker.sh),
so this runs where that script runs the engine: as root, with a local dockerd.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import docker
import httpx
import pytest
from conftest import HERE
from leftovers import wait_for

MANIFEST = HERE / "manifests" / "faults.yaml"
ROOT = HERE.parent.parent
PID_FILE = Path("/var/run/docker.pid")


def dockerd_pid() -> int:
    try:
        pid = int(PID_FILE.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        pytest.fail("no local dockerd to restart (this test needs the engine scripts/ensure-docker.sh "
                    "starts, as root)", pytrace=False)


def restart_engine() -> None:
    pid = dockerd_pid()
    os.kill(pid, signal.SIGTERM)  # dockerd stops its containers, then exits
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("dockerd did not stop within 90 s", pytrace=False)
    subprocess.run(["bash", str(ROOT / "scripts" / "ensure-docker.sh")], check=True, timeout=120)


def test_up_brings_the_cluster_back_after_the_engine_restarted(engine, cluster):
    cluster_ip = cluster.svc_field("web", 2)
    node_port = int(cluster.svc_field("web-np", 4).split(":")[1].split("/")[0])
    assert httpx.get(f"http://127.0.0.1:{node_port}/hostname", timeout=5).text.startswith("web-")

    restart_engine()
    fresh = docker.from_env()
    assert fresh.containers.list(ignore_removed=True, filters={"label": f"emukube.io/cluster={cluster.name}"}) is not None

    result = cluster.emukube("up", str(MANIFEST), "--timeout", "150s", timeout=300)
    assert "deployment/web unchanged" in result.stdout
    pods = set(cluster.pods("web-"))
    assert len(pods) == 2
    assert cluster.svc_field("web", 2) == cluster_ip
    wait_for(lambda: cluster.sh("curl -s -m 2 http://web/hostname", check=False).stdout.strip() in pods,
             "the ClusterIP answering from a pod", every=0.5)
    seen = set()
    for _ in range(40):
        seen.add(httpx.get(f"http://127.0.0.1:{node_port}/hostname", timeout=5).text)
    assert seen == pods
