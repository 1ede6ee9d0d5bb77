"""What the API server refuses of kube-system's coredns Deployment (apiserver/system_guard.py)."""

from __future__ import annotations

import copy

import pytest

from emukube.apiserver.errors import ApiError
from emukube.apiserver.system_guard import check_delete, check_update
from emukube.k8s.resources import BY_KEY
from emukube.plan import system_pods

DEPLOYMENTS = BY_KEY["deployments.apps"]
CURRENT = system_pods.coredns_deployment("emukube/coredns:1")


def changed(edit) -> dict:
    new = copy.deepcopy(CURRENT)
    edit(new)
    return new


def test_a_restart_and_metadata_pass():
    check_update(DEPLOYMENTS, CURRENT, changed(lambda d: d["spec"]["template"]["metadata"].update(
        annotations={"kubectl.kubernetes.io/restartedAt": "2026-12-07T09:00:00Z"})))
    check_update(DEPLOYMENTS, CURRENT, changed(lambda d: d["metadata"].update(labels={"team": "dns"})))
    check_update(DEPLOYMENTS, CURRENT, changed(lambda d: d.update(status={"replicas": 1})))


def test_a_rollout_undo_passes():
    """kubectl sends the ReplicaSet's template as Go's structs hold it."""
    def undo(d: dict) -> None:
        d["spec"]["template"]["metadata"]["creationTimestamp"] = None
        d["spec"]["template"]["spec"]["containers"][0]["resources"] = {}
    check_update(DEPLOYMENTS, CURRENT, changed(undo))


def test_other_replicas_are_refused_with_the_field():
    with pytest.raises(ApiError) as refused:
        check_update(DEPLOYMENTS, CURRENT, changed(lambda d: d["spec"].update(replicas=2)))
    assert refused.value.code == 422
    assert str(refused.value).startswith('Deployment.apps "coredns" is invalid: spec.replicas: Invalid value: 2: '
                                         "emukube runs one CoreDNS")
    (cause,) = refused.value.details["causes"]
    assert cause["field"] == "spec.replicas" and cause["reason"] == "FieldValueInvalid"


def test_another_image_is_refused():
    with pytest.raises(ApiError) as refused:
        check_update(DEPLOYMENTS, CURRENT, changed(
            lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="coredns/coredns:1.12.0")))
    assert refused.value.code == 422 and "spec: Forbidden: emukube runs one CoreDNS" in str(refused.value)


def test_its_deletion_is_forbidden_and_other_deployments_are_left_alone():
    with pytest.raises(ApiError) as refused:
        check_delete(DEPLOYMENTS, CURRENT)
    assert refused.value.code == 403
    assert str(refused.value).startswith('deployments.apps "coredns" is forbidden: ')
    other = changed(lambda d: d["metadata"].update(namespace="default"))
    check_delete(DEPLOYMENTS, other)
    check_update(DEPLOYMENTS, other, changed(lambda d: d.update(spec={**d["spec"], "replicas": 3},
                                                               metadata={**d["metadata"], "namespace": "default"})))
