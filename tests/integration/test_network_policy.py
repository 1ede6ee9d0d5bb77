"""NetworkPolicy, enforced by the Services' proxies and at the pods' own addresses: applied with
the real kubectl, observed as a user would, with curl in client pods and from the host through a
NodePort. A client a policy keeps out waits until it gives up (curl's exit 28, as when a network
plugin drops its packets); the others are served, and deleting the policy lets everyone in
again. The Ingress controller is admitted as ingress-nginx's controller pod would be, and
CoreDNS as kube-system's kube-dns pod."""

from __future__ import annotations

import http.client
import time

import pytest
from conftest import HERE, wait_until
from kubectl_tools import Kube

MANIFEST = HERE / "manifests" / "network_policy.yaml"
SETTLE = 15.0  # a policy change reaches the proxies within a tick and a reload; bounded polling

ALLOW_FRONTEND = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-frontend}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: frontend}}}]
    ports: [{port: http}, {port: 8080, protocol: UDP}]
"""

FRONT_EGRESS_DNS_ONLY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: front-egress}
spec:
  podSelector: {matchLabels: {role: frontend}}
  policyTypes: [Egress]
  egress:
  - ports: [{port: 53, protocol: UDP}]
"""


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    k = Kube(cluster.name, tmp_path_factory.mktemp("kube"))
    k("wait", "pod/till", "-n", "shop", "--for=condition=Ready", "--timeout=90s", timeout=120)
    k("wait", "pod/front", "pod/batch", "--for=condition=Ready", "--timeout=90s", timeout=120)
    return k


def curl(kube: Kube, pod: str, namespace: str = "default", url: str = "http://web.default/") -> int:
    """curl's exit code for the web Service's ClusterIP (or `url`), from inside the pod: 0 served,
    28 timed out, 6 the name not resolved."""
    return kube("exec", "-n", namespace, pod, "--", "curl", "-s", "-o", "/dev/null", "--max-time", "2",
                url, check=False, timeout=30).returncode


def until(kube: Kube, pod: str, wanted: int, namespace: str = "default", url: str = "http://web.default/") -> int:
    deadline = time.monotonic() + SETTLE
    got = curl(kube, pod, namespace, url)
    while got != wanted and time.monotonic() < deadline:
        time.sleep(0.5)
        got = curl(kube, pod, namespace, url)
    return got


def udp(kube: Kube, pod: str) -> str:
    """What the web Service's UDP port answers the pod's "hostname" datagram."""
    return kube("exec", pod, "--", "sh", "-c", "printf hostname | nc -u -w2 web.default 90", check=False,
                timeout=30).stdout.strip()


def from_host(kube: Kube, through_ingress: bool = False) -> str:
    """What the host gets through the NodePort (or the Ingress): "served", or "timeout" (connected,
    nothing comes)."""
    if through_ingress:
        given = kube.obj("get", "ingress", "web").get("status", {}).get("loadBalancer", {}).get("ingress")
        if not given:
            return "no address yet"
        address, port = given[0]["ip"], 80
    else:
        address, port = "127.0.0.1", kube.obj("get", "svc", "web-door")["spec"]["ports"][0]["nodePort"]
    conn = http.client.HTTPConnection(address, port, timeout=2)
    try:
        conn.request("GET", "/", headers={"Host": "web.example"})
        return "served" if conn.getresponse().status == 200 else "error"
    except TimeoutError:
        return "timeout"
    finally:
        conn.close()


