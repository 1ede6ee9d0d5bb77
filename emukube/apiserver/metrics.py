"""The resource metrics API (metrics.k8s.io/v1beta1) that `kubectl top` reads, as metrics-server
serves it: PodMetrics per container and NodeMetrics, from the engine's container stats.

CPU is a rate: the engine's stats call samples a container's cumulative CPU time twice, about a
second apart, and the difference over the time between is in nanocores ("123456n", as
metrics-server writes it). Memory is the working set as cAdvisor counts it: usage less the
inactive file cache. A node's usage is its pods' containers' and its own proxy's; the cluster's
own containers (controller, DNS, Service proxies) count towards the control-plane node."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from typing import Awaitable, Callable

from aiohttp import web

from ..k8s.resources import find
from ..k8s.times import go_duration
from . import errors, negotiate
from .handlers import respond
from .objects import now_iso
from .selectors import fields_match, labels_match, parse_fields, parse_labels

GROUP, VERSION = "metrics.k8s.io", "v1beta1"
GROUP_VERSION = f"{GROUP}/{VERSION}"
_RESOURCES = [
    {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics", "verbs": ["get", "list"]},
    {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics", "verbs": ["get", "list"]},
]
_CONCURRENT_STATS = 16  # each stats call holds an engine connection for about a second
_CONTROL_PLANE = "node-role.kubernetes.io/control-plane"

# (container summaries as the engine lists them) and (one container's stats) -- the engine's calls
Containers = Callable[[], Awaitable[list[dict]]]
Stats = Callable[[str], Awaitable[dict]]


# ---- quantities -------------------------------------------------------------------------------
def cpu_quantity(nanocores: int) -> str:
    """A decimal quantity in its canonical form: 1 core is "1", 2 millicores "2m"."""
    for suffix, unit in (("", 10 ** 9), ("m", 10 ** 6), ("u", 10 ** 3)):
        if nanocores % unit == 0:
            return f"{nanocores // unit}{suffix}"
    return f"{nanocores}n"


def memory_quantity(size: int) -> str:
    """A binary quantity in its canonical form: "75268Ki", "73Mi"."""
    for suffix, unit in (("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if size and size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)


def working_set(memory_stats: dict) -> int:
    stats = memory_stats.get("stats") or {}
    inactive = stats.get("total_inactive_file", stats.get("inactive_file", 0))  # cgroup v1, v2
    return max(0, int(memory_stats.get("usage") or 0) - int(inactive or 0))


def _nanos(text: str) -> int:
    """Nanoseconds since the epoch of the engine's RFC 3339 time (integers: a float loses them)."""
    base, _, frac = text.rstrip("Z").partition(".")
    seconds = int(datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp())
    return seconds * 10 ** 9 + int((frac[:9] or "0").ljust(9, "0"))


def usage(stats: dict) -> dict | None:
    """{cpu (nanocores), memory (bytes), window (ns), time} from one stats answer; None while the
    engine has no earlier sample to measure CPU against."""
    now, before = stats.get("cpu_stats") or {}, stats.get("precpu_stats") or {}
    total = (now.get("cpu_usage") or {}).get("total_usage")
    previous = (before.get("cpu_usage") or {}).get("total_usage")
    if total is None or previous is None or stats.get("preread", "0001-").startswith("0001-"):  # no sample yet
        return None
    window = _nanos(stats["read"]) - _nanos(stats["preread"])
    if window <= 0:
        return None
    return {"cpu": max(0, total - previous) * 10 ** 9 // window, "memory": working_set(stats.get("memory_stats") or {}),
            "window": window, "time": stats["read"].split(".")[0].rstrip("Z") + "Z"}


# ---- objects ----------------------------------------------------------------------------------
def _meta(obj: dict) -> dict:
    meta = obj["metadata"]
    out = {"name": meta["name"], "creationTimestamp": now_iso()}
    if meta.get("namespace"):
        out["namespace"] = meta["namespace"]
    if meta.get("labels"):
        out["labels"] = dict(meta["labels"])
    return out


def pod_metrics(pod: dict, containers: list[tuple[str, dict]]) -> dict:
    """containers: (name in the pod spec, usage) of its running app containers."""
    windows = [u["window"] for _, u in containers]
    return {"kind": "PodMetrics", "apiVersion": GROUP_VERSION, "metadata": _meta(pod),
            "timestamp": max(u["time"] for _, u in containers), "window": go_duration(max(windows)),
            "containers": [{"name": name,
                            "usage": {"cpu": cpu_quantity(u["cpu"]), "memory": memory_quantity(u["memory"])}}
                           for name, u in sorted(containers, key=lambda c: c[0])]}


