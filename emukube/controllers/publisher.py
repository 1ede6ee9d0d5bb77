"""The controller's writes to its API server: what it runs, as Kubernetes' controllers and
kubelet report it. Pods, ReplicaSets, Endpoints, EndpointSlices and Nodes it owns outright;
Deployments', StatefulSets' and user-made pods' status it writes through /status. Each tick
decides (publish*.py, pure) and writes only the difference to what the API holds (the
informer's cache); a write that fails (the object changed meanwhile) is made again on the next
tick. Events go through a queue and a thread of their own, so they never hold up a tick."""

from __future__ import annotations

import json
import platform
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import AbstractSet

from ..k8s.applied import RUN_ANNOTATION
from ..k8s.client import ApiError
from ..k8s.reasons import Reason
from ..k8s.resources import BY_KEY, Resource, of_workload
from ..k8s.times import timestamp
from ..plan import quota, system_pods
from ..plan import slices as sl
from ..plan.endpoint_objects import endpoints_object, has_endpoints, slice_objects
from ..plan.ingress import status as ingress_status
from ..plan.workloads import ADOPTING_KINDS, owned_by
from ..runtime import machine
from .pod_annotations import with_kept_annotations
from .publish import (
    NODE_LEASE_NAMESPACE,
    NODE_LEASE_SECONDS,
    as_stored,
    diff,
    event_line,
    event_object,
    node_lease,
    node_object,
    status_left_behind,
    status_only,
)
from .publish_pods import PodFacts, made_at, owner_reference, pod_object, stored_labels
from .publish_workloads import controller_revisions, deployment_revision, replica_set_objects, workload_status

Key = tuple[str, str, str]
MANAGED_SLICES = "endpointslice-controller.k8s.io"


def now_text() -> str:
    return timestamp(time.time())


def micro_now() -> str:
    """metav1.MicroTime: RFC 3339 with microseconds, as a Lease's renewTime."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"


@dataclass
class Observed:
    """One tick's view, as plain data."""

    pods: list[tuple[PodFacts, dict]]  # facts and pod_status() of every pod the controller runs
    services: list[dict]
    workloads: list[dict]
    nodes: list = field(default_factory=list)  # plan.nodes.Node
    views: list = field(default_factory=list)  # plan.endpoints.PodView
    # (namespace, name) -> where the Ingress controller serves that Ingress's routes
    ingress_addresses: dict = field(default_factory=dict)