def test_policies_decide_who_reaches_the_service(kube):
    assert [curl(kube, "front"), curl(kube, "batch"), curl(kube, "till", "shop")] == [0, 0, 0]
    assert from_host(kube) == "served"
    wait_until(lambda: from_host(kube, through_ingress=True) == "served", "the Ingress serves", 30)

    applied = kube("apply", "-f", "-", input=ALLOW_FRONTEND)
    assert "Warning: NetworkPolicy web-from-frontend: enforced by the Services' proxies and in the selected pods'" \
        in applied.stderr, applied.stderr
    assert until(kube, "batch", 28) == 28
    # Its own namespace's frontend gets in, every time; another namespace's and the host do not.
    assert [curl(kube, "front") for _ in range(4)] == [0, 0, 0, 0]
    assert curl(kube, "till", "shop") == 28
    assert from_host(kube) == from_host(kube, through_ingress=True) == "timeout"
    # UDP through the Service too: the echo app answers "hostname" datagrams; a held client, nothing.
    assert udp(kube, "front").startswith("web-") and udp(kube, "batch") == ""

    # Another namespace's frontends, by a namespaceSelector next to the podSelector.
    kube("patch", "networkpolicy", "web-from-frontend", "--type=json", "-p",
         '[{"op": "add", "path": "/spec/ingress/0/from/-", "value": {"namespaceSelector": '
         '{"matchLabels": {"team": "shop"}}, "podSelector": {"matchLabels": {"role": "frontend"}}}}]')
    assert until(kube, "till", 0, "shop") == 0
    assert curl(kube, "batch") == 28
    # The Ingress controller counts as ingress-nginx's pod: a rule for that namespace lets it in.
    kube("patch", "networkpolicy", "web-from-frontend", "--type=json", "-p",
         '[{"op": "add", "path": "/spec/ingress/0/from/-", "value": {"namespaceSelector": '
         '{"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}}]')
    assert wait_until(lambda: from_host(kube, through_ingress=True) == "served", "the Ingress gets in", 15)
    assert from_host(kube) == "timeout"

    # The client's own egress policy counts too: DNS only, so the web Service is out of reach.
    kube("apply", "-f", "-", input=FRONT_EGRESS_DNS_ONLY)
    assert until(kube, "front", 28) == 28

    kube("delete", "networkpolicy", "--all")
    assert until(kube, "batch", 0) == 0
    assert [curl(kube, "front"), curl(kube, "till", "shop")] == [0, 0]
    assert from_host(kube) == from_host(kube, through_ingress=True) == "served"


BATCH_EGRESS_DNS_ONLY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: batch-dns}
spec:
  podSelector: {matchLabels: {role: batch}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}},
          podSelector: {matchLabels: {k8s-app: kube-dns}}}]
    ports: [{port: 53, protocol: UDP}]
"""

BATCH_NO_EGRESS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: batch-nothing}
spec:
  podSelector: {matchLabels: {role: batch}}
  policyTypes: [Egress]
"""


def test_policies_hold_at_the_pods_own_addresses_too(kube):
    web = kube.obj("get", "pods", "-l", "app=web")["items"][0]
    direct = f"http://{web['status']['podIP']}:8080/"
    assert [curl(kube, "batch", url=direct), curl(kube, "front", url=direct)] == [0, 0]
    kube("apply", "-f", "-", input=ALLOW_FRONTEND)
    try:
        # A pod the policy does not admit: its connection to the pod's own address is dropped.
        assert until(kube, "batch", 28, url=direct) == 28
        assert [curl(kube, "front", url=direct) for _ in range(3)] == [0, 0, 0]
        assert curl(kube, "till", "shop", url=direct) == 28
        # The controller's readiness probes still reach the pods, as the kubelet's do.
        time.sleep(2)
        assert all(c["ready"] for p in kube.obj("get", "pods", "-l", "app=web")["items"]
                   for c in p["status"]["containerStatuses"])
        # No egress at all takes DNS away too (CoreDNS counts as kube-system's kube-dns pod)...
        kube("delete", "networkpolicy", "web-from-frontend")
        kube("apply", "-f", "-", input=BATCH_NO_EGRESS)
        assert until(kube, "batch", 6) == 6
        # ... until a rule lets it reach kube-dns on port 53; web itself stays out of reach.
        kube("apply", "-f", "-", input=BATCH_EGRESS_DNS_ONLY)
        kube("delete", "networkpolicy", "batch-nothing")
        assert until(kube, "batch", 28) == 28
        assert curl(kube, "batch", url=direct) == 28
        assert curl(kube, "front", url=direct) == 0
    finally:
        kube("delete", "networkpolicy", "--all")
    assert until(kube, "batch", 0, url=direct) == 0
    assert until(kube, "batch", 0) == 0
