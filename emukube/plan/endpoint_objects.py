"""Endpoints and EndpointSlices as Kubernetes' controllers would publish them for each Service,
API-shaped, built from the pods the controller reports (views/endpoint_tables.py prints them).

Pods whose ports resolve alike share an Endpoints subset and an EndpointSlice (a named
targetPort may resolve to different container ports per pod).
"""

from __future__ import annotations

import hashlib

from . import endpoints as ep
from .workloads import safe_encode

Ports = tuple[tuple[str, int, str], ...]


def has_endpoints(svc: dict) -> bool:
    """The controllers publish endpoints for Services with a selector (ExternalName has none)."""
    return svc["spec"].get("type") != "ExternalName" and bool(svc["spec"].get("selector"))


def groups(svc: dict, rows: list[ep.EndpointRow]) -> list[tuple[Ports, list[ep.EndpointRow]]]:
    """Addresses by the ports they resolve to. A pod on which no Service port resolves is left
    out, unless the Service has no ports at all (headless)."""
    has_ports = bool(svc["spec"].get("ports"))
    found: dict[Ports, list[ep.EndpointRow]] = {}
    for row in rows:
        if has_ports and not row.ports:
            continue
        found.setdefault(tuple(sorted(row.ports)), []).append(row)
    return sorted(found.items())


def slice_name(svc: dict, ports: Ports = (), first: bool = True) -> str:
    """<service>-<5 characters>, like the EndpointSlice controller's generateName."""
    name = svc["metadata"]["name"]
    seed = name if first else f"{name}/{ports}"
    return f"{name}-{safe_encode(hashlib.sha256(seed.encode()).digest(), 5)}"


def slices(svc: dict, views: list[ep.PodView]) -> list[tuple[str, Ports, list[ep.EndpointRow]]]:
    """(name, ports, endpoints) of each EndpointSlice of the Service; at least one, maybe empty."""
    parts = groups(svc, ep.endpoint_rows(svc, views)) or [((), [])]
    return [(slice_name(svc, ports, i == 0), ports, rows) for i, (ports, rows) in enumerate(parts)]


def _target(svc: dict, row: ep.EndpointRow) -> dict:
    return {"kind": "Pod", "name": row.pod, "namespace": svc["metadata"].get("namespace", "default")}


def _address(svc: dict, row: ep.EndpointRow) -> dict:
    out: dict = {"ip": row.ip}
    if row.node:
        out["nodeName"] = row.node
    out["targetRef"] = _target(svc, row)
    return out


def _meta(svc: dict, name: str) -> dict:
    return {"name": name, "namespace": svc["metadata"].get("namespace", "default"),
            "creationTimestamp": svc["metadata"].get("creationTimestamp")}


def endpoints_object(svc: dict, views: list[ep.PodView]) -> dict:
    subsets = []
    for ports, rows in groups(svc, ep.endpoint_rows(svc, views)):
        subset = {"addresses": [_address(svc, r) for r in rows if r.ready],
                  "notReadyAddresses": [_address(svc, r) for r in rows if not r.ready and not r.terminating],
                  "ports": [{**({"name": n} if n else {}), "port": port, "protocol": proto}
                            for n, port, proto in ports]}
        subset = {k: v for k, v in subset.items() if v}
        if subset.get("addresses") or subset.get("notReadyAddresses"):
            subsets.append(subset)
    obj = {"apiVersion": "v1", "kind": "Endpoints", "metadata": _meta(svc, svc["metadata"]["name"])}
    if subsets:
        obj["subsets"] = subsets
    return obj


def slice_objects(svc: dict, views: list[ep.PodView]) -> list[dict]:
    out = []
    for name, ports, rows in slices(svc, views):
        meta = _meta(svc, name)
        meta["labels"] = {"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                          "kubernetes.io/service-name": svc["metadata"]["name"]}
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Service", "name": svc["metadata"]["name"],
                                    "controller": True, "blockOwnerDeletion": True}]
        endpoints = []
        for r in rows:
            item = {"addresses": [r.ip],
                    "conditions": {"ready": r.ready, "serving": r.serving, "terminating": r.terminating}}
            if r.node:
                item["nodeName"] = r.node
            item["targetRef"] = _target(svc, r)
            endpoints.append(item)
        obj = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": meta,
               "addressType": "IPv4", "endpoints": endpoints}
        if ports:
            obj["ports"] = [{"name": n, "port": port, "protocol": proto} for n, port, proto in ports]
        out.append(obj)
    return out
