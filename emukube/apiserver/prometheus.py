"""The API server's own /metrics, in Prometheus' text format, under kube-apiserver's names:
`kubectl get --raw /metrics`, and what a Prometheus scraping the API server reads.

Served: apiserver_request_total and apiserver_request_duration_seconds (per verb, group,
version, resource, subresource, scope, component, dry run; the total per HTTP code too),
apiserver_current_inflight_requests, apiserver_longrunning_requests, apiserver_storage_objects
and the process_* metrics a Prometheus client library exports. kube-apiserver's many others
(etcd, admission, watch cache, Go runtime) have no counterpart here and are left out.
/metrics is authorized as kube-apiserver authorizes it: a non-resource URL (cluster-admin and
system:monitoring may get it; a ServiceAccount needs a ClusterRole that grants it)."""

from __future__ import annotations

import bisect
import os
import resource as rusage
import time
from collections import defaultdict
from typing import Callable

from aiohttp import web

from ..k8s.resources import find
from .rbac import Attributes
from .request_info import of_request

PATH = "/metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# kube-apiserver's buckets for apiserver_request_duration_seconds.
BUCKETS = (0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0,
           20.0, 30.0, 45.0, 60.0)
# The metrics verb: the HTTP method, named as kube-apiserver's metrics name it (CleanVerb).
_VERBS = {"list": "LIST", "watch": "WATCH", "get": "GET", "create": "POST", "update": "PUT", "patch": "PATCH",
          "delete": "DELETE", "deletecollection": "DELETE", "proxy": "CONNECT"}
_LONG_RUNNING = ("WATCH", "CONNECT")
_CONNECTS = ("exec", "attach", "portforward", "proxy")
# Subresources served beside a resource's own (status, scale): the labels name only these, so a
# client asking for made-up paths cannot grow the series without bound.
_SUBRESOURCES = (*_CONNECTS, "log", "eviction", "binding", "token", "ephemeralcontainers", "resize", "finalize")
_MUTATING = ("POST", "PUT", "PATCH", "DELETE", "APPLY")
_LABELS = ("component", "dry_run", "group", "resource", "scope", "subresource", "verb", "version")
_PROCESS_START = time.time()

Labels = tuple[str, ...]  # values in _LABELS' order


def request_labels(attrs: Attributes, method: str, query, content_type: str) -> Labels:
    """A request's labels, as kube-apiserver's metrics give them (MonitorRequest); `attrs`: what
    request_info read of it."""
    served = find(attrs.group, attrs.version, attrs.resource) if attrs.resource_request else None
    if served is None:  # a non-resource URL, or a resource not served: counted by method alone
        return ("apiserver", "", "", "", "", "", method.upper(), "")
    subresource = attrs.subresource if attrs.subresource in (*served.subresources, *_SUBRESOURCES) else ""
    verb = _VERBS.get(attrs.verb, method.upper())
    if subresource in _CONNECTS and method.upper() in ("GET", "POST"):
        verb = "CONNECT"
    elif verb == "PATCH" and content_type.startswith("application/apply-patch"):
        verb = "APPLY"
    scope = "resource" if attrs.name else "namespace" if attrs.namespace else "cluster"
    dry_run = "All" if "All" in query.getall("dryRun", []) else ""
    return ("apiserver", dry_run, attrs.group, attrs.resource, scope, subresource, verb, attrs.version)


