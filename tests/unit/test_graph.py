"""`emukube graph`: the Mermaid text people paste into their docs, and the DOT Graphviz draws."""

import shutil
import subprocess

import pytest
from diag_fixtures import WEB_PODS, pod, service

from emukube.views.graph import build, to_dot, to_mermaid

SERVICES = [
    service("web", {"app": "web"}, [{"port": 80, "targetPort": 8080}]),
    service("phone", {"app": "web"}, [{"port": 80, "targetPort": 8080, "nodePort": 30080}], type="NodePort",
            sessionAffinity="ClientIP"),
    dict(service("desk", {"app": "web"}, [{"port": 80, "targetPort": 8080, "nodePort": 31000}],
                 type="LoadBalancer"), status={"loadBalancer": {"ingress": [{"ip": "127.0.100.1"}]}}),
    service("orders", {"app": "db"}, [{"port": 5432}], clusterIP="None"),
    {"kind": "Service", "metadata": {"name": "supplier", "namespace": "default"},
     "spec": {"type": "ExternalName", "externalName": "flour.example.com"}},
    service("typo", {"app": "wbe"}, [{"port": 80}]),
]
PODS = WEB_PODS + [pod("orders-0", "10.96.140.1", {"app": "db"}),
                   pod("orders-1", "10.96.140.2", {"app": "db"}, ready=False, reason="probe failed")]


def mermaid() -> list[str]:
    return to_mermaid(build(SERVICES, PODS, "10.96.0.10", "127.0.0.1")).splitlines()


def test_the_seeds_style_flowchart():
    lines = mermaid()
    assert lines[0] == "graph TD"
    assert '    client(["Client pod<br/>inside the cluster"])' in lines
    assert '    host(["Host (outside the cluster)<br/>127.0.0.1"])' in lines
    assert '    dns[("CoreDNS<br/>10.96.0.10<br/>cluster.local")]' in lines
    assert '    subgraph ns_default["namespace default"]' in lines and "    end" in lines
    assert '        svc_default_web["web (ClusterIP)<br/>ClusterIP 10.96.1.3<br/>80/TCP -> 8080"]' in lines
    assert '        pod_default_web_a["Pod web-a<br/>10.96.130.1<br/>ready"]' in lines
    assert "    client -->|DNS lookup| dns" in lines
    assert "    client -->|10.96.1.3:80| svc_default_web" in lines
    assert "    svc_default_web -->|:8080| pod_default_web_a" in lines


def test_service_types_ips_and_ports():
    lines = "\n".join(mermaid())
    assert 'svc_default_phone["phone (NodePort)<br/>ClusterIP 10.96.1.5<br/>80:30080/TCP -> 8080<br/>' \
           'sessionAffinity: ClientIP"]' in lines
    assert "host -->|127.0.0.1:30080| svc_default_phone" in lines
    assert "EXTERNAL-IP 127.0.100.1" in lines and "host -->|127.0.100.1:80| svc_default_desk" in lines
    assert 'svc_default_orders["orders (Headless)<br/>clusterIP: None<br/>DNS returns the pod IPs' in lines
    assert "svc_default_orders -.->|A record| pod_default_orders_0" in lines
    assert "svc_default_orders -.->|not ready| pod_default_orders_1" in lines
    assert "client -->|" not in [line for line in lines.splitlines() if "orders" in line][0]
    assert 'ext_flour_example_com{{"flour.example.com"}}' in lines
    assert "svc_default_supplier -.->|CNAME| ext_flour_example_com" in lines


def test_trouble_is_marked_and_quotes_never_break_the_syntax():
    lines = mermaid()
    assert lines[-1] == "    class pod_default_orders_1,svc_default_typo trouble"
    assert any("no endpoints" in line for line in lines if "svc_default_typo[" in line)
    odd = [pod('we"b', "10.96.130.7", {"app": "x"}, ready=False, reason='says "no" | twice')]
    text = to_mermaid(build([], odd))
    assert '"no"' not in text and "#quot;no#quot;" in text and "#124;" in text


def test_dot_is_the_same_graph():
    dot = to_dot(build(SERVICES, PODS, "10.96.0.10"))
    assert dot.startswith("digraph emukube {")
    assert 'subgraph cluster_ns_default { label="namespace default";' in dot
    assert "svc_default_web -> pod_default_web_a [label=\":8080\"];" in dot
    assert 'svc_default_orders -> pod_default_orders_1 [label="not ready", style=dashed];' in dot
    if shutil.which("dot") is None:
        pytest.fail("Graphviz is not installed (apt-get install graphviz; scripts/setup.sh does it)")
    svg = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60, check=True).stdout
    assert "<svg" in svg and "web&#45;a" in svg