class Publisher:
    def __init__(self, api, informer, out=print, engine_version: str = ""):
        self.api, self.informer, self.out = api, informer, out
        self.engine_version = engine_version  # the nodes' CONTAINER-RUNTIME: docker://<version>
        self.events: queue.Queue = queue.Queue()
        self.created_pods: set[tuple[str, str]] = set()  # (ns, name) of pods this controller wrote
        self.own_deletions: set[str] = set()  # uids of pods it removed itself (not a user's deletion)
        self.events_written: dict[tuple, tuple[str, int, str]] = {}  # event key -> (name, count, first)
        self.node_created = now_text()
        self.leases_renewed: dict[str, float] = {}  # node name -> when its Lease was last written
        self.same: dict[str, dict] = {}  # resource key -> what diff found published (publish.diff)
        self.behind = False  # a write of this tick's publishing was refused (a conflict)

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True, name="publisher").start()

    def event(self, line: dict, namespace: str, uid: str = "", host: str = "") -> None:
        self.events.put((line, namespace, uid, host))

    def _scaled(self, rs: dict, before: int) -> None:
        """The deployment controller's event for a ReplicaSet whose replicas it changed."""
        after = rs["spec"].get("replicas", 0)
        owner = (rs["metadata"].get("ownerReferences") or [{}])[0]
        if after == before or not owner.get("name"):
            return
        line = event_line("Normal", f"deployment/{owner['name']}", Reason.SCALING_REPLICA_SET,
                          f"Scaled {'up' if after > before else 'down'} replica set {rs['metadata']['name']} "
                          f"from {before} to {after}")
        self.out(json.dumps(line))
        self.event(line, rs["metadata"].get("namespace", "default"), owner.get("uid", ""))

    # ---- the worker ----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                self._write_events(self.events.get())
            except Exception as exc:  # noqa: BLE001 - an API restarting: later events still go
                self.out(json.dumps({"type": "Warning", "message": f"writing an event failed: {exc!r}"}))
                time.sleep(0.5)

    def cached(self, res: Resource) -> dict[Key, dict]:
        objects, _, _ = self.informer.objects()
        return {(res.key, o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
                for o in objects if o.get("kind") == res.kind and o.get("apiVersion") == res.api_version}

    def publish(self, observed: Observed) -> bool:
        """Write what the tick observed; False when some write must wait for the next tick."""
        self.behind = False
        now = now_text()
        pods_res, rs_res = BY_KEY["pods"], BY_KEY["replicasets.apps"]
        cached_pods, cached_rs = self.cached(pods_res), self.cached(rs_res)
        # ReplicaSets first: their uids go into their pods' ownerReferences.
        pods = self._pod_objects(observed, cached_pods, cached_rs, now)
        desired_rs: dict[Key, dict] = {}
        for d in (w for w in observed.workloads if w["kind"] == "Deployment"):
            ns = d["metadata"].get("namespace", "default")
            previous = [o for k, o in cached_rs.items() if k[1] == ns and owned_by(o, d)]
            for rs in replica_set_objects(d, list(pods.values()), previous, now):
                rs["metadata"].setdefault("ownerReferences", [{}])[0]["uid"] = d["metadata"].get("uid", "")
                desired_rs[(rs_res.key, ns, rs["metadata"]["name"])] = rs
        written = self._sync(rs_res, desired_rs, {k: o for k, o in cached_rs.items() if _owner_kind(o) == "Deployment"})
        for key, rs in written.items():
            self._scaled(rs, ((cached_rs.get(key) or {}).get("spec") or {}).get("replicas", 0))
        cached_rs = {**self.cached(rs_res), **written}
        for pod in pods.values():
            _link_owner_uid(pod, cached_rs)
        # Ours; the user-made pods we run (whose status we write; never deleted here); and pods
        # whose deletion was asked for (removed once their containers are gone, as the kubelet does).
        mine = {k: o for k, o in cached_pods.items() if _ours(o) or (k[1], k[2]) in self.created_pods or k in pods
                or o["metadata"].get("deletionTimestamp")}
        written = self._sync(pods_res, pods, mine, grace_zero=True, keep=self._bare_pods(cached_pods))
        all_pods = list({**self.cached(pods_res), **written}.values())
        self._workload_status(observed.workloads, all_pods, now, observed.nodes)
        self._histories(observed.workloads, all_pods)
        self._endpoints(observed)
        self._dns_target(all_pods)
        self._nodes(observed.nodes, now)
        self._quotas()
        self._ingresses(observed.ingress_addresses)
        return not self.behind

    def _pod_objects(self, observed: Observed, cached_pods, cached_rs, now: str) -> dict[Key, dict]:
        out = {}
        for facts, status in observed.pods:
            key = ("pods", facts.namespace, facts.name)
            previous = cached_pods.get(key)
            obj = with_kept_annotations(pod_object(facts, status, now, previous), previous)
            # The labels as the API holds them now: one `kubectl label pod` wrote since the loop
            # looked is not written over.
            if (labels := stored_labels(previous, made_at(facts.planned, facts.created))) is not None:
                obj["metadata"]["labels"] = labels
            if facts.owner.startswith("Run/"):
                obj["metadata"].setdefault("annotations", {})[RUN_ANNOTATION] = "true"
            if previous is not None and not _ours(previous) and (facts.namespace, facts.name) not in self.created_pods:
                # a pod a user created through the API: its spec and metadata are the user's
                meta = previous["metadata"]
                if facts.owner_kind in ADOPTING_KINDS and not facts.released and not meta.get("ownerReferences"):
                    meta = {**meta, "ownerReferences": [owner_reference(facts)]}  # adopted (plan.workloads.adopter)
                obj = {**previous, "metadata": meta, "status": obj["status"],
                       "spec": {**previous.get("spec", {}), "nodeName": facts.node or None}}
                if not facts.node:
                    obj["spec"].pop("nodeName", None)
            out[key] = obj
        return out

    def _bare_pods(self, cached_pods: dict[Key, dict]) -> set[Key]:
        """User-made pods: never deleted here unless their deletion was asked for."""
        return {k for k, o in cached_pods.items() if not _ours(o) and (k[1], k[2]) not in self.created_pods
                and not o["metadata"].get("deletionTimestamp")}

    def _sync(self, res: Resource, desired: dict[Key, dict], published: dict[Key, dict],
              grace_zero: bool = False, keep: AbstractSet[Key] = frozenset()) -> dict[Key, dict]:
        """Write the difference; returns the objects as stored by the writes made."""
        written: dict[Key, dict] = {}
        for verb, key, obj in diff(desired, published, self.same.setdefault(res.key, {})):
            ns = key[1] or None
            try:
                if verb == "create":
                    if obj["metadata"].get("deletionTimestamp"):
                        continue  # a pod being stopped (its deletion asked for): not written again
                    if res.key == "pods" and self._deleted_by_someone(key):
                        continue  # deleted through the API since the loop looked: it stops it next
                    written[key] = self.api.create(res, obj)
                    if res.key == "pods":
                        self.created_pods.add((key[1], key[2]))
                elif verb == "update" and res.key == "pods" and obj["metadata"].get("deletionTimestamp") \
                        and not published[key]["metadata"].get("deletionTimestamp"):
                    # The loop began stopping it: a graceful delete, so the API shows it
                    # Terminating (the server sets deletionTimestamp); removed once stopped.
                    grace = (obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
                    self.api.delete(res, ns, key[2], gracePeriodSeconds=max(int(grace), 1))
                elif verb == "update":
                    written[key] = self._update(res, obj, published[key])
                elif key not in keep:
                    options = {"gracePeriodSeconds": 0} if grace_zero else {}
                    if res.key == "pods":
                        self.own_deletions.add(obj["metadata"].get("uid", ""))
                    self.api.delete(res, ns, key[2], **options)
                    if res.key == "pods":
                        self.created_pods.discard((key[1], key[2]))
            except ApiError as exc:
                if exc.code == 422:  # one object refused must not keep the others from being written
                    self.out(json.dumps({"type": "Warning", "message": f"publishing {key[0]} {key[2]}: {exc}"}))
                elif exc.code not in (404, 409):
                    raise
                self.behind = True  # written again on the next tick; `up` does not count this one
        return written

    def _deleted_by_someone(self, key: Key) -> bool:
        uid = self.informer.deleted_uid(BY_KEY["pods"], key[1], key[2])
        return uid is not None and uid not in self.own_deletions

    def _update(self, res: Resource, obj: dict, published: dict) -> dict:
        """PUT (status only through /status); on a conflict (our cache was behind) once more
        with the object as the server has it, unless someone changed more than its status: that
        change (a cordon, a label) is seen first, by the next tick, and not written over."""
        has_status = "status" in res.subresources
        sub = "status" if has_status and status_only(obj, published) else ""
        try:
            stored = self.api.update(res, obj, sub=sub)
        except ApiError as exc:
            if exc.code != 409:
                raise
            meta = obj["metadata"]
            current = self.api.get(res, meta.get("namespace") or None, meta["name"])
            if _beyond_status(published, current):
                raise  # _sync: written again on the next tick
            stored = self.api.update(res, {**obj, "metadata": {**meta, "resourceVersion":
                                                               current["metadata"]["resourceVersion"]}}, sub=sub)
        if has_status and not sub and (status := status_left_behind(obj, stored)) is not None:
            stored = self.api.update(res, {**stored, "status": status}, sub="status")
        return stored

    def _histories(self, workloads: list[dict], pods: list[dict]) -> None:
        """Each StatefulSet's and DaemonSet's ControllerRevisions (controller_revisions)."""
        res = BY_KEY["controllerrevisions.apps"]
        cached = self.cached(res)
        desired: dict[Key, dict] = {}
        published: dict[Key, dict] = {}  # those of the sets looked at (the collector takes a removed set's)
        for w in (w for w in workloads if w["kind"] in ("StatefulSet", "DaemonSet")):
            ns = w["metadata"].get("namespace", "default")
            current = self.informer.get(of_workload(w["kind"]), ns, w["metadata"]["name"])
            if current is None or not current["metadata"].get("uid"):
                continue  # its uid goes into their ownerReferences: the next tick
            previous = {k: o for k, o in cached.items() if k[1] == ns and owned_by(o, current)}
            published.update(previous)
            for cr in controller_revisions(current, pods, list(previous.values())):
                desired[(res.key, ns, cr["metadata"]["name"])] = cr
        self._sync(res, desired, published)

    def _workload_status(self, workloads: list[dict], pods: list[dict], now: str, nodes: list) -> None:
        for w in workloads:
            res = of_workload(w["kind"])
            meta = w["metadata"]
            current = self.informer.get(res, meta.get("namespace", "default"), meta["name"])
            if current is None:
                continue
            status = workload_status(current, pods, now, current.get("status"),
                                     observed_generation=current["metadata"].get("generation"), nodes=nodes)
            if status != current.get("status"):
                self._put_status(res, current, status)
            if w["kind"] == "Deployment":
                revision = deployment_revision([o for o in self.cached(BY_KEY["replicasets.apps"]).values()
                                                if owned_by(o, current)])
                annotations = current["metadata"].get("annotations") or {}
                if revision and annotations.get("deployment.kubernetes.io/revision") != revision:
                    body = {"metadata": {"annotations": {"deployment.kubernetes.io/revision": revision}}}
                    # Through status, as the Deployment controller writes it: the generation stays.
                    self._quiet(lambda: self.api.patch(res, meta.get("namespace", "default"), meta["name"], body,
                                                       sub="status", fieldManager="deployment-controller"))

    def _quotas(self) -> None:
        """Each ResourceQuota's status as the quota controller keeps it: hard, and what the
        namespace's objects use of it."""
        cached, _, _ = self.informer.objects()
        for q in (o for o in cached if o.get("kind") == "ResourceQuota"):
            status = quota.status(q, cached)  # quota.used takes only the quota's namespace and resources
            if status != q.get("status"):
                self._put_status(BY_KEY["resourcequotas"], q, status)

    def _ingresses(self, addresses: dict[tuple[str, str], str]) -> None:
        """Each Ingress's ADDRESS: the controller's, once it serves its routes (plan/ingress.py)."""
        res = BY_KEY["ingresses.networking.k8s.io"]
        for ing in self.cached(res).values():
            wanted = ingress_status(addresses.get((ing["metadata"].get("namespace") or "default",
                                                   ing["metadata"]["name"])))
            if ing.get("status") != wanted and not ing["metadata"].get("deletionTimestamp"):
                self._put_status(res, ing, wanted)

    def _put_status(self, res: Resource, current: dict, status: dict) -> None:
        body = {**current, "status": status}
        self._quiet(lambda: self.api.update(res, body, sub="status"))

    def _quiet(self, write) -> None:
        try:
            write()
        except ApiError as exc:
            if exc.code not in (404, 409):  # gone, or changed meanwhile: the next tick sees it
                raise
            self.behind = True

    def _endpoints(self, observed: Observed) -> None:
        ep_res, slice_res = BY_KEY["endpoints"], BY_KEY["endpointslices.discovery.k8s.io"]
        want_ep, want_slices = {}, {}
        for svc in filter(has_endpoints, observed.services):
            meta = svc["metadata"]
            ns = meta.get("namespace", "default")
            obj = endpoints_object(svc, observed.views)
            obj["metadata"].pop("creationTimestamp", None)
            want_ep[(ep_res.key, ns, meta["name"])] = obj
            for s in slice_objects(svc, observed.views):
                s["metadata"].pop("creationTimestamp", None)
                s["metadata"]["ownerReferences"][0]["uid"] = meta.get("uid", "")
                want_slices[(slice_res.key, ns, s["metadata"]["name"])] = s
        # Endpoints of a Service without a selector are someone else's (written by hand, or the
        # API server's for `kubernetes`): only those of selecting Services are ours to replace.
        services = {(s["metadata"].get("namespace", "default"), s["metadata"]["name"])
                    for s in observed.services if has_endpoints(s)}
        have_ep = {k: o for k, o in self.cached(ep_res).items() if (k[1], k[2]) in services or k in want_ep}
        # The mirroring controller's part: hand-written Endpoints of selectorless Services.
        by_name = {(s["metadata"].get("namespace", "default"), s["metadata"]["name"]): s for s in observed.services}
        for (_, ns, name), endpoints in self.cached(ep_res).items():
            if sl.mirrored(by_name.get((ns, name)), endpoints):
                want_slices.update({(slice_res.key, ns, s["metadata"]["name"]): s for s in sl.mirror_slices(endpoints)})
        have_slices = {k: o for k, o in self.cached(slice_res).items()
                       if (o["metadata"].get("labels") or {}).get(sl.MANAGED_BY) in (MANAGED_SLICES, sl.MIRRORING)}
        self._sync(ep_res, want_ep, have_ep)
        self._sync(slice_res, want_slices, have_slices)

    def _dns_target(self, pods: list[dict]) -> None:
        """kube-dns's Endpoints and EndpointSlice name CoreDNS's pod (the API server writes them
        before there is one, and its name changes whenever its container is replaced)."""
        pod = next((p for p in pods if system_pods.is_coredns_pod(p) and not p["metadata"].get("deletionTimestamp")),
                   None)
        if pod is None:
            return
        for res in (BY_KEY["endpoints"], BY_KEY["endpointslices.discovery.k8s.io"]):
            current = self.informer.get(res, system_pods.NAMESPACE, "kube-dns")
            if current is not None and (wanted := system_pods.targeted(current, pod)) != current:
                self._quiet(lambda res=res, wanted=wanted: self.api.update(res, wanted))

    def _nodes(self, nodes: list, now: str) -> None:
        res = BY_KEY["nodes"]
        cached = self.cached(res)
        want = {}
        for node in nodes:
            key = (res.key, "", node.name)
            previous = cached.get(key)
            created = (previous or {}).get("metadata", {}).get("creationTimestamp") or self.node_created
            obj = node_object(as_stored(node, previous), created=created, now=now, previous=previous,
                              docker_version=self.engine_version, kernel_version=platform.release(), cpu=machine.cpus(),
                              memory=machine.memory())
            if previous is not None:  # labels and annotations users added stay
                meta = obj["metadata"]
                meta["labels"] = {**(previous["metadata"].get("labels") or {}), **meta["labels"]}
                meta["annotations"] = {**(previous["metadata"].get("annotations") or {}), **meta["annotations"]}
            want[key] = obj
        written = self._sync(res, want, cached)
        self._leases(nodes, {**cached, **written})  # a node made now has its uid in what was written

    def _leases(self, nodes: list, stored: dict) -> None:
        """Each running node's Lease, renewed as its kubelet would (every quarter of its
        duration); a stopped node's is left to run out."""
        res = BY_KEY["leases.coordination.k8s.io"]
        clock = time.monotonic()
        for node in nodes:
            uid = ((stored.get((BY_KEY["nodes"].key, "", node.name)) or {}).get("metadata") or {}).get("uid")
            if node.stopped or not uid or clock - self.leases_renewed.get(node.name, -1e9) < NODE_LEASE_SECONDS / 4:
                continue
            lease = node_lease(node.name, uid, micro_now())
            try:
                try:
                    current = self.api.get(res, NODE_LEASE_NAMESPACE, node.name)
                except ApiError as exc:
                    if exc.code != 404:
                        raise
                    self.api.create(res, lease)
                else:
                    lease["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                    self.api.update(res, lease)
                self.leases_renewed[node.name] = clock
            except ApiError as exc:
                if exc.code not in (404, 409):  # renewed again next tick
                    raise

    def _write_events(self, item: tuple) -> None:
        """One Event per distinct event; a repeat counts up (as the event recorder does)."""
        res = BY_KEY["events"]
        line, namespace, uid, host = item
        key = tuple(line.get(k) for k in ("type", "object", "reason", "message")) + (namespace,)
        name, count, first = self.events_written.get(key, ("", 0, line.get("time", "")))
        obj = event_object(line, namespace, count=count + 1, first_time=first, uid=uid, host=host)
        if obj is None:
            return
        try:
            if name:
                current = self.api.get(res, namespace, name)
                current.update({k: obj[k] for k in ("count", "lastTimestamp", "message")})
                self.api.update(res, current)
            else:
                self.api.create(res, obj)
            # A repeat keeps counting on the Event written first (each line's own name differs).
            self.events_written[key] = (name or obj["metadata"]["name"], count + 1, first)
        except ApiError as exc:
            if exc.code not in (404, 409):
                raise
            self.events_written.pop(key, None)


def _beyond_status(before: dict, after: dict) -> bool:
    """Whether an object changed in its spec, labels or annotations (what users change)."""
    def owned(obj: dict) -> tuple:
        meta = obj.get("metadata") or {}
        return obj.get("spec"), meta.get("labels") or {}, meta.get("annotations") or {}
    return owned(before) != owned(after)


def _ours(obj: dict) -> bool:
    """A pod the controller made: it has an owner, or it is one `emukube run` made."""
    meta = obj.get("metadata") or {}
    return bool(meta.get("ownerReferences")) or (meta.get("annotations") or {}).get(RUN_ANNOTATION) == "true"


def _owner_kind(obj: dict) -> str:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or [{}]
    return refs[0].get("kind", "")


def _link_owner_uid(pod: dict, cached_rs: dict[Key, dict]) -> None:
    for ref in pod["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == "ReplicaSet" and not ref.get("uid"):
            rs = cached_rs.get(("replicasets.apps", pod["metadata"].get("namespace", "default"), ref["name"]))
            if rs is not None:
                ref["uid"] = rs["metadata"].get("uid", "")
