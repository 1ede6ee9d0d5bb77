"""Section 10: what a running workload sees of a change (issue 17's goals).

One cluster (`emukube up` of a ConfigMap and a pod mounting it), then:
1. ConfigMap change -> file updated: a shell loop in the pod waits (every 10 ms) for the new
   value in the mounted file and prints the time it saw it; the change is a PATCH through the
   API, timed from just before it is sent (the pod shares the host's clock). Goal <= 2 s.
2. Crashed container -> ready again: a pod (echo app, readiness probe httpGet /readyz every 1 s)
   whose shell exits 1 once /tmp/crash exists. Created through the API and timed until Ready
   (its first start), then `touch /tmp/crash` and timed until Ready again (its first restart,
   which the kubelet makes at once: back-off starts with the second). A new pod per try.
   Goal: crash to ready <= first start to ready + 0.5 s.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

from emukube.client.cluster import unique_name
from emukube.runtime.pods import container_name

from .api import Api
from .context import Context, log
from .measure import Row, added_below, at_most
from .startup import EMUKUBE

SECTION = "10"
BASE = """apiVersion: v1
kind: ConfigMap
metadata: {name: live}
data: {value: v0}
---
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  containers:
  - name: echo
    image: emukube/echo:1.0
    volumeMounts: [{name: config, mountPath: /etc/live}]
  volumes: [{name: config, configMap: {name: live}}]
"""
CRASHER = "/usr/local/bin/netexec & until [ -e /tmp/crash ]; do sleep 0.05; done; exit 1"
POLL = 0.02


def run(ctx: Context) -> list[Row]:
    tries = 3 if ctx.quick else 10
    tmp = Path(tempfile.mkdtemp(prefix="ekbench-live-"))
    (tmp / "base.yaml").write_text(BASE)
    api = Api(ctx, unique_name("ekbl"), tmp / "api")
    api.tmp.mkdir()
    rows: list[Row] = []
    try:
        api.cli([EMUKUBE, "up", str(tmp / "base.yaml"), "--cluster", api.name, "--timeout", "300s",
                 "--kubeconfig", str(api.kubeconfig)], timeout=400)
        api.connect()
        rows.append(_guard("ConfigMap change -> file updated in a running pod", lambda: _config(ctx, api, tries)))
        rows.append(_guard("crashed container -> ready again", lambda: _restart(ctx, api, tries)))
    finally:
        api.remove()
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def _guard(what: str, measure) -> Row:
    try:
        return measure()
    except Exception as exc:  # noqa: BLE001 - reported in the table
        log(f"  failed: {type(exc).__name__}: {exc}")
        return Row(SECTION, what, "", error=f"{type(exc).__name__}: {str(exc)[:200]}")


def _config(ctx: Context, api: Api, tries: int) -> Row:
    pod = ctx.client.containers.get(container_name(api.name, "default", "reader"))
    took: list[float] = []
    for i in range(1, tries + 1):
        value = f"v{i}"
        seen: dict = {}
        script = (f'timeout 10 sh -c \'until [ "$(cat /etc/live/value 2>/dev/null)" = {value} ]; '
                  f"do sleep 0.01; done; date +%s.%N'")
        watcher = threading.Thread(target=lambda: seen.update(out=pod.exec_run(["sh", "-c", script])))
        watcher.start()
        time.sleep(0.3)  # the loop runs (and reads the old value) before the change is sent
        t0 = time.time()
        r = api.http.patch("/api/v1/namespaces/default/configmaps/live", json={"data": {"value": value}},
                           headers={"Content-Type": "application/merge-patch+json"})
        r.raise_for_status()
        watcher.join(15)
        result = seen.get("out")
        if result is None or result.exit_code:
            raise RuntimeError(f"the pod did not see {value} within 10 s")
        took.append(float(result.output.decode().split()[-1]) - t0)
        log(f"  ConfigMap change {i}: file updated after {took[-1]:.2f} s")
    return Row(SECTION, "ConfigMap change (PATCH) -> file updated in a running pod", "s", took,
               goal=at_most(2, "s"), note=f"max {max(took):.2f} s of {len(took)} tries")


def _restart(ctx: Context, api: Api, tries: int) -> Row:
    first: list[float] = []
    again: list[float] = []
    for i in range(tries):
        name = f"crasher-{i}"
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
               "spec": {"containers": [{
                   "name": "app", "image": "emukube/echo:1.0", "command": ["sh", "-c", CRASHER],
                   "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}, "periodSeconds": 1}}]}}
        t0 = time.monotonic()
        api.http.post("/api/v1/namespaces/default/pods", json=pod).raise_for_status()
        _until(api, name, lambda p: _ready(p), 60)
        first.append(time.monotonic() - t0)
        container = ctx.client.containers.get(container_name(api.name, "default", name))
        container.exec_run(["touch", "/tmp/crash"])
        t1 = time.monotonic()
        _until(api, name, lambda p: _restarts(p) >= 1 and _ready(p), 60)
        again.append(time.monotonic() - t1)
        log(f"  {name}: ready {first[-1]:.2f} s after creation, again {again[-1]:.2f} s after its crash")
        api.http.delete(f"/api/v1/namespaces/default/pods/{name}").raise_for_status()
    return Row(SECTION, "crashed container -> ready again (readiness every 1 s; first restart)", "s", again,
               baseline="its first start until ready", base_samples=first, goal=added_below(0.5, "s"),
               note=f"max {max(again):.2f} s of {len(again)} tries")


def _until(api: Api, name: str, check, limit: float) -> dict:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        r = api.http.get(f"/api/v1/namespaces/default/pods/{name}")
        if r.status_code == 200 and check(r.json()):
            return r.json()
        time.sleep(POLL)
    raise TimeoutError(f"pod {name}: not within {limit:.0f} s")


def _ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _restarts(pod: dict) -> int:
    return sum(int(s.get("restartCount") or 0) for s in (pod.get("status") or {}).get("containerStatuses") or [])
