"""The DaemonSet controller's pure parts: where daemon pods run, what one sync makes and removes,
the rolling update's pace, the status, the validation and the table row."""

from __future__ import annotations

import pytest

from emukube.apiserver.printers.apps import daemonset_cells
from emukube.controllers.publish_workloads import controller_revisions, daemonset_status
from emukube.manifests.defaults import apply_defaults
from emukube.manifests.validate import validate_object
from emukube.plan import daemonsets as ds
from emukube.plan.nodes import Node, fits
from emukube.plan.workloads import template_hash


def node(name: str, **kw) -> Node:
    labels = {"kubernetes.io/hostname": name, **kw.pop("labels", {})}
    return Node(name=name, internal_ip="10.0.0.1", host_ip="127.0.0.1", labels=labels, **kw)


def daemonset(**spec) -> dict:
    template_spec = spec.pop("template_spec", {})
    obj = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "generation": 1},
           "spec": {"selector": {"matchLabels": {"app": "agent"}},
                    "template": {"metadata": {"labels": {"app": "agent"}},
                                 "spec": {"containers": [{"name": "a", "image": "emukube/echo:1.0"}],
                                          **template_spec}}, **spec}}
    return apply_defaults(obj)


NODES = [node("node-1"), node("node-2"), node("node-3")]


def pod(name: str, on: str, current: bool = True, available: bool = True, created: str = "1") -> ds.DaemonPod:
    return ds.DaemonPod(name, on, current, available, created)


def test_a_pod_for_every_node_and_none_twice():
    actions = ds.decide(daemonset(), NODES, [pod("a", "node-1"), pod("b", "node-2", created="1"),
                                             pod("c", "node-2", created="2")])
    assert actions.create_on == ["node-3"]
    assert actions.delete == [("c", "more than one daemon pod on the node")]


def test_node_selector_affinity_and_taints_choose_the_nodes():
    nodes = [node("node-1", labels={"disk": "ssd"}), node("node-2", labels={"disk": "hdd"}),
             node("node-3", labels={"disk": "ssd"}, taints=({"key": "gpu", "effect": "NoSchedule"},)),
             node("node-4", labels={"disk": "ssd"}, unschedulable=True), node("node-5", stopped=True)]
    by_selector = daemonset(template_spec={"nodeSelector": {"disk": "ssd"}})
    # A cordon does not keep a daemon off (it tolerates node.kubernetes.io/unschedulable);
    # an untolerated NoSchedule taint keeps a new one off but lets one that runs stay.
    assert ds.decide(by_selector, nodes, [pod("c", "node-3")]).create_on == ["node-1", "node-4"]
    assert ds.decide(by_selector, nodes, [pod("c", "node-3")]).delete == []
    assert ds.desired(by_selector, nodes) == 2
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "disk", "operator": "NotIn", "values": ["ssd"]}]}]}}}
    by_affinity = daemonset(template_spec={"affinity": affinity})
    # node-2 only: node-5 is stopped; a label it lost sends its daemon pod away.
    assert ds.decide(by_affinity, nodes, [pod("x", "node-1")]).create_on == ["node-2"]
    assert ds.decide(by_affinity, nodes, [pod("x", "node-1")]).delete == [
        ("x", "node node-1 no longer runs the daemon")]
    evicting = [node("node-1", taints=({"key": "k", "value": "v", "effect": "NoExecute"},))]
    assert ds.decide(daemonset(), evicting, [pod("y", "node-1")]).delete == [
        ("y", "node node-1 no longer runs the daemon")]


def test_a_daemon_pod_names_its_node_and_tolerates_what_daemons_do():
    plan = ds.daemon_pod(daemonset(template_spec={"hostNetwork": True}), "node-2")
    assert plan.node == "node-2" and plan.name.startswith("agent-") and len(plan.name) == len("agent-") + 5
    assert plan.labels["controller-revision-hash"] == plan.template_hash
    assert plan.labels["pod-template-generation"] == "1"
    terms = plan.spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms == {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                             "values": ["node-2"]}]}]}
    keys = {(t["key"], t["effect"]) for t in plan.spec["tolerations"]}
    assert ("node.kubernetes.io/unschedulable", "NoSchedule") in keys
    assert ("node.kubernetes.io/network-unavailable", "NoSchedule") in keys
    assert [fits(plan.spec, n) for n in (node("node-1"), node("node-2", unschedulable=True))] == [
        "didn't match Pod's node affinity/selector", ""]


@pytest.mark.parametrize(("op", "values", "label", "fits_node"), [
    ("In", ["a", "b"], "b", True), ("In", ["a"], None, False), ("NotIn", ["a"], None, True),
    ("Exists", [], "x", True), ("DoesNotExist", [], "x", False), ("Gt", ["3"], "4", True),
    ("Lt", ["3"], "4", False), ("Gt", ["3"], "four", False)])
def test_required_node_affinity_operators(op, values, label, fits_node):
    expression = {"key": "k", "operator": op, **({"values": values} if values else {})}
    spec = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [expression]}]}}}}
    labels = {"k": label} if label is not None else {}
    assert (fits(spec, node("n", labels=labels)) == "") is fits_node


