"""The endpoints of a Service without a selector, as kube-proxy and CoreDNS read them: from the
EndpointSlices labelled with its name, which users write by hand or the EndpointSlice
mirroring controller makes from hand-written Endpoints. Pure."""

from __future__ import annotations

import hashlib

from ..k8s.names import LAST_APPLIED
from .types import Backend, DnsEndpoint, ServicePort
from .workloads import safe_encode

SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
MIRRORING = "endpointslicemirroring-controller.k8s.io"
SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"
LEADER_ELECTION = "control-plane.alpha.kubernetes.io/leader"
# Annotations the mirroring controller does not copy onto its slices.
NOT_COPIED = ("endpoints.kubernetes.io/last-change-trigger-time", LAST_APPLIED)


def by_service(objects: list[dict]) -> dict[tuple[str, str], list[dict]]:
    """EndpointSlices by (namespace, the Service their label names); none of the mirroring
    controller's (the caller mirrors the Endpoints afresh: the slices written lag a tick)."""
    out: dict[tuple[str, str], list[dict]] = {}
    for obj in objects:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if obj.get("kind") != "EndpointSlice" or not labels.get(SERVICE_NAME) or labels.get(MANAGED_BY) == MIRRORING:
            continue
        out.setdefault((obj["metadata"].get("namespace", "default"), labels[SERVICE_NAME]), []).append(obj)
    return out


def mirrored(svc: dict | None, endpoints: dict | None) -> bool:
    """Whether the mirroring controller mirrors these Endpoints: its Service exists without a
    selector, and they are not marked skip-mirror (the API server's own) nor a leader lock."""
    if svc is None or endpoints is None or (svc.get("spec") or {}).get("selector"):
        return False
    meta = endpoints.get("metadata") or {}
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    return labels.get(SKIP_MIRROR) != "true" and LEADER_ELECTION not in annotations


def _endpoint(address: dict, ready: bool) -> dict:
    out: dict = {"addresses": [address["ip"]], "conditions": {"ready": ready}}
    for key in ("hostname", "nodeName", "targetRef"):
        if address.get(key):
            out[key] = address[key]
    return out


def mirror_slices(endpoints: dict) -> list[dict]:
    """The EndpointSlices the mirroring controller makes of an Endpoints object: one per set of
    ports, holding its addresses ready and its notReadyAddresses not ready."""
    meta = endpoints["metadata"]
    ns, name = meta.get("namespace", "default"), meta["name"]
    groups: dict[tuple, list[dict]] = {}
    for subset in endpoints.get("subsets") or []:
        ports = tuple(sorted((p.get("name") or "", int(p["port"]), p.get("protocol") or "TCP", p.get("appProtocol"))
                             for p in subset.get("ports") or []))
        found = groups.setdefault(ports, [])
        found += [_endpoint(a, True) for a in subset.get("addresses") or []]
        found += [_endpoint(a, False) for a in subset.get("notReadyAddresses") or []]
    out = []
    for ports, items in sorted(groups.items()):
        labels = {**(meta.get("labels") or {}), SERVICE_NAME: name, MANAGED_BY: MIRRORING}
        annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in NOT_COPIED}
        suffix = safe_encode(hashlib.sha256(f"{ns}/{name}/{ports}".encode()).digest(), 5)
        slice_meta = {"name": f"{name}-{suffix}", "namespace": ns, "labels": labels,
                      "ownerReferences": [{"apiVersion": "v1", "kind": "Endpoints", "name": name,
                                           "uid": meta.get("uid", ""), "controller": True,
                                           "blockOwnerDeletion": True}]}
        if annotations:
            slice_meta["annotations"] = annotations
        out.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": slice_meta,
                    "addressType": "IPv4", "endpoints": items,
                    "ports": [{"name": n, "port": p, "protocol": proto, **({"appProtocol": a} if a else {})}
                              for n, p, proto, a in ports]})
    return out


def conditions(endpoint: dict) -> tuple[bool, bool, bool]:
    """(ready, serving, terminating) as kube-proxy reads them: an unset ready is ready, an unset
    serving is the ready condition, an unset terminating is false."""
    cond = endpoint.get("conditions") or {}
    ready = cond.get("ready") is not False
    serving = cond["serving"] if cond.get("serving") is not None else ready
    return ready, bool(serving), bool(cond.get("terminating"))


def _ipv4(slices: list[dict]) -> list[dict]:
    return [s for s in slices if s.get("addressType", "IPv4") == "IPv4"]


def slice_backends(port: ServicePort, slices: list[dict]) -> tuple[list[Backend], list[Backend]]:
    """(ready, serving-but-terminating) endpoints of one Service port: each slice's port of the
    same name and protocol; an address taken once."""
    ready: dict[tuple[str, int], Backend] = {}
    fallback: dict[tuple[str, int], Backend] = {}
    for s in _ipv4(slices):
        target = next((p.get("port") for p in s.get("ports") or []
                       if (p.get("name") or "") == port.name and (p.get("protocol") or "TCP") == port.protocol), None)
        if target is None:
            continue
        for item in s.get("endpoints") or []:
            if not item.get("addresses"):
                continue
            ip = item["addresses"][0]
            backend = Backend(pod=(item.get("targetRef") or {}).get("name") or item.get("hostname") or ip,
                              ip=ip, port=int(target), node=item.get("nodeName") or "")
            is_ready, serving, terminating = conditions(item)
            if is_ready:
                ready.setdefault((ip, backend.port), backend)
            elif serving and terminating:
                fallback.setdefault((ip, backend.port), backend)
    return list(ready.values()), list(fallback.values())


def dns_endpoints(slices: list[dict]) -> tuple[DnsEndpoint, ...]:
    """A headless Service's addresses for CoreDNS: the ready endpoints, named by their hostname."""
    found: dict[str, DnsEndpoint] = {}
    for s in _ipv4(slices):
        for item in s.get("endpoints") or []:
            if item.get("addresses") and conditions(item)[0]:
                ip = item["addresses"][0]
                found.setdefault(ip, DnsEndpoint(ip=ip, hostname=item.get("hostname") or None))
    return tuple(sorted(found.values(), key=lambda e: e.ip))
