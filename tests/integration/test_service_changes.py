"""Live changes with `emukube apply` on a running cluster, as Kubernetes' e2e tests make them:
ports, type, selector and affinity change; only what changed is touched; a released nodePort
stops listening; an established connection to an endpoint that stays survives a scale-down.
Also: --address, Service environment variables, endpoints views and spec.loadBalancerIP."""

from __future__ import annotations

import copy
import ipaddress
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml
from conftest import EMUKUBE, wait_until

from emukube import Cluster

MANIFEST = Path(__file__).parent / "manifests" / "service_changes.yaml"
BASE = list(yaml.safe_load_all(MANIFEST.read_text()))
FIGURES: dict[str, float] = {}


# -- helpers ----------------------------------------------------------------------------------

def edited(*edits) -> list[dict]:
    """The base manifest with edits: (kind, name, function changing the document in place)."""
    docs = copy.deepcopy(BASE)
    for kind, name, change in edits:
        change(next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name))
    return docs


def service(name: str, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def apply(cluster, docs: list[dict], *args: str, figure: str | None = None, check: bool = True):
    start = time.monotonic()
    result = cluster.emukube("apply", "-", *args, input=yaml.safe_dump_all(docs), check=check)
    if figure:
        FIGURES[figure] = time.monotonic() - start
    return result


def verbs(result) -> dict[str, str]:
    """{"service/web": "configured", ...} from apply's output."""
    return dict(line.split(" ", 1) for line in result.stdout.splitlines() if "/" in line.split(" ")[0])


def container_ids(engine, cluster) -> dict[str, str]:
    return {c.name: c.id for c in engine.containers.list(ignore_removed=True, all=True, filters={"label": f"emukube.io/cluster={cluster.name}"})
            if c.labels.get("emukube.io/role") != "controller"}


# Reads that are not under test go through the Python API: no CLI start-up per call.
@pytest.fixture(scope="module")
def api(cluster) -> Cluster:
    return Cluster(cluster.name)


def names(api: Cluster, app: str) -> set[str]:
    return {p.name for p in api.pods(f"app={app}") if p.phase != "Terminating"}


def client(api: Cluster) -> str:
    return sorted(names(api, "green"))[0]


def sh(api: Cluster, script: str, pod: str | None = None) -> str:
    return api.exec(pod or client(api), script).stdout


def hostnames(api: Cluster, url: str, count: int) -> list[str]:
    out = sh(api, f"for i in $(seq {count}); do curl -s -m 2 {url}; echo; done")
    return [line for line in out.splitlines() if line]


def refused(api: Cluster, host: str, port: int) -> bool:
    return "Connection refused" in sh(api, f"nc -z -v -w 3 {host} {port} 2>&1; true")


def host_refused(ip: str, port: int) -> bool:
    try:
        socket.create_connection((ip, port), timeout=3).close()
    except ConnectionRefusedError:
        return True
    return False


def svc_row(cluster, name: str) -> list[str]:
    return cluster.emukube("get", "svc", name).stdout.splitlines()[1].split()


def spec(api: Cluster, name: str) -> dict:
    return api.service(name)["spec"]


def node_port(api: Cluster, name: str) -> int:
    return spec(api, name)["ports"][0]["nodePort"]


@pytest.fixture(scope="module", autouse=True)
def figures():
    """How long each apply took, printed at the end of the module (run with -s)."""
    yield
    for what, seconds in FIGURES.items():
        print(f"\n{what:<40} {seconds:5.1f} s", end="")


@pytest.fixture(autouse=True)
def back_to_base(cluster):
    """Every test starts from the manifest as written (re-applying it touches nothing if so)."""
    apply(cluster, BASE)
    yield


# -- only what changed is touched -------------------------------------------------------------

def test_reapplying_the_same_manifest_touches_nothing(cluster, engine):
    before = container_ids(engine, cluster)
    controller = engine.containers.get(f"{cluster.name}_controller").id
    result = apply(cluster, BASE, figure="apply, nothing changed")
    assert set(verbs(result).values()) == {"unchanged"} and len(verbs(result)) == len(BASE)
    assert container_ids(engine, cluster) == before
    assert engine.containers.get(f"{cluster.name}_controller").id == controller


def reloads(cluster, service: str) -> int:
    """How often the controller reloaded a Service's proxy (the events outlive controllers)."""
    # One Event per distinct message, its count raised on repeats (printed "(xN)").
    return sum(int((re.search(r" \(x(\d+)\)$", line) or [0, 1])[1])
               for line in cluster.emukube("events").stdout.splitlines()
               if "ProxyReloaded" in line and f"service/{service} " in line)


def test_ports_added_then_removed(cluster, api, engine):
    web_pods = names(api, "web")
    before = container_ids(engine, cluster)
    steady_reloads = reloads(cluster, "steady")
    two_ports = edited(("Service", "web", lambda d: d["spec"]["ports"].append(
        {"name": "alt", "port": 81, "targetPort": "http"})))
    result = apply(cluster, two_ports, figure="apply, port added")
    assert verbs(result)["service/web"] == "configured" and len(verbs(result)) == len(BASE)
    assert {v for k, v in verbs(result).items() if k != "service/web"} == {"unchanged"}
    assert hostnames(api, "http://web:81/hostname", 1)[0] in web_pods
    assert hostnames(api, "http://web:80/hostname", 1)[0] in web_pods
    after = container_ids(engine, cluster)
    touched = {name for name in before if after.get(name) != before[name]}
    assert touched <= {f"{cluster.name}_svc_default_web"}, touched  # pods and other proxies kept
    assert reloads(cluster, "steady") == steady_reloads  # and not even reloaded by the new controller

    result = apply(cluster, BASE, figure="apply, port removed")
    assert verbs(result)["service/web"] == "configured"
    assert wait_until(lambda: refused(api, "web", 81), "port 81 refused after its removal", 30)
    assert hostnames(api, "http://web/hostname", 1)[0] in web_pods


def test_type_changes_keep_the_cluster_ip_where_kubernetes_does(cluster, api, engine):
    web_pods = names(api, "web")
    kept = {n: i for n, i in container_ids(engine, cluster).items() if "_svc_default_shifty" not in n}
    cluster_ip = svc_row(cluster, "shifty")[2]

    def as_type(kind: str, **extra):
        def change(doc):
            doc["spec"] = {"type": kind, **extra} if kind == "ExternalName" else {**doc["spec"], "type": kind}
        return ("Service", "shifty", change)

    result = apply(cluster, edited(as_type("NodePort")), figure="apply, ClusterIP -> NodePort")
    assert verbs(result)["service/shifty"] == "configured"
    row = svc_row(cluster, "shifty")
    published = int(row[4].split(":")[1].split("/")[0])
    assert row[1] == "NodePort" and row[2] == cluster_ip
    assert httpx.get(f"http://127.0.0.1:{published}/hostname", timeout=5).text in web_pods

    apply(cluster, edited(as_type("LoadBalancer")), figure="apply, NodePort -> LoadBalancer")
    row = svc_row(cluster, "shifty")
    external = row[3]
    assert row[1] == "LoadBalancer" and row[2] == cluster_ip and row[4] == f"80:{published}/TCP"
    assert httpx.get(f"http://{external}/hostname", timeout=5).text in web_pods
    doc = yaml.safe_load(cluster.emukube("get", "svc", "shifty", "-o", "yaml").stdout)
    assert doc["status"]["loadBalancer"]["ingress"] == [{"ip": external}]

    apply(cluster, edited(as_type("ExternalName", externalName="web.default.svc.cluster.local")),
          figure="apply, LoadBalancer -> ExternalName")
    row = svc_row(cluster, "shifty")
    assert row[1:4] == ["ExternalName", "<none>", "web.default.svc.cluster.local"]
    # The released nodePort and the EXTERNAL-IP stop listening; the name is now a CNAME.
    assert host_refused("127.0.0.1", published) and host_refused(external, 80)
    cname = sh(api, "dig +short CNAME shifty.default.svc.cluster.local").strip()
    assert cname == "web.default.svc.cluster.local."
    assert f"{cluster.name}_svc_default_shifty" not in container_ids(engine, cluster)

    apply(cluster, BASE, figure="apply, ExternalName -> ClusterIP")
    row = svc_row(cluster, "shifty")
    # A new allocation (Kubernetes released the old address); this one hashes to the same.
    assert row[1] == "ClusterIP" and ipaddress.ip_address(row[2]) in ipaddress.ip_network(f"{cluster_ip}/18", strict=False)
    assert hostnames(api, "http://shifty/hostname", 1)[0] in web_pods
    now = container_ids(engine, cluster)
    assert {n: now.get(n) for n in kept} == kept  # every pod and every other proxy kept


def test_selector_change_moves_the_endpoints(cluster, api, engine):
    green = names(api, "green")
    before = container_ids(engine, cluster)
    to_green = edited(("Service", "web", lambda d: d["spec"].update(selector={"app": "green"})))
    apply(cluster, to_green, figure="apply, selector changed")
    assert set(hostnames(api, "http://web/hostname", 10)) == green
    assert container_ids(engine, cluster) == before  # endpoints only: the proxy reloads in place
    apply(cluster, BASE)
    assert set(hostnames(api, "http://web/hostname", 40)) == names(api, "web")


def test_session_affinity_switched_on_and_off(cluster, api):
    sticky = edited(("Service", "web", lambda d: d["spec"].update(sessionAffinity="ClientIP")))
    assert verbs(apply(cluster, sticky, figure="apply, affinity on"))["service/web"] == "configured"
    assert len(set(hostnames(api, "http://web/hostname", 15))) == 1
    assert verbs(apply(cluster, BASE))["service/web"] == "configured"
    assert len(set(hostnames(api, "http://web/hostname", 30))) > 1


# -- connections, environment, endpoints --------------------------------------------------------

HOLD = r"""
import os, socket, sys, time
s = socket.create_connection(("web", 80), timeout=10)
def ask():
    s.sendall(b"GET /hostname HTTP/1.1\r\nHost: web\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return "closed"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    size = int([h.split(b":")[1] for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0])
    while len(body) < size:
        body += s.recv(4096)
    return body.decode()
print(ask(), flush=True)
deadline = time.time() + 150
while not os.path.exists(sys.argv[1]) and time.time() < deadline:
    time.sleep(0.2)
try:
    print(ask(), flush=True)
except OSError as exc:
    print("error", exc, flush=True)
"""


def test_established_connection_survives_a_scale_down(cluster, api):
    pod = client(api)
    held: list[tuple[subprocess.Popen, str]] = []
    try:
        # One kept-alive HTTP connection through the ClusterIP per attempt, until two pods hold
        # one: whichever pod the scale-down removes, a connection to a pod that stays is open.
        for attempt in range(12):
            proc = subprocess.Popen([EMUKUBE, "exec", "--cluster", cluster.name, pod, "--", "python3", "-c", HOLD,
                                     f"/tmp/go-{attempt}"], stdout=subprocess.PIPE, text=True)
            threading.Timer(200, proc.kill).start()
            held.append((proc, proc.stdout.readline().strip()))
            if len({first for _, first in held}) >= 2:
                break
        assert len({first for _, first in held}) >= 2, held
        apply(cluster, edited(("Deployment", "web", lambda d: d["spec"].update(replicas=2))),
              figure="apply, web scaled 3 -> 2")
        staying = names(api, "web")
        assert len(staying) == 2
        sh(api, "touch " + " ".join(f"/tmp/go-{i}" for i in range(len(held))), pod=pod)
        kept = [(first, proc.communicate(timeout=60)[0].strip()) for proc, first in held]
        survivors = [(first, second) for first, second in kept if first in staying]
        assert survivors and all(first == second for first, second in survivors), kept
    finally:
        for proc, _ in held:
            proc.kill()


def test_service_variables_in_pods_created_after_the_service(cluster, api):
    late = service("late-svc", selector={"app": "web"},
                   ports=[{"name": "http", "port": 8080, "targetPort": "http"},
                          {"name": "dns-udp", "port": 53, "protocol": "UDP", "targetPort": 8081}])
    old_pod = client(api)
    apply(cluster, [*edited(("Deployment", "green", lambda d: d["spec"].update(replicas=2))), late])
    ip = spec(api, "late-svc")["clusterIP"]
    assert "LATE_SVC_SERVICE_HOST" not in sh(api, "env", pod=old_pod)  # it started before the Service
    new_pod = next(p for p in names(api, "green") if p != old_pod)
    out = cluster.emukube("exec", new_pod, "--", "env").stdout
    env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert {k: v for k, v in env.items() if k.startswith("LATE_SVC_")} == {
        "LATE_SVC_SERVICE_HOST": ip, "LATE_SVC_SERVICE_PORT": "8080",
        "LATE_SVC_SERVICE_PORT_HTTP": "8080", "LATE_SVC_SERVICE_PORT_DNS_UDP": "53",
        "LATE_SVC_PORT": f"tcp://{ip}:8080",
        "LATE_SVC_PORT_8080_TCP": f"tcp://{ip}:8080", "LATE_SVC_PORT_8080_TCP_PROTO": "tcp",
        "LATE_SVC_PORT_8080_TCP_PORT": "8080", "LATE_SVC_PORT_8080_TCP_ADDR": ip,
        "LATE_SVC_PORT_53_UDP": f"udp://{ip}:53", "LATE_SVC_PORT_53_UDP_PROTO": "udp",
        "LATE_SVC_PORT_53_UDP_PORT": "53", "LATE_SVC_PORT_53_UDP_ADDR": ip}
    assert env["STEADY_SERVICE_HOST"] == spec(api, "steady")["clusterIP"]
    assert "SHIFTY_PORT_80_TCP_ADDR" in env


def table(cluster, *args: str) -> list[list[str]]:
    return [line.split() for line in cluster.emukube("get", *args).stdout.splitlines()[1:]]


def test_endpoints_views_show_ready_and_not_ready_addresses(cluster, api):
    ips = {p.name: p.ip for p in api.pods("app=web")}
    victim = sorted(ips)[0]
    others = sorted(ip for name, ip in ips.items() if name != victim)
    sh(api, "touch /tmp/not-ready", pod=victim)
    try:
        row = wait_until(lambda: next((r for r in table(cluster, "endpoints") if r[0] == "web" and ips[victim] in r[2]),
                                      None), "the unready pod in the NOT-READY column")
        assert sorted(a.split(":")[0] for a in row[1].split(",")) == others
        assert row[1].count(":8080") == 2 and row[2] == f"{ips[victim]}:8080"
        slice_row = next(r for r in table(cluster, "endpointslices") if r[0].startswith("web-"))
        assert slice_row[1:3] == ["IPv4", "8080"]
        assert sorted(slice_row[3].split(",")) == sorted(ips.values()) and slice_row[4] == ips[victim]

        endpoints = yaml.safe_load(cluster.emukube("get", "endpoints", "web", "-o", "yaml").stdout)
        [subset] = endpoints["subsets"]
        assert sorted(a["ip"] for a in subset["addresses"]) == others
        assert [(a["ip"], a["targetRef"]["name"]) for a in subset["notReadyAddresses"]] == [(ips[victim], victim)]
        assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
        eps = yaml.safe_load(cluster.emukube("get", "endpointslices", "web", "-o", "yaml").stdout)
        assert eps["kind"] == "EndpointSlice" and eps["metadata"]["labels"]["kubernetes.io/service-name"] == "web"
        conditions = {e["addresses"][0]: e["conditions"]["ready"] for e in eps["endpoints"]}
        assert conditions == {ip: ip != ips[victim] for ip in ips.values()}
        assert eps["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    finally:
        sh(api, "rm -f /tmp/not-ready", pod=victim)
    wait_until(lambda: table(cluster, "endpoints", "web")[0][2] == "<none>", "the pod ready again")


def test_load_balancer_ip_in_the_pool_is_honoured_and_outside_it_warned(cluster, api):
    web_pods = names(api, "web")
    second = int(spec(api, "web")["clusterIP"].split(".")[1])  # 10.(96+i) -> pool 127.0.(100+i).x
    pool = f"127.0.{100 + second - 96}"
    wanted = f"{pool}.200"
    fixed = service("lb-fixed", type="LoadBalancer", loadBalancerIP=wanted, selector={"app": "web"},
                    ports=[{"port": 80, "targetPort": "http"}])
    far = service("lb-far", type="LoadBalancer", loadBalancerIP="203.0.113.10", selector={"app": "web"},
                  ports=[{"port": 80, "targetPort": "http"}])
    result = apply(cluster, [*BASE, fixed, far], figure="apply, two LoadBalancers created")
    assert verbs(result)["service/lb-fixed"] == "created"
    assert svc_row(cluster, "lb-fixed")[3] == wanted
    doc = yaml.safe_load(cluster.emukube("get", "svc", "lb-fixed", "-o", "yaml").stdout)
    assert doc["status"]["loadBalancer"]["ingress"] == [{"ip": wanted}]
    assert httpx.get(f"http://{wanted}/hostname", timeout=5).text in web_pods
    given = svc_row(cluster, "lb-far")[3]
    assert (f"warning: Service default/lb-far: spec.loadBalancerIP 203.0.113.10 is not in this cluster's "
            f"LoadBalancer pool {pool}.1-{pool}.253; its EXTERNAL-IP is {given}") in result.stderr
    assert given.startswith(pool + ".")
    assert httpx.get(f"http://{given}/hostname", timeout=5).text in web_pods


# -- last: --address moves every NodePort ---------------------------------------------------

def test_node_ports_follow_address(cluster, api, engine):
    port = node_port(api, "steady")
    controller = engine.containers.get(f"{cluster.name}_controller").id
    bad = apply(cluster, BASE, "--address", "192.0.2.7", check=False)
    assert bad.returncode == 2 and bad.stderr.strip() == "error: --address 192.0.2.7 is not an address of this machine"
    assert engine.containers.get(f"{cluster.name}_controller").id == controller
    try:
        result = apply(cluster, BASE, "--address", "127.0.0.2", figure="apply, --address 127.0.0.2")
        assert "warning" not in result.stderr  # still loopback (and lb-far was warned about once)
        assert httpx.get(f"http://127.0.0.2:{port}/hostname", timeout=5).text in names(api, "web")
        assert host_refused("127.0.0.1", port)
    finally:
        apply(cluster, BASE, "--address", "127.0.0.1")
    assert httpx.get(f"http://127.0.0.1:{port}/hostname", timeout=5).text in names(api, "web")