def node_metrics(node: dict, usages: list[dict]) -> dict:
    return {"kind": "NodeMetrics", "apiVersion": GROUP_VERSION, "metadata": _meta(node),
            "timestamp": max(u["time"] for u in usages), "window": go_duration(max(u["window"] for u in usages)),
            "usage": {"cpu": cpu_quantity(sum(u["cpu"] for u in usages)),
                      "memory": memory_quantity(sum(u["memory"] for u in usages))}}


def _cells(obj: dict) -> list:
    parts = obj.get("containers") or [obj]
    return [obj["metadata"]["name"], cpu_quantity(sum(_nanocores(p["usage"]["cpu"]) for p in parts)),
            memory_quantity(sum(_bytes(p["usage"]["memory"]) for p in parts)), obj["window"]]


def _nanocores(quantity: str) -> int:
    scale = {"n": 1, "u": 10 ** 3, "m": 10 ** 6}.get(quantity[-1:])
    return int(quantity[:-1]) * scale if scale else int(quantity) * 10 ** 9


def _bytes(quantity: str) -> int:
    scale = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}.get(quantity[-2:])
    return int(quantity[:-2]) * scale if scale else int(quantity)


def as_table(result: dict, want) -> dict:
    """metrics-server's Table: Name, cpu, memory (a pod's containers summed), Window."""
    from .tables import row_object

    items = result["items"] if "items" in result else [result]
    columns = [{"name": "Name", "type": "string", "format": "name", "description": "Name of the resource",
                "priority": 0},
               *({"name": n, "type": "string", "format": "quantity", "description": "", "priority": 0}
                 for n in ("cpu", "memory")),
               {"name": "Window", "type": "string", "format": "duration", "description": "", "priority": 0}]
    return {"kind": "Table", "apiVersion": want.group_version, "metadata": {},
            "columnDefinitions": columns if items else [],
            "rows": [{"cells": _cells(o), "object": row_object(o, want.include, want.group_version)} for o in items]}


def _listed(kind: str, items: list[dict]) -> dict:
    return {"kind": f"{kind}List", "apiVersion": GROUP_VERSION, "metadata": {}, "items": items}


def _not_found(resource: str, name: str) -> errors.ApiError:
    """metrics-server's answer for an object that exists but has no metrics (yet)."""
    return errors.ApiError(404, "NotFound", f'{resource}.{GROUP} "{name}" not found',
                           {"name": name, "group": GROUP, "kind": resource})


# ---- the engine -------------------------------------------------------------------------------
def _engine_calls() -> tuple[Containers, Stats]:
    import json
    from urllib.parse import quote

    from ..runtime.engine_stream import engine

    cluster = os.environ.get("EMUKUBE_CLUSTER", "")
    filters = quote(json.dumps({"label": [f"emukube.io/cluster={cluster}"], "status": ["running"]}))

    async def containers() -> list[dict]:
        return await engine().call("GET", f"/containers/json?filters={filters}")

    async def stats(container_id: str) -> dict:
        return await engine().call("GET", f"/containers/{container_id}/stats?stream=false")

    return containers, stats