def test_rolling_update_replaces_one_node_at_a_time():
    new = daemonset()
    old = [pod("a", "node-1", current=False), pod("b", "node-2", current=False), pod("c", "node-3", current=False)]
    assert ds.decide(new, NODES, old).delete == [("a", "rolling update: old template")]
    # node-1's pod is gone, its new one not available yet: nothing more goes.
    assert ds.decide(new, NODES, [pod("n1", "node-1", available=False), *old[1:]]).delete == []
    assert ds.decide(new, NODES, [pod("n1", "node-1"), *old[1:]]).delete == [("b", "rolling update: old template")]
    # An old pod that is not available anyway is replaced at once, and counts against the limit.
    broken = [pod("a", "node-1", current=False, available=False), *old[1:]]
    assert ds.decide(new, NODES, broken).delete == [("a", "rolling update: old template")]
    wide = daemonset(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "50%"}})
    assert len(ds.decide(wide, NODES, old).delete) == 2  # 50% of 3, rounded up
    on_delete = daemonset(updateStrategy={"type": "OnDelete"})
    assert ds.decide(on_delete, NODES, old).delete == []


def test_surge_makes_the_new_pod_beside_the_old_one_first():
    surge = daemonset(updateStrategy={"type": "RollingUpdate",
                                      "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}})
    old = [pod("a", "node-1", current=False), pod("b", "node-2", current=False), pod("c", "node-3", current=False)]
    assert ds.decide(surge, NODES, old).create_on == ["node-1"]
    waiting = [*old, pod("n1", "node-1", available=False, created="2")]
    assert ds.decide(surge, NODES, waiting).create_on == [] and ds.decide(surge, NODES, waiting).delete == []
    ready = [*old, pod("n1", "node-1", created="2")]
    actions = ds.decide(surge, NODES, ready)
    # node-1's new pod is available: its old one goes, and the surge moves on to node-2.
    assert actions.delete == [("a", "rolling update: old template")] and actions.create_on == ["node-2"]


def api_pod(name: str, on: str, thash: str, ready: bool = True) -> dict:
    return {"metadata": {"name": name, "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z",
                         "labels": {"app": "agent", "controller-revision-hash": thash},
                         "ownerReferences": [{"kind": "DaemonSet", "name": "agent", "controller": True}]},
            "spec": {"nodeName": on},
            "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True" if ready else "False",
                 "lastTransitionTime": "2026-01-01T00:00:01Z"}]}}


def test_status_counts_nodes_as_the_controller_does():
    d = daemonset(template_spec={"nodeSelector": {"kubernetes.io/hostname": "node-1"}})
    current = template_hash(d["spec"]["template"])
    pods = [api_pod("a", "node-1", "old", ready=False), api_pod("b", "node-2", current)]
    assert daemonset_status(d, pods, NODES, "2026-01-01T00:01:00Z") == {
        "currentNumberScheduled": 1, "numberMisscheduled": 1, "desiredNumberScheduled": 1, "numberReady": 0,
        "observedGeneration": 1, "numberUnavailable": 1}
    d = daemonset()
    pods = [api_pod(f"p{i}", n.name, template_hash(d["spec"]["template"])) for i, n in enumerate(NODES)]
    assert daemonset_status(d, pods, NODES, "2026-01-01T00:01:00Z") == {
        "currentNumberScheduled": 3, "numberMisscheduled": 0, "desiredNumberScheduled": 3, "numberReady": 3,
        "observedGeneration": 1, "updatedNumberScheduled": 3, "numberAvailable": 3}


def test_history_names_revisions_after_the_set_and_its_pods_carry_the_hash():
    d = daemonset()
    d["metadata"]["uid"] = "u1"
    current = template_hash(d["spec"]["template"])
    revisions = controller_revisions(d, [api_pod("a", "node-1", current)], [])
    assert [(r["metadata"]["name"], r["revision"]) for r in revisions] == [(f"agent-{current}", 1)]
    assert revisions[0]["metadata"]["labels"]["controller-revision-hash"] == current
    assert revisions[0]["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"


def test_defaults_and_validation_are_the_api_servers():
    d = daemonset()
    assert d["spec"]["updateStrategy"] == {"type": "RollingUpdate",
                                           "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert d["spec"]["revisionHistoryLimit"] == 10 and "replicas" not in d["spec"]
    bad = daemonset(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}},
                    template_spec={"restartPolicy": "Never", "activeDeadlineSeconds": 5})
    text = "\n".join(validate_object(bad))
    assert "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable " \
           "is non-zero" in text
    assert 'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"' in text
    assert "spec.template.spec.activeDeadlineSeconds: Invalid value: 5: activeDeadlineSeconds in DaemonSet is " \
           "not Supported" in text
    zero = daemonset(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "0%",
                                                                                "maxSurge": 0}})
    assert "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0" in \
        "\n".join(validate_object(zero))


def test_table_row_is_kubectls():
    d = daemonset(template_spec={"nodeSelector": {"disk": "ssd", "arch": "amd64"}})
    d["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    d["status"] = {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 1,
                   "updatedNumberScheduled": 2, "numberAvailable": 1}
    assert daemonset_cells(d, 1767225660.0) == ["agent", 2, 2, 1, 2, 1, "arch=amd64,disk=ssd", "60s", "a",
                                                "emukube/echo:1.0", "app=agent"]
