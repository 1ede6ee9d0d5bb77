"""Which pods go when workloads shrink, with the real kubectl: a ReplicaSet by the ReplicaSet
controller's ranking (a not-ready pod first, pod-deletion-cost, the most recently ready), a
StatefulSet one pod at a time from the highest ordinal; the image map merged across applies;
`kubectl drain` held by a PodDisruptionBudget until it allows the eviction."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest
from conftest import run, wait_until
from kubectl_tools import KUBECTL, Kube

from emukube.k8s.times import epoch
from emukube.runtime import engine as eng
from emukube.runtime import images

COST = "controller.kubernetes.io/pod-deletion-cost"
# Pinned to node-2: every pod on one node, so no pod ranks first for its node's crowding, and
# node-1 is free to drain.
MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: order}
spec:
  replicas: 5
  selector: {matchLabels: {app: order}}
  template:
    metadata: {labels: {app: order}}
    spec:
      nodeName: node-2
      terminationGracePeriodSeconds: 2
      containers:
      - name: echo
        image: emukube/echo:1.0
        readinessProbe: {exec: {command: [sh, -c, "test ! -e /tmp/unready"]}, periodSeconds: 1}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 3
  serviceName: web
  selector: {matchLabels: {app: sts}}
  template:
    metadata: {labels: {app: sts}}
    spec:
      nodeName: node-2
      terminationGracePeriodSeconds: 2
      containers: [{name: echo, image: emukube/echo:1.0}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: front}
spec:
  replicas: 1
  selector: {matchLabels: {app: front}}
  template:
    metadata: {labels: {app: front}}
    spec:
      nodeName: node-2
      containers: [{name: c, image: registry.invalid/team/front:1}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: back}
spec:
  replicas: 1
  selector: {matchLabels: {app: back}}
  template:
    metadata: {labels: {app: back}}
    spec:
      nodeName: node-2
      containers: [{name: c, image: registry.invalid/team/back:1}]
"""
GUARDED = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: guarded}
spec:
  replicas: 2
  selector: {matchLabels: {app: guarded}}
  template:
    metadata: {labels: {app: guarded}}
    spec:
      terminationGracePeriodSeconds: 2
      containers: [{name: echo, image: emukube/echo:1.0}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: guarded}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: guarded}}
