"""Issue 18 in the plan: selectorless Services' EndpointSlices (mirrored from hand-written Endpoints,
read as kube-proxy and CoreDNS read them), Services left to another proxy, terminating endpoints,
hostPorts and NodePorts on the node's addresses, internalTrafficPolicy Local."""

from __future__ import annotations

from dataclasses import replace

from emukube.plan import endpoints as ep
from emukube.plan import slices as sl
from emukube.plan.types import Backend, DnsEndpoint

SVC = {"metadata": {"name": "db", "namespace": "shop"},
       "spec": {"clusterIP": "10.96.0.20", "ports": [{"name": "pg", "port": 5432, "targetPort": 5432}]}}
ENDPOINTS = {"apiVersion": "v1", "kind": "Endpoints",
             "metadata": {"name": "db", "namespace": "shop", "uid": "u-1", "labels": {"team": "a"},
                          "annotations": {"note": "kept",
                                          "kubectl.kubernetes.io/last-applied-configuration": "{}"}},
             "subsets": [{"addresses": [{"ip": "10.1.0.7", "hostname": "primary"}],
                          "notReadyAddresses": [{"ip": "10.1.0.8"}],
                          "ports": [{"name": "pg", "port": 6432}]}]}


def test_endpoints_are_mirrored_as_the_mirroring_controller_writes_them():
    (mirror,) = sl.mirror_slices(ENDPOINTS)
    meta = mirror["metadata"]
    assert meta["name"].startswith("db-") and len(meta["name"]) == len("db-") + 5
    assert meta["labels"] == {"team": "a", "kubernetes.io/service-name": "db",
                              "endpointslice.kubernetes.io/managed-by": "endpointslicemirroring-controller.k8s.io"}
    assert meta["annotations"] == {"note": "kept"}
    assert meta["ownerReferences"] == [{"apiVersion": "v1", "kind": "Endpoints", "name": "db", "uid": "u-1",
                                        "controller": True, "blockOwnerDeletion": True}]
    assert mirror["ports"] == [{"name": "pg", "port": 6432, "protocol": "TCP"}]
    assert mirror["endpoints"] == [
        {"addresses": ["10.1.0.7"], "conditions": {"ready": True}, "hostname": "primary"},
        {"addresses": ["10.1.0.8"], "conditions": {"ready": False}}]
    assert sl.mirror_slices(ENDPOINTS) == [mirror]  # the same name every time


def test_what_is_mirrored():
    assert sl.mirrored(SVC, ENDPOINTS)
    assert not sl.mirrored(None, ENDPOINTS)  # no Service of that name
    assert not sl.mirrored({**SVC, "spec": {**SVC["spec"], "selector": {"app": "db"}}}, ENDPOINTS)
    skip = {**ENDPOINTS, "metadata": {**ENDPOINTS["metadata"], "labels": {sl.SKIP_MIRROR: "true"}}}
    assert not sl.mirrored(SVC, skip)  # the API server's own `kubernetes` Endpoints


def test_selectorless_service_proxies_to_its_slices_by_port_name():
    hand = {"kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": "db-extra", "namespace": "shop", "labels": {sl.SERVICE_NAME: "db"}},
            "ports": [{"name": "pg", "port": 7000, "protocol": "TCP"}, {"name": "other", "port": 1}],
            "endpoints": [{"addresses": ["10.1.0.9"]},  # no conditions: ready, as for kube-proxy
                          {"addresses": ["10.1.0.10"], "conditions": {"ready": False}}]}
    assert sl.by_service([hand, *sl.mirror_slices(ENDPOINTS), SVC]) == {("shop", "db"): [hand]}
    plan = ep.proxy_plan(SVC, [], [hand, *sl.mirror_slices(ENDPOINTS)])
    assert plan.backends == {"TCP/5432": (Backend("10.1.0.9", "10.1.0.9", 7000),
                                          Backend("primary", "10.1.0.7", 6432))}


def test_serving_terminating_endpoints_only_when_none_is_ready():
    leaving = {"addresses": ["10.1.0.5"], "conditions": {"ready": False, "serving": True, "terminating": True}}
    gone = {"addresses": ["10.1.0.6"], "conditions": {"ready": False, "serving": False, "terminating": True}}
    one = {"addressType": "IPv4", "ports": [{"name": "pg", "port": 5432}], "endpoints": [leaving, gone]}
    assert ep.proxy_plan(SVC, [], [one]).backends["TCP/5432"] == (Backend("10.1.0.5", "10.1.0.5", 5432),)
    one["endpoints"].append({"addresses": ["10.1.0.4"], "conditions": {"ready": True}})
    assert ep.proxy_plan(SVC, [], [one]).backends["TCP/5432"] == (Backend("10.1.0.4", "10.1.0.4", 5432),)


def test_headless_selectorless_service_publishes_its_ready_addresses():
    headless = {**SVC, "spec": {**SVC["spec"], "clusterIP": "None"}}
    dns = ep.dns_service(headless, [], sl.mirror_slices(ENDPOINTS))
    assert dns.kind == "Headless" and dns.endpoints == (DnsEndpoint("10.1.0.7", "primary"),)


