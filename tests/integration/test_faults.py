"""Faults made with plain docker: the cluster heals or says clearly what is wrong.

A proxy or CoreDNS container killed or removed comes back at the same address; the controller
removed is brought back by `emukube up` with everything applied before, without replacing pods;
a host port another program holds is refused up front, naming the port, and a port taken behind
emukube's back is a Warning event naming it until it is free again.
"""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest
from conftest import HERE
from leftovers import wait_for

from emukube.lifecycle import ops
from emukube.plan.allocate import NODE_PORT_RANGE

MANIFEST = HERE / "manifests" / "faults.yaml"


def ip_on(container, cluster) -> str:
    container.reload()
    return container.attrs["NetworkSettings"]["Networks"].get(f"emukube-{cluster.name}", {}).get("IPAddress", "")


def running(engine, name: str):
    try:
        c = engine.containers.get(name)
    except Exception:  # noqa: BLE001 - removed, or being replaced right now
        return None
    return c if c.status == "running" else None


def answer(cluster, url: str) -> str:
    result = cluster.sh(f"curl -s -m 2 {url}", check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def web_pods(cluster) -> set[str]:
    return set(cluster.pods("web-"))


def pod_ids(engine, cluster) -> dict[str, str]:
    found = engine.containers.list(ignore_removed=True, filters={"label": [f"emukube.io/cluster={cluster.name}", "emukube.io/role=pod"]})
    return {c.name: c.id for c in found}


def free_node_port() -> int:
    for port in range(31990, NODE_PORT_RANGE.start, -7):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port")


@pytest.mark.parametrize("how", ["kill", "rm"])
def test_a_proxy_killed_or_removed_comes_back_at_the_same_address(engine, cluster, how):
    name = f"{cluster.name}_svc_default_web"
    cluster_ip = cluster.svc_field("web", 2)
    before = engine.containers.get(name)
    assert ip_on(before, cluster) == cluster_ip
    started = before.attrs["State"]["StartedAt"]
    before.kill() if how == "kill" else before.remove(force=True)

    def back():
        c = running(engine, name)
        return c is not None and (c.id != before.id or c.attrs["State"]["StartedAt"] != started) \
            and ip_on(c, cluster) == cluster_ip
    wait_for(back, f"the proxy back after docker {how}", every=0.5)
    wait_for(lambda: answer(cluster, "http://web/hostname") in web_pods(cluster), "the Service answering",
             every=0.5)


@pytest.mark.parametrize("how", ["kill", "rm"])
def test_coredns_killed_or_removed_comes_back_at_the_same_address(engine, cluster, how):
    name = f"{cluster.name}_dns"
    before = engine.containers.get(name)
    dns_ip = ip_on(before, cluster)
    assert dns_ip.endswith(".0.10")
    before.kill() if how == "kill" else before.remove(force=True)
    wait_for(lambda: running(engine, name) is not None and ip_on(running(engine, name), cluster) == dns_ip,
             f"CoreDNS back after docker {how}", every=0.5)
    cluster_ip = cluster.svc_field("web", 2)
    wait_for(lambda: cluster.sh("dig +short +time=1 +tries=1 web.default.svc.cluster.local",
                                check=False).stdout.strip() == cluster_ip, "the Service name resolving", every=0.5)


def test_the_controller_removed_is_brought_back_by_up_with_everything_applied(engine, cluster, tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {k: v}\n")
    cluster.emukube("apply", str(extra), "--no-wait")
    pods = pod_ids(engine, cluster)
    assert len(pods) == 2
    engine.containers.get(ops.controller_name(cluster.name)).remove(force=True)

    result = cluster.emukube("up", str(MANIFEST), "--timeout", "150s", timeout=300)
    assert result.stdout.splitlines()[:3] == ["deployment/web unchanged", "service/web unchanged",
                                              "service/web-np unchanged"]
    assert pod_ids(engine, cluster) == pods  # the same pods carry on
    assert "extra" in cluster.emukube("get", "cm").stdout  # applied from another file, not forgotten
    assert answer(cluster, "http://web/hostname") in web_pods(cluster)


def test_a_node_port_another_program_holds_is_refused_naming_the_port(engine, cluster, tmp_path):
    port = free_node_port()
    door = tmp_path / "door.yaml"
    door.write_text(f"""apiVersion: v1
kind: Service
metadata: {{name: door}}
spec:
  type: NodePort
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080, nodePort: {port}}}]
""")
    controller = engine.containers.get(ops.controller_name(cluster.name)).id
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = cluster.emukube("apply", str(door), check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (f'error: The Service "door" is invalid: spec.ports[0].nodePort: Invalid value: '
                                     f"{port}: TCP port {port} on 127.0.0.1 is already in use by another program")
    assert engine.containers.get(ops.controller_name(cluster.name)).id == controller  # nothing applied
    assert "door" not in cluster.emukube("get", "svc").stdout
    # once the port is free, the same apply works
    cluster.emukube("apply", str(door), "--timeout", "120s", timeout=200)
    assert httpx.get(f"http://127.0.0.1:{port}/hostname", timeout=5).text in web_pods(cluster)
    cluster.emukube("delete", "svc", "door")


def test_a_node_port_taken_behind_emukubes_back_is_a_warning_naming_it_until_free(engine, cluster):
    node_port = int(cluster.svc_field("web-np", 4).split(":")[1].split("/")[0])
    controller = engine.containers.get(ops.controller_name(cluster.name))
    controller.stop(timeout=5)  # so the proxy can be taken away before it comes back
    engine.containers.get(f"{cluster.name}_svc_default_web-np").remove(force=True)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", node_port))
        squatter.listen()
        since = time.time() - 1
        controller.start()

        def warned():
            raw = controller.logs(since=int(since)).decode(errors="replace")
            events = [json.loads(line) for line in raw.splitlines() if line.startswith("{")]
            return [e for e in events if e.get("reason") == "ProxyFailed" and str(node_port) in e.get("message", "")]
        wait_for(warned, f"a ProxyFailed warning naming {node_port}", every=0.5)
    wait_for(lambda: _answers_on(node_port, web_pods(cluster)), "the NodePort answering once free", every=0.5)


def _answers_on(port: int, pods: set[str]) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/hostname", timeout=2).text in pods
    except httpx.HTTPError:
        return False


def test_no_traceback_when_the_engine_refuses(cluster, tmp_path):
    """An engine error is exit 2 with one line, not a traceback (here: an image override that
    does not exist, refused before anything is touched)."""
    result = cluster.emukube("up", str(MANIFEST), check=False,
                             env={"EMUKUBE_IMAGE_COREDNS": "emukube/no-such-coredns:0"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no-such-coredns" in result.stderr
