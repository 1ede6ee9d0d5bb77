"""ResourceQuotas: what objects count, the admission plugin's refusals in its words (through the
real API server app), what the loop holds back, the status and kubectl's columns."""

from __future__ import annotations

from test_apiserver_harness import run

from emukube.apiserver.printers.policy import quota_cells
from emukube.controllers.pod_admission import admitted
from emukube.plan import quota
from emukube.plan.workloads import new_pod_for

PODS, CMS = "/api/v1/namespaces/default/pods", "/api/v1/namespaces/default/configmaps"
QUOTAS = "/api/v1/namespaces/default/resourcequotas"


def rq(name: str, hard: dict, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name, "namespace": "default"},
            "spec": {"hard": hard, **spec}}


def pod(name: str, cpu: str | None = None, **spec) -> dict:
    resources = {"requests": {"cpu": cpu}, "limits": {"cpu": cpu}} if cpu else {}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "emukube/echo:1.0", "resources": resources}], **spec}}


def test_usage_counts_what_the_evaluators_count():
    assert quota.usage(pod("p", "250m")) == {"pods": 1, "count/pods": 1, "requests.cpu": 0.25, "limits.cpu": 0.25,
                                             "requests.memory": 0, "limits.memory": 0, "cpu": 0.25, "memory": 0}
    assert quota.usage({**pod("p"), "status": {"phase": "Succeeded"}}) == {}
    svc = {"kind": "Service", "spec": {"type": "LoadBalancer", "ports": [{"port": 80}, {"port": 443}]}}
    assert quota.usage(svc) == {"services": 1, "count/services": 1, "services.loadbalancers": 1,
                                "services.nodeports": 2}
    assert quota.usage({"kind": "Deployment"}) == {"count/deployments.apps": 1}


def test_verdicts_are_the_plugins_words():
    q = rq("compute", {"pods": "2", "requests.cpu": "1"})
    running = [pod("a", "500m"), pod("b", "250m")]
    assert quota.verdict(pod("c", "250m"), [q], running[:1]) == ""
    assert quota.verdict(pod("c", "250m"), [q], running) == \
        "exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2"
    assert quota.verdict(pod("c", "600m"), [q], running[:1]) == \
        "exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=500m, limited: requests.cpu=1"
    assert quota.verdict(pod("c"), [q], []) == "failed quota: compute: must specify requests.cpu for: c"
    best_effort = rq("be", {"pods": "0"}, scopes=["BestEffort"])
    assert quota.verdict(pod("c", "1m"), [best_effort], []) == ""
    assert quota.verdict(pod("c"), [best_effort], []).startswith("exceeded quota: be, requested: pods=1")
    assert quota.status(q, running) == {"hard": {"pods": "2", "requests.cpu": "1"},
                                        "used": {"pods": "2", "requests.cpu": "750m"}}


def test_the_loop_holds_back_a_pod_the_quota_has_no_room_for():
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
              "spec": {"template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "c", "image": "x"}]}}}}
    plan = new_pod_for(deploy)
    objects = [rq("count", {"pods": "1"}), {"kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "default"}}]
    assert admitted(plan, objects, [])[1] == ""
    assert admitted(plan, objects, [pod("other")])[1] == (
        f'Error creating: pods "web-{plan.template_hash}-" is forbidden: exceeded quota: count, requested: pods=1, '
        "used: pods=1, limited: pods=1")


def test_admission_refuses_what_exceeds_a_quota(tmp_path):
    async def body(api):
        made = await api.ok("POST", QUOTAS, rq("small", {"configmaps": "1", "pods": "1"}))
        assert made["spec"]["hard"] == {"configmaps": "1", "pods": "1"}
        await api.ok("POST", CMS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one"}})
        status, answer, _ = await api.req("POST", CMS, {"apiVersion": "v1", "kind": "ConfigMap",
                                                         "metadata": {"name": "two"}})
        assert status == 403 and answer["message"] == ('configmaps "two" is forbidden: exceeded quota: small, '
                                                       "requested: configmaps=1, used: configmaps=1, "
                                                       "limited: configmaps=1")
        await api.ok("POST", PODS, pod("p"))
        status, answer, _ = await api.req("POST", PODS, pod("q"))
        assert status == 403 and "exceeded quota: small, requested: pods=1, used: pods=1, limited: pods=1" in \
            answer["message"]
        status, answer, _ = await api.req("POST", QUOTAS, rq("bad", {"pods": "lots"}))
        assert status == 422 and "spec.hard[pods]: Invalid value: \"lots\": quantities must match" in answer["message"]
    run(tmp_path, body)


def test_columns_are_kubectls():
    q = rq("compute", {"pods": "4", "requests.cpu": "1", "limits.memory": "1Gi"})
    q["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    q["status"] = {"hard": {"pods": "4", "requests.cpu": "1", "limits.memory": "1Gi"},
                   "used": {"pods": "2", "requests.cpu": "500m"}}
    assert quota_cells(q, 1767225603.0) == ["compute", "3s", "pods: 2/4, requests.cpu: 500m/1",
                                            "limits.memory: 0/1Gi"]
