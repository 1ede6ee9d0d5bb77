"""Pod firewalls (controllers/pod_firewalls.py): a pod passed over while its rules were loading
is judged again, and `up` waits until it is."""

from __future__ import annotations

from types import SimpleNamespace

from emukube.controllers.pod_firewalls import PodFirewalls
from emukube.plan.endpoints import PodView

POLICY = {"kind": "NetworkPolicy", "metadata": {"name": "kitchen-from-front-desk", "namespace": "default"},
          "spec": {"podSelector": {"matchLabels": {"app": "kitchen"}}, "policyTypes": ["Ingress"],
                   "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "front-desk"}}}]}]}}


def view(name: str, ip: str, **labels: str) -> PodView:
    return PodView(name=name, namespace="default", ip=ip, labels=labels, ready=True)


def pod(v: PodView) -> SimpleNamespace:
    return SimpleNamespace(namespace=v.namespace, name=v.name, ip=v.ip, spec={},
                           holder=SimpleNamespace(id=f"id-{v.name}", status="running"))


def controller(loads: list[tuple[str, str]], starting: list[PodView] | None = None) -> SimpleNamespace:
    return SimpleNamespace(policies=[POLICY], namespace_labels={}, starting=starting or [],
                           ctx=SimpleNamespace(net=SimpleNamespace(dns_ip="10.9.0.10")),
                           create_pool=SimpleNamespace(submit=lambda fn, p, text, digest, empty: loads.append((p.name, text))))


def test_a_pod_being_made_is_admitted_before_its_containers_run(tmp_path):
    """A front desk pod whose containers are still being made (loop.starting_views) is in the
    kitchen's rules already: its first request is not dropped."""
    loads: list[tuple[str, str]] = []
    kitchen = view("kitchen", "10.9.0.5", app="kitchen")
    new_front = PodView(name="front-desk-2", namespace="default", ip="10.9.0.8", labels={"role": "front-desk"})
    PodFirewalls(controller(loads, [new_front]), tmp_path / "firewalls.json").sync({"kitchen": pod(kitchen)}, [kitchen])
    assert [name for name, _ in loads] == ["kitchen"]
    assert "-A INPUT -s 10.9.0.8 -j ACCEPT" in loads[0][1], loads[0][1]


def test_a_pod_passed_over_while_loading_is_judged_again_and_waited_for(tmp_path):
    loads: list[tuple[str, str]] = []
    ctl = controller(loads)
    firewalls = PodFirewalls(ctl, tmp_path / "firewalls.json")
    kitchen, front = view("kitchen", "10.9.0.5", app="kitchen"), view("front-desk", "10.9.0.6", role="front-desk")
    firewalls.sync({"kitchen": pod(kitchen), "front": pod(front)}, [kitchen, front])
    assert [name for name, _ in loads] == ["kitchen"] and firewalls.waiting()

    # The delivery pod starts while the kitchen's first rules load: this sync passes over it.
    delivery = view("delivery", "10.9.0.7", role="delivery")
    pods, views = {"kitchen": pod(kitchen), "front": pod(front), "delivery": pod(delivery)}, [kitchen, front, delivery]
    firewalls.sync(pods, views)
    assert len(loads) == 1
    firewalls.loaded["id-kitchen"] = "first"  # ... and the load ends: rules without the delivery pod
    firewalls.busy.clear()
    assert firewalls.waiting(), "up must not take the kitchen's older rules for its policies holding"

    firewalls.sync(pods, views)
    assert [name for name, _ in loads] == ["kitchen", "kitchen"]
    assert "-A INPUT -s 10.9.0.7 -j DROP" in loads[-1][1] and "-A INPUT -s 10.9.0.6 -j ACCEPT" in loads[-1][1]
