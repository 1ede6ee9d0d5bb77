"""A pod counts as Ready once the proxies that should send it traffic do.

On a cluster a pod's Ready condition comes first, and kube-proxy programs the node a moment
later (milliseconds, seldom more). Here the step after readiness is a proxy reload, or a new
proxy container: 0.1-1 s. Users and CI scripts wait on readiness (`helm install --wait`,
`kubectl rollout status`, `kubectl wait --for=condition=Ready`) and then call the Service; with
the pod Ready before its proxies served it, one such call in three was refused right after
`helm install --wait`. So a pod that some Service or node proxy should carry is held unready
(in the API, its EndpointSlices and to the controllers that count ready pods) until each of
those proxies runs a config with its address, HOLD_LIMIT at most (a proxy that cannot start,
e.g. its NodePort taken, must not hold the workload back for ever: kube-proxy's failures never
touch readiness either).

Proxies are keyed "svc:namespace/name" for a Service's and "node:NAME" for a node's (the
controller's own keys, "namespace/name" and "node/NAME", would meet for a namespace named
node). `expected`: the addresses each one's latest plan carries; `serving`: those of the config
it runs (set by the workers that make and reload proxies)."""

from __future__ import annotations

import threading
import time
from typing import Callable, Iterable

from ..k8s.keys import PodKey
from ..plan.allocate import has_cluster_ip
from ..plan.endpoints import selects
from ..plan.types import ProxyPlan

HOLD_LIMIT = 10.0  # seconds a serving pod waits for its proxies at most (a loaded engine makes one in 1-3)


def addresses(plans: Iterable[ProxyPlan]) -> frozenset[str]:
    """The endpoint addresses a proxy running these plans sends traffic to."""
    return frozenset(b.ip for plan in plans for backends in plan.backends.values() for b in backends)


def waiting_on(ip: str, expected: dict[str, frozenset[str]], serving: dict[str, frozenset[str]]) -> list[str]:
    """The proxies whose latest plan carries `ip` and whose running config does not yet."""
    return sorted(key for key, ips in expected.items() if ip in ips and ip not in serving.get(key, frozenset()))


def carried(pods: Iterable[tuple[PodKey, str, dict, bool]], services: list[dict]) -> set[PodKey]:
    """The pods (key, namespace, labels, has hostPorts) a proxy may carry: those with
    hostPorts (their node's), and those a Service with a proxy selects (not headless, not
    ExternalName). Services are looked up by one pair of their selector, not each tried on
    each pod: the tick does this for every pod (100 Services of 2 pods each: 20,000 tries)."""
    by_pair: dict[tuple[str, str, str], list[dict]] = {}
    for svc in services:
        selector = (svc.get("spec") or {}).get("selector")
        if selector and has_cluster_ip(svc):
            key, value = next(iter(sorted(selector.items())))
            by_pair.setdefault(((svc["metadata"].get("namespace") or "default"), key, value), []).append(selector)
    return {key for key, namespace, labels, host_ports in pods
            if host_ports or any(selects(selector, labels)
                                 for k, v in labels.items() for selector in by_pair.get((namespace, k, v), ()))}


class ReadyGate:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.expected: dict[str, frozenset[str]] = {}
        self.serving: dict[str, frozenset[str]] = {}
        self.candidates: set[PodKey] = set()  # pods some proxy may carry (this tick)
        self.seen: set[PodKey] = set()  # the candidates of the tick before
        self.passed: set[PodKey] = set()  # serving pods their proxies carry (or HOLD_LIMIT ran out)
        self.since: dict[PodKey, float] = {}  # when a held pod began serving
        self.lock = threading.Lock()

    def ready(self, key: PodKey) -> bool:
        """For a serving pod: whether it counts as Ready."""
        return key not in self.candidates or key in self.passed

    def begin(self, candidates: set[PodKey], published_ready: Callable[[PodKey], bool]) -> None:
        """The tick's pods that a Service's proxy or a node's (hostPorts) may carry. One the gate
        had not seen (a new controller, or a new Service selecting running pods) keeps the
        Ready it has in the API: only becoming Ready waits for the proxies, and a Service made
        later does not take its pods' readiness away."""
        for key in candidates - self.seen:
            if published_ready(key):
                self.passed.add(key)
        self.candidates, self.seen = candidates, candidates

    def planned(self, key: str, plans: Iterable[ProxyPlan]) -> None:
        self.expected[key] = addresses(plans)

    def keep_planned(self, keys: set[str], prefix: str = "") -> None:
        """Forget the expectations of proxies (those whose key starts with `prefix`) no longer planned."""
        for key in [k for k in self.expected if k.startswith(prefix) and k not in keys]:
            del self.expected[key]

    def serves(self, key: str, plans: Iterable[ProxyPlan]) -> None:
        """A proxy now runs these plans (a worker made or reloaded it, or it was found running them)."""
        ips = addresses(plans)
        with self.lock:
            self.serving[key] = ips

    def update(self, serving_pods: dict[PodKey, str], settled) -> None:
        """After the tick planned its proxies: which serving pods (key -> address) pass.
        settled(proxy key): whether that proxy is not being made (a new one may not listen yet)."""
        now = self.clock()
        with self.lock:
            serving = {k: ips for k, ips in self.serving.items() if settled(k)}
        for key in list(self.passed):
            if key not in serving_pods:
                self.passed.discard(key)  # not serving any more: carried again before it is Ready again
        for key in list(self.since):
            if key not in serving_pods or key in self.passed:
                del self.since[key]
        for key, ip in serving_pods.items():
            if key in self.passed or key not in self.candidates:
                continue
            since = self.since.setdefault(key, now)
            if not waiting_on(ip, self.expected, serving) or now - since >= HOLD_LIMIT:
                self.passed.add(key)
                self.since.pop(key, None)
