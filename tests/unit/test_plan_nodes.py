"""Emulated nodes as plain data: addresses, cordon/stop state, scheduling, NodePort plans."""

from __future__ import annotations

from emukube.plan.endpoints import PodView
from emukube.plan.network import ClusterNet
from emukube.plan.nodeports import host_port_plans, host_ports, node_port_plan
from emukube.plan.nodes import STOPPED_ANNOTATION, evicted, node_object, plan_nodes, schedule, taint_id, tolerates

NET = ClusterNet("t", 2)  # 10.98.0.0/16


def test_every_node_has_a_cluster_address_and_several_get_host_addresses_of_their_own():
    (only,) = plan_nodes(NET, 1, [], "127.0.0.1")
    # pods reach it at its node proxy's address (never the gateway, a host address), the host at --address
    assert (only.name, only.internal_ip, only.host_ip) == ("node-1", "10.98.0.21", "127.0.0.1")
    three = plan_nodes(NET, 3, [])
    assert [(n.name, n.internal_ip, n.host_ip) for n in three] == [
        ("node-1", "10.98.0.21", "127.0.4.1"), ("node-2", "10.98.0.22", "127.0.4.2"),
        ("node-3", "10.98.0.23", "127.0.4.3")]
    assert three[0].labels["kubernetes.io/hostname"] == "node-1"


def test_cordon_and_stop_come_from_node_objects():
    cordoned = node_object("node-1")
    cordoned["spec"]["unschedulable"] = True
    stopped = node_object("node-2")
    stopped["metadata"]["annotations"] = {STOPPED_ANNOTATION: "true"}
    nodes = plan_nodes(NET, 3, [cordoned, stopped])
    assert [n.status for n in nodes] == ["Ready,SchedulingDisabled", "NotReady", "Ready"]


def test_the_scheduler_spreads_an_owner_first_then_the_load():
    nodes = plan_nodes(NET, 3, [])
    assert schedule({}, nodes, {"node-1": 1, "node-2": 1}, {"node-3": 5}) == ("node-3", "")
    assert schedule({}, nodes, {}, {"node-1": 2, "node-2": 1, "node-3": 1}) == ("node-2", "")


def test_node_name_and_selector_and_the_scheduler_s_message():
    cordoned = node_object("node-3")
    cordoned["spec"]["unschedulable"] = True
    nodes = plan_nodes(NET, 3, [cordoned])
    assert schedule({"nodeName": "node-3"}, nodes, {}, {}) == ("node-3", "")  # a cordon does not apply
    assert schedule({"nodeSelector": {"kubernetes.io/hostname": "node-2"}}, nodes, {}, {}) == ("node-2", "")
    node, why = schedule({"nodeSelector": {"disk": "ssd"}}, nodes, {}, {})
    assert node == "" and why == ("0/3 nodes are available: 2 node(s) didn't match Pod's node affinity/selector, "
                                  "1 node(s) had untolerated taint {node.kubernetes.io/unschedulable: }. "
                                  "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")



def tainted(name: str, *taints: dict) -> dict:
    obj = node_object(name)
    obj["spec"]["taints"] = list(taints)
    return obj


GPU = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
DRAIN = {"key": "maintenance", "effect": "NoExecute"}


def test_a_taint_keeps_pods_off_unless_they_tolerate_it():
    nodes = plan_nodes(NET, 2, [tainted("node-1", GPU), tainted("node-2", DRAIN)])
    node, why = schedule({}, nodes, {}, {})
    assert node == "" and why == ("0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
                                  "1 node(s) had untolerated taint {maintenance: }. "
                                  "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")
    gpu = {"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]}
    assert schedule(gpu, nodes, {}, {}) == ("node-1", "")
    anything = {"tolerations": [{"operator": "Exists"}]}
    assert schedule(anything, nodes, {"node-1": 1}, {}) == ("node-2", "")
    # PreferNoSchedule only prefers; nodeName bypasses the scheduler.
    soft = plan_nodes(NET, 1, [tainted("node-1", {"key": "k", "effect": "PreferNoSchedule"})])
    assert schedule({}, soft, {}, {}) == ("node-1", "")
    assert schedule({"nodeName": "node-1"}, nodes, {}, {}) == ("node-1", "")


def test_the_cordon_is_a_taint_that_can_be_tolerated():
    cordoned = node_object("node-1")
    cordoned["spec"]["unschedulable"] = True
    nodes = plan_nodes(NET, 1, [cordoned])
    toleration = {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}
    assert schedule({"tolerations": [toleration]}, nodes, {}, {}) == ("node-1", "")


def test_toleration_matching_follows_the_scheduler():
    assert tolerates([{"key": "dedicated", "operator": "Exists"}], GPU)  # any value, any effect
    assert not tolerates([{"key": "dedicated", "value": "cpu", "effect": "NoSchedule"}], GPU)
    assert not tolerates([{"key": "dedicated", "value": "gpu", "effect": "NoExecute"}], GPU)
    assert tolerates([{"key": "dedicated", "value": "gpu"}], GPU)  # Equal is the default; no effect: all
    assert not tolerates([{"value": "gpu"}], GPU)  # no key: only with Exists


def test_a_no_execute_taint_evicts_the_pods_that_do_not_tolerate_it():
    [node] = plan_nodes(NET, 1, [tainted("node-1", GPU, DRAIN)])
    assert evicted({}, node) == "untolerated taint {maintenance: }"  # NoSchedule evicts nothing
    assert evicted({"tolerations": [{"key": "maintenance", "operator": "Exists"}]}, node) == ""


SVC = {"metadata": {"name": "web", "namespace": "default"},
       "spec": {"type": "NodePort", "clusterIP": "10.98.1.5", "selector": {"app": "web"},
                "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"},
                          {"port": 53, "targetPort": 53, "nodePort": 30053, "protocol": "UDP"}]}}
