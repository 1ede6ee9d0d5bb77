"""PodDisruptionBudgets: the disruption controller's status and the eviction verdict
(plan/disruption.py) from literal objects, and the pods/eviction subresource through the API."""

from __future__ import annotations

from test_apiserver_harness import pod, run

from emukube.plan.disruption import MANY, REFUSED, budget_status, evict, selector_matches

NOW = 1_700_000_000.0
T0 = "2023-11-14T22:13:00Z"


def v1pod(name: str, ready: bool = True, owner: str = "web-abc", **meta) -> dict:
    return {"metadata": {"name": name, "namespace": "default", "labels": {"app": "web"},
                         "ownerReferences": [{"kind": "ReplicaSet", "name": owner, "controller": True}], **meta},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def pdb(spec: dict, status: dict | None = None, generation: int = 1) -> dict:
    return {"metadata": {"name": "web", "namespace": "default", "generation": generation},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}, **({"status": status} if status else {})}


def deploy_scale(_pod: dict) -> tuple[str, int]:
    return "Deployment/default/web", 3


def test_selectors_match_labels_and_expressions_and_empty_matches_nothing():
    assert selector_matches({"matchLabels": {"app": "web"}}, {"app": "web", "x": "1"})
    assert not selector_matches({}, {"app": "web"}) and not selector_matches(None, {"app": "web"})
    expr = {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]},
                                 {"key": "canary", "operator": "DoesNotExist"}]}
    assert selector_matches(expr, {"tier": "a"}) and not selector_matches(expr, {"tier": "a", "canary": "1"})


def test_min_available_count():
    pods = [v1pod("a"), v1pod("b"), v1pod("c", ready=False)]
    status = budget_status(pdb({"minAvailable": 1}), pods, deploy_scale, NOW)
    assert {k: status[k] for k in ("currentHealthy", "desiredHealthy", "expectedPods", "disruptionsAllowed",
                                   "observedGeneration")} == \
        {"currentHealthy": 2, "desiredHealthy": 1, "expectedPods": 3, "disruptionsAllowed": 1, "observedGeneration": 1}
    assert [(c["type"], c["status"], c["reason"]) for c in status["conditions"]] == \
        [("DisruptionAllowed", "True", "SufficientPods")]
    blocked = budget_status(pdb({"minAvailable": 2}), pods, deploy_scale, NOW)
    assert blocked["disruptionsAllowed"] == 0 and blocked["conditions"][0]["reason"] == "InsufficientPods"


def test_percentages_and_max_unavailable_use_the_controllers_scale():
    pods = [v1pod("a"), v1pod("b"), v1pod("c")]
    status = budget_status(pdb({"minAvailable": "50%"}), pods, deploy_scale, NOW)
    assert (status["expectedPods"], status["desiredHealthy"], status["disruptionsAllowed"]) == (3, 2, 1)
    status = budget_status(pdb({"maxUnavailable": 1}), pods[:2], deploy_scale, NOW)
    assert (status["expectedPods"], status["desiredHealthy"], status["disruptionsAllowed"]) == (3, 2, 0)
    failed = budget_status(pdb({"maxUnavailable": 1}), pods, lambda p: None, NOW)
    assert failed["disruptionsAllowed"] == 0
    assert (failed["conditions"][0]["reason"], failed["conditions"][0]["message"]) == \
        ("SyncFailed", 'found no controllers for pod "a"')


def test_a_pod_being_evicted_is_not_healthy_until_the_timeout():
    pods = [v1pod("a"), v1pod("b"), v1pod("c", deletionTimestamp=T0)]
    budget = pdb({"minAvailable": 1}, {"disruptedPods": {"a": "2023-11-14T22:13:20Z", "c": T0}})
    status = budget_status(budget, pods, deploy_scale, NOW)
    assert status["currentHealthy"] == 1 and status["disruptedPods"] == {"a": "2023-11-14T22:13:20Z"}
    later = budget_status(budget, pods, deploy_scale, NOW + 300)
    assert later["currentHealthy"] == 2 and "disruptedPods" not in later


def test_the_condition_keeps_its_transition_time_while_its_status_holds():
    first = budget_status(pdb({"minAvailable": 1}), [v1pod("a"), v1pod("b")], deploy_scale, NOW)
    again = budget_status(pdb({"minAvailable": 1}, first), [v1pod("a"), v1pod("b")], deploy_scale, NOW + 60)
    assert again == first


