"""The control loop: keeps pods, endpoints, proxies and DNS in line with the applied objects.

Runs inside the cluster (its own container), so it survives the CLI exiting and probes pods
from the cluster network. Every tick it observes the containers by label, then acts on the
difference; nothing is remembered that Docker does not also show, except probe verdicts.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import random
import socket
import threading
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..k8s.applied import declared_stamp, desired_objects
from ..k8s.client import ApiError
from ..k8s.keys import ObjectKey, PodKey, key_of, object_key
from ..k8s.reasons import Reason, back_off_restarting, kubelet_pod
from ..k8s.resources import BY_KEY, of_workload
from ..k8s.times import epoch, timestamp
from ..plan import daemonsets as ds
from ..plan import endpoints as ep
from ..plan import image_map, network_policy, system_pods
from ..plan import slices as sl
from ..plan.disruption import is_ready as has_ready_condition
from ..plan.downward import env_has_uid
from ..plan.hooks import liveness_grace, termination_grace
from ..plan.nodeports import host_ports
from ..plan.nodes import evicted, plan_nodes, schedule, taint_id
from ..plan.pod_dns import pod_specs
from ..plan.workloads import (
    RELEASING_KINDS,
    WORKLOAD_KINDS,
    PodPlan,
    adopter,
    as_rolled_out,
    bare_pod,
    containers_of,
    new_pod_for,
    releases,
    rollout_limits,
    template_hash,
)
from ..runtime import engine
from ..runtime import labels as L
from ..runtime.dns import ZoneWriter, dns_current, ensure_dns, reload_corefile, write_resolv_confs
from ..runtime.engine import Container, DockerException, NotFound
from ..runtime.files import replace_file
from ..runtime.node_proxies import create_node, node_needs, node_plans, reload_node
from ..runtime.pods import Context, PodStartError, create_pod
from ..runtime.podspec import container_ports
from ..runtime.proxies import Proxies, proxy_name
from ..runtime.report import Report, ServiceReport
from . import service_checks as checks
from .disruption import sync_budgets
from .engine_slots import EngineSlots
from .ephemeral import EphemeralContainers
from .informer import Informer
from .ingress import KEY as INGRESS_KEY
from .ingress import IngressController
from .jobs import JobControllers
from .pod_admission import admitted, webhooks_may_see
from .pod_annotations import template_annotations
from .pod_firewalls import PodFirewalls
from .podstatus import pod_status, ran_to_end
from .probes import PodProbes, dump_verdicts, load_verdicts, run_probe
from .proxy_reloads import BackgroundReloads
from .publish import event_line
from .publish_pods import PodFacts, earlier_pod, made_at, rfc3339, stored_labels
from .publisher import Observed, Publisher
from .ready_gate import ReadyGate, carried
from .restarts import Restarts, fresh_start, should_restart
from .scale_down import condemned
from .start_failures import StartFailures
from .statefiles import read_text
from .termination import Terminations
from .token_secrets import TokenSecrets
from .volumes import VolumeControllers

TICK = 0.5
UID_WAIT = 10.0  # seconds a pod whose env has its uid waits for its object (Controller.with_uid)
# Event objects ("pod/NAME") looked up in their namespace; one not in the API yet waits for it.
EVENT_RESOURCES = {"pod": BY_KEY["pods"], "replicaset": BY_KEY["replicasets.apps"],
                   "statefulset": BY_KEY["statefulsets.apps"], "daemonset": BY_KEY["daemonsets.apps"],
                   "replicationcontroller": BY_KEY["replicationcontrollers"],
                   "ingress": BY_KEY["ingresses.networking.k8s.io"]}
HOLD_EVENTS = 30.0  # seconds an event waits for its pod to be in the API (give_held_events)
DRAIN_SECONDS = 1.0  # after proxies and DNS dropped a pod, this long before it gets SIGTERM
DRAIN_WAIT_LIMIT = 15.0  # most a stopping pod waits for the data plane to drop it
OWN_KILL_MEMORY = 60.0  # a kill event this soon after the controller stopped a container is its own
ENGINE_SLOTS = 4  # containers made at once (see Controller.engine_slots)
RELIST_SECONDS = 5.0  # containers listed at least this often, events or not
LIST_SHARE = 0.25  # most of the time spent listing containers while events come
# Engine events that change no container's state.
QUIET_ACTIONS = {"exec_create", "exec_start", "exec_die", "exec_detach", "archive-path", "extract-to-dir",
                 "attach", "detach", "resize", "top", "copy", "export", "commit"}


# What pods are made from: read afresh before acting on a change (Informer.relist).
POD_INPUTS = tuple(BY_KEY[k] for k in ("namespaces", "configmaps", "secrets", "services"))
# What the loop writes and reads back (controller/publisher.py).
PUBLISHED = tuple(BY_KEY[k] for k in ("endpoints", "endpointslices.discovery.k8s.io", "controllerrevisions.apps"))


@dataclass
class Pod:
    """An observed pod: its containers grouped, its identity from labels."""

    namespace: str
    name: str
    holder: Container  # the container holding the network (single container or sandbox)
    apps: list[Container] = field(default_factory=list)  # all non-sandbox containers
    inits: list[Container] = field(default_factory=list)  # the init container running now, while it starts
    ephemerals: list[Container] = field(default_factory=list)  # kubectl debug's, never restarted
    spec: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    owner: str = ""
    template_hash: str = ""
    ip: str = ""
    node: str = ""
    released: bool = False  # labelled out of its owner's selector: nobody's now (plan.workloads.releases)

    @property
    def key(self) -> PodKey:
        return object_key(self.namespace, self.name)

    def of(self, namespace: str, owner: str) -> bool:
        """One of the workload's pods ("Deployment/web" in `namespace`): not one it released."""
        return self.namespace == namespace and self.owner == owner and not self.released

    @property
    def running(self) -> bool:
        complete = len(self.apps) >= len(self.spec.get("containers") or [None])
        return complete and self.holder.status == "running" and all(c.status == "running" for c in self.apps)

    @property
    def complete(self) -> bool:
        """Every container made and started at least once (else it is still being made)."""
        return len(self.apps) >= len(self.spec.get("containers") or [None]) and \
            all(c.status != "created" for c in [self.holder, *self.apps])

    @property
    def sidecars(self) -> list:
        """Its init containers with restartPolicy Always: they run, restart and are probed as apps."""
        names = {c.get("name") for c in self.spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"}
        return [i for i in self.inits if i.labels.get(L.CONTAINER) in names]

    def exited(self) -> list:
        """Its containers that stopped (crashed, finished, or killed by hand); sidecars too."""
        return [c for c in dict.fromkeys([self.holder, *self.apps, *self.sidecars])
                if c.status in ("exited", "dead") and not c.attrs["State"].get("Restarting")]

    def container_spec(self, container) -> dict:
        name = container.labels.get(L.CONTAINER)
        specs = [*(self.spec.get("containers") or []), *(self.spec.get("initContainers") or [])]
        return next((c for c in specs if c.get("name") == name), {})


def pod_maker(kind: str, name: str, template_hash: str) -> str:
    """The object that makes a workload's pods and reports on them ("replicaset/web-<hash>" for
    a Deployment's, "daemonset/agent", ...), as an event's object."""
    return f"replicaset/{name}-{template_hash}" if kind == "Deployment" else f"{kind.lower()}/{name}"


class Controller:
    def __init__(self, client, ctx: Context, objects: list[dict], generation: str, state_dir: str,
                 dns_dir: str, out=print, api=None):
        # Long because: the loop's state is many small tables, each named and explained where it is made.
        self.client, self.ctx, self.generation = client, ctx, generation
        self.out = out
        self.api = api  # the cluster's API server (k8s.client.KubeClient); None in unit tests
        self.informer: Informer | None = None  # set by the entry point: the desired objects, kept current
        self.publisher: Publisher | None = None  # set by the entry point: writes what runs back to the API
        # kube-system's coredns Deployment (plan/system_pods.py), and the pod CoreDNS's container
        # is to stand for: a new name replaces the container (a new template, its pod deleted)
        self.coredns: dict | None = None
        self.dns_pod = ""
        self.objects_version = -1
        self.declared_stamp: frozenset = frozenset()  # see declared_stamp
        self.written_slices: dict[tuple[str, str], list[dict]] = {}  # (ns, Service) -> its slices (plan/slices.py)
        self.seen_rv: dict[str, int] = {}
        self.set_objects(objects)
        self.node_containers: dict[str, Container] = {}  # node name -> its proxy container
        self.state_dir = Path(state_dir)
        self.zones = ZoneWriter(dns_dir)
        self.proxies = Proxies(client, ctx, marks=self.state_dir / "proxy-marks")
        self.pool = ThreadPoolExecutor(max_workers=8)  # starting and stopping pods
        self.probe_pool = ThreadPoolExecutor(max_workers=8)  # never queued behind a pod that drains
        self.proxy_pool = ThreadPoolExecutor(max_workers=8)  # proxy reloads, within a tick
        self.create_pool = ThreadPoolExecutor(max_workers=8)  # proxy containers being made, across ticks
        # Containers being made at once, pods, proxies and CoreDNS together; proxies first.
        self.engine_slots = EngineSlots(ENGINE_SLOTS)
        # Service keys (or "dns" for CoreDNS) whose container is being made; when that last
        # ended; and when making began for those no tick has reloaded since (drained_now).
        self.making: set[str] = set()
        self.latest_plans: dict[str, tuple] = {}  # Service key -> (svc, plan) of the latest tick
        self.made: dict[str, float] = {}
        self.unsynced: dict[str, float] = {}
        self.observed_at = 0.0
        self.listed: list[dict] | None = None  # the latest listing (see listing)
        self.listed_at, self.list_cost = 0.0, 0.0
        self.changed = True  # an engine event came since the latest listing
        self.inspected: dict[str, tuple] = {}  # container id -> (listed state, inspected container)
        self.dirty: set[str] = set()  # container ids an engine event named since their inspect
        self.creating: dict[PodKey, PodPlan] = {}  # pod key -> plan, while its containers start
        self.terminating: dict[PodKey, float] = {}  # pod key -> when it left endpoints
        self.evicting: set[PodKey] = set()  # pods whose deletion the taint eviction asked of the API
        self.taints_since: dict[tuple[str, tuple[str, str, str]], float] = {}  # (node, taint_id) -> when it came
        self.terminating_since: dict[PodKey, str] = {}  # pod key -> the same, as an API timestamp
        self.probes: dict[str, PodProbes] = load_verdicts(read_text(self.state_dir / "probes.json"))
        self.saved_verdicts = ""
        self.restarts = Restarts(self.state_dir / "restarts.json")  # container id -> count, back-off
        self.restarting: set[str] = set()  # container ids the controller is stopping or starting
        self.own_kills: dict[str, float] = {}  # container id -> when the controller stopped it
        self.killed: set[str] = set()  # container ids stopped by someone else (docker kill/stop)
        self.backoff_noted: dict[str, float] = {}  # container id -> finish time a BackOff was told for
        self.drained: dict[PodKey, threading.Event] = {}  # pod key -> set once proxies and DNS dropped it
        # A tick's observation can predate a worker's change: pods made or removed since then
        # must not count as missing (started twice) or as still there (stopped "by hand").
        self.created: set[PodKey] = set()  # pod keys made, still in self.creating until observed
        self.removed_ids: set[str] = set()  # container ids removed, until no longer observed
        # Pods the previous controller was stopping when it was replaced: this one finishes that.
        self.resume_stops = set(Report.from_json(read_text(self.state_dir / "status.json") or "{}").terminating)
        self.backoff: dict[str, tuple[int, float]] = {}  # owner -> (failures, not before)
        self.reasons: dict[str, str] = {}  # pod key or owner -> last start error
        self.silent: dict[str, float] = {}  # service key -> since when it has not answered
        self.answered: dict[str, object] = {}  # service key -> the proxy plan it last answered with
        self.problems: dict[str, str] = {}  # service key -> why a client would still fail (service_checks)
        self.wake = threading.Event()
        self.held_events: list[tuple[float, dict, str, str | None]] = []  # see give_held_events
        self.held_lock = threading.Lock()
        self.jobs = JobControllers(self)  # controllers/jobs.py: Jobs and CronJobs
        self.volumes = VolumeControllers(self)  # controllers/volumes.py: claims and volumes
        self.ingress = IngressController(self)  # controllers/ingress.py: the Ingresses' HAProxy
        self.terminations = Terminations(self)  # preStop, grace periods, postStart hooks
        self.ephemerals = EphemeralContainers(self)  # controllers/ephemeral.py: kubectl debug's containers
        self.token_secrets = TokenSecrets(self, None, b"")  # controllers/token_secrets.py (its minter: main)
        self.failures = StartFailures(self)  # pods whose start failed: listed, tried again
        # (namespace, pod, image) -> the stand-in it runs, until its Pulled event is given
        self.stood_in: dict[tuple[str, str, str], str] = {}
        ctx.stood_in = self.note_stand_in
        self.reloads = BackgroundReloads(self)  # proxy reloads off the tick while no pod stops
        self.gate = ReadyGate()  # pods Ready once their proxies carry them (ready_gate.py)
        self.policy_routes: dict[tuple[str, str], tuple] = {}  # see under_policies
        self.starting: list[ep.PodView] = []  # this tick's starting_views
        self.firewalls = PodFirewalls(self, self.state_dir / "pod-firewalls.json")  # NetworkPolicy at pod addresses

    def set_objects(self, objects: list[dict], replica_sets: Sequence[dict] = ()) -> None:
        """What to run, from the desired objects (read again whenever one changed) and the
        ReplicaSets published (a paused Deployment runs its newest one's template)."""
        self.objects = objects
        self.services = [o for o in objects if o["kind"] == "Service"]
        # StatefulSets first: an OrderedReady chain is the longest path of `up`, so its first
        # pod goes to the engine before the others.
        self.workloads = sorted((as_rolled_out(o, list(replica_sets)) if o["kind"] == "Deployment" else o
                                 for o in objects if o["kind"] in WORKLOAD_KINDS and not system_pods.is_coredns(o)),
                                key=lambda o: o["kind"] != "StatefulSet")
        self.coredns = next((o for o in objects if system_pods.is_coredns(o)), None)
        self.bare = [bare_pod(o) for o in objects if o["kind"] == "Pod"]
        self.nodes = plan_nodes(self.ctx.net, self.ctx.nodes, objects, self.ctx.node_address)
        self.namespaces = {"default"} | {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"} | {
            o["metadata"].get("namespace", "default") for o in objects if o["kind"] != "Namespace"}
        self.policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
        self.namespace_labels = network_policy.namespace_labels(objects)

    def refresh_objects(self) -> None:
        if self.informer is None:
            return
        cached, version, seen = self.informer.objects()
        self.seen_rv = seen
        if version == self.objects_version:
            return
        desired = desired_objects(cached)
        if declared_stamp(desired) != self.declared_stamp:
            try:
                self.informer.relist(list(POD_INPUTS))
            except Exception:  # noqa: BLE001 - the API restarting: act on what the streams brought
                pass
            cached, version, self.seen_rv = self.informer.objects()
            desired = desired_objects(cached)
            self.declared_stamp = declared_stamp(desired)
        self.objects_version = version
        self.set_objects(desired, [o for o in cached if o.get("kind") == "ReplicaSet"])
        self.written_slices = sl.by_service(cached)
        # Before any pod of them starts: pods bind-mount these files.
        write_resolv_confs(str(self.zones.dir), self.ctx.net.dns_ip, self.namespaces, pod_specs(self.objects))

    # ---- events -------------------------------------------------------------------------
    def event(self, kind: str, obj: str, reason: str, message: str, namespace: str | None = None) -> None:
        """An Event about obj ("pod/web-x", "service/web"), in `namespace` when given."""
        line = event_line(kind, obj, reason, message)
        self.out(json.dumps(line))
        if self.publisher is None:
            return
        target = self._event_target(obj, namespace)
        if target is None:  # a pod just made, not in the API yet: given once it is (give_held_events)
            with self.held_lock:
                self.held_events.append((time.monotonic(), line, obj, namespace))
        else:
            self.publisher.event(line, *target)

    def give_held_events(self) -> None:
        """The events of pods the latest publish put in the API, with their uids: `kubectl
        describe pod` finds a pod's events by its uid. One whose pod never came goes without."""
        assert self.publisher is not None
        with self.held_lock:
            held, self.held_events = self.held_events, []
        for since, line, obj, namespace in held:
            target = self._event_target(obj, namespace)
            if target is None and time.monotonic() - since < HOLD_EVENTS:
                with self.held_lock:
                    self.held_events.append((since, line, obj, namespace))
            else:
                self.publisher.event(line, *(target or (namespace or "default", "", "")))

    def note_stand_in(self, namespace: str, pod: str, image: str, ref: str) -> None:
        self.stood_in[(namespace, pod, image)] = ref

    def kubelet_started(self, pod_name: str, namespace: str, containers: list[dict]) -> None:
        """The kubelet's events for containers it (re)started, in its words."""
        for c in containers:
            image, name = c.get("image", ""), c.get("name", "")
            pulled = f'Container image "{image}" already present on machine'
            stand_in = self.stood_in.pop((namespace, pod_name, image_map.swap(image, self.ctx.image_map)), None)
            if stand_in is not None:  # runtime/images.py STAND_INS
                pulled = (f'Container image "{image}" could not be pulled (no registry answered): running '
                          f'emukube\'s stand-in "{stand_in}" in its place')
            for reason, message in ((Reason.PULLED, pulled), (Reason.CREATED, f"Created container: {name}"),
                                    (Reason.STARTED, f"Started container {name}")):
                self.event("Normal", f"pod/{pod_name}", reason, message, namespace=namespace)

    def owner_event(self, namespace: str, owner: str, template_hash: str, pod: str, created: bool) -> None:
        """The ReplicaSet's or StatefulSet's event for a pod it made or removed. owner:
        "Deployment/web" (its ReplicaSet web-<hash> reports), "ReplicaSet/rs" or "StatefulSet/db"."""
        kind, _, name = owner.partition("/")
        reason = Reason.SUCCESSFUL_CREATE if created else Reason.SUCCESSFUL_DELETE
        if kind in ("Deployment", "ReplicaSet", "DaemonSet", "ReplicationController"):
            self.event("Normal", pod_maker(kind, name, template_hash), reason,
                       f"{'Created' if created else 'Deleted'} pod: {pod}", namespace=namespace)
        elif kind == "StatefulSet":
            self.event("Normal", f"statefulset/{name}", reason,
                       f"{'create' if created else 'delete'} Pod {pod} in StatefulSet {name} successful",
                       namespace=namespace)

    def _new_pod(self, plan: PodPlan, pods: dict[PodKey, Pod]) -> None:
        if self.start_pod(plan, pods):  # made (or Pending), not refused
            self.owner_event(plan.namespace, f"{plan.owner_kind}/{plan.owner_name}", plan.template_hash, plan.name,
                             True)

    def _retire(self, pod: Pod, reason: str) -> None:
        """A pod its ReplicaSet or StatefulSet removes (scale-down, rolling update)."""
        self.owner_event(pod.namespace, pod.owner, pod.template_hash, pod.name, False)
        self.stop_pod(pod, reason)

    def _event_target(self, obj: str, namespace: str | None = None) -> tuple[str, str, str] | None:
        """(namespace, uid, node) of an event's object ("pod/web-x", "deployment/web"); None for
        a pod of that namespace not in the API yet."""
        kind, _, name = obj.partition("/")
        if self.informer is None:
            return namespace or "default", "", ""
        if namespace is not None and kind in EVENT_RESOURCES:
            found = self.informer.get(EVENT_RESOURCES[kind], namespace, name)
            if found is None:
                return None
            return namespace, found["metadata"].get("uid", ""), (found.get("spec") or {}).get("nodeName", "")
        cached, _, _ = self.informer.objects()
        for o in cached:
            meta = o.get("metadata") or {}
            if o.get("kind", "").lower() == kind and meta.get("name") == name:
                node = (o.get("spec") or {}).get("nodeName", "")
                return meta.get("namespace") or "default", meta.get("uid", ""), node
        return "default", "", ""

    # ---- observing ------------------------------------------------------------------------
    def containers(self) -> list:
        """The cluster's containers, inspected. At most one listing per tick (see listing); a
        container is inspected again only when its state changed or an engine event named it
        (self.dirty), and not while this controller starts it (_being_started): inspecting
        every container every tick was most of the engine's work while `up` started hundreds."""
        listed = self.listing()
        found = []
        for summary in listed:
            cid = summary["Id"]
            if self._being_started(summary):
                continue  # seen as still to come, like a container not yet created
            cached = self.inspected.get(cid)
            if cached is None or cached[0] != summary.get("State") or cid in self.dirty:
                self.dirty.discard(cid)  # an event arriving during the inspect marks it again
                try:
                    cached = self.inspected[cid] = (summary.get("State"), self.client.containers.get(cid))
                except NotFound:
                    continue
            found.append(cached[1])
        seen = {c.id for c in found}
        for cid in [c for c in list(self.inspected) if c not in seen]:
            self.inspected.pop(cid, None)
        return found

    def listing(self) -> list[dict]:
        """The engine's summary of the cluster's containers. Listed again only after an engine
        event (or every RELIST_SECONDS, for an event the stream missed), and no more often than
        keeps listing within LIST_SHARE of the time: 300 containers take ~0.15 s of the engine
        each time, and listing on every tick took a third of a core, idle or starting them."""
        now = time.monotonic()
        since = now - self.listed_at
        if self.listed is None or since >= RELIST_SECONDS or (self.changed and since >= self.list_cost / LIST_SHARE):
            self.changed = False  # an event during the listing asks for the next one
            self.listed = self.client.api.containers(all=True, filters=L.cluster_filter(self.ctx.cluster))
            self.listed_at, self.list_cost = now, time.monotonic() - now
        # What the tick knows is as old as the listing (see _settled).
        self.observed_at = self.listed_at
        return self.listed

    def _being_started(self, summary: dict) -> bool:
        """A container this controller is creating or starting right now. Inspecting it waits
        until the engine has started it (the container's lock): during `up` that held every
        tick, and so the StatefulSet chain, for seconds."""
        if summary.get("State") != "created":
            return False
        labels = summary.get("Labels") or {}
        role = labels.get(L.ROLE)
        if role == L.Role.DNS:
            return "dns" in self.making
        if role == L.Role.NODE:  # inspecting one held a tick of `up` for 0.7-0.8 s
            return f"node/{labels.get(L.NODE, '')}" in self.making
        if role == L.Role.INGRESS:
            return INGRESS_KEY in self.making
        key = object_key(labels.get(L.NAMESPACE), labels.get(L.NAME, ''))
        if role in (L.Role.PROXY, L.Role.PROXY_UDP):
            return key in self.making
        return key in self.creating and key not in self.created

    def observe(self) -> tuple[dict[PodKey, Pod], dict[str, Container], Container | None]:
        pods: dict[PodKey, Pod] = {}
        proxies: dict[str, Container] = {}
        dns = None
        found = self.containers()
        for c in found:
            role = c.labels.get(L.ROLE)
            if role in (L.Role.PROXY, L.Role.PROXY_UDP):
                proxies[c.name] = c
            elif role == L.Role.DNS:
                dns = c
        self.node_containers = {c.labels.get(L.NODE, ""): c for c in found if c.labels.get(L.ROLE) == L.Role.NODE}
        self.ingress.observe(found)
        for c in found:
            role = c.labels.get(L.ROLE)
            if role not in L.ROLES_POD:
                continue
            ns, name = c.labels.get(L.NAMESPACE, "default"), c.labels.get(L.NAME, "")
            pods[object_key(ns, name)] = Pod(
                namespace=ns, name=name, holder=c, apps=[c] if role == L.Role.POD else [],
                spec=json.loads(c.labels.get(L.POD_SPEC) or "{}"), labels=L.pod_labels_of(c.labels),
                owner=c.labels.get(L.OWNER, ""), template_hash=c.labels.get(L.TEMPLATE_HASH, ""),
                ip=engine.ip_on(c.attrs, self.ctx.net.network_name), node=c.labels.get(L.NODE, ""),
            )
        self._stored_labels(pods)
        groups = {L.Role.APP: "apps", L.Role.INIT: "inits", L.Role.EPHEMERAL: "ephemerals"}
        for c in found:
            group = groups.get(c.labels.get(L.ROLE, ""))
            key = object_key(c.labels.get(L.NAMESPACE), c.labels.get(L.NAME, ''))
            if group and key in pods:
                getattr(pods[key], group).append(c)
        return pods, proxies, dns

    def _stored_labels(self, pods: dict[PodKey, Pod]) -> None:
        """A pod's labels are the API's once it is published: `kubectl label pod` changes what
        Services select (a pod labelled out of one leaves its endpoints). The container's labels
        are those it was made with."""
        if self.informer is None:
            return
        owners = {(w["metadata"].get("namespace", "default"), f"{w['kind']}/{w['metadata']['name']}"): w
                  for w in self.workloads}
        for pod in pods.values():
            stored = self.informer.get(BY_KEY["pods"], pod.namespace, pod.name)
            # A pod users made (no owner of its own): a ReplicaSet adopted it, and `kubectl label`
            # moved it, only when its container was made in the same second as its object.
            labels = stored_labels(stored, made_at(L.planned_of(pod.holder.labels), pod.holder.attrs.get("Created")),
                                   object_first=not pod.owner)
            if labels is None or stored is None:
                continue
            pod.labels = labels
            if not pod.owner:  # a pod users made: a ReplicaSet whose selector matches it adopts it
                pod.owner = adopter(self.workloads, pod.namespace, stored)
            owner = owners.get((pod.namespace, pod.owner))
            if owner is not None:  # released, or adopted again once labelled back
                pod.released = releases(owner, labels, pod.template_hash)
            elif pod.owner.partition("/")[0] in RELEASING_KINDS:  # released before its owner went
                pod.released = not stored["metadata"].get("ownerReferences")

    # ---- readiness ----------------------------------------------------------------------
    def _probed(self, pod: Pod, kind: str) -> list[tuple[dict, Container]]:
        """(probe, container) for every container of the pod with a probe of this kind."""
        found = []
        for c in [*pod.apps, *pod.sidecars]:
            probe = pod.container_spec(c).get(f"{kind}Probe")
            if probe:
                found.append((probe, c))
        return found

    def verdicts(self, container) -> PodProbes:
        """The container's verdicts; a container that (re)started begins again, as with the kubelet."""
        started = engine.started_at(container.attrs)
        verdicts = self.probes.get(container.id)
        if verdicts is None or abs(verdicts.started - started) > 1:
            verdicts = self.probes[container.id] = PodProbes(started=started or time.time())
        return verdicts

    def probe_all(self, pods: dict[PodKey, Pod]) -> None:
        """Run the probes that are due, in parallel, and act on liveness failures."""
        now = time.time()
        jobs = []
        for pod in pods.values():
            if not pod.running or pod.key in self.terminating:
                continue
            for kind in ("startup", "liveness", "readiness"):
                for probe, container in self._probed(pod, kind):
                    verdicts = self.verdicts(container)
                    if kind != "startup" and "startup" in verdicts.states and not verdicts.states["startup"].succeeded:
                        continue
                    if kind == "startup" and verdicts.state("startup").succeeded:
                        continue
                    if container.id not in self.restarting and verdicts.due(kind, probe, now):
                        jobs.append((pod, kind, probe, container, verdicts))
        futures = [(job, self.probe_pool.submit(self._probe_once, job)) for job in jobs]
        for (pod, kind, probe, container, verdicts), fut in futures:
            ok, why = fut.result()
            if not ok:  # each failure, as the kubelet tells them (counted on one Event); no success
                self.event("Warning", f"pod/{pod.name}", Reason.UNHEALTHY, f"{kind.capitalize()} probe failed: {why}",
                           namespace=pod.namespace)
            if verdicts.record(kind, probe, ok, why, time.time()):
                state = verdicts.state(kind)
                if kind in ("liveness", "startup") and not state.succeeded:
                    name = container.labels.get(L.CONTAINER)
                    self.event("Normal", f"pod/{pod.name}", Reason.KILLING,
                               f"Container {name} failed {kind} probe, will be restarted", namespace=pod.namespace)
                    self.kill_container(pod, container)

    def kill_container(self, pod: Pod, container) -> None:
        """Stop one container as the kubelet does on a failed liveness probe; the restart path
        brings it back according to restartPolicy and back-off."""
        self.restarting.add(container.id)
        self.own_kills[container.id] = time.time()
        grace = liveness_grace(pod.spec, pod.container_spec(container).get("livenessProbe"))

        def work():
            try:
                self.terminations.stop_container(pod, container, grace)  # its preStop hook first
            finally:
                self.restarting.discard(container.id)
                self.engine_changed()

        self.terminations.pool.submit(work)

    def _probe_once(self, job) -> tuple[bool, str]:
        pod, _, probe, container, _ = job

        def exec_fn(cmd):
            code, out, err = engine.run_in(container, cmd)
            return code, (out + err).decode(errors="replace")

        try:
            return run_probe(probe, pod.ip, pod.spec, exec_fn)
        except DockerException as exc:
            return False, str(exc)[:200]

    def container_ready(self, pod: Pod, container) -> bool:
        """Ready as its ContainerStatus says. Not while the pod is still being made: the worker
        making it may have started the container before this tick looked, and its status, Ready
        from its containers, then said Ready a tick before the ready gate held it (a `kubectl
        rollout status` returned and the Service still refused: 9 tries in 230 on a loaded machine)."""
        if pod.key in self.creating or container.status != "running" or container.id in self.restarting or \
                container.id in self.terminations.in_post_start:
            return False
        spec = pod.container_spec(container)
        return all(self.verdicts(container).state(kind).succeeded
                   for kind in ("startup", "readiness") if spec.get(f"{kind}Probe"))

    def is_ready(self, pod: Pod) -> bool:
        return pod.key not in self.terminating and self.is_serving(pod) and self.gate.ready(pod.key)

    def published_ready(self, key: PodKey) -> bool:
        namespace, _, name = key.partition("/")
        stored = self.informer.get(BY_KEY["pods"], namespace, name) if self.informer is not None else None
        return has_ready_condition(stored or {})

    def _gate_settled(self, key: str) -> bool:
        kind, _, name = key.partition(":")
        return self._settled(name if kind == "svc" else f"node/{name}")

    def is_serving(self, pod: Pod) -> bool:
        """Ready but for being stopped: the EndpointSlice's `serving` condition."""
        if not pod.running or pod.key in self.creating:
            return False
        return all(self.container_ready(pod, c) for c in [*pod.apps, *pod.sidecars])

    def views(self, pods: dict[PodKey, Pod]) -> list[ep.PodView]:
        return [
            ep.PodView(
                name=p.name, namespace=p.namespace, ip=p.ip, labels=p.labels, ready=self.is_serving(p),
                terminating=p.key in self.terminating, container_ports=container_ports(p.spec),
                hostname=p.spec.get("hostname") or p.name, subdomain=p.spec.get("subdomain") or "",
                node=p.node, host_ports=host_ports(p.spec),
            )
            for p in pods.values()
        ]

    def starting_views(self, pods: dict[PodKey, Pod]) -> list[ep.PodView]:
        """Pods being made, whose address is already chosen, as NetworkPolicy weighs clients:
        rules that admit a new pod then hold before its containers start, as with a network
        plugin that knows a pod from its creation, not a tick after (`kubectl run --rm -i ...
        -- wget` was kept out by the policy meant to let it in)."""
        # An observed pod of that name made for another object is an earlier namesake (`kubectl
        # run busybox --rm` twice, a StatefulSet's replaced pod): the new one is weighed instead.
        return [ep.PodView(name=plan.name, namespace=plan.namespace, ip=ip, labels=plan.labels)
                for key, plan in list(self.creating.items())  # list(): workers change it
                if (ip := getattr(plan, "_ip", "")) and (key not in pods or not self._made_for(pods[key], plan))]

    @staticmethod
    def _made_for(pod: Pod, plan: PodPlan) -> bool:
        made = pod.holder.labels.get(L.UID, "")
        return made == plan.uid if made and plan.uid else pod.ip == getattr(plan, "_ip", "")

    # ---- workloads ----------------------------------------------------------------------
    def used_ips(self, pods: dict[PodKey, Pod]) -> set[str]:
        # A stopped container keeps its address for its next start (IPAMConfig), though
        # Docker shows none while it is down: a crash-looping pod's address stays taken.
        used = {p.ip or ((p.holder.attrs["NetworkSettings"]["Networks"].get(self.ctx.net.network_name) or {})
                         .get("IPAMConfig") or {}).get("IPv4Address", "") for p in pods.values()}
        return used | {getattr(plan, "_ip", "") for plan in list(self.creating.values())}

    def start_pod(self, plan: PodPlan, pods: dict[PodKey, Pod]) -> bool:
        """Begin making the pod; False when it is not made: its owner backs off, or the API
        server's admission would refuse it (a bare pod passed it when it was written)."""
        key = object_key(plan.namespace, plan.name)
        owner = f"{plan.owner_kind}/{plan.namespace}/{plan.owner_name}" if plan.owner_kind else key
        _, not_before = self.backoff.get(owner, (0, 0.0))
        if time.monotonic() < not_before:
            return False
        admitted_plan = self._admitted(plan, owner, pods) if plan.owner_kind else plan
        if admitted_plan is None:
            return False
        plan = admitted_plan
        node, why = self.place(plan, pods)
        if not node:
            self.reasons[owner] = why
            self.failures.unschedulable(plan, why)  # a Pending pod, placed again on later ticks
            return True
        plan = replace(plan, node=node, planned=plan.planned or time.time())
        pool = self.ctx.net.pod_ip_pool()
        used = self.used_ips(pods)
        while True:
            ip = str(ipaddress.IPv4Address(pool[random.randrange(len(pool))]))
            if ip not in used:
                break
        object.__setattr__(plan, "_ip", ip)
        self.creating[key] = plan

        def work():
            nonlocal plan
            try:
                plan = self.with_uid(plan)
                # An OrderedReady StatefulSet's pods are the longest path of `up`: never queued.
                with self.engine_slots.pod() if plan.ordinal is None else contextlib.nullcontext():
                    create_pod(self.client, self.ctx, plan, ip, self.objects)
                self.backoff.pop(owner, None)
                self.reasons.pop(owner, None)
                self.failures.started(key)
                self.event("Normal", f"pod/{plan.name}", Reason.SCHEDULED,
                           f"Successfully assigned {plan.namespace}/{plan.name} to {plan.node}",
                           namespace=plan.namespace)
                self.kubelet_started(plan.name, plan.namespace, containers_of(plan.spec))
                self.created.add(key)  # leaves self.creating once a tick has observed it
            except PodStartError as exc:  # the pod stays, tried again after the kubelet's back-off
                self.reasons[owner] = str(exc)
                self.failures.failed(plan, exc)
            except Exception as exc:  # noqa: BLE001 - a fault of ours: said, and tried again next tick
                self.out(json.dumps({"type": "Warning", "message": f"starting pod {key} failed: {exc!r}",
                                     "trace": traceback.format_exc()[-1500:]}))
                self.failures.not_retrying(key)
            finally:
                if key not in self.created and not self.failures.holds(key):
                    self.creating.pop(key, None)
                self.engine_changed()

        self.pool.submit(work)
        return True

    def stored_uid(self, namespace: str, name: str) -> str:
        """The uid of the pod's object as the API holds it ("" before it does)."""
        stored = self.informer.get(BY_KEY["pods"], namespace, name) if self.informer is not None else None
        return ((stored or {}).get("metadata") or {}).get("uid", "")

    def kubelet_name(self, pod: Pod) -> str:
        """The pod as the kubelet names it in its messages: name_namespace(uid)."""
        uid = pod.holder.labels.get(L.UID) or self.stored_uid(pod.namespace, pod.name)
        return kubelet_pod(pod.name, pod.namespace, uid)

    def with_uid(self, plan: PodPlan) -> PodPlan:
        """The plan with its object's uid, for a pod whose env has it (fieldRef metadata.uid):
        the kubelet reads env from the object, which the API server gives its uid. A pod's
        object is written by the tick that planned it (pending_published), so this waits for
        it, at most UID_WAIT seconds (then the env var is empty, as it was before)."""
        if plan.uid or not env_has_uid(plan.spec) or self.informer is None:
            return plan
        deadline = time.monotonic() + UID_WAIT
        while time.monotonic() < deadline:
            uid = self.stored_uid(plan.namespace, plan.name)
            if uid and not self.earlier_pod_stored(plan):
                return replace(plan, uid=uid)
            time.sleep(0.02)
        return plan

    def _admitted(self, plan: PodPlan, owner: str, pods: dict[PodKey, Pod]) -> PodPlan | None:
        """The pod as the API server's admission would make it (controllers/pod_admission.py),
        or None when it would refuse it: its owner then fails to create it, saying so in a
        FailedCreate event, and tries again on later ticks."""
        if self.informer is None:
            return plan
        counted = [{"kind": "Pod", "metadata": {"name": p.name, "namespace": p.namespace}, "spec": p.spec}
                   for p in pods.values() if p.namespace == plan.namespace and p.key not in self.terminating]
        counted += [{"kind": "Pod", "metadata": {"name": c.name, "namespace": c.namespace}, "spec": c.spec}
                    for c in list(self.creating.values()) if c.namespace == plan.namespace
                    and object_key(c.namespace, c.name) not in pods]
        plan, why = admitted(plan, self.objects, counted, self._runtime_classes(plan))
        if not why and self.publisher is not None and webhooks_may_see(plan, self.objects):
            plan, why = self._asked_webhooks(plan)
        if not why:
            return plan
        if self.reasons.get(owner) != why:
            self.event("Warning", pod_maker(plan.owner_kind, plan.owner_name, plan.template_hash), Reason.FAILED_CREATE,
                       why, namespace=plan.namespace)
        self.reasons[owner] = why
        return None

    def _runtime_classes(self, plan: PodPlan) -> dict[str, dict] | None:
        """The RuntimeClass the pod names, by name, as the API holds it ({} when there is none
        of that name); read when a pod is made, not watched (nothing else here reads them).
        None when the API cannot say: the pod's write is then admitted or refused by itself."""
        wanted = plan.spec.get("runtimeClassName")
        if not wanted:
            return {}
        if self.publisher is None:
            return None
        try:
            return {wanted: self.publisher.api.get(BY_KEY["runtimeclasses.node.k8s.io"], None, wanted)}
        except ApiError as exc:
            return {} if exc.code == 404 else None
        except OSError:
            return None

    def _asked_webhooks(self, plan: PodPlan) -> tuple[PodPlan, str]:
        """The pod as the admission webhooks make it (a dry-run create: they see what the
        ReplicaSet controller's create would send them), or the refusal its owner reports."""
        assert self.publisher is not None
        meta: dict = {"namespace": plan.namespace, "labels": plan.labels, "annotations": plan.annotations}
        # By its name; a StatefulSet's pod replacing one whose object is still there, by another
        # (the webhooks' answer does not depend on it).
        for name in ({"name": plan.name}, {"generateName": f"{plan.name}-"}):
            try:
                got = self.publisher.api.create(BY_KEY["pods"], {"apiVersion": "v1", "kind": "Pod", "spec": plan.spec,
                                                                 "metadata": {**meta, **name}}, dryRun="All")
                break
            except ApiError as exc:
                if exc.code != 409 or "generateName" in name:
                    return plan, f"Error creating: {exc.message}"
        answered = got.get("metadata") or {}
        return replace(plan, spec=got.get("spec") or plan.spec, labels=answered.get("labels") or {},
                       annotations=answered.get("annotations") or {}), ""

    def place(self, plan: PodPlan, pods: dict[PodKey, Pod]) -> tuple[str, str]:
        """The node for a new pod, spreading each owner's pods like the default scheduler."""
        if why := self.volumes.unschedulable(plan):
            return "", why
        load: dict[str, int] = {}
        owner_load: dict[str, int] = {}
        placed = [(p.node, p.owner, p.namespace) for p in pods.values() if p.key not in self.terminating]
        placed += [(c.node, f"{c.owner_kind}/{c.owner_name}", c.namespace) for c in list(self.creating.values())]
        mine = f"{plan.owner_kind}/{plan.owner_name}"
        for node, owner, ns in placed:
            load[node] = load.get(node, 0) + 1
            if owner == mine and ns == plan.namespace and plan.owner_kind:
                owner_load[node] = owner_load.get(node, 0) + 1
        return schedule(plan.spec, self.nodes, owner_load, load)

    def gone(self, pod: Pod) -> bool:
        """Removed by a worker since this tick observed it: it left self.terminating meanwhile,
        and is neither live (counted, stopped again) nor to restart, nor to publish (its facts no
        longer say Terminating: a force-deleted pod was created again in the API, then started
        again; test_hooks saw it once in six CI runs)."""
        return pod.holder.id in self.removed_ids

    def superseded(self, pod: Pod) -> bool:
        """A bare pod's container made for an earlier object of its name: the API holds a newer
        pod of that name (`kubectl run busybox --rm` again, a pod deleted and applied again),
        which is not this container's to describe, and is Pending until its own runs."""
        if pod.owner or self.informer is None:
            return False
        made_for = pod.holder.labels.get(L.UID, "")
        stored = self.informer.get(BY_KEY["pods"], pod.namespace, pod.name)
        uid = ((stored or {}).get("metadata") or {}).get("uid", "")
        return bool(made_for and uid and made_for != uid)

    def stop_pod(self, pod: Pod, reason: str, grace: int | None = None) -> None:
        """Take the pod out of endpoints now; after a short drain, preStop hooks and SIGTERM
        within the grace period (a deletion's, else the spec's); then remove it."""
        if pod.key in self.terminating:
            return
        self.terminating[pod.key] = time.monotonic()
        self.terminating_since[pod.key] = timestamp(time.time())
        drained = self.drained.setdefault(pod.key, threading.Event())
        # The kubelet's words, one Event per container (`kubectl describe pod`); why emukube
        # stops the pod goes to the controller's log.
        self.out(json.dumps({"type": "Normal", "message": f"stopping pod {pod.namespace}/{pod.name}: {reason}"}))
        for c in pod.apps:
            self.event("Normal", f"pod/{pod.name}", Reason.KILLING, f"Stopping container {c.labels.get(L.CONTAINER)}",
                       namespace=pod.namespace)
        grace = termination_grace(pod.spec, grace)

        def work():
            # SIGTERM only once the proxies and DNS no longer send it anything, plus a moment
            # for connections the old proxy worker still hands out: no request hits a pod
            # that is shutting down (the rolling update's zero-failure promise).
            drained.wait(DRAIN_WAIT_LIMIT)
            time.sleep(DRAIN_SECONDS)
            containers = [*pod.ephemerals, *pod.inits, *pod.apps] + ([] if pod.holder in pod.apps else [pod.holder])
            for c in containers:
                self.own_kills[c.id] = time.time()
            self.terminations.stop_all(pod, containers, grace)
            for c in containers:
                engine.remove(c)
            self.removed_ids.update(c.id for c in containers)
            for vol in self.client.volumes.list(filters={"label": [f"{L.CLUSTER}={self.ctx.cluster}",
                                                                    f"{L.NAME}={pod.name}"]}):
                try:
                    vol.remove(force=True)
                except DockerException:
                    pass
            self.terminating.pop(pod.key, None)
            self.terminating_since.pop(pod.key, None)
            self.drained.pop(pod.key, None)
            self.engine_changed()

        self.terminations.pool.submit(work)

    # ---- the kubelet's part: container restarts ------------------------------------------
    def was_killed(self, container) -> bool:
        """Stopped by someone else (docker kill/stop), not crashed or finished by itself."""
        if time.time() - self.own_kills.get(container.id, 0) < OWN_KILL_MEMORY:
            return False
        state = container.attrs["State"]
        # The kill event can be missed (the controller was being replaced): SIGKILL's exit code.
        return container.id in self.killed or (state.get("ExitCode") == 137 and not state.get("OOMKilled"))

    def needs_replacing(self, pod: Pod) -> bool:
        """Killed or stopped by hand, or left half-made by a controller replaced while making it."""
        if L.run_by_cli(pod.owner):  # made by `emukube run`, which starts (and removes) it itself
            return False
        if not pod.complete and pod.key not in self.creating:
            return True
        exited = [c for c in pod.exited() if c.id not in self.restarting]
        sandbox_down = pod.holder not in pod.apps and pod.holder in exited
        return sandbox_down or any(self.was_killed(c) for c in exited)

    def restart_exited(self, pods: dict[PodKey, Pod]) -> None:
        """Containers that stopped by themselves start again as restartPolicy says, after
        kubelet's back-off (CrashLoopBackOff); the same container, its address and volumes."""
        now = time.time()
        for pod in pods.values():
            if pod.key in self.terminating or pod.key in self.creating or self.gone(pod) or self.needs_replacing(pod):
                continue
            for c in pod.exited():
                state = c.attrs["State"]
                if c.id in self.restarting or not should_restart(pod.spec.get("restartPolicy", "Always"),
                                                                 int(state.get("ExitCode") or 0)):
                    continue
                finished = engine.docker_time(state.get("FinishedAt", "")) or now
                name = c.labels.get(L.CONTAINER)
                if self.restarts.wait_left(c.id, finished, now) > 0:
                    if self.backoff_noted.get(c.id) != finished:
                        self.backoff_noted[c.id] = finished
                        self.event("Warning", f"pod/{pod.name}", Reason.BACK_OFF,
                                   back_off_restarting(name, self.kubelet_name(pod)),
                                   namespace=pod.namespace)
                    continue
                self.restarts.restarted(c.id, finished, now)
                self.start_container(pod, c)

    def start_container(self, pod: Pod, container) -> None:
        self.restarting.add(container.id)
        name = container.labels.get(L.CONTAINER)

        def work():
            try:
                fresh_start(self, pod, container)  # a new container from the image, as the kubelet makes
                self.kubelet_started(pod.name, pod.namespace,
                                     [c for c in containers_of(pod.spec) if c.get("name") == name])
            except (DockerException, PodStartError) as exc:
                self.event("Warning", f"pod/{pod.name}", Reason.FAILED,
                           f"restarting container {name}: {str(exc).splitlines()[0][:200]}", namespace=pod.namespace)
            finally:
                self.restarting.discard(container.id)
                self.engine_changed()

        self.pool.submit(work)

    def taint_ages(self) -> dict[str, dict[tuple[str, str, str], float]]:
        """Seconds since each NoExecute taint came, by node: from its timeAdded, else from when
        this controller first saw it (the taint eviction controller's clock starts there too)."""
        now, since = time.time(), {}
        for n in self.nodes:
            for t in n.taints:
                if t.get("effect") == "NoExecute":
                    key = (n.name, taint_id(t))
                    since[key] = epoch(t.get("timeAdded")) or self.taints_since.get(key, now)
        self.taints_since = since
        ages: dict[str, dict[tuple[str, str, str], float]] = {}
        for (node, taint), at in since.items():
            ages.setdefault(node, {})[taint] = now - at
        return ages

    def evict(self, pod: Pod, why: str) -> None:
        """As the taint eviction controller does: the pod deleted through the API (its
        ReplicaSet makes another; a pod of its own is gone), stopped with its grace period."""
        if self.publisher is not None:
            try:
                self.publisher.api.delete(BY_KEY["pods"], pod.namespace, pod.name)
                self.evicting.add(pod.key)
                return
            except (ApiError, OSError):  # not in the API (not published yet), or it is restarting
                pass
        self.stop_pod(pod, why)

    def reconcile_workloads(self, pods: dict[PodKey, Pod]) -> None:
        ages = self.taint_ages()
        gone = {n.name for n in self.nodes if n.stopped}
        known = {n.name for n in self.nodes}
        by_name = {n.name: n for n in self.nodes}
        for p in pods.values():  # a stopped (or removed) node takes its pods with it
            if p.node and (p.node in gone or p.node not in known):
                self.stop_pod(p, f"node {p.node} stopped")
            elif p.node and p.key not in self.terminating and p.key not in self.evicting and \
                    (why := evicted(p.spec, by_name[p.node], ages.get(p.node))):
                self.event("Normal", f"pod/{p.name}", Reason.TAINT_MANAGER_EVICTION,
                           f"Marking for deletion Pod {p.namespace}/{p.name}", namespace=p.namespace)
                self.evict(p, f"node {p.node}: {why}")
        self.evicting &= set(pods)
        # Pods whose containers are still being made are in self.creating, not counted twice.
        live = {k: p for k, p in pods.items() if k not in self.terminating and k not in self.creating
                and not self.gone(p)}
        for key, pod in list(live.items()):  # killed or stopped by hand: the pod is replaced
            if self.needs_replacing(pod):
                self.stop_pod(pod, "container stopped outside emukube; replacing the pod" if pod.complete
                              else "left half-made by a replaced controller; replacing the pod")
                del live[key]
        wanted_owners: set[str] = set()  # "ns/Kind/name"
        for w in self.workloads:
            owner = f"{w['kind']}/{w['metadata']['name']}"
            ns = w["metadata"].get("namespace", "default")
            wanted_owners.add(f"{ns}/{owner}")
            mine = [p for p in live.values() if p.of(ns, owner)]
            creating = [c for c in list(self.creating.values()) if c.namespace == ns and
                        f"{c.owner_kind}/{c.owner_name}" == owner]
            if w["kind"] == "StatefulSet":
                self._statefulset(w, mine, creating, pods)
            elif w["kind"] == "DaemonSet":
                self._daemonset(w, mine, creating, pods)
            else:
                self._replicas(w, mine, creating, pods)
        wanted_owners |= self.jobs.owners()
        bare_keys = self.reconcile_bare(live, pods)
        for key, pod in live.items():  # pods nothing asks for any more (a deleted Deployment)
            # A released pod, once its API object lost the owner reference, is declared as any bare pod.
            owned = key in bare_keys or bool(pod.owner) and f"{pod.namespace}/{pod.owner}" in wanted_owners
            if not owned and not L.run_by_cli(pod.owner):
                self.stop_pod(pod, "no longer declared")

    def reconcile_bare(self, live: dict[PodKey, Pod], pods: dict[PodKey, Pod]) -> set[PodKey]:
        """Start each declared bare pod not running; replace one whose images a new
        --image-map changed (its spec cannot change to roll it). Returns their keys."""
        for plan in self.bare:
            key = object_key(plan.namespace, plan.name)
            running = live.get(key)
            if running is not None and image_map.runs_stale_images(
                    plan.spec, {c.labels.get(L.CONTAINER, ""): c.attrs["Config"]["Image"] for c in running.apps},
                    self.ctx.image_map, self.ctx.images):
                self.stop_pod(running, "its image map changed; replacing the pod")
            if live.get(key) is None and key not in self.creating and key not in self.terminating:
                self.start_pod(plan, pods)
        return {object_key(b.namespace, b.name) for b in self.bare}

    def _replicas(self, w: dict, mine: list[Pod], creating: list[PodPlan], pods) -> None:
        replicas = w["spec"].get("replicas", 1)
        current = template_hash(w["spec"]["template"])
        new = [p for p in mine if p.template_hash == current]
        old = [p for p in mine if p.template_hash != current]
        if w["kind"] in ("ReplicaSet", "ReplicationController"):
            # Their controllers never replace a pod for a new template: every pod counts as it
            # is, and only pods made from now on follow the template (rolling out is a Deployment's).
            new, old = mine, []
        paused = bool(w["spec"].get("paused"))  # its template is the one rolled out (as_rolled_out)
        if paused:  # the deployment controller only scales a paused Deployment: old pods stay
            for p in sorted(old, key=self.is_ready)[:max(0, len(old) - replicas)]:
                self._retire(p, "scaled down")
            replicas = max(0, replicas - len(old))
        new_count = len(new) + len(creating)
        surge, unavailable = rollout_limits(w) if w["kind"] == "Deployment" else (0, replicas)
        # Scale the new template towards replicas, within maxSurge over the total.
        room = replicas - new_count if paused else replicas + surge - (len(mine) + len(creating))
        for _ in range(max(0, min(replicas - new_count, room))):
            self._new_pod(new_pod_for(w), pods)
        if new_count > replicas:
            # Pods that never started (no node fits, a failed start) go first: the ReplicaSet
            # controller ranks unscheduled and pending pods before running ones.
            for plan in sorted(creating, key=lambda c: c.name, reverse=True)[:new_count - replicas]:
                if self.failures.idle(object_key(plan.namespace, plan.name)):
                    self.failures.drop(object_key(plan.namespace, plan.name))
                    self.owner_event(plan.namespace, f"{plan.owner_kind}/{plan.owner_name}", plan.template_hash,
                                     plan.name, False)
                    new_count -= 1
            # Then running ones, by the ReplicaSet controller's ranking (controllers/scale_down.py).
            for p in condemned(self, new, mine, new_count - replicas):
                self._retire(p, "scaled down")
        if paused:
            return
        # Retire old pods while at least replicas - maxUnavailable stay ready.
        ready = sum(1 for p in mine if self.is_ready(p))
        allowed = ready - (replicas - unavailable)
        for p in sorted(old, key=lambda p: self.is_ready(p)):
            if not self.is_ready(p):
                self._retire(p, "rolling update: old template")
            elif allowed > 0:
                allowed -= 1
                self._retire(p, "rolling update: old template")

    def _daemonset(self, w: dict, mine: list[Pod], creating: list[PodPlan], pods) -> None:
        current = template_hash(w["spec"]["template"])
        known = [ds.DaemonPod(p.name, p.node, p.template_hash == current, self.is_ready(p),
                              p.holder.attrs.get("Created", "")) for p in mine]
        known += [ds.DaemonPod(c.name, c.node, c.template_hash == current, False) for c in creating]
        actions = ds.decide(w, self.nodes, known)
        for node in actions.create_on:
            self._new_pod(ds.daemon_pod(w, node), pods)
        by_name = {p.name: p for p in mine}
        for name, why in actions.delete:
            if name in by_name:  # one still being made is removed once it is observed
                self._retire(by_name[name], why)

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
            if object_key(w['metadata'].get('namespace'), f"{w['metadata']['name']}-{i}") in self.terminating:
                break
            self._new_pod(new_pod_for(w, i), pods)
            if ordered:
                break
        if ordered and (any(p.owner == f"StatefulSet/{w['metadata']['name']}" and p.key in self.terminating
                            for p in pods.values() if p.namespace == w["metadata"].get("namespace", "default"))
                        or not all(self.is_ready(by_ordinal[i]) for i in by_ordinal if i < replicas)):
            return  # OrderedReady: one pod at a time, each gone before the next, the others ready
        for i in sorted(by_ordinal, reverse=True):  # scale down from the highest ordinal
            if i >= replicas:
                self._retire(by_ordinal[i], "scaled down")
                if ordered:
                    return
        stale = [by_ordinal[i] for i in sorted(by_ordinal, reverse=True)
                 if i < replicas and by_ordinal[i].template_hash != current]
        if stale and all(self.is_ready(p) for p in mine) and not creating:
            self._retire(stale[0], "rolling update: old template")

    # ---- data plane -----------------------------------------------------------------------
    def reconcile_proxies(self, views: list[ep.PodView], proxies: dict[str, Container]) -> None:
        """Every Service's proxy at once. Reloads finish within the tick (a stopping pod is
        drained only once they did); making a container takes seconds while the engine starts
        the pods too, so that goes on in the background and the loop keeps ticking (the next
        StatefulSet pod, readiness) meanwhile."""
        plans = [(svc, plan) for svc in self.services if (plan := self.proxy_plan(svc, views)) is not None]
        self.latest_plans = {object_key(plan.namespace, plan.name): (svc, plan) for svc, plan in plans}
        for key, (_, plan) in self.latest_plans.items():
            self.gate.planned(f"svc:{key}", [plan])
        self.gate.keep_planned({f"svc:{key}" for key in self.latest_plans}, prefix="svc:")
        wanted = set()
        for _, plan in plans:
            wanted.update({proxy_name(self.ctx.cluster, plan.namespace, plan.name),
                           proxy_name(self.ctx.cluster, plan.namespace, plan.name, udp=True)})
        idle = [job for job in plans if self._settled(object_key(job[1].namespace, job[1].name))]
        list(self.proxy_pool.map(lambda job: self._ensure_proxy(job[0], job[1], proxies), idle))
        planned = {object_key(plan.namespace, plan.name) for _, plan in plans}
        done = {object_key(plan.namespace, plan.name) for _, plan in idle} - self.making  # they run this tick's plan
        for key in [k for k in list(self.unsynced) if k != "dns" and (k in done or k not in planned)]:
            self.unsynced.pop(key, None)
        for name, container in proxies.items():
            if name not in wanted:
                engine.remove(container)

    def _ensure_proxy(self, svc: dict, plan, proxies: dict[str, Container]) -> None:
        key = object_key(plan.namespace, plan.name)
        try:
            # Looked at once: what needs says is what reload does short of reloading.
            needed = None if self.terminating else self.proxies.needs(svc, plan, proxies)
            if self.reloads.service(svc, plan, proxies, needed):
                return
            # In the tick only while a pod is drained, which waits for the new worker.
            what = self.proxies.reload(svc, plan, proxies, settle=True) if self.terminating else needed
        except DockerException as exc:
            self._proxy_failed(plan, exc)
            return
        if what is not None:  # it runs this tick's plan
            self.gate.serves(f"svc:{key}", [plan])
        if what is None:
            self._begin_making(key)
            self.create_pool.submit(self._create_proxy, svc, plan, proxies)
            return
        self.reasons.pop(f"service/{key}", None)
        if what:
            self._proxy_changed(plan, "ProxyReloaded")

    def _create_proxy(self, svc: dict, plan, proxies: dict[str, Container]) -> None:
        key = object_key(plan.namespace, plan.name)
        try:
            with self.engine_slots.data_plane():
                # The endpoints of the latest tick, not those of when it was queued: pods
                # that became ready meanwhile are in the first config, with no reload after.
                svc, plan = self.latest_plans.get(key, (svc, plan))
                self.proxies.create(svc, plan, proxies)
            self.gate.serves(f"svc:{key}", [plan])
            self.reasons.pop(f"service/{key}", None)
            self._proxy_changed(plan, "ProxyCreated")
        except DockerException as exc:
            self._proxy_failed(plan, exc)
        finally:
            self._end_making(key)

    def _begin_making(self, key: str) -> None:
        self.making.add(key)
        self.unsynced[key] = time.monotonic()

    def engine_changed(self) -> None:
        """A worker finished changing containers: the next tick lists them again. Its events
        can come before it returns (a container started, then made known in self.made), and
        a listing between them would not be followed by another."""
        self.changed = True
        self.wake.set()

    def _end_making(self, key: str) -> None:
        self.made[key] = time.monotonic()
        self.making.discard(key)
        self.engine_changed()
        self.reloads.recheck_soon()

    def _settled(self, key: str) -> bool:
        """Not being made, and any container made for it was there when this tick observed
        (an observation from before would not show it, and it would be made twice)."""
        return key not in self.making and self.made.get(key, 0.0) < self.observed_at

    def _nodes_waiting(self) -> list[str]:
        """No Service check reaches a node proxy: one made or reloaded from an older plan than
        this tick's is waited for here, else `curl NODE:NODEPORT` right after `up` reached its
        old worker."""
        return [f"node/{n.name}: its proxy is starting or reloading" for n in self.nodes
                if not n.stopped and not self._serves_latest(f"node/{n.name}")]

    def _serves_latest(self, key: str) -> bool:
        """Whether the proxy of a Service or node/NAME runs what the last tick planned: settled,
        and no reload of it held back or under way."""
        return self._settled(key) and key not in self.reloads.held_since

    def _proxy_changed(self, plan, reason: str) -> None:
        self.answered.pop(object_key(plan.namespace, plan.name), None)
        ready = sum(len(b) for b in plan.backends.values())
        self.event("Normal", f"service/{plan.name}", reason, f"{plan.cluster_ip}: {ready} endpoint(s)")

    def _proxy_failed(self, plan, exc: DockerException) -> None:
        # E.g. a nodePort another program holds: tried again every tick, and named in the
        # status so `up` says why it waits instead of "not answering".
        why = str(getattr(exc, "explanation", None) or exc).splitlines()[0][:300]
        self.reasons[f"service/{plan.namespace}/{plan.name}"] = f"proxy cannot start: {why}"
        self.event("Warning", f"service/{plan.name}", Reason.PROXY_FAILED, why)

    def drained_now(self, key: PodKey) -> bool:
        """Whether the data plane has dropped a stopping pod: every proxy was reloaded since it
        began stopping (this tick), but those made from a plan older than that."""
        began = self.terminating.get(key, 0.0)
        return all(start > began for start in list(self.unsynced.values()))

    def reconcile_nodes(self, views: list[ep.PodView]) -> None:
        """Node proxies: one per running node, none for stopped ones. Made in the background
        like Services' proxies (pods start meanwhile); `up` converges once they run."""
        wanted = {n.name: n for n in self.nodes if not n.stopped}
        self.gate.keep_planned({f"node:{name}" for name in wanted}, prefix="node:")
        for name, container in self.node_containers.items():
            if name not in wanted:
                engine.remove(container)
                self.reasons.pop(f"node/{name}", None)
        for node in wanted.values():
            plans = node_plans(node, self.services, views, self.service_slices,
                               lambda plan: self.under_policies(plan, views))
            # Planned while its proxy is being made or reloaded too: a pod that proxy should carry
            # (NodePort, hostPort) waits for it, not only for its Service's proxy.
            self.gate.planned(f"node:{node.name}", plans)
            if not self._settled(f"node/{node.name}"):
                continue
            try:
                existing = self.node_containers.get(node.name)
                needed = None if self.terminating else node_needs(self.proxies, node, plans, existing)
                if self.reloads.node(node, plans, existing, needed):
                    continue
                what = reload_node(self.proxies, node, plans, existing, settle=True) if self.terminating else needed
            except DockerException as exc:
                self._node_failed(node, exc)
                continue
            if what is None:
                self.making.add(f"node/{node.name}")
                self.create_pool.submit(self._create_node, node, views)
                continue
            self.gate.serves(f"node:{node.name}", plans)
            self.reasons.pop(f"node/{node.name}", None)
            if what:
                self._node_changed(node, what)

    def _create_node(self, node, views: list[ep.PodView]) -> None:
        try:
            with self.engine_slots.data_plane():
                plans = node_plans(node, self.services, views, self.service_slices,
                                   lambda plan: self.under_policies(plan, views))
                create_node(self.proxies, node, plans, self.node_containers.get(node.name))
            self.gate.serves(f"node:{node.name}", plans)
            self.reasons.pop(f"node/{node.name}", None)
            self._node_changed(node, "created")
        except DockerException as exc:
            self._node_failed(node, exc)
        finally:
            self._end_making(f"node/{node.name}")

    def _node_changed(self, node, what: str) -> None:
        self.event("Normal", f"node/{node.name}", Reason.NODE_PORTS + what.capitalize(),
                   f"{node.internal_ip} (host {node.host_ip})")

    def _node_failed(self, node, exc: DockerException) -> None:
        why = str(getattr(exc, "explanation", None) or exc).splitlines()[0][:300]
        self.reasons[f"node/{node.name}"] = f"its proxy cannot start: {why}"
        self.event("Warning", f"node/{node.name}", Reason.NODE_PROXY_FAILED, why)

    def reconcile_dns(self, views: list[ep.PodView], dns) -> None:
        # Zones first: CoreDNS must find its Corefile when it starts.
        config = self.informer.get(BY_KEY["configmaps"], system_pods.NAMESPACE, system_pods.CONFIG_MAP) \
            if self.informer is not None else None
        custom = ((config or {}).get("data") or {}).get("Corefile")
        written = self.zones.write(lambda serial: ep.dns_plan(self.services, views, self.ctx.net, serial,
                                                                   self.service_slices), custom)
        write_resolv_confs(str(self.zones.dir), self.ctx.net.dns_ip, self.namespaces)
        if not self._settled("dns"):
            return  # it reads the zones written meanwhile when it starts
        self.dns_pod = self.coredns_pod_name(dns)
        if not dns_current(self.ctx, dns, self.dns_pod):
            self._begin_making("dns")
            self.create_pool.submit(self._create_dns, dns, self.dns_pod)
        else:
            self.unsynced.pop("dns", None)
            if written.corefile and reload_corefile(dns):
                self.event("Normal", "dns/coredns", Reason.RELOADED, "new Corefile")

    def coredns_pod_name(self, dns) -> str:
        """The pod CoreDNS's container is to stand for: the one it stands for while that is of
        the coredns Deployment's template and its deletion was not asked for through the API,
        else a new one (plan/system_pods.py)."""
        template = system_pods.template_of(self.coredns, self.ctx.images["coredns"])
        current = self.dns_pod or (dns.labels.get(L.NAME, "") if dns is not None else "")
        if current and self.informer is not None:
            stored = self.informer.get(BY_KEY["pods"], system_pods.NAMESPACE, current)
            gone = self.informer.deleted_uid(BY_KEY["pods"], system_pods.NAMESPACE, current)
            # Not our own deletion: the publisher removes the pod while its container is missing
            # (a `docker rm`), and the container made again stands for the same pod.
            ours = self.publisher is not None and gone in self.publisher.own_deletions
            if (stored or {}).get("metadata", {}).get("deletionTimestamp") or (stored is None and gone and not ours):
                current = ""  # a ReplicaSet's pod deleted: replaced by a new one
        return system_pods.pod_name(template, current)

    def _create_dns(self, dns, pod: str) -> None:
        """In the background, like proxies: the engine takes seconds while pods start too."""
        try:
            with self.engine_slots.data_plane():
                made = ensure_dns(self.client, self.ctx, dns, pod)
            if made:
                self.event("Normal", "dns/coredns", Reason.STARTED, f"CoreDNS at {self.ctx.net.dns_ip}")
        except DockerException as exc:
            self.event("Warning", "dns/coredns", Reason.FAILED, str(exc).splitlines()[0][:300])
        finally:
            self._end_making("dns")

    # ---- status -------------------------------------------------------------------------
    def proxy_plan(self, svc: dict, views: list[ep.PodView]):
        """What the Service's proxy runs; None when it needs none: headless, ExternalName,
        `kubernetes` and `kube-dns`, whose addresses the API server and CoreDNS hold themselves
        (apiserver/system.py)."""
        if svc["spec"].get("clusterIP") in (self.ctx.net.apiserver_service_ip, self.ctx.net.dns_ip):
            return None
        plan = ep.proxy_plan(svc, views, self.service_slices(svc))
        return None if plan is None else self.under_policies(plan, views)

    def under_policies(self, plan, views: list[ep.PodView]):
        """The plan with the routes NetworkPolicy gives its clients (plan/network_policy.py).
        Kept while the pods' views, the objects and the plan stay the same: a tick asks for a
        Service's plan several times, ticks come every second, and each pod is a client of every
        Service."""
        if not self.policies:
            return plan
        key = (plan.namespace, plan.name)
        kept = self.policy_routes.get(key)
        if kept is not None and kept[2] is self.policies and kept[3] == plan \
                and all(was is now or was == now for was, now in ((kept[0], views), (kept[1], self.starting))):
            return kept[4]  # within a tick the same lists: compared by identity, not element by element
        clients = [*network_policy.with_starting(views, self.starting),
                   network_policy.ingress_controller(self.ctx.net.ingress_ip)]
        routed = network_policy.restrict(plan, clients, self.policies, self.namespace_labels)
        self.policy_routes[key] = (views, self.starting, self.policies, plan, routed)
        return routed

    def service_slices(self, svc: dict) -> list[dict]:
        """The EndpointSlices of a Service without a selector, its only source of endpoints, as
        for kube-proxy: those written for it, and the mirror of its hand-written Endpoints."""
        if svc["spec"].get("selector") or self.informer is None:
            return []
        ns, name = svc["metadata"].get("namespace", "default"), svc["metadata"]["name"]
        endpoints = self.informer.get(BY_KEY["endpoints"], ns, name)
        mirror = sl.mirror_slices(endpoints) if endpoints is not None and sl.mirrored(svc, endpoints) else []
        return self.written_slices.get((ns, name), []) + mirror

    def service_answers(self, svc: dict, views: list[ep.PodView]) -> bool:
        plan = self.proxy_plan(svc, views)
        if plan is None:
            return True
        key = object_key(plan.namespace, plan.name)
        # Each check is a real connection to a pod (and counts in `emukube top`): check a plan
        # once, and again only when it changes or its proxy is created or reloaded.
        if not self._serves_latest(key):
            # Its proxy is being made or reloaded (its old worker would answer): what an older
            # plan found wrong is no longer known to be so (`up` said "the selector matches no
            # pod" while the reload for the pods that had become ready was under way).
            self.problems.pop(key, None)
            return False
        if self.answered.get(key) == plan:
            return True
        for port in plan.tcp_ports():
            if plan.backends.get(port.key):
                try:
                    with socket.create_connection((plan.cluster_ip, port.port), timeout=1):
                        pass
                except OSError:
                    self.problems.pop(key, None)
                    return False
        # What would still fail a client, said by `up` (checked again each tick while it lasts).
        self.problems[key] = checks.endpoints_problem(svc, plan, views) or checks.listen_problem(plan)
        if not self.problems[key]:
            self.answered[key] = plan
        return True

    def write_status(self, pods: dict[PodKey, Pod], views: list[ep.PodView], dns: Container | None) -> None:
        waiting = []
        status_pods = {}
        for p in pods.values():
            status_pods[p.key] = pod_status(self, p)
            ready, reason = status_pods[p.key]["ready"], status_pods[p.key]["reason"]
            # A pod that ran to completion (restartPolicy Never/OnFailure) is done, not waited for.
            done = ran_to_end(p.spec, status_pods[p.key]) or p.owner.startswith("Job/")
            if not ready and not done and p.key not in self.terminating and not L.run_by_cli(p.owner):
                waiting.append(f"pod {p.key} not ready" + (f": {reason}" if reason else ""))
        for key, plan in list(self.creating.items()):
            if not self.failures.ended_at(key):  # a pod failed for good is not waited for
                waiting.append(f"pod {plan.namespace}/{plan.name} starting")
        waiting += self._nodes_waiting() + self.ingress.waiting() + self.firewalls.waiting()
        for owner, why in list(self.reasons.items()):  # workers change it
            waiting.append(f"{owner}: {why}")
        waiting += self._workloads_waiting(pods)
        services: dict[ObjectKey, ServiceReport] = {}
        # At once: a proxy that does not answer yet costs a connect timeout.
        answering = self.proxy_pool.map(lambda svc: self.service_answers(svc, views), self.services)
        for svc, answers in zip(self.services, list(answering)):
            key = key_of(svc)
            services[key] = ServiceReport(answers, self.problems.get(key) or None)
            if not answers:
                waiting.append(f"service {key} not answering yet")
                since = self.silent.setdefault(key, time.monotonic()) if self._settled(key) else None
                if since is not None and time.monotonic() - since > 5:
                    # A reload lost (e.g. signalled while the proxy started): push its configs again.
                    namespace, _, name = key.partition("/")
                    self.proxies.forget(proxy_name(self.ctx.cluster, namespace, name))
                    self.silent.pop(key)
            else:
                self.silent.pop(key, None)
        converged = not waiting and not self.terminating
        if self.publisher is not None:
            # Before status.json: once `up` reads "converged", the API shows what converged.
            try:  # not the pods removed since this tick observed them (see gone)
                complete = self.publisher.publish(Observed(
                    pods=[(self.facts(p), status_pods[p.key]) for p in pods.values()
                          if not self.gone(p) and not self.superseded(p)]
                    + self.failures.published(pods) + self.pending_published(pods) + self.coredns_pod(dns),
                    services=list(self.services), nodes=list(self.nodes),
                    workloads=list(self.workloads) + ([self.coredns] if self.coredns is not None else []),
                    views=[v if not v.ready or self.gate.ready(object_key(v.namespace, v.name)) else
                           replace(v, ready=False) for v in views],  # held: not an endpoint yet
                    ingress_addresses=self.ingress.addresses()))
                if not complete:
                    converged = False
            except Exception as exc:  # noqa: BLE001 - the API restarting: the next tick writes it
                self.out(json.dumps({"type": "Warning", "message": f"publishing failed: {exc!r}"}))
                converged = False
            self.give_held_events()
        report = Report(generation=self.generation, seen=dict(self.seen_rv), converged=converged,
                        waiting=sorted(set(waiting)), pods=status_pods, services=services,
                        terminating=sorted(self.terminating), time=time.time())
        replace_file(self.state_dir / "status.json", report.to_json())

    def coredns_pod(self, dns: Container | None) -> list[tuple[PodFacts, dict]]:
        """CoreDNS's pod in kube-system (plan/system_pods.py), as publish takes pods: the one its
        container stands for (named by its label), of the coredns Deployment's ReplicaSet for
        the template hash in its name. None while the container is missing or was made by an
        older emukube (no such name: it is being replaced)."""
        name = dns.labels.get(L.NAME, "") if dns is not None else ""
        thash = system_pods.hash_of(name)
        if dns is None or not name.startswith(f"{system_pods.DEPLOYMENT}-") or not thash:
            return []
        template = system_pods.template_of(self.coredns, self.ctx.images["coredns"])
        annotations = (template.get("metadata") or {}).get("annotations") or {}
        pod = Pod(namespace=system_pods.NAMESPACE, name=name, holder=dns, apps=[dns],
                  spec=system_pods.pod_spec(template), labels=dict(system_pods.LABELS),
                  owner=f"Deployment/{system_pods.DEPLOYMENT}", template_hash=thash, ip=self.ctx.net.dns_ip,
                  node=system_pods.NODE)
        facts = replace(self.facts(pod), annotations=dict(annotations) if template_hash(template) == thash else {})
        return [(facts, pod_status(self, pod))]

    def _workloads_waiting(self, pods: dict[PodKey, Pod]) -> list[str]:
        """Each workload not yet at its count of ready pods of its current template."""
        waiting = []
        for w in self.workloads:
            ns, name = w["metadata"].get("namespace", "default"), w["metadata"]["name"]
            owner = f"{w['kind']}/{name}"
            current = template_hash(w["spec"]["template"])
            have = [p for p in pods.values()
                    if p.of(ns, owner) and p.key not in self.terminating]
            ok = [p for p in have if self.is_ready(p) and p.template_hash == current]
            wanted = ds.desired(w, self.nodes) if w["kind"] == "DaemonSet" else w["spec"].get("replicas", 1)
            if len(ok) != wanted or len(have) != len(ok):
                waiting.append(f"{w['kind'].lower()}/{name}: {len(ok)}/{wanted} ready")
        return waiting

    def plan_facts(self, plan: PodPlan, since: float) -> PodFacts:
        """What the API's Pod says of a pod no container stands for yet (being made, or failed
        to start) since `since` (epoch seconds)."""
        owner = f"{plan.owner_kind}/{plan.owner_name}" if plan.owner_kind else ""
        return self._facts_of(plan.namespace, plan.name, owner, plan.template_hash, plan.node,
                              timestamp(since),
                              labels=plan.labels, spec=plan.spec, node=plan.node, planned=plan.planned)

    def pending_published(self, pods: dict[PodKey, Pod]) -> list[tuple[PodFacts, dict]]:
        """(facts, status) of the pods being made that no container stands for yet: Pending,
        their containers waiting in ContainerCreating (or PodInitializing), as Kubernetes shows
        a pod from when its owner creates it, not from when its containers run."""
        out = []
        for key, plan in list(self.creating.items()):  # workers change it
            # One whose containers were made after this tick looked (self.created, not in pods)
            # stays Pending until the next: left out, its object was deleted and written anew
            # with another uid than the one its env got (a CI run saw it).
            if (key in pods and not self.superseded(pods[key])) or self.failures.holds(key) or not plan.planned:
                continue
            if plan.owner_kind and self.earlier_pod_stored(plan):
                continue  # as a StatefulSet's controller, which creates it once the earlier one is gone
            status = {"ready": False, "phase": "Pending", "restarts": 0, "ip": "", "reason": "", "node": plan.node,
                      "containers": [], "initContainers": []}
            out.append((self.plan_facts(plan, plan.planned), status))
        return out

    def earlier_pod_stored(self, plan: PodPlan) -> bool:
        """Whether the API still holds an earlier pod of the plan's name (a StatefulSet's, being
        deleted): the publisher removes it first, and this one is written on a later tick."""
        return earlier_pod(self.informer.get(BY_KEY["pods"], plan.namespace, plan.name) if self.informer else None,
                           plan.planned)

    def facts(self, pod: Pod) -> PodFacts:
        """What the API's Pod says of a running pod (controller/publish_pods.py)."""
        return self._facts_of(pod.namespace, pod.name, pod.owner, pod.template_hash, pod.node,
                              rfc3339(pod.holder.attrs.get("Created")) or "",
                              labels=pod.labels, spec=pod.spec, ip=pod.ip, node=pod.node or "node-1",
                              planned=L.planned_of(pod.holder.labels), released=pod.released,
                              terminating_since=self.terminating_since.get(pod.key, ""))

    def _facts_of(self, namespace: str, name: str, owner: str, template_hash: str, node_name: str, created: str,
                  **more) -> PodFacts:
        """PodFacts with what the controller adds to the pod's own: its node's address, its
        owner's uid, its template's annotations (and the LimitRanger's, as of `created`)."""
        node = next((n for n in self.nodes if n.name == node_name), None)
        owner_uid = ""
        kind, _, owner_name = owner.partition("/")
        if kind in ("StatefulSet", "DaemonSet", "ReplicationController", "Job") and self.informer is not None:
            owner_uid = ((self.informer.get(of_workload(kind), namespace, owner_name) or {})
                         .get("metadata") or {}).get("uid", "")
        ranges = [o for o in self.objects if o["kind"] == "LimitRange" and o["metadata"].get("namespace") == namespace]
        return PodFacts(namespace=namespace, name=name, owner=owner, template_hash=template_hash, created=created,
                        host_ip=(node.internal_ip if node and node.internal_ip else self.ctx.node_address),
                        owner_uid=owner_uid,
                        annotations=template_annotations(self.workloads, namespace, owner, template_hash, ranges,
                                                         created), **more)

    def take_api_deletions(self, pods: dict[PodKey, Pod]) -> None:
        """Pods whose deletion was asked through the API (kubectl delete pod): a deletion
        timestamp, or, deleted at once (--force), gone from the store after we wrote them."""
        if self.informer is None or self.publisher is None:
            return
        for key, pod in pods.items():
            if key in self.terminating:
                continue
            obj = self.informer.get(BY_KEY["pods"], pod.namespace, pod.name)
            if obj is not None and obj["metadata"].get("deletionTimestamp"):
                self.stop_pod(pod, "deleted", obj["metadata"].get("deletionGracePeriodSeconds"))
            elif obj is not None and self.superseded(pod):
                self.stop_pod(pod, "deleted")  # its object went, and a namesake came, between two looks
            elif obj is None:
                uid = self.informer.deleted_uid(BY_KEY["pods"], pod.namespace, pod.name)
                if uid is not None and uid not in self.publisher.own_deletions:
                    self.informer.forget_deleted(BY_KEY["pods"], pod.namespace, pod.name)
                    self.stop_pod(pod, "deleted", 0)  # deleted at once: --grace-period=0 --force

    # ---- the loop -----------------------------------------------------------------------
    def tick(self) -> None:
        self.refresh_objects()
        pods, proxies, dns = self.observe()
        observed_ids = {c.id for p in pods.values() for c in [p.holder, *p.apps]}
        pods = {k: p for k, p in pods.items() if p.holder.id not in self.removed_ids}
        if self.ctx.config_volumes is not None:  # ConfigMap, Secret and label changes reach pods' volumes
            published, unpublished = self.pod_metadata(pods)
            self.ctx.config_volumes.sync(self.objects_version, published, self.objects,
                                         set(self.creating) | unpublished)
        for key in [k for k in self.created if k in pods and pods[k].complete]:
            self.created.discard(key)
            self.creating.pop(key, None)
        self.resume_stopping(pods)
        self.take_api_deletions(pods)
        # Pods a proxy may carry; the rest are Ready as soon as they serve (a StatefulSet's next
        # pod behind a headless Service is not made a tick later).
        self.gate.begin(carried(((k, p.namespace, p.labels, bool(host_ports(p.spec))) for k, p in pods.items()),
                                self.services), self.published_ready)
        self.probe_all(pods)
        self.restart_exited(pods)
        self.ephemerals.sync(pods)
        self.volumes.sync(pods)
        self.token_secrets.sync()
        self.reconcile_workloads(pods)
        self.jobs.sync(pods)
        self.failures.sync(pods)
        views = self.views(pods)
        self.starting = self.starting_views(pods)
        self.reconcile_dns(views, dns)
        self.reconcile_proxies(views, proxies)
        self.firewalls.sync(pods, views)
        self.reconcile_nodes(views)
        self.ingress.sync()
        for key in list(self.terminating):  # the data plane no longer knows these pods
            if key in self.drained and self.drained_now(key):
                self.drained[key].set()
        # The pods serving when this tick planned its proxies (one whose probe passed since is in
        # no plan yet, which is not the same as no proxy carrying it); terminating ones too: a
        # pod that was Ready keeps serving in its EndpointSlice while it stops.
        self.gate.update({object_key(v.namespace, v.name): v.ip for v in views if v.ready}, self._gate_settled)
        self.write_status(pods, views, dns)
        sync_budgets(self)  # PodDisruptionBudgets' status, from the pods just published
        live_ids = {c.id for p in pods.values() for c in [p.holder, *p.apps, *p.inits]}  # inits: sidecars restart
        for known in (self.probes, self.backoff_noted, self.own_kills):
            for cid in [c for c in list(known) if c not in live_ids]:  # list(): workers change them
                known.pop(cid, None)
        self.killed &= live_ids
        self.removed_ids &= observed_ids
        self.restarts.keep_only(live_ids)
        self.restarts.save()
        verdicts = dump_verdicts(self.probes)
        if verdicts != self.saved_verdicts:
            replace_file(self.state_dir / "probes.json", verdicts)
            self.saved_verdicts = verdicts

    def pod_metadata(self, pods: dict[PodKey, Pod]) -> tuple[list[tuple[str, str, dict, dict]], set[PodKey]]:
        """((namespace, name, spec, metadata in the API) of each published pod, the keys of the
        others): a pod not written yet keeps the volumes it was made with."""
        published, others = [], set()
        for key, pod in pods.items():
            stored = self.informer.get(BY_KEY["pods"], pod.namespace, pod.name) if self.informer else None
            if stored is None:
                others.add(key)
            else:
                published.append((pod.namespace, pod.name, pod.spec, stored["metadata"]))
        return published, others

    def resume_stopping(self, pods: dict[PodKey, Pod]) -> None:
        """The pods the previous controller was stopping when it was replaced."""
        for key in [k for k in self.resume_stops if k in pods]:
            self.stop_pod(pods[key], "stopping (begun by the previous controller)")
        self.resume_stops.clear()

    def watch_events(self) -> None:
        """Wake the loop as soon as a container of this cluster changes state."""
        while True:
            self.changed = True  # (re)connected: what happened meanwhile is unknown
            try:
                for ev in self.client.events(decode=True, filters={"type": "container",
                                                                   "label": f"{L.CLUSTER}={self.ctx.cluster}"}):
                    action, cid = ev.get("Action") or ev.get("status"), ev.get("id", "")
                    if action.split(":")[0] in QUIET_ACTIONS:
                        continue  # probes' execs and config copies: no state changed
                    self.dirty.add(cid)
                    self.changed = True
                    if action == "kill" and time.time() - self.own_kills.get(cid, 0) > OWN_KILL_MEMORY:
                        self.killed.add(cid)  # docker kill / docker stop by someone else
                    elif action == "start":
                        self.killed.discard(cid)
                        self.own_kills.pop(cid, None)
                    self.wake.set()
            except Exception:  # noqa: BLE001 - the stream reconnects; the loop ticks anyway
                time.sleep(1)

    def run(self, stop: threading.Event) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        write_resolv_confs(str(self.zones.dir), self.ctx.net.dns_ip, self.namespaces)
        threading.Thread(target=self.watch_events, daemon=True).start()
        self.event("Normal", "controller", Reason.STARTED, f"generation {self.generation[:12]}, "
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
