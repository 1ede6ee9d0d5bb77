"""ReplicationControllers (v1): the API server's defaulting and validation of their map selector,
kubectl's columns, and their Scale."""

from __future__ import annotations

from emukube.apiserver.printers.apps import replicationcontroller_cells
from emukube.apiserver.subresources import to_scale
from emukube.manifests.defaults import apply_defaults
from emukube.manifests.validate import validate_object


def rc(**spec) -> dict:
    template = {"metadata": {"labels": {"app": "legacy"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    return {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "legacy"},
            "spec": {"template": template, **spec}}


def test_the_templates_labels_are_the_selector_and_labels_by_default():
    assert validate_object(rc()) == []
    obj = apply_defaults(rc())
    assert obj["spec"]["selector"] == {"app": "legacy"} and obj["metadata"]["labels"] == {"app": "legacy"}
    assert obj["spec"]["replicas"] == 1


def test_refusals_are_the_api_servers():
    assert validate_object(rc(selector={"app": "other"}, replicas=-1)) == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"legacy"}: `selector` does not '
        "match template `labels`"]
    assert validate_object({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "r"},
                            "spec": {}}) == ["spec.selector: Required value", "spec.template: Required value"]


def test_columns_and_scale():
    obj = apply_defaults(rc(replicas=3))
    obj["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    obj["status"] = {"replicas": 3, "readyReplicas": 2}
    assert replicationcontroller_cells(obj, 1767225605.0) == ["legacy", 3, 3, 2, "5s", "c", "x", "app=legacy"]
    assert to_scale(obj)["status"] == {"replicas": 3, "selector": "app=legacy"}
