"""`emukube explain` of the Services the API server keeps itself (diagnose/explain_system.py)."""

from __future__ import annotations

from emukube.apiserver.system import kube_dns_objects, kubernetes_objects
from emukube.diagnose.explain_system import explain_system


def coredns_pod(ready: str = "True", name: str = "coredns-nzg9ff9blw-kcfcw") -> dict:
    return {"metadata": {"name": name, "namespace": "kube-system"},
            "status": {"podIP": "10.96.0.10", "conditions": [{"type": "Ready", "status": ready}]}}


def test_kube_dns_is_served_by_coredns_itself_and_says_where_that_differs():
    svc = kube_dns_objects("10.96.0.10")[0][1]
    out = explain_system(svc, [coredns_pod()])
    lines = out.lines()
    assert out.ok and lines[0] == "Service kube-system/kube-dns"
    assert "  served by  CoreDNS's own container at 10.96.0.10 (no proxy)" in lines
    assert "  pod        kube-system/coredns-nzg9ff9blw-kcfcw 10.96.0.10 Ready" in lines
    assert "OK: client -> kube-dns:53 (10.96.0.10) -> CoreDNS" in lines
    differs = lines[lines.index("Where the emulation differs here:") + 1:]
    assert any("for about a second no query is answered" in line for line in differs), differs


def test_kube_dns_without_a_ready_coredns_is_a_problem():
    svc = kube_dns_objects("10.96.0.10")[0][1]
    terminating = {**coredns_pod(name="coredns-old-aaaaa"), "metadata": {
        "name": "coredns-old-aaaaa", "namespace": "kube-system", "deletionTimestamp": "2026-12-07T09:00:00Z"}}
    out = explain_system(svc, [coredns_pod("False"), terminating])
    assert not out.ok and out.problems[0].text.startswith("CoreDNS's pod is not ready")
    assert not any("coredns-old" in what for _, what in out.chain)


def test_kubernetes_is_served_by_the_api_server():
    svc = kubernetes_objects("10.96.0.1", "10.96.0.2")[0][1]
    lines = explain_system(svc, []).lines()
    assert lines[:3] == ["Service default/kubernetes", "  Service    kubernetes 10.96.0.1, ports https 443/TCP (no selector)",
                         "  served by  emukube's API server, which listens at this address itself (no proxy)"]
    assert "OK: client -> kubernetes:443 (10.96.0.1) -> the API server" in lines
