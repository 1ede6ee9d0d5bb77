"""CustomResourceDefinitions through the real API server app: the CRD's status, discovery, schema
validation in the API server's words, pruning, status and scale subresources, Tables from the
printer columns, OpenAPI, and deleting the CRD taking its objects."""

from __future__ import annotations

from pathlib import Path

import yaml
from test_apiserver_harness import eventually, run

CRD = yaml.safe_load((Path(__file__).parents[1] / "integration/manifests/crds/widgets.yaml").read_text())
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"
TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}


def widget(name: str, **spec) -> dict:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name},
            "spec": {"size": "small", **spec}}


def test_a_crd_is_established_and_its_resource_discovered(tmp_path):
    async def body(api):
        crd = await api.ok("POST", CRDS, CRD)
        conditions = {c["type"]: c for c in crd["status"]["conditions"]}
        assert conditions["Established"]["status"] == "True"
        assert conditions["NamesAccepted"]["reason"] == "NoConflicts"
        assert crd["status"]["acceptedNames"]["listKind"] == "WidgetList"
        assert crd["status"]["storedVersions"] == ["v1"]
        groups = await api.ok("GET", "/apis")
        assert {"groupVersion": "example.com/v1", "version": "v1"} in \
            next(g for g in groups["groups"] if g["name"] == "example.com")["versions"]
        listed = await api.ok("GET", "/apis/example.com/v1")
        entries = {e["name"]: e for e in listed["resources"]}
        assert entries["widgets"]["shortNames"] == ["wg"] and entries["widgets"]["singularName"] == "widget"
        assert entries["widgets"]["categories"] == ["all"] and entries["widgets"]["namespaced"] is True
        assert "watch" in entries["widgets"]["verbs"]
        assert entries["widgets/scale"]["kind"] == "Scale" and "widgets/status" in entries
        index = await api.ok("GET", "/openapi/v3")
        doc = await api.ok("GET", index["paths"]["apis/example.com/v1"]["serverRelativeURL"])
        schema = doc["components"]["schemas"]["com.example.v1.Widget"]
        assert schema["x-kubernetes-group-version-kind"] == [{"group": "example.com", "version": "v1",
                                                              "kind": "Widget"}]
        patch = doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
        assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]
    run(tmp_path, body)


def test_custom_resources_are_validated_pruned_and_defaulted(tmp_path):
    async def body(api):
        await api.ok("POST", CRDS, CRD)
        status, bad, _ = await api.req("POST", WIDGETS, widget("w", replicas="three"))
        assert status == 422
        assert bad["message"] == ('Widget.example.com "w" is invalid: spec.replicas: Invalid value: "string": '
                                  'spec.replicas in body must be of type integer: "string"')
        assert bad["details"]["kind"] == "Widget" and bad["details"]["group"] == "example.com"
        status, bad, _ = await api.req("POST", WIDGETS, {**widget("w"), "spec": {"replicas": -1}})
        assert status == 422
        assert bad["message"] == ('Widget.example.com "w" is invalid: [spec.replicas: Invalid value: -1: '
                                  'spec.replicas in body should be greater than or equal to 0, '
                                  'spec.size: Required value]')
        status, bad, _ = await api.req("POST", WIDGETS, widget("Bad_Name"))
        assert status == 422 and bad["message"].startswith(
            'Widget.example.com "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 '
            "subdomain must consist of")
        status, bad, _ = await api.req("POST", WIDGETS, widget("w", size="huge"))
        assert bad["message"].endswith('spec.size: Unsupported value: "huge": supported values: "small", "large"')
        status, bad, _ = await api.req("POST", WIDGETS + "?fieldValidation=Strict", widget("w", sise=1))
        assert status == 400 and bad["message"] == 'strict decoding error: unknown field "spec.sise"'
        status, made, resp = await api.req("POST", WIDGETS, widget("w", sise=1, extra={"any": {"thing": 1}}))
        assert status == 201 and resp.headers.get("Warning") == '299 - "unknown field \\"spec.sise\\""'
        assert made["spec"] == {"size": "small", "replicas": 1, "extra": {"any": {"thing": 1}}}
        assert made["metadata"]["generation"] == 1 and "status" not in made
    run(tmp_path, body)


