"""What `up` says of a Service whose proxy answers but which would fail a client."""

from __future__ import annotations

from emukube.controllers.service_checks import endpoints_problem, listen_problem
from emukube.plan import endpoints as ep

SVC = {"metadata": {"name": "web", "namespace": "default"},
       "spec": {"clusterIP": "10.96.0.5", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 9376}]}}


def pod(name: str, ready: bool = True, labels=None) -> ep.PodView:
    return ep.PodView(name=name, namespace="default", ip=f"10.1.0.{len(name)}", labels=labels or {"app": "web"},
                      ready=ready)


def test_no_endpoints_says_why():
    assert endpoints_problem(SVC, ep.proxy_plan(SVC, []), []) == \
        "no endpoints: the selector app=web matches no pod in namespace default"
    views = [pod("web-1", ready=False)]
    assert endpoints_problem(SVC, ep.proxy_plan(SVC, views), views) == \
        "no endpoints: none of the 1 pod(s) the selector app=web matches is ready"
    bare = {**SVC, "spec": {**SVC["spec"], "selector": None}}
    assert endpoints_problem(bare, ep.proxy_plan(bare, []), []).startswith("no endpoints: no selector")
    views = [pod("web-1")]
    assert endpoints_problem(SVC, ep.proxy_plan(SVC, views), views) == ""


def test_a_target_port_nothing_listens_on():
    views = [pod("web-1"), pod("web-22")]
    plan = ep.proxy_plan(SVC, views)
    assert listen_problem(plan, lambda address: True) == "nothing listens on targetPort 9376 of port 80/TCP in 2 pod(s)"
    assert listen_problem(plan, lambda address: False) == ""
