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


def test_a_pod_passed_over_while_loading_is_judged_again_and_waited_for(tmp_path):
    loads: list[tuple[str, str]] = []
    ctl = SimpleNamespace(policies=[POLICY], namespace_labels={}, ctx=SimpleNamespace(net=SimpleNamespace(dns_ip="10.9.0.10")),
                          create_pool=SimpleNamespace(submit=lambda fn, p, text, digest, empty: loads.append((p.name, text))))
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