def test_status_and_scale_subresources_and_generation(tmp_path):
    async def body(api):
        await api.ok("POST", CRDS, CRD)
        await api.ok("POST", WIDGETS, widget("w"))
        got = await api.ok("PATCH", WIDGETS + "/w", {"status": {"replicas": 5}},
                           ct="application/merge-patch+json")
        assert "status" not in got and got["metadata"]["generation"] == 1  # status through /status only
        got = await api.ok("PATCH", WIDGETS + "/w/status", {"status": {"replicas": 2, "selector": "app=w"}},
                           ct="application/merge-patch+json")
        assert got["status"]["replicas"] == 2 and got["metadata"]["generation"] == 1
        got = await api.ok("PATCH", WIDGETS + "/w", {"metadata": {"labels": {"a": "b"}}},
                           ct="application/merge-patch+json")
        assert got["metadata"]["generation"] == 1
        scale = await api.ok("GET", WIDGETS + "/w/scale")
        assert scale["spec"] == {"replicas": 1} and scale["status"] == {"replicas": 2, "selector": "app=w"}
        await api.ok("PATCH", WIDGETS + "/w/scale", {"spec": {"replicas": 4}}, ct="application/merge-patch+json")
        got = await api.ok("GET", WIDGETS + "/w")
        assert got["spec"]["replicas"] == 4 and got["metadata"]["generation"] == 2
        status, refused, _ = await api.req("PATCH", WIDGETS + "/w", {"spec": {"color": "red"}},
                                           ct="application/strategic-merge-patch+json")
        assert status == 415 and refused["message"].endswith(
            "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
        got = await api.ok("PATCH", WIDGETS + "/w", [{"op": "add", "path": "/spec/color", "value": "red"}],
                           ct="application/json-patch+json")
        assert got["spec"]["color"] == "red" and got["metadata"]["generation"] == 3
        await api.ok("PATCH", WIDGETS + "/w/status",
                     {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
                     ct="application/merge-patch+json")
        table = await api.ok("GET", WIDGETS, headers=TABLE)
        assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Size", "Replicas", "Ready", "Color",
                                                                   "Age"]
        assert table["rows"][0]["cells"][:5] == ["w", "small", 4, "True", "red"]
    run(tmp_path, body)


def test_server_side_apply_of_a_custom_resource(tmp_path):
    async def body(api):
        await api.ok("POST", CRDS, CRD)
        applied = yaml.safe_dump(widget("w", color="blue"))
        got = await api.ok("PATCH", WIDGETS + "/w?fieldManager=me", applied, ct="application/apply-patch+yaml")
        assert got["spec"]["color"] == "blue"
        assert any(m["manager"] == "me" and m["operation"] == "Apply" for m in got["metadata"]["managedFields"])
        status, conflict, _ = await api.req("PATCH", WIDGETS + "/w?fieldManager=other",
                                            yaml.safe_dump(widget("w", color="green")),
                                            ct="application/apply-patch+yaml")
        assert status == 409 and 'conflict with "me"' in conflict["message"]
    run(tmp_path, body)


def test_deleting_the_crd_deletes_its_objects_then_itself(tmp_path):
    async def body(api):
        await api.ok("POST", CRDS, CRD)
        await api.ok("POST", WIDGETS, widget("w"))
        cluster = {**CRD, "metadata": {"name": "gadgets.example.com"},
                   "spec": {**CRD["spec"], "scope": "Cluster",
                            "names": {"plural": "gadgets", "kind": "Gadget"}}}
        await api.ok("POST", CRDS, cluster)
        gadget = {**widget("g"), "kind": "Gadget"}
        await api.ok("POST", "/apis/example.com/v1/gadgets", gadget)
        got = await api.ok("DELETE", CRDS + "/widgets.example.com")
        assert got["metadata"]["finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"]

        async def gone():
            status, _, _ = await api.req("GET", CRDS + "/widgets.example.com")
            return status == 404
        await eventually(gone, 10)
        status, _, _ = await api.req("GET", WIDGETS)
        assert status == 404
        assert (await api.ok("GET", "/apis/example.com/v1/gadgets/g"))["metadata"]["name"] == "g"
        names = [e["name"] for e in (await api.ok("GET", "/apis/example.com/v1"))["resources"]]
        assert "widgets" not in names and "gadgets" in names
        assert api.store.list("widgets.example.com")[0] == []
    run(tmp_path, body)


def test_names_another_crd_of_the_group_holds_are_not_accepted(tmp_path):
    async def body(api):
        await api.ok("POST", CRDS, CRD)
        rival = {**CRD, "metadata": {"name": "things.example.com"},
                 "spec": {**CRD["spec"], "names": {"plural": "things", "kind": "Widget", "shortNames": ["wg"]}}}
        got = await api.ok("POST", CRDS, rival)
        conditions = {c["type"]: c for c in got["status"]["conditions"]}
        assert (conditions["NamesAccepted"]["status"], conditions["NamesAccepted"]["reason"],
                conditions["NamesAccepted"]["message"]) == ("False", "ListKindConflict",
                                                             '"WidgetList" is already in use')
        assert (conditions["Established"]["status"], conditions["Established"]["reason"]) == ("False", "NotAccepted")
        assert got["status"]["acceptedNames"] == {"plural": "things"}
        names = [e["name"] for e in (await api.ok("GET", "/apis/example.com/v1"))["resources"]]
        assert "things" not in names and "widgets" in names
    run(tmp_path, body)
