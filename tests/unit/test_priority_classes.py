"""PriorityClasses (scheduling.k8s.io/v1) through the real API server app: the system classes,
validation, and the Priority admission plugin giving pods their class's priority."""

from __future__ import annotations

from test_apiserver_harness import run

from emukube.apiserver.printers.scheduling import priorityclass_cells

CLASSES = "/apis/scheduling.k8s.io/v1/priorityclasses"
PODS = "/api/v1/namespaces/default/pods"


def pc(name: str, value: int, **more) -> dict:
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
            "value": value, **more}


def pod(name: str, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "emukube/echo:1.0"}], **spec}}


def test_pods_get_their_classs_priority_and_a_missing_class_is_refused(tmp_path):
    async def body(api):
        listed = await api.ok("GET", CLASSES)
        assert {c["metadata"]["name"]: c["value"] for c in listed["items"]} == {
            "system-cluster-critical": 2000000000, "system-node-critical": 2000001000}
        made = await api.ok("POST", CLASSES, pc("high", 1000, preemptionPolicy="Never"))
        assert made["preemptionPolicy"] == "Never"
        stored = await api.ok("POST", PODS, pod("p", priorityClassName="high"))
        assert (stored["spec"]["priority"], stored["spec"]["preemptionPolicy"]) == (1000, "Never")
        plain = await api.ok("POST", PODS, pod("q"))
        assert plain["spec"]["priority"] == 0 and "priorityClassName" not in plain["spec"]
        # An update that leaves them out keeps what admission set.
        stored["spec"].pop("priority")
        assert (await api.ok("PUT", f"{PODS}/p", stored))["spec"]["priority"] == 1000
        status, answer, _ = await api.req("POST", PODS, pod("r", priorityClassName="nope"))
        assert status == 403 and answer["message"] == 'pods "r" is forbidden: no PriorityClass with name nope was found'
        status, answer, _ = await api.req("POST", PODS, pod("s", priorityClassName="high", priority=5))
        assert status == 403 and "the integer value of priority (5) must not be provided in pod spec; priority " \
            "admission controller computed 1000 from the given PriorityClass name" in answer["message"]
        await api.ok("POST", CLASSES, pc("everyone", 7, globalDefault=True))
        defaulted = await api.ok("POST", PODS, pod("t"))
        assert (defaulted["spec"]["priorityClassName"], defaulted["spec"]["priority"]) == ("everyone", 7)
        # A write of the whole pod as its controller knows it (priority 0, no class) keeps them.
        rewritten = {**defaulted, "spec": {**defaulted["spec"], "priority": 0}}
        del rewritten["spec"]["priorityClassName"]
        kept = await api.ok("PUT", f"{PODS}/t", rewritten)
        assert (kept["spec"]["priorityClassName"], kept["spec"]["priority"]) == ("everyone", 7)
    run(tmp_path, body)


def test_refusals_are_the_api_servers(tmp_path):
    async def body(api):
        status, answer, _ = await api.req("POST", CLASSES, pc("system-mine", 5))
        assert status == 422 and answer["message"] == (
            'PriorityClass.scheduling.k8s.io "system-mine" is invalid: metadata.name: Forbidden: priority class '
            "names with 'system-' prefix are reserved for system use only. error: system-mine is not a known "
            "system priority class")
        status, answer, _ = await api.req("POST", CLASSES, pc("huge", 2000000000))
        assert status == 422 and answer["message"].endswith(
            "value: Forbidden: maximum allowed value of a user defined priority is 1000000000")
        made = await api.ok("POST", CLASSES, pc("high", 1000))
        made["value"] = 2000
        status, answer, _ = await api.req("PUT", f"{CLASSES}/high", made)
        assert status == 422 and answer["message"].endswith("value: Forbidden: may not be changed in an update.")
    run(tmp_path, body)


def test_columns_are_kubectls():
    obj = pc("high", 1000, globalDefault=False, preemptionPolicy="PreemptLowerPriority")
    obj["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    assert priorityclass_cells(obj, 1767225602.0) == ["high", 1000, False, "2s", "PreemptLowerPriority"]


def test_up_warns_of_a_class_the_manifests_name_but_do_not_declare():
    from emukube.manifests.validate_scheduling import missing_priority_classes

    def deploy(name: str, cls: str) -> dict:
        return {"kind": "Deployment", "metadata": {"name": name},
                "spec": {"template": {"spec": {"priorityClassName": cls}}}}
    objects = [pc("high", 10), deploy("a", "high"), deploy("b", "urgent"), deploy("c", "system-node-critical"),
               {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"priorityClassName": "urgent"}}]
    assert missing_priority_classes(objects) == [
        'priorityClassName "urgent" names no PriorityClass in these manifests: the pods of deployment/b, pod/p '
        "are refused unless the cluster has it (kubectl create priorityclass urgent --value=N)"]
