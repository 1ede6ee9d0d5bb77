"""A pod's uid reaches its env (fieldRef metadata.uid) from its object, as the kubelet's does."""

from __future__ import annotations

from emukube.plan.downward import env_has_uid
from emukube.plan.workloads import bare_pod
from emukube.runtime.podspec import Refs, container_env

UID_ENV = {"name": "POD_UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}}
NAME_ENV = {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}


def pod(env: list[dict], init_env: list[dict] | None = None) -> dict:
    spec: dict = {"containers": [{"name": "app", "image": "x", "env": env}]}
    if init_env is not None:
        spec["initContainers"] = [{"name": "setup", "image": "x", "env": init_env}]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "solo", "namespace": "shop", "uid": "6f1c-uid", "labels": {"app": "s"}}, "spec": spec}


def test_only_a_pod_whose_env_takes_its_uid_waits_for_it():
    assert env_has_uid(pod([UID_ENV])["spec"])
    assert env_has_uid(pod([NAME_ENV], init_env=[UID_ENV])["spec"])
    assert not env_has_uid(pod([NAME_ENV, {"name": "A", "value": "metadata.uid"}])["spec"])
    assert not env_has_uid({"containers": [{"name": "app", "image": "x"}]})


def test_a_bare_pods_env_has_its_objects_uid():
    plan = bare_pod(pod([UID_ENV, NAME_ENV]))
    assert plan.metadata["uid"] == "6f1c-uid"
    env = container_env(plan.spec["containers"][0], plan.name, plan.namespace, "10.96.128.9", Refs([]), {}, [],
                        meta=plan.metadata)
    assert env == {"POD_UID": "6f1c-uid", "POD_NAME": "solo"}

