"""PodTemplates (v1): ValidatePodTemplate's wording (the template's labels, annotations and pod
spec, by the pod validation Pods have), the template's pod spec defaulted, metadata.generation
bumped by a change of the template, and kubectl's columns."""

from __future__ import annotations

from test_apiserver_harness import run

from emukube.apiserver.printers.core import pod_template_cells
from emukube.manifests.defaults import apply_defaults
from emukube.manifests.validate import validate_object

TEMPLATES = "/api/v1/namespaces/default/podtemplates"


def template(name: str, spec: dict | None = None, **meta) -> dict:
    return {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": name, "namespace": "default"},
            "template": {"metadata": meta, "spec": spec if spec is not None else {
                "containers": [{"name": "web", "image": "nginx:1.25"}, {"name": "log", "image": "busybox"}]}}}


def test_validation_is_the_pod_validation_at_the_templates_paths():
    assert validate_object(template("ok", labels={"app": "web"})) == []
    assert validate_object(template("t", spec={})) == ["template.spec.containers: Required value"]
    assert validate_object(template("t", spec={"containers": [{"name": "Web", "image": "x"}],
                                               "restartPolicy": "Sometimes"})) == [
        "template.spec.containers[0].name: Invalid value: \"Web\": a lowercase RFC 1123 label must consist of lower "
        "case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. "
        "'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        'template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", '
        '"Never"']
    # A template, unlike a workload's, may say OnFailure; ephemeral containers it may not have.
    assert validate_object(template("t", spec={"containers": [{"name": "c", "image": "x"}],
                                               "restartPolicy": "OnFailure"})) == []
    assert validate_object(template("t", spec={"containers": [{"name": "c", "image": "x"}],
                                               "ephemeralContainers": [{"name": "d", "image": "x"}]})) == [
        "template.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template"]
    labels = validate_object(template("t", labels={"app": "-web-"}, annotations={"bad key": "v"}))
    assert labels[0].startswith('template.labels: Invalid value: "-web-": a valid label must be an empty string')
    assert labels[1].startswith('template.annotations: Invalid value: "bad key": name part must consist of')


def test_the_templates_pod_spec_is_defaulted():
    spec = apply_defaults(template("t"))["template"]["spec"]
    assert (spec["restartPolicy"], spec["dnsPolicy"], spec["terminationGracePeriodSeconds"]) == \
        ("Always", "ClusterFirst", 30)
    assert spec["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert spec["containers"][1]["imagePullPolicy"] == "Always"
    assert "enableServiceLinks" not in spec and "priority" not in spec  # a Pod's only


def test_served_with_a_generation_its_template_bumps(tmp_path):
    async def body(api):
        made = await api.ok("POST", TEMPLATES, template("web", app="web"))
        assert made["metadata"]["generation"] == 1 and "spec" not in made
        made["metadata"]["labels"] = {"tier": "front"}
        made = await api.ok("PUT", f"{TEMPLATES}/web", made)
        assert made["metadata"]["generation"] == 1
        made["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
        assert (await api.ok("PUT", f"{TEMPLATES}/web", made))["metadata"]["generation"] == 2
        status, answer, _ = await api.req("POST", TEMPLATES, template("empty", spec={}))
        assert status == 422 and answer["message"] == \
            'PodTemplate "empty" is invalid: template.spec.containers: Required value'
        core = {r["name"]: r for r in (await api.ok("GET", "/api/v1"))["resources"]}
        assert core["podtemplates"]["namespaced"] is True and "shortNames" not in core["podtemplates"]
    run(tmp_path, body)


def test_columns_are_kubectls():
    obj = template("web", labels={"app": "web", "tier": "front"})
    assert pod_template_cells(obj, 0.0) == ["web", "web,log", "nginx:1.25,busybox", "app=web,tier=front"]
    assert pod_template_cells({"metadata": {"name": "bare"}}, 0.0) == ["bare", "", "", "<none>"]
