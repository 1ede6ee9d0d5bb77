"""Pods being made, as the controller publishes them (Controller.pending_published): Pending
until a tick observes their containers, even when those were made after the tick looked."""

from __future__ import annotations

from types import SimpleNamespace

from emukube.controllers.loop import Controller
from emukube.k8s.keys import object_key
from emukube.plan.workloads import PodPlan


def controller(plan: PodPlan, made: bool) -> SimpleNamespace:
    key = object_key(plan.namespace, plan.name)
    return SimpleNamespace(
        creating={key: plan}, created={key} if made else set(), superseded=lambda pod: False,
        failures=SimpleNamespace(holds=lambda key: False), earlier_pod_stored=lambda plan: False,
        plan_facts=lambda plan, planned: plan.name)


PLAN = PodPlan(name="web-abc-x1", namespace="default", labels={"app": "web"}, spec={}, owner_kind="ReplicaSet",
               owner_name="web-abc", planned=1_800_000_000.0)


def test_a_pod_being_made_is_published_pending():
    published = Controller.pending_published(controller(PLAN, made=False), pods={})  # type: ignore[arg-type]
    assert [(facts, status["phase"]) for facts, status in published] == [("web-abc-x1", "Pending")]


def test_one_made_after_the_tick_looked_stays_pending_until_a_tick_sees_it():
    """Its containers were made between this tick's look at the engine and its publishing: left
    out, the publisher deleted its object and wrote it anew, with a uid its env did not have."""
    published = Controller.pending_published(controller(PLAN, made=True), pods={})  # type: ignore[arg-type]
    assert [facts for facts, _ in published] == ["web-abc-x1"]


def test_one_the_tick_observed_is_published_from_its_containers_instead():
    key = object_key(PLAN.namespace, PLAN.name)
    published = Controller.pending_published(controller(PLAN, made=True), pods={key: object()})  # type: ignore[arg-type]
    assert published == []
