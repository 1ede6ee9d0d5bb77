"""ValidatingAdmissionPolicies as the Kubernetes docs walk them ("Validating Admission Policy"):
the replicas policy and its binding to namespaces labelled environment=test refuse a Deployment
of six replicas there with the API server's words, let one of three in, leave other namespaces
alone; a Warn binding warns; params come from a ConfigMap; and `kubectl get` lists both kinds."""

from __future__ import annotations

import json

import pytest
from conftest import HERE
from kubectl_tools import Kube

MANIFEST = HERE / "manifests" / "incluster.yaml"  # any small cluster
POLICY = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: "demo-policy.example.com"
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups:   ["apps"]
      apiVersions: ["v1"]
      operations:  ["CREATE", "UPDATE"]
      resources:   ["deployments"]
  validations:
    - expression: "object.spec.replicas <= 5"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: "demo-binding-test.example.com"
spec:
  policyName: "demo-policy.example.com"
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels:
        environment: test
"""
DENIED = ("deployments.apps \"nginx\" is forbidden: ValidatingAdmissionPolicy 'demo-policy.example.com' with binding "
          "'demo-binding-test.example.com' denied request: failed expression: object.spec.replicas <= 5")


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    k = Kube(cluster.name, tmp_path_factory.mktemp("kube"))
    k("create", "namespace", "test-ns")
    k("label", "namespace", "test-ns", "environment=test")
    k("create", "namespace", "other-ns")
    k("apply", "-f", "-", input=POLICY)
    return k


def test_kubectl_lists_the_policy_and_its_binding(kube):
    policies = [line.split() for line in kube.lines("get", "validatingadmissionpolicies")]
    assert policies[0] == ["NAME", "VALIDATIONS", "PARAMKIND", "AGE"]
    assert policies[1][:3] == ["demo-policy.example.com", "1", "<unset>"], policies
    bindings = [line.split() for line in kube.lines("get", "validatingadmissionpolicybindings")]
    assert bindings[0] == ["NAME", "POLICYNAME", "PARAMREF", "AGE"]
    assert bindings[1][:3] == ["demo-binding-test.example.com", "demo-policy.example.com", "<unset>"], bindings


def test_the_docs_deployment_of_six_replicas_is_refused_in_the_bound_namespace(kube):
    refused = kube("create", "deployment", "nginx", "--image=emukube/echo:1.0", "--replicas=6", "-n", "test-ns",
                   check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"error: failed to create deployment: {DENIED}", refused.stderr
    assert kube("get", "deployment", "nginx", "-n", "test-ns", check=False).returncode == 1
    kube("create", "deployment", "nginx", "--image=emukube/echo:1.0", "--replicas=3", "-n", "test-ns")
    scaled = kube("patch", "deployment", "nginx", "-n", "test-ns", "-p", '{"spec":{"replicas":8}}', check=False)
    assert scaled.returncode == 1 and "denied request: failed expression: object.spec.replicas <= 5" in scaled.stderr
    kube("create", "deployment", "nginx", "--image=emukube/echo:1.0", "--replicas=6", "-n", "other-ns")


def test_a_warn_binding_warns_and_lets_the_write_in(kube):
    warn = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "demo-binding-warn.example.com"},
            "spec": {"policyName": "demo-policy.example.com", "validationActions": ["Warn"],
                     "matchResources": {"namespaceSelector": {"matchLabels": {"environment": "staging"}}}}}
    kube("apply", "-f", "-", input=json.dumps(warn))
    kube("create", "namespace", "staging-ns")
    kube("label", "namespace", "staging-ns", "environment=staging")
    done = kube("create", "deployment", "big", "--image=emukube/echo:1.0", "--replicas=7", "-n", "staging-ns")
    assert ("Warning: Validation failed for ValidatingAdmissionPolicy 'demo-policy.example.com' with binding "
            "'demo-binding-warn.example.com': failed expression: object.spec.replicas <= 5") in done.stderr, done.stderr


def test_params_come_from_the_bindings_config_map(kube):
    kube("create", "namespace", "limited")
    kube("create", "configmap", "replica-limit", "-n", "limited", "--from-literal=max=2")
    param_policy = {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "limit.example.com"},
        "spec": {"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
                 "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                                                         "operations": ["CREATE"], "resources": ["deployments"]}]},
                 "validations": [{"expression": "object.spec.replicas <= int(params.data.max)",
                                  "messageExpression": "'at most ' + params.data.max + ' replicas here'",
                                  "reason": "Forbidden"}]}}
    param_binding = {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "limit-binding"},
        "spec": {"policyName": "limit.example.com", "validationActions": ["Deny"],
                 "paramRef": {"name": "replica-limit", "parameterNotFoundAction": "Deny"},
                 "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "limited"}}}}}
    kube("apply", "-f", "-", input=json.dumps(param_policy) + "\n---\n" + json.dumps(param_binding))
    refused = kube("create", "deployment", "three", "--image=emukube/echo:1.0", "--replicas=3", "-n", "limited",
                   check=False)
    assert refused.stderr.strip() == (
        "error: failed to create deployment: deployments.apps \"three\" is forbidden: ValidatingAdmissionPolicy "
        "'limit.example.com' with binding 'limit-binding' denied request: at most 2 replicas here"), refused.stderr
    kube("create", "deployment", "two", "--image=emukube/echo:1.0", "--replicas=2", "-n", "limited")


def test_a_policy_whose_expression_does_not_parse_is_refused(kube):
    broken = POLICY.split("---")[0].replace("object.spec.replicas <= 5", "object.spec.replicas <== 5").replace(
        "demo-policy.example.com", "broken.example.com")
    refused = kube("apply", "-f", "-", input=broken, check=False)
    assert refused.returncode == 1
    assert ('The ValidatingAdmissionPolicy "broken.example.com" is invalid: '
            'spec.validations[0].expression: Invalid value: "object.spec.replicas <== 5": compilation failed: '
            "ERROR: <input>:1:24: Syntax error: token recognition error at: '= '") in refused.stderr, refused.stderr
