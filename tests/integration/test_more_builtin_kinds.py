"""Built-in kinds every 1.35 cluster serves, with the real kubectl: RuntimeClasses (node.k8s.io/v1)
and the RuntimeClass admission plugin's effect on pods, PodTemplates, and storage.k8s.io's CSI
kinds (stored and validated only). `kubectl api-resources` lists them, `apply` and `get` show
kubectl's columns, a pod naming a missing class is refused in the plugin's words, and a
Deployment's pods get their class's overhead (or wait, FailedCreate, until the class exists)."""

from __future__ import annotations

import re

import pytest
from conftest import HERE, wait_until
from kubectl_tools import Kube

MANIFEST = HERE / "manifests" / "runtime_classes.yaml"
KINDS = """
apiVersion: v1
kind: PodTemplate
metadata: {name: web-template}
template:
  metadata: {labels: {app: web}}
  spec:
    containers: [{name: web, image: nginx:1.25}]
---
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: hostpath.csi.k8s.io}
spec:
  attachRequired: false
  podInfoOnMount: true
  volumeLifecycleModes: [Persistent, Ephemeral]
---
apiVersion: storage.k8s.io/v1
kind: CSINode
metadata: {name: node-1}
spec:
  drivers: [{name: hostpath.csi.k8s.io, nodeID: node-1, topologyKeys: [topology.hostpath.csi/node]}]
---
apiVersion: storage.k8s.io/v1
kind: VolumeAttachment
metadata: {name: csi-0123}
spec:
  attacher: hostpath.csi.k8s.io
  nodeName: node-1
  source: {persistentVolumeName: pv-0123}
---
apiVersion: storage.k8s.io/v1
kind: CSIStorageCapacity
metadata: {name: capacity-node-1}
storageClassName: standard
capacity: 2048Mi
nodeTopology: {matchLabels: {topology.hostpath.csi/node: node-1}}
---
apiVersion: storage.k8s.io/v1
kind: VolumeAttributesClass
metadata: {name: gold}
driverName: hostpath.csi.k8s.io
parameters: {iops: "3000"}
"""
WAITING = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: waiting}
spec:
  replicas: 1
  selector: {matchLabels: {app: waiting}}
  template:
    metadata: {labels: {app: waiting}}
    spec:
      runtimeClassName: later
      containers: [{name: echo, image: emukube/echo:1.0}]
