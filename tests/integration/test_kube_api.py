"""emukube's API server over HTTPS as clients other than kubectl see it: the Python
`kubernetes` client from the host, and what bad requests get back (the API server's Status)."""

from __future__ import annotations

import json
import ssl
import threading
import time

import httpx
import pytest
from conftest import HERE
from kubectl_tools import Kube
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch

MANIFEST = HERE / "manifests" / "kubectl.yaml"


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    k = Kube(cluster.name, tmp_path_factory.mktemp("kube"))
    k("rollout", "status", "deployment/web", "--timeout=90s")
    return k


@pytest.fixture(scope="module")
def core(kube) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(k8s_config.new_client_from_config(str(kube.config)))


@pytest.fixture(scope="module")
def http(kube):
    server, token, ca = kube.credentials()
    context = ssl.create_default_context(cadata=ca.decode())
    with httpx.Client(base_url=server, verify=context, headers={"Authorization": f"Bearer {token}"},
                      timeout=20) as c:
        yield c


def test_python_client_lists_pods_and_services(core):
    pods = core.list_namespaced_pod("default", label_selector="app=web").items
    assert len(pods) == 2 and all(p.status.phase == "Running" and p.status.pod_ip for p in pods)
    # `kubernetes` is the API server's own Service, in every cluster's default namespace.
    assert [s.metadata.name for s in core.list_namespaced_service("default").items] == ["kubernetes", "web"]
    ready = [c.status for p in pods for c in p.status.conditions if c.type == "Ready"]
    assert ready == ["True", "True"]


def test_python_client_watches_a_change(core):
    seen: list[tuple[str, str]] = []
    rv = core.list_namespaced_config_map("default").metadata.resource_version

    def watch():
        w = k8s_watch.Watch()
        for event in w.stream(core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=20):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                w.stop()

    thread = threading.Thread(target=watch)
    thread.start()
    time.sleep(0.5)
    body = k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="watched"), data={"a": "1"})
    core.create_namespaced_config_map("default", body)
    core.patch_namespaced_config_map("watched", "default", {"data": {"a": "2"}})
    core.delete_namespaced_config_map("watched", "default")
    thread.join(25)
    assert seen == [("ADDED", "watched"), ("MODIFIED", "watched"), ("DELETED", "watched")]


def test_no_or_wrong_token_is_401(kube):
    server, _, ca = kube.credentials()
    context = ssl.create_default_context(cadata=ca.decode())
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = httpx.get(f"{server}/api/v1/pods", verify=context, headers=headers)
        assert r.status_code == 401
        assert r.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": "Unauthorized", "reason": "Unauthorized", "code": 401}


def test_unknown_resource_and_object_are_404_status(http):
    r = http.get("/api/v1/widgets")
    assert r.status_code == 404 and r.json()["reason"] == "NotFound"
    r = http.get("/api/v1/namespaces/default/pods/nope")
    assert r.status_code == 404
    assert r.json()["message"] == 'pods "nope" not found' and r.json()["details"] == {"name": "nope", "kind": "pods"}


def test_stale_update_is_409_conflict(http):
    cm = http.get("/api/v1/namespaces/default/configmaps/settings").json()
    first = dict(cm, data={"mode": "first"})
    assert http.put("/api/v1/namespaces/default/configmaps/settings", json=first).status_code == 200
    stale = dict(cm, data={"mode": "stale"})  # still the old resourceVersion
    r = http.put("/api/v1/namespaces/default/configmaps/settings", json=stale)
    assert r.status_code == 409 and r.json()["reason"] == "Conflict"
    assert r.json()["message"] == ('Operation cannot be fulfilled on configmaps "settings": the object has been '
                                   "modified; please apply your changes to the latest version and try again")


def test_malformed_and_huge_bodies(http):
    r = http.post("/api/v1/namespaces/default/configmaps", content=b"{not json",
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["reason"] == "BadRequest"
    huge = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "huge"},
                       "data": {"x": "y" * (4 << 20)}})
    r = http.post("/api/v1/namespaces/default/configmaps", content=huge.encode(),
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == 413
    assert http.get("/api/v1/namespaces/default/configmaps/huge").status_code == 404


def test_emukube_get_finds_the_cluster_past_a_stale_or_missing_kubeconfig_entry(cluster, kube, tmp_path):
    """`get` reads the API's address from the kubeconfig entry `up` wrote, without asking the
    engine; an entry that no longer proves itself (another cluster's CA at that port, a closed
    port) or none at all sends it to the engine, with the same answer."""
    from emukube.lifecycle import kubeconfig as kc
    from emukube.lifecycle.pki import make_pki

    server, token, _ = kube.credentials()
    expected = cluster.emukube("get", "svc", "web").stdout
    assert expected.startswith("NAME") and "web" in expected
    stranger = make_pki("stranger", ["127.0.0.1"], ["localhost"]).ca_cert
    entries = {
        "another CA": kc.render(cluster.name, server, stranger, token),
        "a closed port": kc.render(cluster.name, "https://127.0.0.1:1", stranger, token),
        "none": None,
    }
    for what, entry in entries.items():
        path = tmp_path / what.replace(" ", "-")
        if entry is not None:
            kc.merge(path, entry, make_current=True)
        got = cluster.emukube("get", "svc", "web", env={"KUBECONFIG": str(path)})
        assert got.stdout.splitlines()[1].split()[:3] == expected.splitlines()[1].split()[:3], what
