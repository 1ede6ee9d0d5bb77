"""The control loop: keeps pods, endpoints, proxies and DNS in line with the applied objects.

Runs inside the cluster (its own container), so it survives the CLI exiting and probes pods
from the cluster network. Every tick it observes the containers by label, then acts on the
difference; nothing is remembered that Docker does not also show, except probe verdicts.
"""

from __future__ import annotations

import ipaddress
import json
import random
import socket
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from docker.errors import DockerException

from ..plan import endpoints as ep
from ..plan.workloads import PodPlan, bare_pod, new_pod_for, rollout_limits, template_hash
from ..runtime import engine
from ..runtime import labels as L
from ..runtime.dns import ensure_dns, write_resolv_confs, ZoneWriter
from ..runtime.pods import Context, PodStartError, create_pod
from ..runtime.podspec import container_ports
from ..runtime.proxies import Proxies, proxy_name
from .probes import PodProbes, run_probe

TICK = 0.5
DRAIN_SECONDS = 1.0  # endpoints leave proxies this long before the pod gets SIGTERM


@dataclass
class Pod:
    """An observed pod: its containers grouped, its identity from labels."""

    namespace: str
    name: str
    holder: object  # the container holding the network (single container or sandbox)
    apps: list = field(default_factory=list)  # all non-sandbox containers
    spec: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    owner: str = ""
    template_hash: str = ""
    ip: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def running(self) -> bool:
        return self.holder.status == "running" and all(c.status == "running" for c in self.apps)

    @property
    def dead(self) -> bool:
        """Stopped for good: killed or stopped by hand (Docker restarts crashes by itself)."""
        return any(c.status in ("exited", "dead") and not c.attrs["State"].get("Restarting")
                   for c in [self.holder, *self.apps])

    def restarts(self) -> int:
        return sum(c.attrs.get("RestartCount", 0) for c in self.apps)


