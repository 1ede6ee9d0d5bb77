"""What the API server allocates for a Service, across the changes `apply` makes to it."""

from __future__ import annotations

import copy
import ipaddress

from emukube.plan.allocate import Allocated, allocate_services
from emukube.plan.network import ClusterNet

NET = ClusterNet("t", 0)  # 10.96.0.0/16, LoadBalancer pool 127.0.100.1-254


def svc(name="web", kind="ClusterIP", ports=((80, None),), **spec):
    body = {"type": kind, "selector": {"app": name}, **spec}
    if kind == "ExternalName":
        body = {"type": kind, "externalName": "db.example.com", **spec}
    else:
        body["ports"] = [{"name": f"p{port}", "port": port, "protocol": "TCP", "targetPort": port,
                          **({"nodePort": node_port} if node_port else {})} for port, node_port in ports]
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"}, "spec": body}


def allocate(services, previous=(), taken=None, warnings=None):
    prev = {f"default/{s['metadata']['name']}": s for s in previous}
    out, problems = allocate_services([copy.deepcopy(s) for s in services], prev, NET, taken or Allocated(), warnings)
    return out, problems


def one(service, previous=None, **kw):
    out, problems = allocate([service], [previous] if previous else [], **kw)
    assert problems == []
    return out[0]


def node_ports(s):
    return [p.get("nodePort") for p in s["spec"].get("ports", [])]


def lb_ip(s):
    return [i["ip"] for i in s.get("status", {}).get("loadBalancer", {}).get("ingress", [])]


def test_type_changes_keep_what_kubernetes_keeps():
    cluster_ip = one(svc())
    ip = cluster_ip["spec"]["clusterIP"]
    assert ipaddress.ip_address(ip) in ipaddress.ip_network(NET.service_cidr)
    node_port = one(svc(kind="NodePort"), cluster_ip)
    assert node_port["spec"]["clusterIP"] == ip and 30000 <= node_ports(node_port)[0] <= 32767
    load_balancer = one(svc(kind="LoadBalancer"), node_port)
    assert load_balancer["spec"]["clusterIP"] == ip
    assert node_ports(load_balancer) == node_ports(node_port)  # the nodePort is kept
    assert lb_ip(load_balancer)[0] in NET.lb_ip_pool()
    # ExternalName releases the ClusterIP, the nodePorts and the EXTERNAL-IP ...
    external = one(svc(kind="ExternalName"), load_balancer)
    assert "clusterIP" not in external["spec"] and "status" not in external
    # ... so ClusterIP again is a new allocation (the same name hashes to the same free address).
    again = one(svc(), external)
    assert again["spec"]["clusterIPs"] == [again["spec"]["clusterIP"]]
    back_to_cluster_ip = one(svc(), node_port)
    assert node_ports(back_to_cluster_ip) == [None] and back_to_cluster_ip["spec"]["clusterIP"] == ip


def test_added_port_gets_a_node_port_and_kept_ports_keep_theirs():
    before = one(svc(kind="NodePort"))
    after = one(svc(kind="NodePort", ports=((80, None), (81, None))), before)
    assert node_ports(after)[0] == node_ports(before)[0]
    assert node_ports(after)[1] and node_ports(after)[1] != node_ports(after)[0]


def test_load_balancer_without_node_ports():
    s = one(svc(kind="LoadBalancer", allocateLoadBalancerNodePorts=False))
    assert node_ports(s) == [None] and s["spec"]["clusterIP"] and lb_ip(s)


def test_load_balancer_ip_in_the_pool_is_honoured():
    s = one(svc(kind="LoadBalancer", loadBalancerIP="127.0.100.200"))
    assert lb_ip(s) == ["127.0.100.200"]


def test_load_balancer_ip_out_of_the_pool_is_a_warning_and_a_pool_address():
    warnings: list[str] = []
    s = one(svc("lb", kind="LoadBalancer", loadBalancerIP="203.0.113.10"), warnings=warnings)
    assert lb_ip(s) == ["127.0.100.1"]
    assert warnings == ["Service default/lb: spec.loadBalancerIP 203.0.113.10 is not in this cluster's "
                        "LoadBalancer pool 127.0.100.1-127.0.100.253; its EXTERNAL-IP is 127.0.100.1"]
    again: list[str] = []  # said once, when the request was made: not on every later apply
    assert lb_ip(one(svc("lb", kind="LoadBalancer", loadBalancerIP="203.0.113.10"), s, warnings=again)) == lb_ip(s)
    assert again == []


def test_load_balancer_ip_of_another_service_is_a_warning():
    first = one(svc("a", kind="LoadBalancer", loadBalancerIP="127.0.100.7"))
    warnings: list[str] = []
    out, problems = allocate([first, svc("b", kind="LoadBalancer", loadBalancerIP="127.0.100.7")], [first],
                             warnings=warnings)
    assert problems == [] and lb_ip(out[0]) == ["127.0.100.7"] and lb_ip(out[1]) == ["127.0.100.1"]
    assert warnings == ["Service default/b: spec.loadBalancerIP 127.0.100.7 is already used by Service "
                        "default/a; its EXTERNAL-IP is 127.0.100.1"]


def test_a_new_service_never_takes_what_a_running_one_holds():
    running = one(svc("b", kind="LoadBalancer"))
    # "a" comes first in the input and would pick the first free address: b's.
    out, problems = allocate([svc("a", kind="LoadBalancer"), svc("b", kind="LoadBalancer")], [running])
    assert problems == []
    assert lb_ip(out[1]) == lb_ip(running) and lb_ip(out[0]) != lb_ip(running)
    # Asking for b's ClusterIP is the API server's "already allocated", reported on the asker.
    out, problems = allocate([svc("a", clusterIP=running["spec"]["clusterIP"]), svc("b", kind="LoadBalancer")],
                             [running])
    ip = running["spec"]["clusterIP"]
    assert problems == [f'The Service "a" is invalid: spec.clusterIPs: Invalid value: []string{{"{ip}"}}: '
                        f"failed to allocate IP {ip}: provided IP is already allocated"]


def test_cluster_ip_out_of_the_service_range():
    out, problems = allocate([svc(clusterIP="10.0.0.5")])
    assert problems == ['The Service "web" is invalid: spec.clusterIPs: Invalid value: []string{"10.0.0.5"}: '
                        "failed to allocate IP 10.0.0.5: provided IP is not in the valid range. "
                        "The range of valid IPs is 10.96.0.0/18"]


def test_requested_cluster_ip_is_honoured():
    assert one(svc(clusterIP="10.96.5.5"))["spec"]["clusterIPs"] == ["10.96.5.5"]


def test_node_port_held_by_another_cluster_is_already_allocated():
    out, problems = allocate([svc(kind="NodePort", ports=((80, 30080),))],
                             taken=Allocated(node_ports={30080: "cluster other"}))
    assert problems == ['The Service "web" is invalid: spec.ports[0].nodePort: Invalid value: 30080: '
                        'provided port is already allocated (held by emukube cluster "other": '
                        "`emukube down --cluster other` frees it, or leave nodePort out to be given a free port)"]