def test_services_labelled_for_another_proxy_get_none():
    assert ep.proxy_plan(SVC, []) is not None
    for label in ("service.kubernetes.io/service-proxy-name", "service.kubernetes.io/headless"):
        labelled = {**SVC, "metadata": {**SVC["metadata"], "labels": {label: ""}}}
        assert ep.proxy_plan(labelled, []) is None
        assert ep.dns_service(labelled, []).cluster_ip == "10.96.0.20"  # DNS still answers


def test_node_ports_of_the_single_node_are_published_on_the_node_address_only():
    from emukube.runtime.proxies import published_ports

    svc = {**SVC, "spec": {**SVC["spec"], "type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}}
    plan = ep.proxy_plan(svc, [])
    # never on the bridge's gateway: pods reach NodePorts at the node proxy's INTERNAL-IP
    assert published_ports(svc, plan, "127.0.0.1") == {"30080/tcp": [("127.0.0.1", 30080)]}
    assert published_ports(svc, plan, "0.0.0.0") == {"30080/tcp": [("0.0.0.0", 30080)]}
    assert published_ports(svc, plan, None) == {}  # several nodes: the node proxies publish


def test_terminating_pods_serve_only_when_no_pod_is_ready():
    svc = {"metadata": {"name": "web", "namespace": "shop"},
           "spec": {"clusterIP": "10.96.0.5", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}

    def view(name, ready=True, terminating=False):
        return ep.PodView(name=name, namespace="shop", ip=f"10.1.0.{len(name)}", labels={"app": "web"},
                          ready=ready, terminating=terminating)

    leaving, gone, fresh = view("old-1", terminating=True), view("old-22", ready=False, terminating=True), view("new")
    assert ep.proxy_plan(svc, [leaving, gone]).backends["TCP/80"] == (Backend("old-1", "10.1.0.5", 8080),)
    assert ep.proxy_plan(svc, [leaving, gone, fresh]).backends["TCP/80"] == (Backend("new", "10.1.0.3", 8080),)
    rows = {r.pod: (r.ready, r.serving, r.terminating) for r in ep.endpoint_rows(svc, [leaving, gone, fresh])}
    assert rows == {"old-1": (False, True, True), "old-22": (False, False, True), "new": (True, True, False)}


def test_host_ports_open_on_the_nodes_addresses_or_their_host_ip():
    from emukube.runtime.podspec import host_port_bindings

    spec = {"containers": [{"name": "a", "ports": [{"containerPort": 8080, "hostPort": 31888},
                                                   {"containerPort": 53, "hostPort": 5353, "protocol": "UDP",
                                                    "hostIP": "127.0.0.9"},
                                                   {"containerPort": 9090}]}]}
    assert host_port_bindings(spec, ["127.0.0.1", "10.98.0.1"]) == {
        "8080/tcp": [("127.0.0.1", 31888), ("10.98.0.1", 31888)], "53/udp": [("127.0.0.9", 5353)]}
    assert host_port_bindings({"containers": [{"name": "a"}]}, ["127.0.0.1"]) == {}


def test_internal_traffic_policy_local_tells_client_pods_apart_by_node():
    svc = {"metadata": {"name": "web", "namespace": "shop"},
           "spec": {"clusterIP": "10.96.0.5", "selector": {"app": "web"}, "internalTrafficPolicy": "Local",
                    "ports": [{"port": 80, "targetPort": 8080}]}}
    views = [ep.PodView(name="web-a", namespace="shop", ip="10.1.0.5", labels={"app": "web"}, ready=True, node="node-1"),
             ep.PodView(name="client", namespace="other", ip="10.1.0.9", labels={}, node="node-2")]
    plan = ep.proxy_plan(svc, views)
    assert plan.backends["TCP/80"] == (Backend("web-a", "10.1.0.5", 8080, node="node-1"),)
    assert plan.client_nodes == (("node-1", ("10.1.0.5",)), ("node-2", ("10.1.0.9",)))
    one_node = [replace(v, node="node-1") for v in views]
    assert ep.proxy_plan(svc, one_node).client_nodes == ()  # Local and Cluster are the same there
    assert ep.proxy_plan({**svc, "spec": {**svc["spec"], "internalTrafficPolicy": "Cluster"}}, views).client_nodes == ()


def test_node_proxies_serve_selectorless_node_ports_from_their_slices():
    from emukube.plan.nodeports import node_port_plan

    svc = {**SVC, "spec": {**SVC["spec"], "type": "NodePort",
                           "ports": [{"name": "pg", "port": 5432, "nodePort": 30432}]}}
    plan = node_port_plan(svc, [], "node-2", sl.mirror_slices(ENDPOINTS))
    assert plan.backends == {"TCP/30432": (Backend("primary", "10.1.0.7", 6432),)}
