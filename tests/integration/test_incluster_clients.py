"""Python programs inside the cluster, with their ServiceAccounts' RBAC: an operator written with
kopf reconciles a custom resource into a ConfigMap (created, updated, garbage-collected with it,
Events posted), and leader election with the `kubernetes` client's LeaseLock elects exactly one of
two replicas, the other taking over once the leader is gone. The image comes from PyPI wheels,
built offline (pyimage.py)."""

from __future__ import annotations

import pytest
import yaml
from conftest import HERE, wait_until
from kubectl_tools import Kube
from pyimage import image

MANIFEST = HERE / "manifests" / "incluster.yaml"  # any small cluster: the tests bring the rest
CRD = HERE / "manifests" / "crds" / "widgets.yaml"

OPERATOR = """
apiVersion: v1
kind: Namespace
metadata: {name: operators}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: widget-operator, namespace: operators}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: widget-operator}
rules:
- {apiGroups: [apiextensions.k8s.io], resources: [customresourcedefinitions], verbs: [list, watch]}
- {apiGroups: [""], resources: [namespaces], verbs: [list, watch]}
- {apiGroups: [example.com], resources: [widgets], verbs: [get, list, watch, patch]}
- {apiGroups: [example.com], resources: [widgets/status], verbs: [get, patch]}
- {apiGroups: [""], resources: [configmaps], verbs: [get, create, patch]}
- {apiGroups: ["", events.k8s.io], resources: [events], verbs: [create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: widget-operator}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: widget-operator}
subjects: [{kind: ServiceAccount, name: widget-operator, namespace: operators}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: widget-operator, namespace: operators}
spec:
  replicas: 1
  selector: {matchLabels: {app: widget-operator}}
  template:
    metadata: {labels: {app: widget-operator}}
    spec:
      serviceAccountName: widget-operator
      containers:
      - name: operator
        image: IMAGE
        command: [python3, -m, kopf, run, --standalone, --all-namespaces, /app/widget_operator.py]
"""

ELECTOR = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: elector}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: elector}
rules:
- {apiGroups: [coordination.k8s.io], resources: [leases], verbs: [get, create, update]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: elector}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: elector}
subjects: [{kind: ServiceAccount, name: elector}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: elector}
spec:
  replicas: 2
  selector: {matchLabels: {app: elector}}
  template:
    metadata: {labels: {app: elector}}
    spec:
      serviceAccountName: elector
      containers:
      - name: elector
        image: IMAGE
        command: [python3, /app/leader.py]
        env:
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: POD_NAMESPACE
          valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
"""


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    return Kube(cluster.name, tmp_path_factory.mktemp("kube"))


@pytest.fixture(scope="module")
def pyclients() -> str:
    return image()


def config_map(kube: Kube, name: str) -> dict | None:
    found = kube("get", "configmap", name, "-o", "yaml", check=False)
    if found.returncode != 0:
        return None
    return yaml.safe_load(found.stdout)


def test_a_kopf_operator_reconciles_widgets_into_config_maps(kube, pyclients):
    kube("apply", "-f", str(CRD))
    kube("wait", "--for", "condition=established", "crd/widgets.example.com", "--timeout=30s")
    kube("apply", "-f", "-", input=OPERATOR.replace("IMAGE", pyclients))
    kube("rollout", "status", "-n", "operators", "deployment/widget-operator", "--timeout=90s", timeout=120)
    kube("apply", "-f", "-", input="apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\n"
                                   "spec: {size: small, replicas: 2}\n")
    made = wait_until(lambda: config_map(kube, "w1-widget"), "the operator's ConfigMap", timeout=60)
    assert made["data"] == {"size": "small", "replicas": "2"}
    (owner,) = made["metadata"]["ownerReferences"]
    assert (owner["apiVersion"], owner["kind"], owner["name"]) == ("example.com/v1", "Widget", "w1")

    kube("patch", "widget", "w1", "--type=merge", "-p", '{"spec":{"size":"large"}}')
    wait_until(lambda: (config_map(kube, "w1-widget") or {}).get("data", {}).get("size") == "large",
               "the ConfigMap following the Widget", timeout=60)
    status = wait_until(lambda: kube.obj("get", "widget", "w1").get("status", {}).get("reconcile"),
                        "the handler's result in the Widget's status", timeout=30)
    assert status == {"configMap": "w1-widget"}
    posted = "kopf: ConfigMap w1-widget holds {'size': 'large', 'replicas': '2'}"
    wait_until(lambda: posted in kube("get", "events", "--field-selector", "involvedObject.name=w1,reason=Reconciled",
                                      "-o", "jsonpath={range .items[*]}{.source.component}: {.message}{'\\n'}{end}"
                                      ).stdout, "the operator's Event", timeout=30)

    kube("delete", "widget", "w1")
    wait_until(lambda: config_map(kube, "w1-widget") is None, "the ConfigMap collected with its Widget",
               timeout=60)


def holder(kube: Kube) -> str:
    return kube("get", "lease", "demo-leader", "-o", "jsonpath={.spec.holderIdentity}", check=False).stdout


def electors(kube: Kube) -> list[str]:
    return [p.split("/", 1)[1] for p in kube.lines("get", "pods", "-l", "app=elector", "-o", "name")]


def logs(kube: Kube, pod: str) -> str:
    return kube("logs", pod, check=False).stdout


def test_leader_election_elects_exactly_one_of_two(kube, pyclients):
    kube("apply", "-f", "-", input=ELECTOR.replace("IMAGE", pyclients))
    kube("rollout", "status", "deployment/elector", "--timeout=90s", timeout=120)
    pods = electors(kube)
    assert len(pods) == 2
    wait_until(lambda: all("is a candidate" in logs(kube, p) for p in pods), "both candidates standing")
    leader = wait_until(lambda: holder(kube) in pods and holder(kube), "a Lease holder", timeout=60)
    wait_until(lambda: f"{leader} is leading" in logs(kube, leader), "the leader saying so", timeout=30)
    (other,) = [p for p in pods if p != leader]
    lease = kube.obj("get", "lease", "demo-leader")
    # the other keeps trying for two more lease periods and never takes it over
    wait_until(lambda: kube.obj("get", "lease", "demo-leader")["spec"]["renewTime"] != lease["spec"]["renewTime"],
               "the leader renewing", timeout=30)
    assert holder(kube) == leader and "is leading" not in logs(kube, other)

    kube("delete", "pod", leader, "--grace-period=1", timeout=90)
    new = wait_until(lambda: holder(kube) not in ("", leader) and holder(kube), "another leader", timeout=90)
    assert new in electors(kube)
    wait_until(lambda: f"{new} is leading" in logs(kube, new), "the new leader saying so", timeout=30)
    assert kube.obj("get", "lease", "demo-leader")["spec"]["acquireTime"] != lease["spec"]["acquireTime"]
