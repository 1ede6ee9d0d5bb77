"""Endpoints and EndpointSlices as the controllers publish them, and what kube-proxy routes to."""

from __future__ import annotations

import pytest

from emukube.errors import EmukubeError
from emukube.lifecycle.node_address import normalise, warning
from emukube.plan.endpoint_objects import endpoints_object, groups, slice_objects
from emukube.plan.endpoints import PodView, backends, endpoint_rows

PORTS = (("http", 8080, "TCP"),)


def pod(name, ip, ready=True, terminating=False, port=8080):
    return PodView(name=name, namespace="default", ip=ip, labels={"app": "web"}, ready=ready,
                   terminating=terminating, container_ports=PORTS if port == 8080 else (("http", port, "TCP"),),
                   node="node-1")


def svc(**spec):
    return {"metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "clusterIP": "10.96.1.1",
                     "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}], **spec}}


PODS = [pod("a", "10.96.128.1"), pod("b", "10.96.128.2", ready=False), pod("c", "10.96.128.3", terminating=True,
                                                                          ready=False)]


def test_endpoints_split_ready_and_not_ready_and_leave_terminating_pods_out():
    obj = endpoints_object(svc(), PODS)
    assert obj["subsets"] == [{
        "addresses": [{"ip": "10.96.128.1", "nodeName": "node-1",
                       "targetRef": {"kind": "Pod", "name": "a", "namespace": "default"}}],
        "notReadyAddresses": [{"ip": "10.96.128.2", "nodeName": "node-1",
                               "targetRef": {"kind": "Pod", "name": "b", "namespace": "default"}}],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]


def test_endpoint_slice_keeps_terminating_pods_with_their_conditions():
    [eps] = slice_objects(svc(), PODS)
    assert [(e["addresses"][0], e["conditions"]) for e in eps["endpoints"]] == [
        ("10.96.128.1", {"ready": True, "serving": True, "terminating": False}),
        ("10.96.128.2", {"ready": False, "serving": False, "terminating": False}),
        ("10.96.128.3", {"ready": False, "serving": False, "terminating": True})]
    assert eps["metadata"]["labels"]["kubernetes.io/service-name"] == "web"
    assert eps["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]


def test_publish_not_ready_addresses_makes_every_pod_ready_and_routed():
    service = svc(publishNotReadyAddresses=True)
    assert all(r.ready for r in endpoint_rows(service, PODS))
    assert [b.pod for b in backends(service, PODS)["TCP/80"]] == ["a", "b", "c"]
    assert [b.pod for b in backends(svc(), PODS)["TCP/80"]] == ["a"]


def test_a_named_target_port_resolving_differently_makes_two_subsets_and_two_slices():
    pods = [pod("a", "10.96.128.1"), pod("b", "10.96.128.2", port=9090)]
    assert [ports for ports, _ in groups(svc(), endpoint_rows(svc(), pods))] == [
        (("http", 8080, "TCP"),), (("http", 9090, "TCP"),)]
    assert len(endpoints_object(svc(), pods)["subsets"]) == 2
    names = [s["metadata"]["name"] for s in slice_objects(svc(), pods)]
    assert len(set(names)) == 2 and all(n.startswith("web-") and len(n) == 9 for n in names)


def test_no_pods_is_no_subsets_and_one_empty_slice():
    assert "subsets" not in endpoints_object(svc(), [])
    [eps] = slice_objects(svc(), [])
    assert eps["endpoints"] == [] and "ports" not in eps


def test_address_is_checked_and_warned_about():
    assert normalise("localhost") == "127.0.0.1" and normalise(" 127.0.0.2 ") == "127.0.0.2"
    with pytest.raises(EmukubeError, match='--address "my-laptop" is not an IP address'):
        normalise("my-laptop")
    with pytest.raises(EmukubeError, match="192.0.2.7 is not an address of this machine"):
        normalise("192.0.2.7")
    assert warning("127.0.0.2") == [] and warning(None) == []
    assert warning("0.0.0.0") == ["NodePorts will listen on every interface: reachable from beyond this machine "
                                  "(the default, 127.0.0.1, keeps them local)"]