PODS = [PodView(f"web-{i}", "default", f"10.98.128.{i}", {"app": "web"}, ready=True, node=f"node-{i}")
        for i in (1, 2)]


def test_cluster_policy_node_ports_reach_every_pod():
    plan = node_port_plan(SVC, PODS, "node-1")
    assert [p.port for p in plan.ports] == [30080]  # TCP only: UDP NodePorts stay on --address
    assert {b.pod for b in plan.backends["TCP/30080"]} == {"web-1", "web-2"}


def test_local_policy_node_ports_reach_only_the_node_s_pods():
    local = {**SVC, "spec": {**SVC["spec"], "externalTrafficPolicy": "Local"}}
    assert {b.pod for b in node_port_plan(local, PODS, "node-2").backends["TCP/30080"]} == {"web-2"}
    assert node_port_plan(local, PODS, "node-3").backends["TCP/30080"] == ()  # refused there


def test_a_node_serves_the_host_ports_of_its_own_pods_that_no_node_port_holds():
    spec = {"containers": [{"name": "a", "ports": [
        {"containerPort": 8080, "hostPort": 31888}, {"containerPort": 53, "hostPort": 5353, "protocol": "UDP"},
        {"containerPort": 9090, "hostPort": 31999, "hostIP": "127.0.0.1"}, {"containerPort": 80}]}]}
    assert host_ports(spec) == ((31888, 8080),)  # TCP on every node address only
    pods = [PodView("hp-1", "default", "10.98.128.9", {}, node="node-1", host_ports=((31888, 8080), (30080, 80))),
            PodView("hp-2", "default", "10.98.128.8", {}, node="node-2", host_ports=((31888, 8080),)),
            PodView("starting", "default", "", {}, node="node-1", host_ports=((31777, 8080),))]
    (plan,) = host_port_plans(pods, "node-1", {30080})  # a NodePort keeps its port
    assert [(p.port, p.target_port) for p in plan.ports] == [(31888, 8080)]
    assert [(b.pod, b.ip, b.port) for b in plan.backends["TCP/31888"]] == [("hp-1", "10.98.128.9", 8080)]


def test_a_toleration_with_seconds_keeps_a_pod_that_long_after_the_taint_came():
    [node] = plan_nodes(NET, 1, [tainted("node-1", DRAIN)])
    drain = taint_id(DRAIN)
    for_a_minute = {"tolerations": [{"key": "maintenance", "operator": "Exists", "effect": "NoExecute",
                                     "tolerationSeconds": 60}]}
    assert evicted(for_a_minute, node, {drain: 59.5}) == ""
    assert evicted(for_a_minute, node, {drain: 60}) == "taint {maintenance: } tolerated for 60s"
    assert evicted(for_a_minute, node) == ""  # the taint just came
    # The least of the matching tolerations' seconds counts; one without seconds alone keeps it for good.
    both = {"tolerations": [*for_a_minute["tolerations"], {"operator": "Exists", "tolerationSeconds": 5}]}
    assert evicted(both, node, {drain: 6}) == "taint {maintenance: } tolerated for 5s"
    forever = {"tolerations": [{"key": "maintenance", "operator": "Exists"}]}
    assert evicted(forever, node, {drain: 10**6}) == ""
    assert evicted({"tolerations": [{"operator": "Exists", "tolerationSeconds": 0}]}, node) == \
        "taint {maintenance: } tolerated for 0s"


def test_default_toleration_seconds_adds_what_no_toleration_covers():
    from emukube.plan.nodes import with_default_tolerations

    five = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}
    added = with_default_tolerations({"tolerations": [five]})
    assert added == [five, {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                            "tolerationSeconds": 300}]
    assert with_default_tolerations({"tolerations": [{"operator": "Exists"}]}) == [{"operator": "Exists"}]
    assert len(with_default_tolerations({})) == 2