"""
LATER = """
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: later}
handler: kata
overhead: {podFixed: {memory: 16Mi}}
"""


def columns(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    k = Kube(cluster.name, tmp_path_factory.mktemp("kube"))
    k("rollout", "status", "deployment/sandboxed", "--timeout=90s", timeout=100)
    return k


def test_api_resources_lists_them(kube):
    rows = {columns(line)[0]: columns(line) for line in kube.lines("api-resources")[1:]}
    assert rows["runtimeclasses"] == ["runtimeclasses", "node.k8s.io/v1", "false", "RuntimeClass"]
    assert rows["podtemplates"] == ["podtemplates", "v1", "true", "PodTemplate"]
    assert rows["csidrivers"] == ["csidrivers", "storage.k8s.io/v1", "false", "CSIDriver"]
    assert rows["csinodes"] == ["csinodes", "storage.k8s.io/v1", "false", "CSINode"]
    assert rows["volumeattachments"] == ["volumeattachments", "storage.k8s.io/v1", "false", "VolumeAttachment"]
    assert rows["csistoragecapacities"] == ["csistoragecapacities", "storage.k8s.io/v1", "true", "CSIStorageCapacity"]
    assert rows["volumeattributesclasses"] == ["volumeattributesclasses", "vac", "storage.k8s.io/v1", "false",
                                               "VolumeAttributesClass"]
    assert "handler specifies the underlying runtime" in kube("explain", "runtimeclass.handler").stdout


def test_each_kind_applies_and_prints_kubectls_columns(kube):
    applied = kube("apply", "-f", "-", input=KINDS).stdout
    for name in ("podtemplate/web-template", "csidriver.storage.k8s.io/hostpath.csi.k8s.io",
                 "csinode.storage.k8s.io/node-1", "volumeattachment.storage.k8s.io/csi-0123",
                 "csistoragecapacity.storage.k8s.io/capacity-node-1",
                 "volumeattributesclass.storage.k8s.io/gold"):
        assert f"{name} created" in applied, applied
    expected = {
        "runtimeclasses": (["NAME", "HANDLER", "AGE"], ["sandboxed", "runsc"]),
        "podtemplates": (["NAME", "CONTAINERS", "IMAGES", "POD LABELS"],
                         ["web-template", "web", "nginx:1.25", "app=web"]),
        "csidrivers": (["NAME", "ATTACHREQUIRED", "PODINFOONMOUNT", "STORAGECAPACITY", "TOKENREQUESTS",
                        "REQUIRESREPUBLISH", "MODES", "AGE"],
                       ["hostpath.csi.k8s.io", "false", "true", "false", "<unset>", "false", "Persistent,Ephemeral"]),
        "csinodes": (["NAME", "DRIVERS", "AGE"], ["node-1", "1"]),
        "volumeattachments": (["NAME", "ATTACHER", "PV", "NODE", "ATTACHED", "AGE"],
                              ["csi-0123", "hostpath.csi.k8s.io", "pv-0123", "node-1", "false"]),
        "csistoragecapacities": (["NAME", "STORAGECLASSNAME", "CAPACITY"], ["capacity-node-1", "standard", "2Gi"]),
        "vac": (["NAME", "DRIVERNAME", "AGE"], ["gold", "hostpath.csi.k8s.io"]),
    }
    for resource, (header, row) in expected.items():
        lines = kube.lines("get", resource)
        assert columns(lines[0]) == header, lines
        assert columns(lines[1])[:len(row)] == row, lines
    driver = kube.obj("get", "csidriver", "hostpath.csi.k8s.io")
    assert (driver["spec"]["storageCapacity"], driver["spec"]["fsGroupPolicy"]) == (False, "ReadWriteOnceWithFSType")
    refused = kube("patch", "csidriver", "hostpath.csi.k8s.io", "-p", '{"spec":{"attachRequired":true}}', check=False)
    assert 'The CSIDriver "hostpath.csi.k8s.io" is invalid: spec.attachedRequired: Invalid value: true: field is ' \
           "immutable" in refused.stderr, refused
    bad = kube("create", "-f", "-", check=False, input="apiVersion: storage.k8s.io/v1\nkind: VolumeAttributesClass\n"
                                                         "metadata: {name: empty}\ndriverName: d\n")
    assert 'The VolumeAttributesClass "empty" is invalid: parameters: Required value: must contain at least one ' \
           "key/value pair" in bad.stderr, bad


def test_pods_get_their_classs_overhead_and_a_missing_class_refuses_them(kube):
    pod = kube.obj("get", "pods", "-l", "app=sandboxed")["items"][0]
    assert pod["status"]["phase"] == "Running"
    assert pod["spec"]["overhead"] == {"cpu": "100m", "memory": "32Mi"}
    assert pod["spec"]["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert {"key": "sandbox", "operator": "Exists", "effect": "NoSchedule"} in pod["spec"]["tolerations"]
    refused = kube("run", "nope", "--image=emukube/echo:1.0", '--overrides={"spec":{"runtimeClassName":"nope"}}',
                   check=False)
    assert refused.returncode != 0
    assert 'pods "nope" is forbidden: pod rejected: RuntimeClass "nope" not found' in refused.stderr, refused
    conflict = kube("run", "clash", "--image=emukube/echo:1.0",
                    '--overrides={"spec":{"runtimeClassName":"sandboxed","nodeSelector":{"kubernetes.io/os":"windows"}}}',
                    check=False)
    assert 'pods "clash" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[kubernetes.io/os] = linux; ' \
           "pod.spec.nodeSelector[kubernetes.io/os] = windows" in conflict.stderr, conflict


def test_a_deployments_pods_wait_for_their_class(kube):
    kube("apply", "-f", "-", input=WAITING)
    try:
        wait_until(lambda: 'pod rejected: RuntimeClass "later" not found' in kube(
            "get", "events", "--field-selector", "reason=FailedCreate", "-o", "jsonpath={.items[*].message}").stdout,
            "the FailedCreate event", timeout=30)
        assert not kube.obj("get", "pods", "-l", "app=waiting")["items"]
        kube("apply", "-f", "-", input=LATER)
        kube("rollout", "status", "deploy/waiting", "--timeout=60s", timeout=70)
        pod = kube.obj("get", "pods", "-l", "app=waiting")["items"][0]
        assert pod["spec"]["overhead"] == {"memory": "16Mi"}
    finally:
        kube("delete", "deploy", "waiting", "--ignore-not-found")
        kube("delete", "runtimeclass", "later", "--ignore-not-found")
