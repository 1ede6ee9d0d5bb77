"""Proxy reloads off the tick while no pod is stopping.

A reload is two or three engine calls (the config copied in, a signal, its mark) and, for a
proxy started in the last seconds, a wait for its first load: 0.4-1.2 s a tick during `up`,
when every pod that becomes ready changes some Service's endpoints. Held inside the tick, it
paced everything else the tick does, the StatefulSet's ordered chain first. While no pod is
stopping nothing needs the reload to be over before the tick ends, so it goes on in the
background as a proxy being made does. A reload is done once HAProxy's new worker serves the
new config (settle): until then its old worker takes new connections, and for a proxy made
before its first pod was ready that worker resets them (a `curl NODE:NODEPORT` right after
`up` did, in CI). The Service or node counts as not converged (Controller._serves_latest)
while its reload is held back or under way, so `up` converges only on reloaded proxies. While
a pod is stopping, reloads stay inside the tick: the pod is drained once they are done
(Controller.drained_now)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from ..k8s.keys import object_key
from ..plan.endpoints import selects
from ..runtime.engine import DockerException
from ..runtime.node_proxies import reload_node

if TYPE_CHECKING:
    from .loop import Controller


# While more of a Service's pods are being made, a reload for the first ones to be ready waits
# this long at most, so that they join in one reload: `up` of a Deployment of three reloaded
# its proxies three times, each reload engine work that slowed the pods still starting.
GATHER_SECONDS = 1.0
RECHECKS = (0.1, 0.25)  # seconds after a proxy was made or reloaded (see recheck_soon)


class BackgroundReloads:
    def __init__(self, controller: Controller):
        self.ctl = controller
        self.held_since: dict[str, float] = {}  # Service key or node/NAME -> since when its reload waits

    def service(self, svc: dict, plan, proxies: dict, needed: str | None) -> bool:
        """Whether the Service's proxy, of which Proxies.needs said `needed`, needed a reload,
        now begun in the background (or held back a moment while more of its pods are being made)."""
        ctl = self.ctl
        key = object_key(plan.namespace, plan.name)
        if ctl.terminating or needed != "reload":
            self.held_since.pop(key, None)
            return False
        selector = svc["spec"].get("selector")
        if self._gather(key, lambda p: p.namespace == plan.namespace and selects(selector, p.labels)):
            return True
        ctl._begin_making(key)
        ctl.create_pool.submit(self._service, key, svc, plan, proxies)
        return True

    def _service(self, key: str, svc: dict, plan, proxies: dict) -> None:
        ctl = self.ctl
        try:
            # The endpoints of the latest tick: pods that became ready meanwhile join now.
            svc, plan = ctl.latest_plans.get(key, (svc, plan))
            what = self.ctl.proxies.reload(svc, plan, proxies, settle=True)
            if what is not None:  # else the next tick (re)creates it
                ctl.gate.serves(f"svc:{key}", [plan])
                ctl.reasons.pop(f"service/{key}", None)
            if what:
                ctl._proxy_changed(plan, "ProxyReloaded")
        except DockerException as exc:
            ctl._proxy_failed(plan, exc)
        finally:
            self._done(key)

    def node(self, node, plans: list, existing, needed: str | None) -> bool:
        """Whether the node's proxy, of which node_needs said `needed`, needed a reload, now
        begun in the background (or held back a moment while pods are being made)."""
        ctl = self.ctl
        if ctl.terminating or needed != "reload":
            self.held_since.pop(f"node/{node.name}", None)
            return False
        if self._gather(f"node/{node.name}", lambda p: True):
            return True
        ctl.making.add(f"node/{node.name}")
        ctl.create_pool.submit(self._node, node, plans, existing)
        return True

    def _gather(self, key: str, concerns) -> bool:
        """Whether to hold the reload back: pods it `concerns` are being made (not retried after
        a failed start), and it has not waited GATHER_SECONDS yet."""
        ctl = self.ctl
        coming = any(concerns(p) for k, p in list(ctl.creating.items())
                     if k not in ctl.created and not ctl.failures.holds(k))
        now = time.monotonic()
        since = self.held_since.setdefault(key, now)
        if coming and now - since < GATHER_SECONDS:
            return True
        self.held_since.pop(key, None)
        return False

    def _node(self, node, plans: list, existing) -> None:
        ctl = self.ctl
        try:
            what = reload_node(ctl.proxies, node, plans, existing, settle=True)
            if what is not None:
                ctl.gate.serves(f"node:{node.name}", plans)
                ctl.reasons.pop(f"node/{node.name}", None)
            if what:
                ctl._node_changed(node, what)
        except DockerException as exc:
            ctl._node_failed(node, exc)
        finally:
            self._done(f"node/{node.name}")

    def _done(self, key: str) -> None:
        """No container was made: unlike after Controller._end_making, the next tick need not
        list the containers again before it counts the proxy as settled (that listing waits
        its turn, LIST_SHARE: 0.1-0.4 s more at the end of `up`)."""
        self.ctl.making.discard(key)
        self.ctl.wake.set()
        self.recheck_soon()

    def recheck_soon(self) -> None:
        """Ticks again shortly after a proxy was made or reloaded: HAProxy may refuse a
        connection or two until its new worker listens, and the Service then counted as not
        answering until the next tick, TICK (0.5 s) later when nothing else wakes the loop."""
        for delay in RECHECKS:
            timer = threading.Timer(delay, self.ctl.wake.set)
            timer.daemon = True
            timer.start()