"""


@pytest.fixture(scope="module")
def kube(engine, tmp_path_factory):
    work = tmp_path_factory.mktemp("order")
    manifest = work / "order.yaml"
    manifest.write_text(MANIFEST)
    name = f"so{os.getpid() % 100000}"
    try:
        run("up", str(manifest), "--nodes", "2", "--timeout", "200s", "--image-map",
            "registry.invalid/team/front:1=emukube/echo:1.0", "--image-map",
            "registry.invalid/team/back:1=emukube/echo:1.0", cluster=name, timeout=320)
        k = Kube(name, work)
        k.manifest = manifest  # type: ignore[attr-defined]
        yield k
    finally:
        run("down", cluster=name, check=False)


def pods(kube: Kube, selector: str) -> dict[str, dict]:
    """Pods by name, without those being deleted."""
    items = kube.obj("get", "pods", "-l", selector)["items"]
    return {p["metadata"]["name"]: p for p in items if not p["metadata"].get("deletionTimestamp")}


def ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions") or [])


def ready_since(pod: dict) -> float:
    return next(epoch(c.get("lastTransitionTime")) for c in pod["status"]["conditions"] if c["type"] == "Ready")


def all_ready(kube: Kube, selector: str, count: int) -> dict[str, dict]:
    return wait_until(lambda: (found := pods(kube, selector)) and len(found) == count and
                      all(map(ready, found.values())) and found, f"{count} ready pods of {selector}", timeout=120)


def test_a_replicaset_removes_the_not_ready_then_the_cheapest_then_the_newest(kube):
    names = sorted(all_ready(kube, "app=order", 5))
    keepers, unready = names[:2], names[2]
    for name in keepers:
        kube("annotate", "pod", name, f"{COST}=100")
    # Not ready beats any deletion cost.
    kube("annotate", "pod", unready, f"{COST}=1000")
    kube("exec", unready, "--", "touch", "/tmp/unready")
    wait_until(lambda: not ready(pods(kube, "app=order")[unready]), f"{unready} not ready")
    kube("scale", "deploy/order", "--replicas=4")
    left = wait_until(lambda: (found := pods(kube, "app=order")) and len(found) == 4 and found, "4 pods left")
    assert unready not in left and set(left) == set(names) - {unready}
    kube("scale", "deploy/order", "--replicas=2")
    left = wait_until(lambda: (found := pods(kube, "app=order")) and len(found) == 2 and found, "2 pods left")
    assert sorted(left) == keepers  # pod-deletion-cost honoured
    # Equal costs again: the pod ready for the least time goes first.
    for name in keepers:
        kube("annotate", "pod", name, f"{COST}-")
    kube("scale", "deploy/order", "--replicas=3")
    now = all_ready(kube, "app=order", 3)
    (newest,) = set(now) - set(keepers)
    # Precondition of the logarithmic comparison: ready at least twice as long ago.
    age = time.time() - ready_since(now[newest]) + 1
    wait_until(lambda: all(time.time() - ready_since(now[k]) >= 2 * age + 2 for k in keepers), "older keepers")
    kube("scale", "deploy/order", "--replicas=2")
    left = wait_until(lambda: (found := pods(kube, "app=order")) and len(found) == 2 and found, "2 pods left")
    assert sorted(left) == keepers


def test_a_statefulset_scales_down_one_pod_at_a_time_from_the_highest_ordinal(kube):
    all_ready(kube, "app=sts", 3)
    kube("scale", "sts/web", "--replicas=1")
    seen: list[tuple[str, ...]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        present = tuple(sorted(p["metadata"]["name"] for p in kube.obj("get", "pods", "-l", "app=sts")["items"]))
        if not seen or seen[-1] != present:
            seen.append(present)
        if present == ("web-0",):
            break
        time.sleep(0.2)
    assert seen[-1] == ("web-0",), seen
    # web-1 is still there whenever web-2 is: it goes only once web-2 is gone
    assert all("web-1" in state for state in seen if "web-2" in state), seen
    assert ("web-0", "web-1") in seen, seen


def test_a_later_image_map_adds_to_the_stored_one_and_rolls_what_it_changes(kube, engine):
    front = set(all_ready(kube, "app=front", 1))
    back = set(all_ready(kube, "app=back", 1))
    pause = images.resolve(engine, "pause")
    result = run("apply", str(kube.manifest), "--timeout", "200s",  # type: ignore[attr-defined]
                 "--image-map", f"registry.invalid/team/back:1={pause}",
                 "--image-map", "registry.invalid/team/typo:1=x", cluster=kube.cluster, timeout=320)
    # One warning: the mapping no object uses; none about those the earlier apply gave.
    assert result.stderr.count("image map:") == 1, result.stderr
    assert 'warning: image map: no container uses image "registry.invalid/team/typo:1"' in result.stderr
    assert set(pods(kube, "app=front")) == front  # its mapping held: not rolled, not failing
    rolled = all_ready(kube, "app=back", 1)
    assert set(rolled) != back
    (pod,) = rolled.values()
    assert pod["metadata"]["annotations"]["emukube.io/image-map"] == f"registry.invalid/team/back:1={pause}"
    running = eng.containers(engine, kube.cluster, **{"emukube.io/name": pod["metadata"]["name"]})
    assert [c.attrs["Config"]["Image"] for c in running] == [pause]


def test_drain_waits_for_the_disruption_budget(kube):
    applied = run("apply", "-", "--timeout", "150s", cluster=kube.cluster, input=GUARDED, timeout=240)
    assert "poddisruptionbudget/guarded created" in applied.stdout
    guarded = all_ready(kube, "app=guarded", 2)
    assert sorted(p["spec"]["nodeName"] for p in guarded.values()) == ["node-1", "node-2"]
    (on_node1,) = [n for n, p in guarded.items() if p["spec"]["nodeName"] == "node-1"]
    table = wait_until(lambda: (lines := kube.lines("get", "pdb", "guarded"))[1].split()[1:4] == ["2", "N/A", "0"]
                       and lines, "the budget's status")
    assert table[0].split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"]
    status = kube.obj("get", "pdb", "guarded")["status"]
    assert (status["currentHealthy"], status["desiredHealthy"], status["expectedPods"]) == (2, 2, 2)
    drain = subprocess.Popen([KUBECTL, "drain", "node-1", "--ignore-daemonsets", "--timeout=150s"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=kube.env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(drain.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        refused = f'error when evicting pods/"{on_node1}" -n "default" (will retry after 5s): ' \
                  "Cannot evict pod as it would violate the pod's disruption budget."
        wait_until(lambda: any(refused in line for line in lines), "the refused eviction", timeout=60)
        assert on_node1 in pods(kube, "app=guarded")  # still there, not being deleted
        # A third replica on node-2 makes room in the budget: the retried eviction goes through.
        kube("scale", "deploy/guarded", "--replicas=3")
        assert drain.wait(timeout=150) == 0, "".join(lines)
    finally:
        if drain.poll() is None:
            drain.kill()
            drain.wait()
    reader.join(timeout=5)
    assert "node/node-1 drained" in "".join(lines)
    assert on_node1 not in pods(kube, "app=guarded")
    kube("uncordon", "node-1")


def test_emukube_drain_retries_what_the_budget_refuses_until_its_timeout(kube):
    kube("patch", "pdb", "guarded", "--type=merge", "-p", '{"spec": {"minAvailable": 3}}')
    wait_until(lambda: kube.lines("get", "pdb", "guarded")[1].split()[1:4] == ["3", "N/A", "0"], "no disruption left")
    on_node2 = sorted(n for n, p in pods(kube, "app=guarded").items() if p["spec"]["nodeName"] == "node-2")
    assert on_node2
    result = run("drain", "node-2", "--timeout", "12s", cluster=kube.cluster, check=False, timeout=120)
    assert result.returncode == 1, result
    assert f'error when evicting pods/"{on_node2[0]}" -n "default" (will retry after 5s): ' \
           "Cannot evict pod as it would violate the pod's disruption budget." in result.stderr
    assert "global timeout reached: 12s" in result.stderr
    assert set(on_node2) <= set(pods(kube, "app=guarded"))  # none of them taken
    kube("uncordon", "node-2")
