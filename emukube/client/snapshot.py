"""A read-only view of a running cluster for `explain`, `doctor` and the Python API: the applied
objects and the pods' labels from the API server, pods from their containers, readiness from
the controller's status report."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from ..controllers.publish_pods import made_at, stored_labels
from ..errors import EmukubeError
from ..k8s.keys import PodKey, object_key
from ..k8s.resources import BY_KEY
from ..lifecycle import connection as cluster_api
from ..lifecycle.ops import State, read_state, read_status, require, settings_of
from ..plan import endpoints as ep
from ..plan.nodes import Node, plan_nodes
from ..runtime import engine
from ..runtime import labels as L
from ..runtime.podspec import container_ports
from ..runtime.report import Report


@dataclass
class PodRow:
    name: str
    namespace: str
    ip: str
    labels: dict
    spec: dict
    owner: str
    ready: bool
    phase: str
    restarts: int
    created: float
    containers: int
    reason: str = ""
    holder_name: str = ""
    node: str = ""

    def view(self) -> ep.PodView:
        return ep.PodView(name=self.name, namespace=self.namespace, ip=self.ip, labels=self.labels,
                          ready=self.ready, terminating=self.phase == "Terminating",
                          container_ports=container_ports(self.spec),
                          hostname=self.spec.get("hostname") or self.name,
                          subdomain=self.spec.get("subdomain") or "", node=self.node)


def _created(attrs: dict) -> float:
    return engine.docker_time(attrs.get("Created", "")) or time.time()


class Snapshot:
    def __init__(self, client, cluster: str, pods: bool = True, kinds: tuple[str, ...] | None = None):
        """`pods=False`: the objects alone, no pod rows nor the controller's report (every
        container listed and inspected, the report copied out: 0.1-0.2 s that `up` spent after
        the cluster converged, to print its Services). `kinds`: only these resources' objects
        (k8s.resources keys), as read_state takes them."""
        self.client = client
        self.state: State = require(read_state(client, cluster, kinds))
        self.status = (read_status(client, cluster) or Report()) if pods else Report()
        self.pods = self._pods() if pods else []

    @property
    def objects(self) -> list[dict]:
        return self.state.objects

    def of_kind(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o["kind"] == kind]

    def _pods(self) -> list[PodRow]:
        found = engine.containers(self.client, self.state.cluster)
        apps: dict[PodKey, int] = {}
        for c in found:
            if c.labels.get(L.ROLE) in (L.Role.POD, L.Role.APP):
                pod = object_key(c.labels.get(L.NAMESPACE), c.labels.get(L.NAME, ""))
                apps[pod] = apps.get(pod, 0) + 1
        rows = []
        reported = self.status.pods
        stored = self._stored_pods()
        for c in found:
            if c.labels.get(L.ROLE) not in L.ROLES_POD:
                continue
            ns, name = c.labels.get(L.NAMESPACE, "default"), c.labels.get(L.NAME, "")
            info = reported.get(object_key(ns, name), {})
            running = c.status == "running"
            phase = info.get("phase") or ("Running" if running else c.status.capitalize())
            rows.append(PodRow(
                name=name, namespace=ns,
                ip=engine.ip_on(c.attrs, self.state.net.network_name) if self.state.net else "",
                labels=stored_labels(stored.get(object_key(ns, name)),
                                     made_at(L.planned_of(c.labels), c.attrs.get("Created")))
                or L.pod_labels_of(c.labels), spec=json.loads(c.labels.get(L.POD_SPEC) or "{}"),
                owner=c.labels.get(L.OWNER, ""), ready=bool(info.get("ready")) and running, phase=phase,
                restarts=int(info.get("restarts", c.attrs.get("RestartCount", 0))), created=_created(c.attrs),
                containers=apps.get(object_key(ns, name), 1), reason=info.get("reason", ""), holder_name=c.name,
                node=c.labels.get(L.NODE) or "node-1",
            ))
        return sorted(rows, key=lambda r: (r.namespace, r.name))

    def _stored_pods(self) -> dict[PodKey, dict]:
        """The API's pods: their labels are the user's to change (`kubectl label pod`), and
        what Services select; none when the API cannot be read (the containers' labels then)."""
        if self.state.controller is None:
            return {}
        try:
            items = cluster_api.client_for(self.state.controller).list(BY_KEY["pods"]).get("items", [])
        except (EmukubeError, OSError, ValueError):
            return {}
        return {object_key(p["metadata"].get("namespace"), p["metadata"]["name"]): p for p in items}

    @property
    def nodes(self) -> list[Node]:
        settings = settings_of(self.state.controller) if self.state.controller is not None else {}
        assert self.state.net is not None
        return plan_nodes(self.state.net, settings.get("nodes", 1), self.objects,
                          settings.get("address", "127.0.0.1"))

    def views(self) -> list[ep.PodView]:
        return [p.view() for p in self.pods]

    def find(self, kind: str, name: str, namespace: str) -> dict | None:
        for o in self.objects:
            if o["kind"] == kind and o["metadata"]["name"] == name and \
                    o["metadata"].get("namespace", "default") == namespace:
                return o
        return None
