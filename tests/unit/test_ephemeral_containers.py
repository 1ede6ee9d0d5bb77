"""Ephemeral containers (`kubectl debug POD`): the pods/ephemeralcontainers subresource, its
validation in the API server's words, and what the loop starts and reports."""

from __future__ import annotations

from test_apiserver_harness import pod, run

from emukube.controllers.ephemeral import to_start
from emukube.controllers.publish_pods import ephemeral_statuses
from emukube.manifests.validate_pod import validate_ephemeral_containers

PODS = "/api/v1/namespaces/default/pods"
SMP = "application/strategic-merge-patch+json"
SPEC = {"containers": [{"name": "app", "image": "emukube/echo:1.0"}]}


def debugger(name="debugger-x", **more) -> dict:
    return {"name": name, "image": "emukube/echo:1.0", "stdin": True, **more}


def test_a_new_one_is_valid_with_kubectls_empty_fields():
    # kubectl sends `resources: {}`: Go's zero value, which counts as unset
    assert validate_ephemeral_containers(SPEC, [debugger(resources={}, targetContainerName="app")], False) == []


def test_what_an_ephemeral_container_may_not_have_or_be():
    items = validate_ephemeral_containers(SPEC, [
        debugger("app"),
        debugger("probe", ports=[{"containerPort": 80}], readinessProbe={"exec": {"command": ["true"]}}),
        debugger("aim", targetContainerName="nope"),
        {"name": "bare"},
    ], False)
    assert items == [
        'spec.ephemeralContainers[0].name: Duplicate value: "app"',
        "spec.ephemeralContainers[1].ports: Forbidden: cannot be set for an Ephemeral Container",
        "spec.ephemeralContainers[1].readinessProbe: Forbidden: cannot be set for an Ephemeral Container",
        'spec.ephemeralContainers[2].targetContainerName: Not found: "nope"',
        "spec.ephemeralContainers[3].image: Required value",
    ]


def test_those_there_may_be_neither_removed_nor_changed():
    spec = {**SPEC, "ephemeralContainers": [debugger("a"), debugger("b")]}
    items = validate_ephemeral_containers(spec, [debugger("b", command=["sh"])], False)
    assert items == ['spec.ephemeralContainers: Forbidden: existing ephemeral containers "a" may not be removed',
                     'spec.ephemeralContainers[0]: Forbidden: existing ephemeral containers "b" may not be changed']


def test_the_loop_starts_each_once():
    wanted = [debugger("a"), debugger("b"), debugger("c")]
    assert [c["name"] for c in to_start(wanted, started={"a"}, busy={"b"})] == ["c"]
    assert to_start(wanted, started={"a", "b", "c"}, busy=set()) == []


def test_statuses_follow_the_spec_and_wait_until_made():
    specs = [debugger("a"), debugger("b")]
    report = {"ephemeral": [{"name": "a", "containerID": "docker://1", "restarts": 0, "ready": False,
                             "state": {"running": {"startedAt": "2026-12-05T03:00:00Z"}}}]}
    a, b = ephemeral_statuses(specs, report)
    assert (a["name"], a["ready"], a["started"], a["state"]) == ("a", False, True,
                                                               {"running": {"startedAt": "2026-12-05T03:00:00Z"}})
    assert (b["name"], b["state"]) == ("b", {"waiting": {"reason": "ContainerCreating"}})


def test_the_subresource_adds_them_and_a_whole_pod_write_keeps_them(tmp_path):
    async def body(api):
        await api.ok("POST", PODS, pod("web"))
        before = await api.ok("GET", PODS + "/web/ephemeralcontainers")
        assert before["kind"] == "Pod" and not before["spec"].get("ephemeralContainers")
        patch = {"spec": {"ephemeralContainers": [debugger(resources={})]}}
        after = await api.ok("PATCH", PODS + "/web/ephemeralcontainers", patch, ct=SMP)
        added = after["spec"]["ephemeralContainers"]
        assert [c["name"] for c in added] == ["debugger-x"]
        assert added[0]["terminationMessagePolicy"] == "File"  # the API server's container defaults
        after["spec"].pop("ephemeralContainers")  # a PUT of the pod cannot remove them ...
        after["metadata"]["labels"] = {"seen": "yes"}
        put = await api.ok("PUT", PODS + "/web", after)
        assert [c["name"] for c in put["spec"]["ephemeralContainers"]] == ["debugger-x"]
        patch = {"spec": {"$setElementOrder/ephemeralContainers": [{"name": "debugger-x"}, {"name": "y"}],
                          "ephemeralContainers": [debugger("y", ports=[{"containerPort": 1}])]}}  # as kubectl's
        status, payload, _ = await api.req("PATCH", PODS + "/web/ephemeralcontainers", patch, ct=SMP)
        assert status == 422 and payload["message"] == (
            'Pod "web" is invalid: spec.ephemeralContainers[1].ports: Forbidden: cannot be set for an '
            "Ephemeral Container")
        assert payload["details"]["causes"][0]["field"] == "spec.ephemeralContainers[1].ports"
        found = await api.ok("GET", "/api/v1")
        assert "pods/ephemeralcontainers" in {r["name"] for r in found["resources"]}
    run(tmp_path, body)
