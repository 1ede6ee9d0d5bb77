"""Pod Security Admission as the Kubernetes docs walk it ("Enforce Pod Security Standards with
Namespace Labels"): a namespace labelled restricted refuses kubectl run's pod with the API
server's four reasons, warns of a Deployment whose pods it will refuse (FailedCreate on its
ReplicaSet), admits a pod written to the standard, refuses a label that names no level, and warns
of the pods already running when a namespace is made stricter."""

from __future__ import annotations

import json

import pytest
from conftest import HERE, wait_until
from kubectl_tools import Kube

MANIFEST = HERE / "manifests" / "incluster.yaml"  # any small cluster
FOUR = ('allowPrivilegeEscalation != false (container "{c}" must set securityContext.allowPrivilegeEscalation=false), '
        'unrestricted capabilities (container "{c}" must set securityContext.capabilities.drop=["ALL"]), '
        'runAsNonRoot != true (pod or container "{c}" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or container "{c}" must set securityContext.seccompProfile.type to "RuntimeDefault" '
        'or "Localhost")')
RESTRICTED = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "good"}, "spec": {
    "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{"name": "main", "image": "emukube/echo:1.0", "securityContext": {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}}


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    k = Kube(cluster.name, tmp_path_factory.mktemp("kube"))
    k("create", "namespace", "strict")
    k("label", "--overwrite", "ns", "strict", "pod-security.kubernetes.io/enforce=restricted",
      "pod-security.kubernetes.io/warn=restricted")
    return k


def test_a_pod_that_breaks_the_enforced_standard_is_refused(kube):
    refused = kube("run", "nginx", "-n", "strict", "--image=emukube/echo:1.0", check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == ('Error from server (Forbidden): pods "nginx" is forbidden: violates PodSecurity '
                                      '"restricted:latest": ' + FOUR.format(c="nginx")), refused.stderr
    assert kube("get", "pod", "nginx", "-n", "strict", check=False).returncode == 1


def test_a_pod_written_to_the_standard_runs(kube):
    kube("apply", "-n", "strict", "-f", "-", input=json.dumps(RESTRICTED))
    kube("wait", "-n", "strict", "pod/good", "--for=condition=Ready", "--timeout=90s", timeout=120)
    assert kube("exec", "-n", "strict", "good", "--", "id", "-u").stdout.strip() == "65534"


def test_a_deployment_is_warned_of_and_its_pods_are_a_failed_create(kube):
    made = kube("create", "deployment", "web", "-n", "strict", "--image=emukube/echo:1.0")
    assert 'Warning: would violate PodSecurity "restricted:latest": ' + FOUR.format(c="echo") in made.stderr, \
        made.stderr
    event = wait_until(lambda: [e for e in kube.obj("get", "events", "-n", "strict")["items"]
                                if e["reason"] == "FailedCreate"], "a FailedCreate event")[0]
    assert event["involvedObject"]["kind"] == "ReplicaSet"
    assert event["message"].startswith('Error creating: pods "web-') and event["message"].endswith(
        '" is forbidden: violates PodSecurity "restricted:latest": ' + FOUR.format(c="echo")), event["message"]
    assert kube.obj("get", "pods", "-n", "strict", "-l", "app=web")["items"] == []


def test_a_label_that_names_no_level_is_refused(kube):
    bad = kube("label", "--overwrite", "ns", "strict", "pod-security.kubernetes.io/enforce=strictest", check=False)
    assert bad.returncode == 1
    assert 'Namespace "strict" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: ' \
           '"strictest": must be one of privileged, baseline, restricted' in bad.stderr, bad.stderr
    labels = kube.obj("get", "ns", "strict")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_making_a_namespace_stricter_warns_of_the_pods_it_holds(kube):
    kube("create", "namespace", "loose")
    privileged = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root"}, "spec": {
        "volumes": [{"name": "etc", "hostPath": {"path": "/etc"}}],
        "containers": [{"name": "main", "image": "emukube/echo:1.0"}]}}
    kube("apply", "-n", "loose", "-f", "-", input=json.dumps(privileged))
    done = kube("label", "ns", "loose", "pod-security.kubernetes.io/enforce=baseline")
    assert 'Warning: existing pods in namespace "loose" violate the new PodSecurity enforce level "baseline:latest"' \
        in done.stderr, done.stderr
    assert "Warning: root: hostPath volumes" in done.stderr, done.stderr
    assert kube("get", "pod", "root", "-n", "loose").returncode == 0  # warned of, not removed