class Recorder:
    """The counts, kept in this process (they start again with it, as kube-apiserver's do)."""

    def __init__(self, storage_counts: Callable[[], dict[str, int]]):
        self.storage_counts = storage_counts
        self.totals: dict[tuple[Labels, str], int] = defaultdict(int)
        self.buckets: dict[Labels, list[int]] = {}
        self.sums: dict[Labels, float] = defaultdict(float)
        self.inflight = {"readOnly": 0, "mutating": 0}
        self.long_running: dict[Labels, int] = defaultdict(int)

    def middleware(self):
        @web.middleware
        async def measure(request: web.Request, handler):
            labels = request_labels(of_request(request), request.method, request.query,
                                    request.headers.get("Content-Type", ""))
            kind = "mutating" if labels[6] in _MUTATING else "readOnly"
            long = labels[6] in _LONG_RUNNING
            if long:
                self.long_running[labels] += 1
            else:
                self.inflight[kind] += 1
            start, code = time.monotonic(), 500
            try:
                response = await handler(request)
                code = response.status
                return response
            except web.HTTPException as exc:
                code = exc.status
                raise
            finally:
                if long:
                    self.long_running[labels] -= 1
                else:
                    self.inflight[kind] -= 1
                self.observe(labels, str(code), time.monotonic() - start)
        return measure

    def observe(self, labels: Labels, code: str, seconds: float) -> None:
        self.totals[(labels, code)] += 1
        counts = self.buckets.setdefault(labels, [0] * (len(BUCKETS) + 1))
        counts[bisect.bisect_left(BUCKETS, seconds)] += 1  # le: a bucket counts what is <= its bound
        self.sums[labels] += seconds

    def text(self) -> str:
        out: list[str] = []
        family(out, "apiserver_request_total", "counter", "[STABLE] Counter of apiserver requests broken out for "
               "each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
               [(_pairs(labels, code=code), str(n)) for (labels, code), n in sorted(self.totals.items())])
        out += _histogram("apiserver_request_duration_seconds", "[STABLE] Response latency distribution in seconds "
                          "for each verb, dry run value, group, version, resource, subresource, scope and component.",
                          self.buckets, self.sums)
        family(out, "apiserver_current_inflight_requests", "gauge", "[STABLE] Maximal number of currently used "
               "inflight request limit of this apiserver per request kind in last second.",
               [(f'{{request_kind="{k}"}}', str(v)) for k, v in sorted(self.inflight.items())])
        family(out, "apiserver_longrunning_requests", "gauge", "[STABLE] Gauge of all active long-running apiserver "
               "requests broken out by verb, group, version, resource, scope and component. Not all requests are "
               "tracked this way.", [(_pairs(labels), str(n)) for labels, n in sorted(self.long_running.items())])
        family(out, "apiserver_storage_objects", "gauge", "[STABLE] Number of stored objects at the time of last "
               "check split by kind. In case of a fetching error, the value will be -1.",
               [(f'{{resource="{r}"}}', str(n)) for r, n in sorted(self.storage_counts().items())])
        out += process_metrics()
        return "\n".join(out) + "\n"


def family(out: list[str], name: str, kind: str, help_text: str, samples: list[tuple[str, str]]) -> None:
    out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    out += [f"{name}{labels} {value}" for labels, value in samples]


def _pairs(labels: Labels, **more: str) -> str:
    pairs = dict(zip(_LABELS, labels), **more)
    return "{" + ",".join(f'{k}="{_escaped(v)}"' for k, v in sorted(pairs.items())) + "}"


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _histogram(name: str, help_text: str, buckets: dict[Labels, list[int]], sums: dict[Labels, float]) -> list[str]:
    out = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
    for labels, counts in sorted(buckets.items()):
        running = 0
        for bound, n in zip((*[_number(b) for b in BUCKETS], "+Inf"), counts):
            running += n
            out.append(f"{name}_bucket{_pairs(labels, le=bound)} {running}")
        out.append(f"{name}_sum{_pairs(labels)} {sums[labels]!r}")
        out.append(f"{name}_count{_pairs(labels)} {running}")
    return out


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def process_metrics() -> list[str]:
    """What client_golang's process collector exports, from this process's /proc entry."""
    used = rusage.getrusage(rusage.RUSAGE_SELF)
    out: list[str] = []
    family(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
           [("", repr(used.ru_utime + used.ru_stime))])
    try:
        with open("/proc/self/statm") as f:
            pages = f.read().split()
        family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
               [("", str(int(pages[1]) * os.sysconf("SC_PAGE_SIZE")))])
        family(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
               [("", str(int(pages[0]) * os.sysconf("SC_PAGE_SIZE")))])
        family(out, "process_open_fds", "gauge", "Number of open file descriptors.",
               [("", str(len(os.listdir("/proc/self/fd"))))])
    except OSError:  # not Linux: the CPU and start time alone
        pass
    family(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
           [("", repr(_PROCESS_START))])
    return out


def register(app: web.Application, recorder: Recorder) -> None:
    async def serve(_request: web.Request) -> web.Response:
        return web.Response(body=recorder.text().encode(), headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get(PATH, serve)
