"""The last-applied-configuration annotation, as kubectl apply writes it."""

from __future__ import annotations

from emukube.manifests import load_and_validate
from emukube.manifests.last_applied import KEY, annotated, go_json

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
