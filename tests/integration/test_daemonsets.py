"""DaemonSets on a cluster of two nodes, as kubectl users run them: a pod on every node behind
its Service, a rolling update with its history and undo, a cordon, a drain and a nodeSelector."""

from __future__ import annotations

import re

import httpx
import pytest
from conftest import HERE, wait_until
from kubectl_tools import Kube

from emukube import Cluster, unique_name

MANIFEST = HERE / "manifests" / "daemonset.yaml"


@pytest.fixture(scope="module")
def kube(engine, tmp_path_factory):
    c = Cluster.up(MANIFEST, name=unique_name("tds"), nodes=2, timeout=150)
    try:
        yield Kube(c.name, tmp_path_factory.mktemp("kube"))
    finally:
        c.down()


def placement(kube: Kube) -> dict[str, str]:
    """node -> the name of its running agent pod (terminating pods left out)."""
    out = {}
    for pod in kube.obj("get", "pods", "-l", "app=agent")["items"]:
        if not pod["metadata"].get("deletionTimestamp") and pod["status"].get("phase") == "Running":
            out[pod["spec"]["nodeName"]] = pod["metadata"]["name"]
    return out


def row(kube: Kube) -> list[str]:
    return kube.lines("get", "ds", "agent")[1].split()


def test_one_pod_on_every_node_behind_the_service(kube):
    kube("rollout", "status", "ds/agent", "--timeout=60s")
    assert row(kube)[:7] == ["agent", "2", "2", "2", "2", "2", "<none>"], kube.lines("get", "ds")
    pods = placement(kube)
    assert sorted(pods) == ["node-1", "node-2"], pods
    pod = kube.obj("get", "pod", pods["node-2"])
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"
    terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"][0]["matchFields"][0]["values"] == ["node-2"]
    # Both pods answer through the Service (a new connection per request, 40 at most).
    script = "for i in $(seq 40); do curl -s http://agent/hostname; echo; done"
    seen = set(kube("exec", pods["node-1"], "--", "sh", "-c", script, timeout=60).stdout.split())
    assert seen == set(pods.values()), seen
    # Each node's hostPort reaches the daemon pod on that node, from the host too.
    for node in kube.obj("get", "nodes")["items"]:
        address = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "ExternalIP")
        answer = httpx.get(f"http://{address}:9101/hostname", timeout=5).text
        assert answer == pods[node["metadata"]["name"]], (node["metadata"]["name"], answer)
    assert "ds" in kube("api-resources", "--api-group=apps").stdout.split()


def test_rolling_update_history_and_undo(kube):
    before = placement(kube)
    kube("set", "env", "ds/agent", "STAGE=2")
    out = kube("rollout", "status", "ds/agent", "--timeout=90s", timeout=100).stdout
    assert out.strip().endswith('daemon set "agent" successfully rolled out'), out
    after = placement(kube)
    assert sorted(after) == ["node-1", "node-2"] and not set(after.values()) & set(before.values())
    events = kube("events", "--for", "ds/agent").stdout
    for name in before.values():
        assert f"Deleted pod: {name}" in events, events
    for name in after.values():
        assert f"Created pod: {name}" in events, events
    history = kube("rollout", "history", "ds/agent").stdout
    assert re.findall(r"^(\d+)\s", history, re.M) == ["1", "2"], history
    kube("rollout", "undo", "ds/agent")
    kube("rollout", "status", "ds/agent", "--timeout=90s", timeout=100)
    assert "env" not in kube.obj("get", "ds", "agent")["spec"]["template"]["spec"]["containers"][0]
    history = kube("rollout", "history", "ds/agent").stdout
    assert re.findall(r"^(\d+)\s", history, re.M) == ["2", "3"], history
    restarted = placement(kube)
    kube("rollout", "restart", "ds/agent")
    kube("rollout", "status", "ds/agent", "--timeout=90s", timeout=100)
    assert not set(placement(kube).values()) & set(restarted.values())


def test_cordon_drain_and_node_selector(kube):
    kube("cordon", "node-2")
    try:
        gone = placement(kube)["node-2"]
        kube("delete", "pod", gone)
        # A daemon tolerates the cordon: its pod comes back on node-2.
        wait_until(lambda: placement(kube).get("node-2") not in (None, gone), "a new pod on node-2", timeout=60)
        refused = kube("drain", "node-2", "--timeout=20s", check=False)
        assert refused.returncode != 0
        assert "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)" in refused.stderr
        drained = kube("drain", "node-2", "--ignore-daemonsets", "--timeout=30s", timeout=60)
        assert "Warning: ignoring DaemonSet-managed Pods: default/" in drained.stderr
        assert "node/node-2 drained" in drained.stdout
        # emukube's drain leaves the daemon pod too (it would come back on the cordoned node).
        assert Cluster(kube.cluster).drain("node-2", timeout=30) == []
        assert "node-2" in placement(kube)
    finally:
        kube("uncordon", "node-2")
    kube("label", "node", "node-1", "agents=yes")
    kube("patch", "ds", "agent", "-p", '{"spec":{"template":{"spec":{"nodeSelector":{"agents":"yes"}}}}}')
    wait_until(lambda: list(placement(kube)) == ["node-1"] and row(kube)[1:6] == ["1"] * 5,
               "the agent on node-1 only", timeout=60)
    assert row(kube)[6] == "agents=yes"
    kube("delete", "ds", "agent")
    wait_until(lambda: not kube.obj("get", "pods", "-l", "app=agent")["items"], "the agent's pods gone",
               timeout=60)
