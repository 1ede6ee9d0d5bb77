"""Server-side apply and managedFields."""

import pytest

from emukube.apiserver.apply import ApplyConflict, from_fields_v1, record_update, server_side_apply
from emukube.k8s.resources import BY_KEY

DEPLOY = BY_KEY["deployments.apps"]
CONFIG = b"""
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        ports: [{containerPort: 80}]
      - name: side
        image: busybox
"""


def entry(obj, manager):
    return next(e for e in obj["metadata"]["managedFields"] if e["manager"] == manager)


def names(obj):
    return [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]]


def test_create_records_the_applied_fields_in_fieldsv1():
    obj = server_side_apply(None, CONFIG, DEPLOY, "kubectl", False)
    assert obj["spec"]["replicas"] == 2
    e = entry(obj, "kubectl")
    assert (e["operation"], e["apiVersion"], e["fieldsType"]) == ("Apply", "apps/v1", "FieldsV1")
    fields = e["fieldsV1"]
    assert fields["f:spec"]["f:replicas"] == {}
    assert fields["f:spec"]["f:selector"] == {}  # an atomic map is owned whole
    web = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']
    assert web["."] == {} and web["f:image"] == {}
    assert 'k:{"containerPort":80,"protocol":"TCP"}' in web["f:ports"]
    assert "f:name" not in fields["f:metadata"] and "f:apiVersion" not in fields


def test_reapply_removes_fields_it_no_longer_sets_and_merges_containers_by_name():
    obj = server_side_apply(None, CONFIG, DEPLOY, "kubectl", False)
    obj["spec"]["template"]["spec"]["containers"].append({"name": "injected", "image": "x"})
    smaller = CONFIG.replace(b"      - name: side\n        image: busybox\n", b"").replace(b"nginx", b"nginx:2")
    out = server_side_apply(obj, smaller, DEPLOY, "kubectl", False)
    assert names(out) == ["web", "injected"]
    assert out["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"


def test_field_owned_by_another_manager_conflicts_then_force_takes_it():
    obj = server_side_apply(None, CONFIG, DEPLOY, "kubectl", False)
    scaled = record_update(obj, {**obj, "spec": {**obj["spec"], "replicas": 5}}, "kubectl-client-side-apply", "Update")
    assert "f:replicas" not in entry(scaled, "kubectl")["fieldsV1"]["f:spec"]
    with pytest.raises(ApplyConflict) as e:
        server_side_apply(scaled, CONFIG, DEPLOY, "kubectl", False)
    assert e.value.status["code"] == 409 and e.value.status["reason"] == "Conflict"
    assert e.value.status["message"] == ('Apply failed with 1 conflict: conflict with '
                                         '"kubectl-client-side-apply" using apps/v1: .spec.replicas')
    assert e.value.status["details"]["causes"][0]["field"] == ".spec.replicas"
    out = server_side_apply(scaled, CONFIG, DEPLOY, "kubectl", True)
    assert out["spec"]["replicas"] == 2
    assert [m["manager"] for m in out["metadata"]["managedFields"]] == ["kubectl"]


def test_same_value_is_shared_not_a_conflict_and_several_conflicts_are_listed():
    obj = server_side_apply(None, CONFIG, DEPLOY, "kubectl", False)
    out = server_side_apply(obj, CONFIG, DEPLOY, "helm", False)
    assert {m["manager"] for m in out["metadata"]["managedFields"]} == {"kubectl", "helm"}
    other = CONFIG.replace(b"replicas: 2", b"replicas: 3").replace(b"image: nginx", b"image: other")
    with pytest.raises(ApplyConflict) as e:
        server_side_apply(out, other, DEPLOY, "argo", False)
    message = e.value.status["message"]
    assert message.startswith("Apply failed with 4 conflicts: conflicts with \"helm\":\n- ")
    assert '- .spec.template.spec.containers[name="web"].image' in message


def test_record_update_owns_changed_fields_and_drops_removed_ones():
    obj = server_side_apply(None, CONFIG, DEPLOY, "kubectl", False)
    new = {**obj, "metadata": {**obj["metadata"], "labels": {"app": "web", "extra": "1"}}}
    out = record_update(obj, new, "editor", "Update")
    paths = from_fields_v1(entry(out, "editor")["fieldsV1"])
    assert paths == {("f:metadata", "f:labels", "f:extra")}
    created = record_update(None, obj, "kubectl-create", "Create")
    e = entry(created, "kubectl-create")
    assert e["operation"] == "Update" and e["fieldsV1"]["f:metadata"]["f:labels"] == {".": {}, "f:app": {}}
