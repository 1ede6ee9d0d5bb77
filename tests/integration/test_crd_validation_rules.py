"""A CRD's CEL validation rules (x-kubernetes-validations) with the real kubectl, as the docs walk
them: a custom resource breaking a rule is refused with the rule's message, a transition rule keeps
a field immutable, a rule that does not compile refuses its CRD, and a rule added after an object
was written only warns while the invalid part is left as it is (validation ratcheting)."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import HERE
from kubectl_tools import Kube

MANIFEST = HERE / "manifests" / "incluster.yaml"  # any small cluster: the CRD brings the rest
CRD = HERE / "manifests" / "crds" / "crontabs-rules.yaml"


def crontab(object_name: str, **spec) -> str:
    return json.dumps({"apiVersion": "rules.emukube.test/v1", "kind": "CronTab", "metadata": {"name": object_name},
                       "spec": spec})


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    k = Kube(cluster.name, tmp_path_factory.mktemp("kube"))
    k("apply", "-f", str(CRD))
    k("wait", "--for", "condition=established", "crd/crontabs.rules.emukube.test", "--timeout=30s")
    return k


def test_a_custom_resource_breaking_a_rule_is_refused_with_its_message(kube):
    done = kube("apply", "-f", "-", input=crontab("my-new-cron-object", name="a", minReplicas=0, replicas=20,
                                                  maxReplicas=10), check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        'The CronTab "my-new-cron-object" is invalid: spec: Invalid value: replicas should be smaller than or '
        "equal to maxReplicas."), done.stderr
    assert kube("get", "crontabs", "my-new-cron-object", check=False).returncode == 1
    both = kube("apply", "-f", "-", input=crontab("two", name="a", minReplicas=30, replicas=20, maxReplicas=10),
                check=False)
    assert "* spec: Invalid value: replicas should be greater than or equal to minReplicas.\n" \
           "* spec: Invalid value: replicas should be smaller than or equal to maxReplicas." in both.stderr
    kube("apply", "-f", "-", input=crontab("my-new-cron-object", name="a", minReplicas=0, replicas=5,
                                           maxReplicas=10))


def test_a_transition_rule_keeps_a_field_immutable(kube):
    kube("apply", "-f", "-", input=crontab("fixed", name="first", minReplicas=0, replicas=1, maxReplicas=3))
    done = kube("apply", "-f", "-", input=crontab("fixed", name="second", minReplicas=0, replicas=1,
                                                  maxReplicas=3), check=False)
    assert done.returncode == 1
    assert 'The CronTab "fixed" is invalid: spec.name: Invalid value: "second": Value is immutable' in done.stderr
    kube("patch", "crontab", "fixed", "--type=merge", "-p", '{"spec": {"replicas": 2}}')  # the rest may change
    assert kube("get", "crontab", "fixed", "-o", "jsonpath={.spec.name}/{.spec.replicas}").stdout == "first/2"


def test_a_rule_that_does_not_compile_refuses_its_crd(kube):
    crd = yaml.safe_load(CRD.read_text())
    crd["metadata"]["name"] = "brokens.rules.emukube.test"
    crd["spec"]["names"] = {"plural": "brokens", "kind": "Broken"}
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"] = [
        {"rule": "self.replicas <"}]
    done = kube("apply", "-f", "-", input=json.dumps(crd), check=False)
    assert done.returncode == 1
    assert ('The CustomResourceDefinition "brokens.rules.emukube.test" is invalid: spec.versions[0].schema.'
            'openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: '
            '{"Rule":"self.replicas \\u003c","Message":"","MessageExpression":"","Reason":null,"FieldPath":"",'
            '"OptionalOldSelf":null}: compilation failed: ERROR: <input>:1:16: Syntax error:') in done.stderr, \
        done.stderr


def test_a_rule_added_later_warns_while_the_invalid_part_is_unchanged(kube):
    kube("apply", "-f", "-", input=crontab("old", name="a", minReplicas=0, replicas=8, maxReplicas=10))
    rule = {"rule": "self.replicas <= 5", "message": "at most five replicas now"}
    patch = [{"op": "add", "path": "/spec/versions/0/schema/openAPIV3Schema/properties/spec/"
                                  "x-kubernetes-validations/-", "value": rule}]
    kube("patch", "crd", "crontabs.rules.emukube.test", "--type=json", "-p", json.dumps(patch))
    try:
        labelled = kube("label", "crontab", "old", "tier=batch")
        assert "Warning: spec: Invalid value: at most five replicas now" in labelled.stderr, labelled.stderr
        done = kube("patch", "crontab", "old", "--type=merge", "-p", '{"spec": {"replicas": 9}}', check=False)
        assert done.returncode == 1 and "spec: Invalid value: at most five replicas now" in done.stderr
        kube("patch", "crontab", "old", "--type=merge", "-p", '{"spec": {"replicas": 4}}')
    finally:
        patch = [{"op": "remove", "path": "/spec/versions/0/schema/openAPIV3Schema/properties/spec/"
                                          "x-kubernetes-validations/2"}]
        kube("patch", "crd", "crontabs.rules.emukube.test", "--type=json", "-p", json.dumps(patch))
