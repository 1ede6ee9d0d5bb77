"""LimitRanges: their defaulting, and the LimitRanger admission plugin's defaults and refusals,
pure and through the real API server app."""

from __future__ import annotations

from test_apiserver_harness import run

from emukube.controllers.pod_annotations import template_annotations
from emukube.manifests.defaults import apply_defaults
from emukube.manifests.validate import validate_object
from emukube.plan import limit_ranges
from emukube.plan.workloads import template_hash

PODS = "/api/v1/namespaces/default/pods"
RANGES = "/api/v1/namespaces/default/limitranges"


def lr(*items: dict) -> dict:
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits", "namespace": "default"},
            "spec": {"limits": list(items)}}


def pod(name: str, resources: dict | None = None) -> dict:
    c = {"name": "c", "image": "emukube/echo:1.0", **({"resources": resources} if resources else {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [c]}}


def test_items_default_as_the_api_server_defaults_them():
    obj = apply_defaults(lr({"type": "Container", "max": {"cpu": "1"}, "min": {"memory": "16Mi"}}))
    assert obj["spec"]["limits"][0]["default"] == {"cpu": "1"}
    assert obj["spec"]["limits"][0]["defaultRequest"] == {"cpu": "1", "memory": "16Mi"}
    assert validate_object(lr({"type": "Node"})) == [
        'spec.limits[0].type: Unsupported value: "Node": supported values: "Pod", "Container", '
        '"PersistentVolumeClaim"']
    assert validate_object(lr({"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}})) == [
        'spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1']


def test_defaults_then_bounds():
    ranges = [apply_defaults(lr({"type": "Container", "default": {"cpu": "500m", "memory": "64Mi"},
                                 "defaultRequest": {"cpu": "100m"}, "max": {"cpu": "1"}}))]
    spec, said, why = limit_ranges.admit(pod("p")["spec"], ranges)
    # The item's defaultRequest for memory is its default (SetDefaults_LimitRangeItem).
    assert spec["containers"][0]["resources"] == {"requests": {"cpu": "100m", "memory": "64Mi"},
                                                  "limits": {"cpu": "500m", "memory": "64Mi"}}
    assert said == "LimitRanger plugin set: cpu, memory request for container c; cpu, memory limit for container c"
    assert why == ""
    _, _, why = limit_ranges.admit(pod("p", {"limits": {"cpu": "2"}})["spec"], ranges)
    assert why == "maximum cpu usage per Container is 1, but limit is 2"
    pod_max = [lr({"type": "Pod", "max": {"memory": "1Gi"}}), lr({"type": "Container", "min": {"cpu": "1"}})]
    assert limit_ranges.refusal(pod("p", {"requests": {"cpu": "500m"}})["spec"], pod_max) == (
        "[minimum cpu usage per Container is 1, but request is 500m, maximum memory usage per Pod is 1Gi.  No limit "
        "is specified]")


def test_the_plugin_through_the_api_server(tmp_path):
    async def body(api):
        await api.ok("POST", RANGES, lr({"type": "Container", "default": {"memory": "64Mi"}, "max": {"memory": "128Mi"}}))
        made = await api.ok("POST", PODS, pod("p"))
        assert made["spec"]["containers"][0]["resources"] == {"limits": {"memory": "64Mi"},
                                                              "requests": {"memory": "64Mi"}}
        assert made["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == \
            "LimitRanger plugin set: memory request for container c; memory limit for container c"
        status, answer, _ = await api.req("POST", PODS, pod("q", {"limits": {"memory": "1Gi"}}))
        assert status == 403 and answer["message"] == \
            'pods "q" is forbidden: maximum memory usage per Container is 128Mi, but limit is 1Gi'
    run(tmp_path, body)


def test_a_controllers_pod_carries_the_note_of_ranges_older_than_itself():
    template = {"metadata": {"labels": {"app": "w"}, "annotations": {"team": "a"}},
                "spec": {"containers": [{"name": "c", "image": "emukube/echo:1.0"}]}}
    deployment = {"kind": "Deployment", "metadata": {"name": "w", "namespace": "default"},
                  "spec": {"template": template}}
    stored = apply_defaults(lr({"type": "Container", "default": {"memory": "64Mi"}}))  # defaultRequest too
    ranges = [dict(stored, metadata={**stored["metadata"], "creationTimestamp": "2026-12-05T10:00:00Z"})]
    thash = template_hash(template)
    made_after = template_annotations([deployment], "default", "Deployment/w", thash, ranges, "2026-12-05T10:00:05Z")
    assert made_after == {"team": "a", limit_ranges.ANNOTATION:
                          "LimitRanger plugin set: memory request for container c; memory limit for container c"}
    made_before = template_annotations([deployment], "default", "Deployment/w", thash, ranges, "2026-12-05T09:59:00Z")
    assert made_before == {"team": "a"}
