"""The Python API (emukube.Cluster) against real containers: one shared cluster for the reading
and reaching tests, a second short-lived one for the image map and teardown on an exception."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import httpx
import pytest
from podtools import wait_for

from emukube import Cluster
from emukube.errors import EmukubeError, NotFound, WorkloadFailed
from emukube.lifecycle import ops
from emukube.runtime import forward

HERE = Path(__file__).parent
MANIFEST = HERE / "manifests" / "api.yaml"
EXTRA = """
apiVersion: v1
kind: ConfigMap
metadata: {name: extra}
data: {greeting: hello}
---
apiVersion: v1
kind: Service
metadata: {name: web-extra}
spec:
  selector: {app: web}
  ports: [{port: 81, targetPort: 8080}]
"""


@pytest.fixture(scope="module")
def api(engine):
    with Cluster.up(MANIFEST, name=f"a{os.getpid() % 100000}api", timeout=150) as c:
        yield c


def get_text(url: str) -> str:
    """A request with a bounded retry: a proxy that just reloaded may refuse once."""
    for attempt in range(20):
        try:
            return httpx.get(url, timeout=5).text
        except httpx.TransportError:
            if attempt == 19:
                raise
            time.sleep(0.5)


def web_pods(c: Cluster) -> set[str]:
    return {p.name for p in c.pods("app=web")}


def test_pods_by_selector(api):
    pods = api.pods("app=web,tier=front")
    assert len(pods) == 2 and all(p.ready and p.ip for p in pods)
    assert api.pods({"app": "web"}) == pods
    assert api.pods("app=nothing") == []


@pytest.mark.parametrize("service, pattern", [
    ("web-np", r"http://127\.0\.0\.1:3\d{4}"),           # NodePort on the node address
    ("web-lb", r"http://127\.0\.1\d\d\.\d+:8080"),        # the LoadBalancer's own loopback address
    ("web", r"http://127\.0\.0\.1:\d+"),                 # ClusterIP: through a port-forward
    ("web-headless", r"http://127\.0\.0\.1:\d+"),        # headless: a forward to a ready pod
])
def test_url_reaches_every_kind_of_service(api, service, pattern):
    url = api.url(f"svc/{service}")
    assert re.fullmatch(pattern, url), url
    assert get_text(url + "/hostname") in web_pods(api)


def test_clusterip_forward_is_made_once_and_reused(api):
    first = api.url("svc/web", port="http")
    assert api.url("web", 80) == first
    kept = [c for c in ops.engine.containers(api.client, api.name, **{"emukube.io/role": "forward"})
            if c.labels[forward.TARGET] == "svc/default/web:80"]
    assert len(kept) == 1


def test_port_forward_to_a_pod_by_named_port(api):
    pod = sorted(web_pods(api))[0]
    fwd = api.port_forward(f"pod/{pod}", "http")
    try:
        assert get_text(f"http://127.0.0.1:{fwd.local_port}/hostname") == pod
    finally:
        fwd.remove()
    assert not api.client.containers.list(ignore_removed=True, all=True, filters={"id": fwd.container.id})


def test_port_forward_errors_in_kubectl_words(api):
    with pytest.raises(EmukubeError, match="Service web does not have a service port 81"):
        api.port_forward("svc/web", 81)
    with pytest.raises(EmukubeError, match="does not have a named port 'nope'"):
        api.port_forward("deploy/web", "nope")
    with pytest.raises(NotFound, match='services "nope" not found'):
        api.url("svc/nope")


def test_exec_in_a_pod_reaches_services_by_name(api):
    result = api.exec("deploy/web", "curl -s http://web/hostname")
    assert result.exit_code == 0 and result.stdout in web_pods(api)
    failed = api.exec("deploy/web", ["sh", "-c", "echo oops >&2; exit 3"])
    assert (failed.exit_code, failed.stderr) == (3, "oops\n")


def test_logs_of_a_pod(api):
    assert "8080" in api.logs("deploy/web")


def test_apply_reports_what_changed(api, tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text(EXTRA)
    changes = api.apply(extra, timeout=120)
    assert [str(c) for c in changes] == ["configmap/extra created", "service/web-extra created"]
    assert [c.verb for c in api.apply(extra, timeout=120)] == ["unchanged", "unchanged"]
    assert get_text(api.url("svc/web-extra", 81) + "/hostname") in web_pods(api)


def test_scale_up_and_down(api):
    api.scale("deployment/web", 3, wait=True, timeout=120)
    assert len(api.pods("app=web")) == 3
    api.scale("deployment/web", 2, wait=True, timeout=120)
    assert len(wait_for("2 pods", lambda: [p for p in api.pods("app=web") if p.phase != "Terminating"], 120)) == 2
    with pytest.raises(NotFound):
        api.scale("deployment/nope", 1)


def test_deleted_pod_is_replaced(api):
    before = web_pods(api)
    victim = sorted(before)[0]
    api.delete_pod(victim)
    assert victim not in web_pods(api), "delete_pod returns once the pod is gone, as kubectl delete"
    wait_for(f"{victim} replaced", lambda: victim not in web_pods(api) and len(web_pods(api)) == 2, 120)
    api.wait_ready(timeout=120)
    assert all(p.ready for p in api.pods("app=web"))
    with pytest.raises(NotFound):
        api.delete_pod(victim)


def test_image_map_and_teardown_on_an_exception(engine, tmp_path):
    """A manifest naming an image no registry has runs with the mapped local image; leaving the
    `with` block by an exception removes the cluster, its forwards included."""
    manifest = tmp_path / "mapped.yaml"
    manifest.write_text(MANIFEST.read_text().replace("emukube/echo:1.0", "registry.invalid/team/echo:2.0"))
    name = f"a{os.getpid() % 100000}map"
    with pytest.raises(RuntimeError, match="boom"):
        with Cluster.up(manifest, name=name, images={"registry.invalid/team/echo:2.0": "emukube/echo:1.0",
                                                     "registry.invalid/unused:1": "x"}, timeout=150) as c:
            assert c.warnings == ['image map: no container uses image "registry.invalid/unused:1"']
            pods = ops.engine.containers(engine, name, **{"emukube.io/role": "pod"})
            assert {ctr.attrs["Config"]["Image"] for ctr in pods} == {"emukube/echo:1.0"}
            assert get_text(c.url("svc/web") + "/hostname") in web_pods(c)
            raise RuntimeError("boom")
    assert ops.all_clusters(engine, name) == []


def test_a_cluster_that_does_not_start_is_removed(engine, tmp_path):
    manifest = tmp_path / "never.yaml"
    manifest.write_text(MANIFEST.read_text().split("---")[0].replace("emukube/echo:1.0", "registry.invalid/none:1"))
    name = f"a{os.getpid() % 100000}never"
    with pytest.raises(WorkloadFailed, match="not ready after"):
        Cluster.up(manifest, name=name, timeout=15)
    assert ops.all_clusters(engine, name) == []
