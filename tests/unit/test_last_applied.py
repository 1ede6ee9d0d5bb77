"""The last-applied-configuration annotation, as kubectl apply writes it."""

from __future__ import annotations

import json

from emukube.manifests import load_and_validate
from emukube.manifests.last_applied import KEY, annotated, go_json, keep_what_apply_keeps

SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "cashier"},
           "spec": {"selector": {"app": "cashier"}, "ports": [{"port": 80, "targetPort": "http"}],
                    "sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 3600}}}}
# What kubectl 1.35 apply left on that Service (examples/pizza.yaml's cashier), byte for byte.
KUBECTLS = ('{"apiVersion":"v1","kind":"Service","metadata":{"annotations":{},"name":"cashier","namespace":"default"},'
            '"spec":{"ports":[{"port":80,"targetPort":"http"}],"selector":{"app":"cashier"},'
            '"sessionAffinity":"ClientIP","sessionAffinityConfig":{"clientIP":{"timeoutSeconds":3600}}}}\n')


def test_the_value_is_kubectls_and_the_document_is_untouched():
    out = annotated(SERVICE)
    assert out["metadata"]["annotations"] == {KEY: KUBECTLS}
    assert "annotations" not in SERVICE["metadata"] and "namespace" not in SERVICE["metadata"]


def test_cluster_scoped_kinds_get_no_namespace_and_an_older_value_is_replaced():
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "annotations": {KEY: "old", "a": "b"}}}
    value = annotated(ns)["metadata"]["annotations"]
    assert value == {"a": "b", KEY: '{"apiVersion":"v1","kind":"Namespace","metadata":{"annotations":{"a":"b"},"name":"shop"}}\n'}


def test_go_escapes_and_unicode():
    assert go_json({"b": "<a&b>\u2028é", "a": [1, 2.5, None, True]}) == \
        '{"a":[1,2.5,null,true],"b":"\\u003ca\\u0026b\\u003e\\u2028é"}'


def test_a_value_too_large_for_the_annotations_is_left_out():
    big = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, "data": {"k": "x" * 300_000}}
    assert annotated(big) is big


def test_loaded_objects_carry_it_before_defaulting(tmp_path):
    path = tmp_path / "svc.yaml"
    path.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n"
                    "  ports: [{port: 80}]\n")
    (svc,), _ = load_and_validate([str(path)])
    assert svc["spec"]["ports"][0]["protocol"] == "TCP"  # defaulted, but not in what was applied
    assert svc["metadata"]["annotations"][KEY] == (
        '{"apiVersion":"v1","kind":"Service","metadata":{"annotations":{},"name":"web","namespace":"default"},'
        '"spec":{"ports":[{"port":80}],"selector":{"app":"web"}}}\n')


def deployment(replicas: int | None = None, notes: dict | None = None) -> dict:
    spec: dict = {"selector": {"matchLabels": {"app": "w"}},
                  "template": {"metadata": {"labels": {"app": "w"}},
                               "spec": {"containers": [{"name": "c", "image": "emukube/echo:1.0"}]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    if notes:
        spec["template"]["metadata"]["annotations"] = notes
    return annotated({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}, "spec": spec})


def live_after(applied: dict, replicas: int, notes: dict) -> dict:
    live = json.loads(json.dumps(applied))
    live["spec"]["replicas"] = replicas
    live["spec"]["template"]["metadata"]["annotations"] = notes
    return live


def test_apply_keeps_what_neither_apply_declared():
    restarted = {"kubectl.kubernetes.io/restartedAt": "2026-12-05T09:00:00Z", "emukube.io/image-map": "old"}
    # Scaled by kubectl or an autoscaler, restarted by kubectl: an apply of the same file keeps both.
    new = {**deployment(), "spec": {**deployment()["spec"], "replicas": 1}}  # as defaulting leaves it
    keep_what_apply_keeps(new, live_after(deployment(), 4, restarted))
    assert new["spec"]["replicas"] == 4
    assert new["spec"]["template"]["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/restartedAt": "2026-12-05T09:00:00Z"}  # emukube's own stamp is decided anew
    # Declared now, or by the previous apply and dropped since: the file's value, as kubectl's merge.
    for applied_before, now in ((deployment(), deployment(replicas=2)), (deployment(replicas=3), deployment())):
        new = json.loads(json.dumps(now))
        new["spec"].setdefault("replicas", 1)
        keep_what_apply_keeps(new, live_after(applied_before, 4, {}))
        assert new["spec"]["replicas"] == (now["spec"].get("replicas") or 1)
    declared_note = deployment(notes={"team": "a"})
    new = deployment()
    keep_what_apply_keeps(new, live_after(declared_note, 1, {"team": "a"}))
    assert "annotations" not in new["spec"]["template"]["metadata"]  # removed from the file: removed


def test_labels_and_annotations_set_by_kubectl_stay_unless_an_apply_named_them():
    applied = annotated({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "labels": {"app": "s"},
                                                                           "annotations": {"owner": "a"}},
                         "spec": {"ports": [{"port": 80}]}})
    live = json.loads(json.dumps(applied))
    live["metadata"]["labels"]["team"] = "blue"  # kubectl label svc s team=blue
    live["metadata"]["annotations"]["note"] = "x"  # kubectl annotate svc s note=x
    again = json.loads(json.dumps(applied))
    keep_what_apply_keeps(again, live)
    assert again["metadata"]["labels"] == {"team": "blue", "app": "s"}
    assert {k: v for k, v in again["metadata"]["annotations"].items() if k != KEY} == {"note": "x", "owner": "a"}
    assert again["metadata"]["annotations"][KEY] == applied["metadata"]["annotations"][KEY]
    # Named by the previous apply and gone from the file: gone, as kubectl apply removes it.
    dropped = annotated({**applied, "metadata": {"name": "s", "labels": {"app": "s"}}})
    keep_what_apply_keeps(dropped, live)
    assert "owner" not in dropped["metadata"]["annotations"] and dropped["metadata"]["labels"]["team"] == "blue"
