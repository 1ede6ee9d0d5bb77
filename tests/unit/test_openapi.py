"""OpenAPI documents and the unknown-field check."""

import json

from emukube.apiserver import openapi
from emukube.k8s.resources import BY_KEY


def test_v3_index_lists_the_served_group_versions_only():
    paths = openapi.v3_index()["paths"]
    assert set(paths) == {"api/v1", "apis/apps/v1", "apis/discovery.k8s.io/v1", "apis/events.k8s.io/v1",
                          "apis/coordination.k8s.io/v1", "apis/rbac.authorization.k8s.io/v1",
                          "apis/authentication.k8s.io/v1", "apis/authorization.k8s.io/v1",
                          "apis/apiextensions.k8s.io/v1", "apis/batch/v1", "apis/policy/v1", "apis/autoscaling/v2",
                          "apis/scheduling.k8s.io/v1", "apis/node.k8s.io/v1", "apis/networking.k8s.io/v1",
                          "apis/storage.k8s.io/v1", "apis/admissionregistration.k8s.io/v1",
                          "apis/certificates.k8s.io/v1", "apis/apiregistration.k8s.io/v1"}
    assert paths["apis/apps/v1"]["serverRelativeURL"].startswith("/openapi/v3/apis/apps/v1?hash=")
    assert openapi.v3("apis/resource.k8s.io/v1") is None


def test_each_v3_document_is_json_and_reaches_the_deployment_schema():
    for path in openapi.v3_index()["paths"]:
        doc = json.loads(openapi.v3(path))
        assert doc["openapi"].startswith("3.0")
        assert doc["components"]["schemas"]
    doc = json.loads(openapi.v3("apis/apps/v1"))
    schemas = doc["components"]["schemas"]
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [{"group": "apps", "kind": "Deployment", "version": "v1"}]
    spec = deployment["properties"]["spec"]
    assert spec["allOf"] == [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}]
    template_ref = schemas["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["template"]["allOf"][0]["$ref"]
    assert template_ref.rsplit("/", 1)[1] in schemas
    assert deployment["type"] == "object"  # one string, as kubectl explain's templates compare it
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"


def test_no_type_lists_survive_in_v3():
    text = openapi.v3("api/v1").decode()
    assert '"type":["' not in text and "#/$defs/" not in text


def test_v2_has_the_service_with_its_gvk():
    doc = json.loads(openapi.v2())
    service = doc["definitions"]["io.k8s.api.core.v1.Service"]
    assert service["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Service", "version": "v1"}]
    assert service["properties"]["spec"]["$ref"] == "#/definitions/io.k8s.api.core.v1.ServiceSpec"


def test_unknown_fields_at_several_depths():
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x", "labels": {"any": "1"}},
           "spec": {"selecter": {}, "template": {"metadata": {"annotations": {"a": "b"}}, "spec": {
               "containers": [{"name": "a", "image": "i"}, {"name": "b", "imagee": "i",
                                                           "resources": {"limits": {"cpu": "1"}},
                                                           "ports": [{"containerPort": 1, "prot": "TCP"}]}]}}}}
    assert openapi.unknown_fields(obj, BY_KEY["deployments.apps"]) == [
        "spec.selecter", "spec.template.spec.containers[1].imagee",
        "spec.template.spec.containers[1].ports[0].prot"]


def test_free_form_maps_are_not_unknown():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "annotations": {"x/y": "z"}},
          "data": {"anything": "v"}, "binaryData": {"b": "AA=="}}
    assert openapi.unknown_fields(cm, BY_KEY["configmaps"]) == []
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"selector": {"app": "x"}, "ports": [{"port": 80, "targetPort": "http"}], "tyep": "x"}}
    assert openapi.unknown_fields(svc, BY_KEY["services"]) == ["spec.tyep"]
