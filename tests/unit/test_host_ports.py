"""Which host ports a plan publishes, and whether another program holds one."""

from __future__ import annotations

import socket

from emukube.lifecycle.host_ports import in_use, wanted
from emukube.plan.network import ClusterNet

NET = ClusterNet("t", 0)


def svc(name, stype, ports, lb_ip=None):
    obj = {"kind": "Service", "metadata": {"name": name}, "spec": {"type": stype, "ports": ports}}
    if lb_ip:
        obj["status"] = {"loadBalancer": {"ingress": [{"ip": lb_ip}]}}
    return obj


def test_node_ports_on_the_address_and_load_balancer_ports_on_their_own_ip():
    services = [
        svc("np", "NodePort", [{"port": 80, "nodePort": 30080}, {"port": 53, "protocol": "UDP", "nodePort": 30053}]),
        svc("lb", "LoadBalancer", [{"port": 443, "nodePort": 30443}], lb_ip="127.0.100.1"),
        svc("cip", "ClusterIP", [{"port": 80}]),
    ]
    got = [(b.ip, b.port, b.protocol, b.service, b.field) for b in wanted(services, NET, services, {})]
    assert got == [("127.0.0.1", 30080, "tcp", "np", "spec.ports[0].nodePort"),
                   ("127.0.0.1", 30053, "udp", "np", "spec.ports[1].nodePort"),
                   ("127.0.0.1", 30443, "tcp", "lb", "spec.ports[0].nodePort"),
                   ("127.0.100.1", 443, "tcp", "lb", "spec.ports[0].port")]
    wider = wanted(services[:1], NET, services, {"address": "0.0.0.0"})
    assert {b.ip for b in wider} == {"0.0.0.0"}


def test_several_nodes_publish_on_every_running_node():
    services = [svc("np", "NodePort", [{"port": 80, "nodePort": 30080}])]
    got = {b.ip for b in wanted(services, NET, services, {"nodes": 3})}
    assert got == {"127.0.2.1", "127.0.2.2", "127.0.2.3"}


def test_a_bound_port_is_in_use_and_a_free_one_is_not():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert in_use("127.0.0.1", port, "tcp")
    assert not in_use("127.0.0.1", port, "tcp")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind(("127.0.0.1", 0))
        assert in_use("127.0.0.1", u.getsockname()[1], "udp")
