"""Every write the API server acknowledged survives its process being killed mid-stream (50
times), and the whole controller container being `docker kill`ed and started again: nothing
half-written, no resourceVersion given twice."""

from __future__ import annotations

import ssl
import threading
import time

import httpx
from conftest import HERE
from kubectl_tools import Kube

from emukube.lifecycle import ops

MANIFEST = HERE / "manifests" / "durability.yaml"
KILLS = 50


def writer(http: httpx.Client, acknowledged: list[str], stop: threading.Event) -> None:
    i = 0
    while not stop.is_set():
        name = f"w-{i}"
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"n": str(i)}}
        try:
            r = http.post("/api/v1/namespaces/default/configmaps", json=body)
        except httpx.HTTPError:
            time.sleep(0.02)  # not acknowledged: it may or may not have been stored
            i += 1
            continue
        if r.status_code == 201:
            acknowledged.append(name)
        i += 1


def answers(http: httpx.Client) -> bool:
    try:
        return http.get("/readyz").text == "ok"
    except httpx.HTTPError:
        return False


def until(check, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def test_acknowledged_writes_survive_kills(cluster, engine, tmp_path):
    kube = Kube(cluster.name, tmp_path)
    server, token, ca = kube.credentials()
    http = httpx.Client(base_url=server, verify=ssl.create_default_context(cadata=ca.decode()),
                        headers={"Authorization": f"Bearer {token}"}, timeout=5)
    controller = engine.containers.get(ops.controller_name(cluster.name))
    acknowledged: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(target=writer, args=(http, acknowledged, stop))
    thread.start()
    try:
        for kill in range(KILLS):
            before = len(acknowledged)
            until(lambda: len(acknowledged) > before + 3, f"writes acknowledged before kill {kill}")
            result = controller.exec_run(["pkill", "-9", "-f", "emukube.apiserver"])
            assert result.exit_code == 0, result.output
            until(lambda: answers(http), f"the API server back after kill {kill}")
        for _ in range(2):  # the whole container; Docker leaves a killed one stopped: start it again
            before = len(acknowledged)
            until(lambda: len(acknowledged) > before + 3, "writes before docker kill")
            controller.kill()
            controller.start()
            until(lambda: answers(http), "the API server back after docker kill", timeout=60)
    finally:
        stop.set()
        thread.join(10)
    assert len(acknowledged) > KILLS * 3
    items = http.get("/api/v1/namespaces/default/configmaps").json()["items"]
    stored = {c["metadata"]["name"]: c for c in items if c["metadata"]["name"].startswith("w-")}
    missing = [name for name in acknowledged if name not in stored]
    assert missing == [], f"{len(missing)} acknowledged writes lost"
    for name, cm in stored.items():  # whole objects only
        assert cm["data"] == {"n": name[2:]} and cm["metadata"]["uid"] and cm["metadata"]["resourceVersion"]
    rvs = [int(c["metadata"]["resourceVersion"]) for c in stored.values()]
    assert len(set(rvs)) == len(rvs), "a resourceVersion was given twice"
