"""`emukube get endpoints|endpointslices` as tables: kubectl's columns plus NOT-READY, so that a
failing readiness probe shows where the address went."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..k8s.times import age
from ..plan import endpoints as ep
from ..plan.endpoint_objects import groups, has_endpoints, slices

if TYPE_CHECKING:
    from ..client.snapshot import Snapshot

SHOWN = 3  # addresses a table cell lists before "+ N more...", as kubectl does


def _cell(items: list[str], empty: str) -> str:
    if not items:
        return empty
    more = f" + {len(items) - SHOWN} more..." if len(items) > SHOWN else ""
    return ",".join(items[:SHOWN]) + more


def _ns_column(svc: dict, namespaced: bool) -> list[str]:
    return [svc["metadata"].get("namespace", "default")] if namespaced else []


def _addresses(parts, ready: bool) -> list[str]:
    """ip:port for each port, then each address, as kubectl's formatEndpoints lists them.
    Terminating pods are not in Endpoints (unless publishNotReadyAddresses makes them ready)."""
    out = []
    for ports, rows in parts:
        shown = [r for r in rows if r.ready == ready and (r.ready or not r.terminating)]
        for port in [p[1] for p in ports] or [None]:
            out += [r.ip if port is None else f"{r.ip}:{port}" for r in shown]
    return out


def endpoints_table(snap: Snapshot, services: list[dict], namespaced: bool = False) -> list[list[str]]:
    rows = [(["NAMESPACE"] if namespaced else []) + ["NAME", "ENDPOINTS", "NOT-READY", "AGE"]]
    views = snap.views()
    for svc in filter(has_endpoints, services):
        parts = groups(svc, ep.endpoint_rows(svc, views))
        rows.append(_ns_column(svc, namespaced) + [
            svc["metadata"]["name"], _cell(_addresses(parts, True), "<none>"),
            _cell(_addresses(parts, False), "<none>"), age(svc["metadata"].get("creationTimestamp"))])
    return rows


def slices_table(snap: Snapshot, services: list[dict], namespaced: bool = False,
                 name: str | None = None) -> list[list[str]]:
    """`name` may be a slice's name or its Service's."""
    rows = [(["NAMESPACE"] if namespaced else []) + ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "NOT-READY", "AGE"]]
    views = snap.views()
    for svc in filter(has_endpoints, services):
        for slice_, ports, found in slices(svc, views):
            if name not in (None, slice_, svc["metadata"]["name"]):
                continue
            rows.append(_ns_column(svc, namespaced) + [
                slice_, "IPv4", _cell([str(p[1]) for p in ports], "<unset>"),
                _cell([r.ip for r in found], "<unset>"), _cell([r.ip for r in found if not r.ready], "<none>"),
                age(svc["metadata"].get("creationTimestamp"))])
    return rows