class Controller:
    def __init__(self, client, ctx: Context, objects: list[dict], generation: str, state_dir: str,
                 dns_dir: str, out=print):
        self.client, self.ctx, self.objects, self.generation = client, ctx, objects, generation
        self.out = out
        self.services = [o for o in objects if o["kind"] == "Service"]
        self.workloads = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "ReplicaSet")]
        self.bare = [bare_pod(o) for o in objects if o["kind"] == "Pod"]
        self.namespaces = {"default"} | {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"} | {
            o["metadata"].get("namespace", "default") for o in objects if o["kind"] != "Namespace"}
        self.state_dir = Path(state_dir)
        self.zones = ZoneWriter(dns_dir)
        self.proxies = Proxies(client, ctx)
        self.pool = ThreadPoolExecutor(max_workers=8)
        self.lock = threading.Lock()
        self.creating: dict[str, PodPlan] = {}  # pod key -> plan, while its containers start
        self.terminating: dict[str, float] = {}  # pod key -> when it left endpoints
        self.probes: dict[str, PodProbes] = {}  # container id -> verdicts
        self.backoff: dict[str, tuple[int, float]] = {}  # owner -> (failures, not before)
        self.reasons: dict[str, str] = {}  # pod key or owner -> last start error
        self.silent: dict[str, float] = {}  # service key -> since when it has not answered
        self.wake = threading.Event()
        self.events_file = self.state_dir / "events.log"

    # ---- events -------------------------------------------------------------------------
    def event(self, kind: str, obj: str, reason: str, message: str) -> None:
        line = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "type": kind, "object": obj,
                "reason": reason, "message": message}
        self.out(json.dumps(line))
        with self.lock, open(self.events_file, "a") as fh:
            fh.write(json.dumps(line) + "\n")

    # ---- observing ------------------------------------------------------------------------
    def observe(self) -> tuple[dict[str, Pod], dict[str, object], object | None]:
        pods: dict[str, Pod] = {}
        proxies: dict[str, object] = {}
        dns = None
        found = engine.containers(self.client, self.ctx.cluster)
        for c in found:
            role = c.labels.get(L.ROLE)
            if role in ("proxy", "proxy-udp"):
                proxies[c.name] = c
            elif role == "dns":
                dns = c
        for c in found:
            role = c.labels.get(L.ROLE)
            if role not in ("pod", "sandbox"):
                continue
            ns, name = c.labels.get(L.NAMESPACE, "default"), c.labels.get(L.NAME, "")
            pods[f"{ns}/{name}"] = Pod(
                namespace=ns, name=name, holder=c, apps=[c] if role == "pod" else [],
                spec=json.loads(c.labels.get(L.POD_SPEC) or "{}"), labels=L.pod_labels_of(c.labels),
                owner=c.labels.get(L.OWNER, ""), template_hash=c.labels.get(L.TEMPLATE_HASH, ""),
                ip=engine.ip_on(c.attrs, self.ctx.net.network_name),
            )
        for c in found:
            if c.labels.get(L.ROLE) == "app":
                key = f"{c.labels.get(L.NAMESPACE)}/{c.labels.get(L.NAME)}"
                if key in pods:
                    pods[key].apps.append(c)
        return pods, proxies, dns

    # ---- readiness ----------------------------------------------------------------------
    def _first_probed(self, pod: Pod, kind: str) -> tuple[dict, object] | None:
        for spec in pod.spec.get("containers") or []:
            if spec.get(f"{kind}Probe"):
                target = next((c for c in pod.apps if c.labels.get(L.CONTAINER) == spec["name"]), None)
                if target is not None:
                    return spec[f"{kind}Probe"], target
        return None

    def probe_all(self, pods: dict[str, Pod]) -> None:
        """Run the probes that are due, in parallel, and act on liveness failures."""
        now = time.monotonic()
        jobs = []
        for pod in pods.values():
            if not pod.running or pod.key in self.terminating:
                continue
            for kind in ("startup", "liveness", "readiness"):
                found = self._first_probed(pod, kind)
                if not found:
                    continue
                probe, container = found
                verdicts = self.probes.setdefault(container.id, PodProbes())
                if kind != "startup" and "startup" in verdicts.states and not verdicts.states["startup"].succeeded:
                    continue
                if kind == "startup" and verdicts.state("startup").succeeded:
                    continue
                if verdicts.due(kind, probe, now):
                    jobs.append((pod, kind, probe, container, verdicts))
        futures = [(job, self.pool.submit(self._probe_once, job)) for job in jobs]
        for (pod, kind, probe, container, verdicts), fut in futures:
            ok, why = fut.result()
            if verdicts.record(kind, probe, ok, why, time.monotonic()):
                state = verdicts.state(kind)
                if kind == "readiness":
                    self.event("Normal" if state.succeeded else "Warning", f"pod/{pod.name}",
                               "Ready" if state.succeeded else "Unhealthy",
                               "readiness probe passed" if state.succeeded else f"Readiness probe failed: {why}")
                elif kind == "liveness" and not state.succeeded:
                    self.event("Warning", f"pod/{pod.name}", "Unhealthy",
                               f"Liveness probe failed: {why}; restarting container")
                    self.probes.pop(container.id, None)
                    self.pool.submit(container.restart, timeout=1)

    def _probe_once(self, job) -> tuple[bool, str]:
        pod, _, probe, container, _ = job

        def exec_fn(cmd):
            result = container.exec_run(cmd)
            return result.exit_code, (result.output or b"").decode(errors="replace")

        try:
            return run_probe(probe, pod.ip, pod.spec, exec_fn)
        except DockerException as exc:
            return False, str(exc)[:200]

    def is_ready(self, pod: Pod) -> bool:
        if not pod.running or pod.key in self.terminating:
            return False
        for kind in ("startup", "readiness"):
            found = self._first_probed(pod, kind)
            if found and not self.probes.get(found[1].id, PodProbes()).state(kind).succeeded:
                return False
        return True

    def views(self, pods: dict[str, Pod]) -> list[ep.PodView]:
        return [
            ep.PodView(
                name=p.name, namespace=p.namespace, ip=p.ip, labels=p.labels, ready=self.is_ready(p),
                terminating=p.key in self.terminating, container_ports=container_ports(p.spec),
                hostname=p.spec.get("hostname") or p.name, subdomain=p.spec.get("subdomain") or "",
            )
            for p in pods.values()
        ]

    # ---- workloads ----------------------------------------------------------------------
    def used_ips(self, pods: dict[str, Pod]) -> set[str]:
        used = {p.ip for p in pods.values() if p.ip}
        return used | {getattr(plan, "_ip", "") for plan in self.creating.values()}

    def start_pod(self, plan: PodPlan, pods: dict[str, Pod], reason: str) -> None:
        key = f"{plan.namespace}/{plan.name}"
        owner = f"{plan.owner_kind}/{plan.namespace}/{plan.owner_name}" if plan.owner_kind else key
        failures, not_before = self.backoff.get(owner, (0, 0.0))
        if time.monotonic() < not_before:
            return
        pool = self.ctx.net.pod_ip_pool()
        used = self.used_ips(pods)
        while True:
            ip = str(ipaddress.IPv4Address(pool[random.randrange(len(pool))]))
            if ip not in used:
                break
        object.__setattr__(plan, "_ip", ip)
        self.creating[key] = plan

        def work():
            try:
                create_pod(self.client, self.ctx, plan, ip, self.objects)
                self.backoff.pop(owner, None)
                self.reasons.pop(owner, None)
                self.event("Normal", f"pod/{plan.name}", "Started", f"{reason}; pod IP {ip}")
            except PodStartError as exc:
                delay = min(300.0, 2.0 * (2 ** failures))
                self.backoff[owner] = (failures + 1, time.monotonic() + delay)
                self.reasons[owner] = str(exc)
                self.event("Warning", f"pod/{plan.name}", "Failed", f"{exc} (retrying in {delay:.0f}s)")
            finally:
                self.creating.pop(key, None)
                self.wake.set()

        self.pool.submit(work)

    def stop_pod(self, pod: Pod, reason: str) -> None:
        """Take the pod out of endpoints now; SIGTERM it after a short drain; then remove it."""
        if pod.key in self.terminating:
            return
        self.terminating[pod.key] = time.monotonic()
        self.event("Normal", f"pod/{pod.name}", "Killing", reason)
        grace = int(pod.spec.get("terminationGracePeriodSeconds", 30))

        def work():
            time.sleep(DRAIN_SECONDS)
            containers = [*pod.apps, pod.holder] if pod.holder not in pod.apps else pod.apps
            for c in containers:
                try:
                    if c.status == "running":
                        c.stop(timeout=min(grace, 30))
                except DockerException:
                    pass
            for c in containers:
                engine.remove(c)
            for vol in self.client.volumes.list(filters={"label": [f"{L.CLUSTER}={self.ctx.cluster}",
                                                                    f"{L.NAME}={pod.name}"]}):
                try:
                    vol.remove(force=True)
                except DockerException:
                    pass
            self.terminating.pop(pod.key, None)
            self.wake.set()

        self.pool.submit(work)

    def reconcile_workloads(self, pods: dict[str, Pod]) -> None:
        live = {k: p for k, p in pods.items() if k not in self.terminating}
        wanted_owners = set()
        for w in self.workloads:
            owner = f"{w['kind']}/{w['metadata']['name']}"
            ns = w["metadata"].get("namespace", "default")
            wanted_owners.add(f"{ns}/{owner}")
            mine = [p for p in live.values() if p.namespace == ns and p.owner == owner]
            creating = [c for c in self.creating.values() if c.namespace == ns and
                        f"{c.owner_kind}/{c.owner_name}" == owner]
            dead = [p for p in mine if p.dead]
            for p in dead:
                self.stop_pod(p, "container stopped outside emukube; replacing the pod")
            mine = [p for p in mine if not p.dead]
            if w["kind"] == "StatefulSet":
                self._statefulset(w, mine, creating, pods)
            else:
                self._replicas(w, mine, creating, pods)
        bare_keys = {f"{b.namespace}/{b.name}" for b in self.bare}
        for plan in self.bare:
            key = f"{plan.namespace}/{plan.name}"
            pod = live.get(key)
            if pod is None and key not in self.creating and key not in self.terminating:
                self.start_pod(plan, pods, "created")
            elif pod is not None and pod.dead and plan.spec.get("restartPolicy", "Always") != "Never":
                if plan.spec.get("restartPolicy", "Always") == "Always" or any(
                        c.attrs["State"].get("ExitCode") for c in pod.apps):
                    self.event("Normal", f"pod/{pod.name}", "Restarted", "container stopped; started again")
                    for c in [pod.holder, *pod.apps]:
                        if c.status != "running":
                            c.start()
        for key, pod in live.items():  # pods nothing asks for any more (a deleted Deployment)
            owned = f"{pod.namespace}/{pod.owner}" in wanted_owners if pod.owner else key in bare_keys
            if not owned:
                self.stop_pod(pod, "no longer declared")

    def _replicas(self, w: dict, mine: list[Pod], creating: list[PodPlan], pods) -> None:
        replicas = w["spec"].get("replicas", 1)
        current = template_hash(w["spec"]["template"])
        new = [p for p in mine if p.template_hash == current]
        old = [p for p in mine if p.template_hash != current]
        new_count = len(new) + len(creating)
        surge, unavailable = rollout_limits(w) if w["kind"] == "Deployment" else (0, replicas)
        # Scale the new template towards replicas, within maxSurge over the total.
        room = replicas + surge - (len(mine) + len(creating))
        for _ in range(max(0, min(replicas - new_count, room))):
            self.start_pod(new_pod_for(w), pods, "scaled up" if not old else "rolling update")
        if new_count > replicas:
            extra = sorted(new, key=lambda p: (self.is_ready(p), p.name))[: new_count - replicas]
            for p in extra:
                self.stop_pod(p, "scaled down")
        # Retire old pods while at least replicas - maxUnavailable stay ready.
        ready = sum(1 for p in mine if self.is_ready(p))
        allowed = ready - (replicas - unavailable)
        for p in sorted(old, key=lambda p: self.is_ready(p)):
            if not self.is_ready(p):
                self.stop_pod(p, "rolling update: old template")
            elif allowed > 0:
                allowed -= 1
                self.stop_pod(p, "rolling update: old template")

    def _statefulset(self, w: dict, mine: list[Pod], creating: list[PodPlan], pods) -> None:
        replicas = w["spec"].get("replicas", 1)
        ordered = w["spec"].get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        current = template_hash(w["spec"]["template"])
        by_ordinal = {int(p.name.rsplit("-", 1)[1]): p for p in mine if p.name.rsplit("-", 1)[1].isdigit()}
        in_flight = {c.ordinal for c in creating}
        for i in range(replicas):
            if i in by_ordinal or i in in_flight:
                if ordered and (i in in_flight or not self.is_ready(by_ordinal[i])):
                    break  # OrderedReady: each pod ready before the next starts
                continue
            if f"{w['metadata'].get('namespace', 'default')}/{w['metadata']['name']}-{i}" in self.terminating:
                break
            self.start_pod(new_pod_for(w, i), pods, "created")
            if ordered:
                break
        for i in sorted(by_ordinal, reverse=True):  # scale down from the highest ordinal
            if i >= replicas:
                self.stop_pod(by_ordinal[i], "scaled down")
                if ordered:
                    return
        stale = [by_ordinal[i] for i in sorted(by_ordinal, reverse=True)
                 if i < replicas and by_ordinal[i].template_hash != current]
        if stale and all(self.is_ready(p) for p in mine) and not creating:
            self.stop_pod(stale[0], "rolling update: old template")

    # ---- data plane -----------------------------------------------------------------------
    def reconcile_proxies(self, views: list[ep.PodView], proxies: dict[str, object]) -> None:
        wanted = set()
        for svc in self.services:
            plan = ep.proxy_plan(svc, views)
            if plan is None:
                continue
            wanted.update({proxy_name(self.ctx.cluster, plan.namespace, plan.name),
                           proxy_name(self.ctx.cluster, plan.namespace, plan.name, udp=True)})
            try:
                what = self.proxies.ensure(svc, plan, proxies)
            except DockerException as exc:
                self.event("Warning", f"service/{plan.name}", "ProxyFailed", str(exc).splitlines()[0][:300])
                continue
            if what:
                ready = sum(len(b) for b in plan.backends.values())
                self.event("Normal", f"service/{plan.name}", "Proxy" + what.capitalize(),
                           f"{plan.cluster_ip}: {ready} endpoint(s)")
        for name, container in proxies.items():
            if name not in wanted:
                engine.remove(container)

    def reconcile_dns(self, views: list[ep.PodView], dns) -> None:
        # Zones first: CoreDNS must find its Corefile when it starts.
        self.zones.write(lambda serial: ep.dns_plan(self.services, views, self.ctx.net, serial))
        write_resolv_confs(str(self.zones.dir), self.ctx.net.dns_ip, self.namespaces)
        if ensure_dns(self.client, self.ctx, dns):
            self.event("Normal", "dns/coredns", "Started", f"CoreDNS at {self.ctx.net.dns_ip}")

    # ---- status -------------------------------------------------------------------------
    def service_answers(self, svc: dict, views: list[ep.PodView]) -> bool:
        plan = ep.proxy_plan(svc, views)
        if plan is None:
            return True
        for port in plan.tcp_ports():
            if plan.backends.get(port.key):
                try:
                    with socket.create_connection((plan.cluster_ip, port.port), timeout=1):
                        pass
                except OSError:
                    return False
        return True

    def write_status(self, pods: dict[str, Pod], views: list[ep.PodView]) -> None:
        waiting = []
        status_pods = {}
        for p in pods.values():
            ready = self.is_ready(p)
            reason = ""
            for kind in ("startup", "readiness"):
                found = self._first_probed(p, kind)
                if found and not ready:
                    reason = self.probes.get(found[1].id, PodProbes()).state(kind).last_failure
            phase = "Terminating" if p.key in self.terminating else (
                "Running" if p.running else ("Restarting" if p.holder.attrs["State"].get("Restarting") else "Stopped"))
            status_pods[p.key] = {"ready": ready, "phase": phase, "restarts": p.restarts(), "ip": p.ip,
                                  "reason": reason}
            if not ready and p.key not in self.terminating:
                waiting.append(f"pod {p.key} not ready" + (f": {reason}" if reason else ""))
        for plan in self.creating.values():
            waiting.append(f"pod {plan.namespace}/{plan.name} starting")
        for owner, why in self.reasons.items():
            waiting.append(f"{owner}: {why}")
        for w in self.workloads:
            ns, name = w["metadata"].get("namespace", "default"), w["metadata"]["name"]
            owner = f"{w['kind']}/{name}"
            current = template_hash(w["spec"]["template"])
            have = [p for p in pods.values() if p.namespace == ns and p.owner == owner and p.key not in self.terminating]
            ok = [p for p in have if self.is_ready(p) and p.template_hash == current]
            if len(ok) != w["spec"].get("replicas", 1) or len(have) != len(ok):
                waiting.append(f"{w['kind'].lower()}/{name}: {len(ok)}/{w['spec'].get('replicas', 1)} ready")
        services = {}
        for svc in self.services:
            key = f"{svc['metadata'].get('namespace', 'default')}/{svc['metadata']['name']}"
            answers = self.service_answers(svc, views)
            services[key] = {"answering": answers}
            if not answers:
                waiting.append(f"service {key} not answering yet")
                since = self.silent.setdefault(key, time.monotonic())
                if time.monotonic() - since > 5:
                    # A reload lost (e.g. signalled while the proxy started): push configs again.
                    self.proxies.forget()
                    self.silent.pop(key)
            else:
                self.silent.pop(key, None)
        status = {"generation": self.generation, "converged": not waiting and not self.terminating,
                  "waiting": sorted(set(waiting)), "pods": status_pods, "services": services,
                  "time": time.time()}
        tmp = self.state_dir / ".status.json.tmp"
        tmp.write_text(json.dumps(status))
        tmp.replace(self.state_dir / "status.json")

    # ---- the loop -----------------------------------------------------------------------
    def tick(self) -> None:
        pods, proxies, dns = self.observe()
        self.probe_all(pods)
        self.reconcile_workloads(pods)
        views = self.views(pods)
        self.reconcile_dns(views, dns)
        self.reconcile_proxies(views, proxies)
        self.write_status(pods, views)
        live_ids = {c.id for p in pods.values() for c in [p.holder, *p.apps]}
        for cid in [c for c in self.probes if c not in live_ids]:
            self.probes.pop(cid, None)

    def watch_events(self) -> None:
        """Wake the loop as soon as a container of this cluster changes state."""
        while True:
            try:
                for _ in self.client.events(decode=True, filters={"type": "container",
                                                                  "label": f"{L.CLUSTER}={self.ctx.cluster}"}):
                    self.wake.set()
            except Exception:  # noqa: BLE001 - the stream reconnects; the loop ticks anyway
                time.sleep(1)

    def run(self, stop: threading.Event) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        write_resolv_confs(str(self.zones.dir), self.ctx.net.dns_ip, self.namespaces)
        threading.Thread(target=self.watch_events, daemon=True).start()
        self.event("Normal", "controller", "Started", f"generation {self.generation[:12]}, "
                   f"{len(self.objects)} object(s)")
        while not stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # noqa: BLE001 - one bad tick must not stop the loop
                self.out(json.dumps({"type": "Warning", "message": f"tick failed: {exc!r}",
                                     "trace": traceback.format_exc()[-1500:]}))
                time.sleep(1)
            self.wake.wait(TICK)
            self.wake.clear()
