"""Strategic merge, merge and JSON patches as the API server applies them."""

import json

import pytest

from emukube.apiserver.patch import PatchError, apply_patch
from emukube.k8s.resources import BY_KEY

DEPLOY = BY_KEY["deployments.apps"]
SMP = "application/strategic-merge-patch+json"


def deployment():
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web", "tier": "x"}, "finalizers": ["a", "b"]},
            "spec": {"replicas": 1,
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                     "template": {"spec": {"containers": [
                         {"name": "web", "image": "nginx:1", "args": ["a", "b"],
                          "ports": [{"containerPort": 80, "name": "http"}],
                          "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                         {"name": "side", "image": "busybox"}]}}}}


def smp(patch, current=None):
    return apply_patch(current or deployment(), json.dumps(patch).encode(), SMP, DEPLOY)


def containers(obj):
    return obj["spec"]["template"]["spec"]["containers"]


def test_containers_merge_by_name_and_keep_the_others():
    out = smp({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}})
    assert [c["name"] for c in containers(out)] == ["web", "side"]
    assert containers(out)[0]["image"] == "nginx:2"
    assert containers(out)[0]["env"][0] == {"name": "A", "value": "1"}


def test_ports_merge_by_container_port_and_env_by_name():
    out = smp({"spec": {"template": {"spec": {"containers": [{
        "name": "web", "ports": [{"containerPort": 81}, {"containerPort": 80, "protocol": "TCP"}],
        "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}]}}}})
    web = containers(out)[0]
    assert web["ports"] == [{"containerPort": 81}, {"containerPort": 80, "name": "http", "protocol": "TCP"}]
    assert {e["name"]: e["value"] for e in web["env"]} == {"A": "1", "B": "3", "C": "4"}


def test_list_without_merge_key_is_replaced():
    out = smp({"spec": {"template": {"spec": {"containers": [{"name": "web", "args": ["c"]}]}}}})
    assert containers(out)[0]["args"] == ["c"]


def test_patch_delete_removes_a_list_item_and_replace_a_list():
    out = smp({"spec": {"template": {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}}}})
    assert [c["name"] for c in containers(out)] == ["web"]
    out = smp({"spec": {"template": {"spec": {"containers": [
        {"name": "only", "image": "x"}, {"$patch": "replace"}]}}}})
    assert containers(out) == [{"name": "only", "image": "x"}]


def test_patch_replace_on_a_map_and_retain_keys():
    out = smp({"metadata": {"labels": {"$patch": "replace", "new": "1"}}})
    assert out["metadata"]["labels"] == {"new": "1"}
    out = smp({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})
    assert out["spec"]["strategy"] == {"type": "Recreate"}
    with pytest.raises(PatchError) as e:
        smp({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}})
    assert e.value.code == 400


def test_primitive_list_with_merge_strategy_is_unioned_and_deleted_from():
    out = smp({"metadata": {"finalizers": ["c", "a"]}})
    assert out["metadata"]["finalizers"] == ["c", "a", "b"]
    out = smp({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})
    assert out["metadata"]["finalizers"] == ["b"]


def test_set_element_order_and_null_removes_a_field():
    out = smp({"metadata": {"labels": {"tier": None}},
               "spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "side"}, {"name": "web"}]}}}})
    assert out["metadata"]["labels"] == {"app": "web"}
    assert [c["name"] for c in containers(out)] == ["side", "web"]


def test_current_object_is_not_modified():
    current = deployment()
    smp({"spec": {"replicas": 3}}, current)
    assert current == deployment()


def test_merge_patch_null_removes_and_lists_replace():
    out = apply_patch(deployment(), b'{"metadata": {"labels": {"tier": null}}, "spec": {"template": '
                      b'{"spec": {"containers": [{"name": "x"}]}}}}', "application/merge-patch+json", DEPLOY)
    assert out["metadata"]["labels"] == {"app": "web"}
    assert containers(out) == [{"name": "x"}]


def test_json_patch_ops():
    ops = [{"op": "replace", "path": "/spec/replicas", "value": 4},
           {"op": "add", "path": "/metadata/labels/new", "value": "1"},
           {"op": "remove", "path": "/metadata/labels/tier"},
           {"op": "test", "path": "/spec/replicas", "value": 4},
           {"op": "copy", "from": "/metadata/name", "path": "/metadata/labels/name"}]
    out = apply_patch(deployment(), json.dumps(ops).encode(), "application/json-patch+json", DEPLOY)
    assert out["spec"]["replicas"] == 4
    assert out["metadata"]["labels"] == {"app": "web", "new": "1", "name": "web"}


def test_json_patch_failed_test_is_422_like_the_api_server():
    ops = [{"op": "test", "path": "/spec/replicas", "value": 9}]
    with pytest.raises(PatchError) as e:
        apply_patch(deployment(), json.dumps(ops).encode(), "application/json-patch+json", DEPLOY)
    assert e.value.code == 422
    assert e.value.message == "the server rejected our request due to an error in our request"


def test_bad_bodies_are_400_and_unknown_types_415():
    with pytest.raises(PatchError) as e:
        apply_patch(deployment(), b"{not json", SMP, DEPLOY)
    assert e.value.code == 400
    with pytest.raises(PatchError) as e:
        apply_patch(deployment(), b"{}", "text/plain", DEPLOY)
    assert e.value.code == 415