class Metrics:
    """Reads usage at each request (metrics-server keeps a last scrape; the engine's own two
    samples serve here): nothing runs between requests."""

    def __init__(self, registry, containers: Containers | None = None, stats: Stats | None = None):
        self.registry = registry
        if containers is None or stats is None:
            containers, stats = _engine_calls()
        self._containers, self._stats = containers, stats

    async def _sample(self) -> list[tuple[dict, dict]]:
        """(the engine's labels, usage) of every running container of the cluster."""
        try:
            listed = await self._containers()
        except Exception as exc:  # no engine: what the aggregator says of an unavailable metrics-server
            raise errors.ApiError(503, "ServiceUnavailable", "the server is currently unable to handle the request",
                                  {"causes": [{"reason": "UnexpectedServerResponse", "message": str(exc)}]}) from None
        gate = asyncio.Semaphore(_CONCURRENT_STATS)

        async def one(c: dict):
            async with gate:
                try:
                    found = usage(await self._stats(c["Id"]))
                except Exception:  # gone since listed: as metrics-server skips a failed scrape
                    return None
            return (c.get("Labels") or {}, found) if found else None

        return [r for r in await asyncio.gather(*(one(c) for c in listed)) if r]

    async def pods(self, namespace: str | None, name: str | None, query) -> dict:
        res = find("", "v1", "pods")
        if name is not None:
            pods = [self.registry.must_get(res, namespace, name)]
        else:
            pods = self.registry.list(res, namespace)[0]
            reqs, fields = parse_labels(query.get("labelSelector")), parse_fields(query.get("fieldSelector"), "pods")
            pods = [p for p in pods if labels_match(reqs, p) and fields_match(fields, p)]
        samples = await self._sample() if pods else []
        by_pod: dict[tuple[str, str], list[tuple[str, dict]]] = {}
        for labels, found in samples:
            if labels.get("emukube.io/role") in ("pod", "app"):
                key = (labels.get("emukube.io/namespace", ""), labels.get("emukube.io/name", ""))
                by_pod.setdefault(key, []).append((labels.get("emukube.io/container", ""), found))
        items = [pod_metrics(p, by_pod[k]) for p in pods
                 if (p.get("status") or {}).get("phase") == "Running"
                 and (k := (p["metadata"].get("namespace", ""), p["metadata"]["name"])) in by_pod]
        if name is not None:
            if not items:
                raise _not_found("podmetrics", f"{namespace}/{name}")
            return items[0]
        return _listed("PodMetrics", items)

    async def nodes(self, name: str | None, query) -> dict:
        res = find("", "v1", "nodes")
        every = self.registry.list(res, None)[0]
        if name is not None:
            nodes = [self.registry.must_get(res, None, name)]
        else:
            reqs = parse_labels(query.get("labelSelector"))
            nodes = [n for n in every if labels_match(reqs, n)]
        samples = await self._sample() if nodes else []
        control = next((n["metadata"]["name"] for n in every if _CONTROL_PLANE in (n["metadata"].get("labels") or {})),
                       None)
        by_node: dict[str, list[dict]] = {}
        for labels, found in samples:
            node = labels.get("emukube.io/node") or (control if labels.get("emukube.io/role") != "pod" else None)
            if node:
                by_node.setdefault(node, []).append(found)
        items = [node_metrics(n, by_node[n["metadata"]["name"]]) for n in nodes if n["metadata"]["name"] in by_node]
        if name is not None:
            if not items:
                raise _not_found("nodemetrics", name)
            return items[0]
        return _listed("NodeMetrics", items)


# ---- HTTP -------------------------------------------------------------------------------------
def group() -> dict:
    version = {"groupVersion": GROUP_VERSION, "version": VERSION}
    return {"name": GROUP, "versions": [version], "preferredVersion": version}


def register(app: web.Application, registry, **engine) -> None:
    """Routes under /apis/metrics.k8s.io, ahead of the API's catch-all; discovery lists the group."""
    metrics: Metrics | None = None

    async def handle(request: web.Request) -> web.Response:
        nonlocal metrics
        if request.method != "GET":
            raise errors.method_not_allowed()
        segs = [s for s in request.path.split("/") if s][2:]  # after apis/metrics.k8s.io
        if not segs:
            return respond({"kind": "APIGroup", "apiVersion": "v1", **group()})
        if segs[0] != VERSION:
            raise errors.no_such_path()
        rest = segs[1:]
        if not rest:
            return respond({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP_VERSION,
                            "resources": _RESOURCES})
        if metrics is None:
            metrics = Metrics(registry, **engine)
        if rest[0] == "nodes" and len(rest) <= 2:
            result = await metrics.nodes(rest[1] if len(rest) == 2 else None, request.query)
        elif rest[0] == "pods" and len(rest) == 1:
            result = await metrics.pods(None, None, request.query)
        elif rest[0] == "namespaces" and len(rest) in (3, 4) and rest[2] == "pods":
            result = await metrics.pods(rest[1], rest[3] if len(rest) == 4 else None, request.query)
        else:
            raise errors.no_such_path()
        want = negotiate.wanted(request.headers.get("Accept"), request.query.get("includeObject"))
        return respond(as_table(result, want) if want.form == "table" else result)

    app.router.add_route("*", f"/apis/{GROUP}", handle)
    app.router.add_route("*", f"/apis/{GROUP}/{{tail:.*}}", handle)
