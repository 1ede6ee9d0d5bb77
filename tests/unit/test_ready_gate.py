"""controllers/ready_gate.py: a serving pod is Ready once every proxy that should carry it runs a
config with its address (or HOLD_LIMIT passed); pods no proxy carries are Ready at once."""

from emukube.controllers.ready_gate import HOLD_LIMIT, ReadyGate, addresses, carried, waiting_on
from emukube.plan.types import Backend, ProxyPlan, ServicePort


def plan(*ips: str) -> ProxyPlan:
    port = ServicePort(port=80, target_port=8080)
    return ProxyPlan(name="web", namespace="default", cluster_ip="10.96.0.20", ports=(port,),
                     backends={port.key: tuple(Backend(f"p{i}", ip, 8080) for i, ip in enumerate(ips))})


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_addresses_and_what_a_pod_waits_on():
    assert addresses([plan("10.0.0.1", "10.0.0.2"), plan("10.0.0.3")]) == {"10.0.0.1", "10.0.0.2", "10.0.0.3"}
    expected = {"svc:default/web": frozenset({"10.0.0.1", "10.0.0.2"}), "node:node-1": frozenset({"10.0.0.2"})}
    serving = {"svc:default/web": frozenset({"10.0.0.1"})}
    assert waiting_on("10.0.0.1", expected, serving) == []
    assert waiting_on("10.0.0.2", expected, serving) == ["node:node-1", "svc:default/web"]
    assert waiting_on("10.0.0.9", expected, serving) == []  # no proxy carries it


def test_a_pod_is_held_until_its_proxies_serve_it():
    gate = ReadyGate(Clock())
    gate.begin({"default/a", "default/b"}, lambda key: False)
    gate.planned("svc:default/web", [plan("10.0.0.1", "10.0.0.2")])
    gate.serves("svc:default/web", [plan("10.0.0.1")])
    gate.update({"default/a": "10.0.0.1", "default/b": "10.0.0.2"}, settled=lambda key: True)
    assert gate.ready("default/a") and not gate.ready("default/b")
    gate.serves("svc:default/web", [plan("10.0.0.1", "10.0.0.2")])
    gate.update({"default/a": "10.0.0.1", "default/b": "10.0.0.2"}, settled=lambda key: True)
    assert gate.ready("default/b")


def carrying_a() -> ReadyGate:
    """A gate whose only candidate, pod a at 10.0.0.1, the proxy of web plans and runs."""
    gate = ReadyGate(Clock())
    gate.begin({"default/a"}, lambda key: False)
    gate.planned("svc:default/web", [plan("10.0.0.1")])
    gate.serves("svc:default/web", [plan("10.0.0.1")])
    return gate


def test_a_proxy_being_made_does_not_count_yet():
    gate = carrying_a()
    gate.update({"default/a": "10.0.0.1"}, settled=lambda key: False)
    assert not gate.ready("default/a")
    gate.update({"default/a": "10.0.0.1"}, settled=lambda key: True)
    assert gate.ready("default/a")


def test_pods_no_proxy_may_carry_are_ready_at_once():
    gate = ReadyGate(Clock())
    gate.begin({"default/a"}, lambda key: False)
    assert gate.ready("default/headless-0")  # not a candidate: never waits, not even for update
    gate.update({"default/a": "10.0.0.1"}, settled=lambda key: True)
    assert gate.ready("default/a")  # a candidate that no planned proxy carries (no matching port)


def test_a_proxy_that_never_serves_holds_the_pod_hold_limit_at_most():
    clock = Clock()
    gate = ReadyGate(clock)
    gate.begin({"default/a"}, lambda key: False)
    gate.planned("svc:default/web", [plan("10.0.0.1")])
    gate.update({"default/a": "10.0.0.1"}, settled=lambda key: True)
    clock.now += HOLD_LIMIT - 0.1
    gate.update({"default/a": "10.0.0.1"}, settled=lambda key: True)
    assert not gate.ready("default/a")
    clock.now += 0.2
    gate.update({"default/a": "10.0.0.1"}, settled=lambda key: True)
    assert gate.ready("default/a")


def test_a_pod_that_stops_serving_waits_again_and_forgotten_proxies_hold_nobody():
    gate = carrying_a()
    gate.update({"default/a": "10.0.0.1"}, settled=lambda key: True)
    assert gate.ready("default/a")
    gate.update({}, settled=lambda key: True)  # its readiness probe failed: out of the proxy
    gate.serves("svc:default/web", [plan()])
    gate.update({"default/a": "10.0.0.1"}, settled=lambda key: True)
    assert not gate.ready("default/a")
    gate.keep_planned(set(), prefix="svc:")  # the Service was deleted
    gate.update({"default/a": "10.0.0.1"}, settled=lambda key: True)
    assert gate.ready("default/a")


def svc(name: str, selector: dict | None, namespace: str = "default", **spec) -> dict:
    return {"metadata": {"name": name, "namespace": namespace}, "spec": {"selector": selector, **spec}}


def test_which_pods_a_proxy_may_carry():
    services = [svc("web", {"app": "web", "tier": "front"}), svc("db", {"app": "db"}, clusterIP="None"),
                svc("ext", {"app": "ext"}, type="ExternalName"), svc("manual", None),
                svc("other", {"app": "web"}, namespace="shop")]
    pods = [("default/w", "default", {"app": "web", "tier": "front", "x": "y"}, False),
            ("default/half", "default", {"app": "web"}, False),  # not every pair of web's selector
            ("default/d", "default", {"app": "db"}, False),  # headless: no proxy
            ("default/e", "default", {"app": "ext"}, False),
            ("default/h", "default", {}, True),  # a hostPort: its node's proxy
            ("shop/w", "shop", {"app": "web"}, False)]
    assert carried(pods, services) == {"default/w", "default/h", "shop/w"}


def test_a_pod_first_seen_ready_in_the_api_stays_ready():
    """A new controller, or a Service made for pods that run: only becoming Ready waits."""
    gate = ReadyGate(Clock())
    gate.planned("svc:default/web", [plan("10.0.0.1", "10.0.0.2")])
    gate.begin({"default/a", "default/b"}, lambda key: key == "default/a")
    assert gate.ready("default/a") and not gate.ready("default/b")
    gate.update({"default/a": "10.0.0.1", "default/b": "10.0.0.2"}, settled=lambda key: True)
    assert gate.ready("default/a") and not gate.ready("default/b")
    gate.begin({"default/a", "default/b"}, lambda key: True)  # seen before: the API is not asked again
    assert not gate.ready("default/b")
