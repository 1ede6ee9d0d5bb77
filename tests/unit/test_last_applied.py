"""The last-applied-configuration annotation, as kubectl apply writes it."""

from __future__ import annotations

import json

from emukube.client.apply_merge import keep_what_apply_keeps
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


def with_env(doc: dict, **env: str) -> dict:
    out = json.loads(json.dumps(doc))
    out["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": k, "value": v} for k, v in env.items()]
    return out


def test_lists_merge_by_their_schema_key_as_kubectl_apply_merges_them():
    applied = annotated(with_env(deployment(), MODE="a", OLD="x"))
    live = with_env(applied, MODE="a", OLD="x", DEBUG="1")  # kubectl set env deploy/w DEBUG=1
    sidecar = {"name": "sidecar", "image": "emukube/echo:1.0"}  # kubectl patch added a container
    live["spec"]["template"]["spec"]["containers"].append(sidecar)
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"  # defaulted
    new = annotated(with_env(deployment(), MODE="b"))  # MODE changed, OLD dropped from the file
    keep_what_apply_keeps(new, live)
    first, *rest = new["spec"]["template"]["spec"]["containers"]
    assert first["env"] == [{"name": "MODE", "value": "b"}, {"name": "DEBUG", "value": "1"}]
    assert first["imagePullPolicy"] == "IfNotPresent" and first["image"] == "emukube/echo:1.0"
    assert rest == [sidecar]


def test_generated_fields_stay_and_a_services_allocations_are_the_plans():
    job = annotated({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                     "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c"}]}}}})
    live = json.loads(json.dumps(job))
    live["spec"]["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}}
    again = json.loads(json.dumps(job))
    keep_what_apply_keeps(again, live)
    assert again["spec"]["selector"] == live["spec"]["selector"]  # else the immutable selector "changes"
    node_port = annotated({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                           "spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81}]}})
    live = json.loads(json.dumps(node_port))
    live["spec"].update(clusterIP="10.96.0.20", externalTrafficPolicy="Cluster", sessionAffinity="ClientIP")
    for port, number in zip(live["spec"]["ports"], (30080, 30081)):
        port.update(nodePort=number, protocol="TCP")
    # The type changed and port 81 dropped: planned (allocated) anew, without nodePorts.
    planned = annotated({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                         "spec": {"ports": [{"port": 80}]}})
    planned["spec"]["clusterIP"] = "10.96.0.20"
    keep_what_apply_keeps(planned, live)
    assert planned["spec"] == {"ports": [{"port": 80, "protocol": "TCP"}], "clusterIP": "10.96.0.20",
                               "sessionAffinity": "ClientIP"}


def test_an_object_without_the_annotation_declares_all_it_holds():
    live = live_after(deployment(), 2, {})  # scaled by kubectl
    live["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "SET", "value": "by kubectl"}]
    given = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"},
             "spec": {"selector": {"matchLabels": {"app": "w"}}, "template": {
                 "metadata": {"labels": {"app": "w"}},
                 "spec": {"containers": [{"name": "c", "image": "emukube/echo:2.0"}]}}}}
    keep_what_apply_keeps(given, live)  # Cluster.apply(objects=[...]): no last-applied annotation
    assert given["spec"]["template"]["spec"]["containers"][0]["image"] == "emukube/echo:2.0"
    assert given["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "SET", "value": "by kubectl"}]
    assert given["spec"]["replicas"] == 2


def test_a_retain_keys_field_drops_what_its_new_value_does_not_declare():
    """DeploymentStrategy is retainKeys: switching to Recreate drops the defaulted rollingUpdate
    (else the API server refuses it), as kubectl apply's patch does."""
    live = annotated(deployment())
    live["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    recreate = deployment()
    recreate["spec"]["strategy"] = {"type": "Recreate"}
    recreate = annotated(recreate)
    keep_what_apply_keeps(recreate, live)
    assert recreate["spec"]["strategy"] == {"type": "Recreate"}
    # Not declared at all: the live (defaulted) value stays.
    again = annotated(deployment())
    keep_what_apply_keeps(again, live)
    assert again["spec"]["strategy"] == live["spec"]["strategy"]
