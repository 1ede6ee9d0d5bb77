"""NetworkPolicy at pods' own addresses: each selected pod's rules kept loaded in its network
namespace (plan/pod_firewall.py decides them, runtime/pod_firewall.py loads them).

Rules are loaded again when they change (a policy, a label, a pod's address) and when the
container holding the pod's network is new (a restart makes a new one). What was loaded, per
holder, is kept in the state volume, so a replaced controller neither loads everything again
nor leaves the rules of a policy deleted meanwhile in place. Loads run off the tick."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..k8s.keys import PodKey
from ..k8s.reasons import Reason
from ..plan.endpoints import PodView
from ..plan.network_policy import with_starting
from ..plan.pod_firewall import coredns, firewall
from ..render.pod_firewall import render_pod_firewall
from ..runtime.engine import DockerException
from ..runtime.files import replace_file
from ..runtime.pod_firewall import FirewallError, load_rules
from .statefiles import read_text

if TYPE_CHECKING:
    from .loop import Controller, Pod


class PodFirewalls:
    def __init__(self, controller: Controller, path: Path):
        self.ctl, self.path = controller, path
        try:
            self.loaded: dict[str, str] = dict(json.loads(read_text(path) or "{}"))  # holder id -> rules' digest
        except ValueError:
            self.loaded = {}
        self.busy: set[str] = set()
        self.lock = threading.Lock()
        self.last: tuple | None = None  # what decided the rules at the last sync
        self.unjudged = False  # the last sync passed over a pod whose load was under way

    def sync(self, pods: dict[PodKey, Pod], views: list[PodView]) -> None:
        ctl = self.ctl
        if not ctl.policies and not self.loaded:
            self.unjudged = False
            return  # no policy, and no rules left from one
        # Nothing that decides the rules has changed since the last tick: each pod's rules weigh
        # every other pod against every policy.
        seen = (ctl.policies, views + ctl.starting, [(p.holder.id, p.holder.status) for p in pods.values()],
                len(self.loaded))
        busy = set(self.busy)  # loads end meanwhile, in their threads: judged by what was busy now
        if self.last is not None and seen[0] is self.last[0] and seen[1:] == self.last[1:] and not busy:
            return
        everyone = [*with_starting(views, ctl.starting), coredns(ctl.ctx.net.dns_ip)]  # loop.starting_views
        by_key = {(v.namespace, v.name): v for v in views}
        self.unjudged = False
        for pod in pods.values():
            view = by_key.get((pod.namespace, pod.name))
            holder, held = pod.holder, str(pod.holder.id)
            if held in busy:
                self.unjudged = True
                continue
            if view is None or not pod.ip or holder.status != "running":
                continue
            if pod.spec.get("hostNetwork"):
                continue  # its namespace is the host's: never touched (no policy applies to it on Kubernetes either)
            rules = firewall(view, everyone, ctl.policies, ctl.namespace_labels)
            if rules.empty and held not in self.loaded:
                continue
            text = render_pod_firewall(rules)
            digest = hashlib.sha256(text.encode()).hexdigest()[:16]
            if self.loaded.get(held) == digest:
                continue
            self.busy.add(held)
            busy.add(held)
            ctl.create_pool.submit(self._load, pod, text, digest, rules.empty)
        live = {str(p.holder.id) for p in pods.values()}
        with self.lock:
            for gone in set(self.loaded) - live - self.busy:
                del self.loaded[gone]
        # Judged again next tick while a load is under way (it may load rules older than these),
        # and after one that was under way as this began: its pod's rules were not judged now.
        self.last = None if busy or self.busy else (seen[0], seen[1], seen[2], len(self.loaded))

    def waiting(self) -> list[str]:
        """What `up` waits for: rules being loaded (a cluster is converged once its policies hold)."""
        if n := len(self.busy):
            return [f"NetworkPolicy rules of {n} pod(s) loading"]
        # A load that ended during the last sync may have loaded rules older than its pod's now.
        return ["NetworkPolicy rules being judged again"] if self.unjudged else []

    def _load(self, pod: Pod, text: str, digest: str, empty: bool) -> None:
        ctl, holder, held = self.ctl, pod.holder, str(pod.holder.id)
        try:
            load_rules(ctl.client, ctl.ctx.images["haproxy"], ctl.ctx.cluster, holder, text)
        except (DockerException, FirewallError) as exc:
            ctl.event("Warning", f"pod/{pod.name}", Reason.FAILED,
                      f"NetworkPolicy rules not loaded: {str(exc).splitlines()[0][:200]}", pod.namespace)
            self.last = None  # tried again next tick
        else:
            with self.lock:
                if empty:
                    self.loaded.pop(held, None)
                else:
                    self.loaded[held] = digest
                replace_file(self.path, json.dumps(self.loaded, sort_keys=True).encode())
        finally:
            self.busy.discard(held)