def test_eviction_verdicts():
    ready = v1pod("a")
    allowed = pdb({"minAvailable": 1}, {"observedGeneration": 1, "disruptionsAllowed": 1, "currentHealthy": 2,
                                        "desiredHealthy": 1, "expectedPods": 2})
    verdict = evict(ready, [allowed], NOW)
    assert verdict.delete and verdict.budget is not None
    assert verdict.budget["status"]["disruptionsAllowed"] == 0 and "a" in verdict.budget["status"]["disruptedPods"]
    assert verdict.budget["status"]["conditions"][0]["reason"] == "InsufficientPods"
    blocked = pdb({"minAvailable": 2}, {"observedGeneration": 1, "disruptionsAllowed": 0, "currentHealthy": 2,
                                        "desiredHealthy": 2, "expectedPods": 2})
    refused = evict(ready, [blocked], NOW)
    assert (refused.delete, refused.code, refused.reason, refused.message) == \
        (False, 429, "TooManyRequests", REFUSED)
    assert refused.cause == "The disruption budget web needs 2 healthy pods and has 2 currently"
    stale = evict(ready, [pdb({"minAvailable": 1}, {"observedGeneration": 1, "disruptionsAllowed": 1},
                              generation=2)], NOW)
    assert (stale.code, stale.cause) == (429, "The disruption budget web is still being processed by the server.")
    assert evict(ready, [allowed, {**blocked, "metadata": {**blocked["metadata"], "name": "other"}}],
                 NOW).message == MANY
    assert evict(ready, [], NOW).delete  # no budget
    assert evict({**ready, "status": {"phase": "Pending"}}, [blocked], NOW).delete  # disrupts nothing
    # not ready, and the budget is met without it
    unready = v1pod("c", ready=False)
    assert evict(unready, [blocked], NOW).delete


BUDGETS = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"


def test_the_eviction_subresource(tmp_path):
    async def body(api):
        made_pod = await api.ok("POST", "/api/v1/namespaces/default/pods", pod("web-1", {"app": "web"}))
        made_pod["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
        await api.ok("PUT", "/api/v1/namespaces/default/pods/web-1/status", made_pod)
        policy = {r["name"]: r for r in (await api.ok("GET", "/apis/policy/v1"))["resources"]}
        assert policy["poddisruptionbudgets"]["shortNames"] == ["pdb"]
        core = {r["name"]: r for r in (await api.ok("GET", "/api/v1"))["resources"]}
        assert (core["pods/eviction"]["group"], core["pods/eviction"]["kind"]) == ("policy", "Eviction")
        made = await api.ok("POST", BUDGETS, {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                                              "metadata": {"name": "web"},
                                              "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
        made["status"] = {"observedGeneration": made["metadata"]["generation"], "disruptionsAllowed": 0,
                          "currentHealthy": 1, "desiredHealthy": 1, "expectedPods": 1}
        await api.ok("PUT", f"{BUDGETS}/web/status", made)
        eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "web-1", "namespace": "default"}}
        url = "/api/v1/namespaces/default/pods/web-1/eviction"
        status, refused, _ = await api.req("POST", url, eviction)
        assert status == 429 and refused["reason"] == "TooManyRequests" and refused["message"] == REFUSED
        assert refused["details"]["causes"] == [
            {"reason": "DisruptionBudget", "message": "The disruption budget web needs 1 healthy pods and has 1 currently"}]
        status, wrong, _ = await api.req("POST", url, {**eviction, "metadata": {"name": "other"}})
        assert status == 400 and wrong["message"] == "name in URL does not match name in Eviction object"
        await api.ok("DELETE", f"{BUDGETS}/web")
        status, _, _ = await api.req("POST", url + "?dryRun=All", eviction)
        assert status == 201
        await api.ok("GET", "/api/v1/namespaces/default/pods/web-1")  # a dry run deletes nothing
        status, done, _ = await api.req("POST", url, eviction)
        assert status == 201 and done["status"] == "Success"
        status, _, _ = await api.req("GET", "/api/v1/namespaces/default/pods/web-1")
        assert status == 404  # not on a node: deleted at once
    run(tmp_path, body)


def test_budgets_are_validated_with_the_api_server_s_words(tmp_path):
    async def body(api):
        bad = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
               "spec": {"minAvailable": "150%", "selector": {"matchLabels": {"app": "web"}}}}
        status, refused, _ = await api.req("POST", BUDGETS, bad)
        assert status == 422 and refused["reason"] == "Invalid"
        assert refused["message"] == ('PodDisruptionBudget.policy "web" is invalid: spec.minAvailable: '
                                      "Invalid value: 150%: must not be greater than 100%")
    run(tmp_path, body)
