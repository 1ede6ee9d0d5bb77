"""The API server's proxy to pods and Services (pods/proxy, services/proxy), through the real
kubectl (`get --raw`, `kubectl proxy`) and the Python client: what `kubectl cluster-info`'s URLs,
dashboards behind `kubectl proxy` and Kubernetes' e2e tests (ProxyGet) use. Backends: agnhost's
netexec, and busybox's httpd serving a page whose links point at its own server."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from conftest import HERE, wait_until
from kubectl_tools import KUBECTL, Kube
from kubernetes import client as k8s
from kubernetes import config as k8s_config

MANIFEST = HERE / "manifests" / "proxy.yaml"
SERVICES = "/api/v1/namespaces/default/services"


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    k = Kube(cluster.name, tmp_path_factory.mktemp("kube"))
    k("wait", "--for=condition=Ready", "pod", "--all", "--timeout=90s", timeout=120)
    return k


@pytest.fixture(scope="module")
def netexec_pods(kube) -> set[str]:
    return {p.removeprefix("pod/") for p in kube.lines("get", "pods", "-l", "app=netexec", "-o", "name")}


@pytest.fixture(scope="module")
def proxy(kube, tmp_path_factory):
    """`kubectl proxy --port=0` in the background: the base URL it serves on."""
    out = tmp_path_factory.mktemp("proxy") / "out"
    with open(out, "w") as sink:
        proc = subprocess.Popen([KUBECTL, "proxy", "--port=0"], env=kube.env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        port = wait_until(lambda: re.findall(r"Starting to serve on 127\.0\.0\.1:(\d+)", Path(out).read_text()),
                          "kubectl proxy serving", timeout=30)[0]
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_get_raw_reaches_every_ready_pod_of_a_service(kube, netexec_pods):
    seen = {kube("get", "--raw", f"{SERVICES}/netexec:80/proxy/hostname").stdout for _ in range(30)}
    assert seen == netexec_pods, seen
    # the port by name, with a scheme, as `kubectl cluster-info` names kube-dns's
    assert kube("get", "--raw", f"{SERVICES}/http:netexec:http/proxy/echo?msg=hi").stdout == "hi"


def test_get_raw_reaches_a_pod_at_the_port_named_or_its_first_declared_one(kube, netexec_pods):
    pod = sorted(netexec_pods)[0]
    assert kube("get", "--raw", f"/api/v1/namespaces/default/pods/{pod}:8080/proxy/hostname").stdout == pod
    assert kube("get", "--raw", f"/api/v1/namespaces/default/pods/{pod}/proxy/hostname").stdout == pod


@pytest.mark.parametrize("path,said", [
    ("netexec:99/proxy/", 'Error from server (ServiceUnavailable): no service port 99 found for service "netexec"'),
    ("nobody/proxy/", 'Error from server (ServiceUnavailable): no endpoints available for service "nobody"'),
    ("netexec/proxy/", 'Error from server (ServiceUnavailable): no endpoints available for service "netexec"'),
    ("missing/proxy/", 'Error from server (NotFound): endpoints "missing" not found'),
])
def test_what_the_proxy_answers_when_no_backend_fits(kube, path, said):
    done = kube("get", "--raw", f"{SERVICES}/{path}", check=False)
    assert done.returncode == 1 and done.stderr.strip() == said, done


def test_a_backend_that_refuses_is_named_with_gos_words(kube):
    done = kube("get", "--raw", f"{SERVICES}/netexec:closed/proxy/", check=False)
    assert done.returncode == 1, done
    assert re.fullmatch(r"Error from server \(ServiceUnavailable\): error trying to reach service: "
                        r"dial tcp 10\.[\d.]+:9999: connect: connection refused", done.stderr.strip()), done.stderr


def test_kubectl_proxy_rewrites_a_pages_links_to_its_own_server(proxy):
    base = f"{proxy}{SERVICES}/site:80/proxy"
    moved = httpx.get(base)
    assert moved.status_code == 301 and moved.headers["location"] == f"{SERVICES}/site:80/proxy/", moved.headers
    page = httpx.get(base + "/")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html", page.headers
    assert f'<link rel="stylesheet" href="{SERVICES}/site:80/proxy/style.css">' in page.text, page.text
    assert f'<a href="{SERVICES}/site:80/proxy/docs/">docs</a>' in page.text, page.text
    # other links stay as they were; the tag is written again as Go's tokenizer writes it
    assert '<a href="notes.html">' in page.text and '<a href="https://example.com/x">' in page.text, page.text
    assert "var a = '<a href=\"/kept\">';" in page.text, page.text  # a script's text is not markup
    assert f'<img src="{SERVICES}/site:80/proxy/logo.png" alt="a &amp; b">' in page.text, page.text


def test_kubectl_proxy_relays_redirects_bodies_and_headers_but_not_credentials(proxy):
    base = f"{proxy}{SERVICES}/netexec:http/proxy"
    moved = httpx.get(f"{base}/redirect", params={"location": "/hostname"})
    assert moved.status_code == 302 and moved.headers["location"] == f"{SERVICES}/netexec:http/proxy/hostname"
    uploaded = httpx.post(f"{base}/upload", files={"file": ("a.txt", b"x" * 100_000)})
    assert uploaded.status_code == 201 and uploaded.json()["output"].startswith("/uploads/"), uploaded.text
    assert httpx.get(f"{base}/header", params={"key": "X-Forwarded-Uri"}).text == f"{SERVICES}/netexec:http/proxy/header"
    assert httpx.get(f"{base}/echo?msg=a%26b%20c").text == "a&b c"  # the query as the client encoded it
    # kubectl proxy sends its token; the API server consumes it and the backend never sees it
    assert httpx.get(f"{base}/header", params={"key": "Authorization"}).text == ""


def test_an_upgrade_is_relayed_and_then_bytes_flow_both_ways(proxy):
    """As `kubectl proxy` relays WebSockets: after the backend's 101, each side's bytes reach the other."""
    port = int(proxy.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        # kubectl proxy serves only requests whose Host is localhost (its --accept-hosts)
        conn.sendall(b"GET /api/v1/namespaces/default/pods/upgrader:9000/proxy/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Connection: Upgrade\r\nUpgrade: echo\r\n\r\n")
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = conn.recv(4096)
            assert chunk, received
            received += chunk
        head, _, rest = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 ") and b"Upgrade: echo" in head, head
        for word in (b"ping\n", b"pong pong\n"):
            conn.sendall(word)
            while len(rest) < len(word):
                chunk = conn.recv(4096)
                assert chunk, rest
                rest += chunk
            assert rest == word, rest
            rest = b""


def test_the_python_client_proxies_to_a_service_and_a_pod(kube, netexec_pods):
    api = k8s.CoreV1Api(k8s_config.new_client_from_config(str(kube.config)))
    assert api.connect_get_namespaced_service_proxy_with_path("netexec:80", "default", "hostname") in netexec_pods
    pod = sorted(netexec_pods)[0]
    assert api.connect_get_namespaced_pod_proxy_with_path(f"{pod}:8080", "default", "hostname") == pod


def test_discovery_lists_the_proxy_subresources(kube):
    listed = {r["name"]: r["kind"] for r in json.loads(kube("get", "--raw", "/api/v1").stdout)["resources"]}
    assert (listed["pods/proxy"], listed["services/proxy"]) == ("PodProxyOptions", "ServiceProxyOptions"), listed
