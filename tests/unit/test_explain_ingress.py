"""`emukube explain ingress/NAME` from literal objects: each rule to its Service, what breaks a
rule, what another Ingress holds, and the emulation's limits."""

from __future__ import annotations

from emukube.diagnose.explain import PROBLEM, Explanation, Finding
from emukube.diagnose.explain_ingress import explain_ingress


def svc(name: str, ip: str) -> dict:
    return {"kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"clusterIP": ip, "ports": [{"port": 80}]}}


def ing(name: str, created: str, *rules: tuple[str, str, str], **extra) -> dict:
    obj = {"kind": "Ingress", "metadata": {"name": name, "namespace": "default", "creationTimestamp": created,
                                           **extra.pop("meta", {})},
           "spec": {"ingressClassName": "emukube", **extra, "rules": [
               {"host": host, "http": {"paths": [{"path": path, "pathType": "Prefix", "backend": {
                   "service": {"name": backend, "port": {"number": 80}}}}]}} for host, path, backend in rules]},
           "status": {"loadBalancer": {"ingress": [{"ip": "127.0.100.254"}]}}}
    return obj


def test_a_working_ingress_reads_as_its_rules_and_a_curl():
    shop = ing("shop", "2026-01-01T00:00:00Z", ("shop.example", "/", "web"))
    result = explain_ingress(shop, [shop], [svc("web", "10.96.1.5")], [], {})
    assert result.ok and result.lines(limits=False) == [
        "Ingress default/shop",
        "  address  127.0.100.254:80, :443",
        "  class    emukube (served by emukube's controller)",
        "  rule     shop.example / (Prefix) -> web:80 (10.96.1.5:80)",
        "OK: curl -H 'Host: shop.example' http://127.0.100.254/"]
    assert any("X-Forwarded-For" in line for line in result.lines())


def test_what_breaks_a_rule_and_what_only_warns():
    older = ing("older", "2026-01-01T00:00:00Z", ("shop.example", "/", "web"))
    shop = ing("shop", "2026-02-01T00:00:00Z", ("shop.example", "/", "api"), ("x.example", "/", "gone"),
               ("y.example", "/", "sick"), tls=[{"hosts": ["x.example"], "secretName": "x-tls"}],
               meta={"annotations": {"nginx.ingress.kubernetes.io/rewrite-target": "/",
                                     "nginx.ingress.kubernetes.io/proxy-body-size": "8m"}})
    services = [svc("web", "10.96.1.5"), svc("api", "10.96.1.6"), svc("sick", "10.96.1.7")]
    sick = Explanation("default/sick", findings=[Finding(PROBLEM, "no ready endpoints")])
    result = explain_ingress(shop, [older, shop], services, [], {"default/sick": sick})
    assert not result.ok
    assert [f.text for f in result.problems] == ['x.example/: service "gone" not found: requests get 503',
                                                 "y.example/ -> sick: no ready endpoints"]
    warnings = [f.text for f in result.findings if f.severity == "WARNING"]
    assert warnings == [
        "shop.example/ (Prefix) is an older Ingress's: its backend answers",
        "annotation nginx.ingress.kubernetes.io/proxy-body-size is not honoured (of a controller's own annotations, "
        "emukube's honours ingress-nginx's rewrite-target, use-regex, ssl-redirect, force-ssl-redirect and app-root)",
        'TLS Secret "x-tls" is missing or holds no tls.crt and tls.key: its hosts get the fake certificate and '
        "plain HTTP"]
