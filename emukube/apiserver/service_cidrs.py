"""The ServiceCIDRs and IPAddresses (networking.k8s.io/v1) of a Kubernetes 1.35 cluster, whose
MultiCIDRServiceAllocator is GA, kept as its controllers keep them, from this server's writes:

- The default ServiceCIDR `kubernetes` holds the cluster's Service range (plan/network.py), made
  at start as kube-apiserver's defaultservicecidr controller makes it.
- Every ServiceCIDR gets the finalizer and the Ready condition of kube-controller-manager's
  servicecidrs controller. One being deleted goes DELETION_GRACE seconds after it may: once
  another ServiceCIDR contains it, or no allocated IPAddress lies in it alone; until then it is
  Ready=False (Terminating), in that controller's words.
- Each ClusterIP of a Service (`kubernetes` and kube-dns too) has an IPAddress named by the IP,
  with the ipallocator's labels and the Service as its parentRef: made when the Service is stored
  with it, removed when the Service goes or stops needing it, made again if deleted while the
  Service holds it (the repairip controller's part). A Service asking for an IP that an
  IPAddress holds is refused with the allocator's error (admission.py); an automatic address
  skips such an IP.

Each hook is given the Service just written, so a write costs a look-up of the IPAddresses it
changes, not a relist. ClusterIPs still come from the cluster's own range only: ServiceCIDRs
made by users are stored, validated and kept, never allocated from."""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from typing import Callable

from emukube.store import NotFound

from ..k8s.resources import BY_KEY
from ..k8s.times import epoch
from ..plan import allocate
from ..plan.network import ClusterNet
from . import errors
from .objects import DeleteOpts, Registry, WriteOpts, now_iso

log = logging.getLogger("emukube.apiserver.service_cidrs")
SERVICE_CIDRS, IP_ADDRESSES, SERVICES = (BY_KEY["servicecidrs.networking.k8s.io"],
                                         BY_KEY["ipaddresses.networking.k8s.io"], BY_KEY["services"])
DEFAULT_NAME = "kubernetes"  # defaultservicecidr.DefaultServiceCIDRName
FINALIZER = "networking.k8s.io/service-cidr-finalizer"  # servicecidrs.ServiceCIDRProtectionFinalizer
MANAGED_BY, IP_FAMILY = "ipaddress.kubernetes.io/managed-by", "ipaddress.kubernetes.io/ip-family"
ALLOCATOR = "ipallocator.k8s.io"  # ipallocator.ControllerName
CIDR_CONTROLLER = "service-cidr-controller"
APISERVER = "kube-apiserver"
READY = "Ready"
READY_MESSAGE = "Kubernetes Service CIDR is ready"
TERMINATING = "Terminating"
TERMINATING_MESSAGE = ("There are still IPAddresses referencing the ServiceCIDR, please remove them or create a new "
                       "ServiceCIDR")
DELETION_GRACE = 10.0  # seconds a deletable ServiceCIDR waits, for allocators to see it going


# ---- IPAddresses of Services ------------------------------------------------------------------

def cluster_ips(svc: dict | None) -> list[str]:
    """The addresses a Service holds: none when headless or ExternalName."""
    if svc is None or not allocate.has_cluster_ip(svc):
        return []
    spec = svc.get("spec") or {}
    ips = spec.get("clusterIPs") or [spec.get("clusterIP")]
    return [ip for ip in ips if isinstance(ip, str) and ip and ip != "None"]


def parent_ref(svc: dict) -> dict:
    """serviceToRef, as the v1 JSON writes it (an empty group is left out)."""
    meta = svc.get("metadata") or {}
    return {"resource": "services", "namespace": meta.get("namespace", ""), "name": meta.get("name", "")}


def ip_address(ip: str, svc: dict) -> dict:
    """The IPAddress the ipallocator makes for `svc`'s `ip` (createIPAddress)."""
    family = "IPv6" if ":" in ip else "IPv4"
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IPAddress",
            "metadata": {"name": ip, "labels": {IP_FAMILY: family, MANAGED_BY: ALLOCATOR}},
            "spec": {"parentRef": parent_ref(svc)}}


def _parent_of(obj: dict | None) -> dict:
    spec = (obj or {}).get("spec")
    ref = spec.get("parentRef") if isinstance(spec, dict) else None
    ref = ref if isinstance(ref, dict) else {}
    return {k: ref.get(k) or "" for k in ("group", "resource", "namespace", "name")}


def _held_by(obj: dict | None, svc: dict) -> bool:
    return _parent_of(obj) == {"group": "", **parent_ref(svc)}


def _managed(obj: dict) -> bool:
    return ((obj.get("metadata") or {}).get("labels") or {}).get(MANAGED_BY) == ALLOCATOR


def held_elsewhere(store, svc: dict, old: dict | None) -> str | None:
    """The first address `svc` takes anew (not held by `old`, the Service as stored) that an
    IPAddress of something else holds: the ipallocator's create of it would fail."""
    before = set(cluster_ips(old))
    for ip in cluster_ips(svc):
        if ip in before:
            continue
        try:
            held = store.get(IP_ADDRESSES.key, None, ip)
        except NotFound:
            continue
        if not _held_by(held, svc):
            return ip
    return None


def ip_address_names(store) -> list[str]:
    return [o["metadata"]["name"] for o in store.list(IP_ADDRESSES.key)[0]]


def _write_ip(registry: Registry, ip: str, svc: dict) -> None:
    try:
        registry.create(IP_ADDRESSES, ip_address(ip, svc), WriteOpts(manager=APISERVER), admit=False)
    except errors.ApiError as exc:  # there already: the Service's own, or (made meanwhile) another's
        if not _held_by(registry.get(IP_ADDRESSES, None, ip), svc):
            log.warning("IPAddress %s is not %s's: not taken over (%s)", ip, parent_ref(svc), exc)


def _release(registry: Registry, ip: str, svc: dict) -> None:
    """The ipallocator's Release: the Service's IPAddress goes (another's is left alone)."""
    if _held_by(registry.get(IP_ADDRESSES, None, ip), svc):
        try:
            registry.delete(IP_ADDRESSES, None, ip, DeleteOpts())
        except errors.ApiError as exc:  # deleted meanwhile
            log.info("IPAddress %s not released: %s", ip, exc)


def follow_service(registry: Registry, old: dict | None, new: dict | None) -> None:
    """A Service was stored (old: as it was; new: None once removed): its IPAddresses follow."""
    before, after = cluster_ips(old), cluster_ips(new)
    if new is not None:
        for ip in after:
            if ip not in before:
                _write_ip(registry, ip, new)
    if old is not None:
        for ip in before:
            if ip not in after:
                _release(registry, ip, old)


def follow_ip_address(registry: Registry, old: dict | None, new: dict | None) -> None:
    """An IPAddress was removed: made again if its Service still holds the address (repairip),
    and the ServiceCIDRs it kept from going are looked at again."""
    if new is not None or old is None:
        return
    ref = _parent_of(old)
    if _managed(old) and ref["resource"] == "services" and not ref["group"]:
        svc = registry.get(SERVICES, ref["namespace"], ref["name"])
        if svc is not None and old["metadata"]["name"] in cluster_ips(svc):
            _write_ip(registry, old["metadata"]["name"], svc)
            return
    _sync_deleting(registry)


def repair(registry: Registry) -> None:
    """At start (the repairip controller's pass): every Service's addresses have their IPAddress,
    and the allocator's IPAddresses of addresses no Service holds go (an older store has none)."""
    services = registry.list(SERVICES, None)[0]
    have = {o["metadata"]["name"]: o for o in registry.list(IP_ADDRESSES, None)[0]}
    held = set()
    for svc in services:
        for ip in cluster_ips(svc):
            held.add(ip)
            if ip not in have:
                _write_ip(registry, ip, svc)
    for ip, obj in have.items():
        if _managed(obj) and ip not in held:
            try:
                registry.delete(IP_ADDRESSES, None, ip, DeleteOpts())
            except errors.ApiError as exc:
                log.info("IPAddress %s not released: %s", ip, exc)


# ---- ServiceCIDRs ------------------------------------------------------------------------------

def default_service_cidr(cidr: str) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "metadata": {"name": DEFAULT_NAME},
            "spec": {"cidrs": [cidr]}}


def _prefixes(cidr: dict) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = []
    for text in (cidr.get("spec") or {}).get("cidrs") or []:
        try:
            out.append(ipaddress.ip_network(text))
        except (TypeError, ValueError):  # validated when written: cannot happen
            continue
    return out


def _contains_ip(prefix: ipaddress.IPv4Network | ipaddress.IPv6Network,
                 ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """servicecidr.PrefixContainsIP: neither the network address nor an IPv4 broadcast one."""
    if ip.version != prefix.version or ip == prefix.network_address:
        return False
    return not (ip.version == 4 and ip == prefix.broadcast_address) and ip in prefix


def _containing_prefix(cidrs: list[dict], prefix) -> list[str]:
    """servicecidr.ContainsPrefix: a ServiceCIDR once for each of its CIDRs that contains it."""
    return [c["metadata"]["name"] for c in cidrs for p in _prefixes(c)
            if p.version == prefix.version and p.supernet_of(prefix)]


def can_delete(registry: Registry, cidr: dict) -> bool:
    """canDeleteCIDR: another ServiceCIDR contains each of its CIDRs, or none of the allocator's
    IPAddresses lies in it alone."""
    name = cidr["metadata"]["name"]
    cidrs = registry.list(SERVICE_CIDRS, None)[0]
    has_parent = True
    for prefix in _prefixes(cidr):
        containing = _containing_prefix(cidrs, prefix)
        if not containing or containing == [name]:
            has_parent = False
    if has_parent:
        return True
    for prefix in _prefixes(cidr):
        family = f"IPv{prefix.version}"
        for obj in registry.list(IP_ADDRESSES, None)[0]:
            labels = (obj.get("metadata") or {}).get("labels") or {}
            if labels.get(MANAGED_BY) != ALLOCATOR or labels.get(IP_FAMILY) != family:
                continue
            try:
                ip = ipaddress.ip_address(obj["metadata"]["name"])
            except ValueError:
                continue
            holders = [c["metadata"]["name"] for c in cidrs for p in _prefixes(c) if _contains_ip(p, ip)]
            if holders == [name]:
                return False
    return True


def _condition(cidr: dict) -> dict | None:
    return next((c for c in (cidr.get("status") or {}).get("conditions") or []
                 if isinstance(c, dict) and c.get("type") == READY), None)


def _set_condition(registry: Registry, cidr: dict, status: str, reason: str, message: str) -> None:
    """updateConditionIfNeeded: written when its status, reason or message change (the
    controller applies it whole, with a new lastTransitionTime)."""
    current = _condition(cidr)
    if current is not None and (current.get("status"), current.get("reason") or "", current.get("message")) == \
            (status, reason, message):
        return
    condition = {"type": READY, "status": status, "lastTransitionTime": now_iso(), "reason": reason,
                 "message": message}
    others = [c for c in (cidr.get("status") or {}).get("conditions") or [] if c is not current]
    _write(registry, cidr, {**cidr, "status": {**(cidr.get("status") or {}), "conditions": others + [condition]}},
           "status")


def _write(registry: Registry, old: dict, new: dict, subresource: str = "") -> None:
    try:
        registry.update(SERVICE_CIDRS, old, new, WriteOpts(manager=CIDR_CONTROLLER, subresource=subresource),
                        admit=False)
    except errors.ApiError as exc:  # changed meanwhile: that write's hook syncs it
        log.info("ServiceCIDR %s not written: %s", old["metadata"]["name"], exc)


def sync_service_cidr(registry: Registry, cidr: dict) -> None:
    """The servicecidrs controller's sync: one write at most, whose own hook takes the next step."""
    meta = cidr.get("metadata") or {}
    finalizers = list(meta.get("finalizers") or [])
    if meta.get("deletionTimestamp"):
        if FINALIZER not in finalizers:
            return
        if not can_delete(registry, cidr):
            _set_condition(registry, cidr, "False", TERMINATING, TERMINATING_MESSAGE)
            return
        wait = DELETION_GRACE - (time.time() - epoch(meta["deletionTimestamp"]))
        if wait > 0:
            timer = threading.Timer(wait, _finish_deletion, (registry, meta["name"], meta.get("uid")))
            timer.daemon = True
            timer.start()
            return
        new = {**cidr, "metadata": {**meta, "finalizers": [f for f in finalizers if f != FINALIZER]}}
        _write(registry, cidr, new)
        return
    if FINALIZER not in finalizers:
        _write(registry, cidr, {**cidr, "metadata": {**meta, "finalizers": finalizers + [FINALIZER]}})
        return
    _set_condition(registry, cidr, "True", "", READY_MESSAGE)


def _finish_deletion(registry: Registry, name: str, uid: str | None) -> None:
    cidr = registry.get(SERVICE_CIDRS, None, name)
    if cidr is not None and cidr["metadata"].get("uid") == uid:
        try:
            sync_service_cidr(registry, cidr)
        except Exception:  # a timer thread: nothing above it to tell
            log.exception("ServiceCIDR %s: deletion not finished", name)


def _sync_deleting(registry: Registry, but: str = "") -> None:
    """The ServiceCIDRs being deleted (but `but`), whose deletion may be free to finish now."""
    for cidr in registry.list(SERVICE_CIDRS, None)[0]:
        if cidr["metadata"].get("deletionTimestamp") and cidr["metadata"]["name"] != but:
            sync_service_cidr(registry, cidr)


def follow_service_cidr(registry: Registry, net: ClusterNet | None, old: dict | None, new: dict | None) -> None:
    """A ServiceCIDR was stored or removed: synced, and a new one may contain those being
    deleted (addServiceCIDR). The default one, once gone, is made again (the defaultservicecidr
    controller's next pass)."""
    if new is not None:
        sync_service_cidr(registry, new)
        if old is None:
            _sync_deleting(registry, but=new["metadata"]["name"])
    elif old is not None and old["metadata"]["name"] == DEFAULT_NAME and net is not None:
        ensure_default(registry, net)


def ensure_default(registry: Registry, net: ClusterNet) -> None:
    if registry.get(SERVICE_CIDRS, None, DEFAULT_NAME) is None:
        try:
            registry.create(SERVICE_CIDRS, default_service_cidr(net.service_cidr), WriteOpts(manager=APISERVER),
                            admit=False)
        except errors.ApiError as exc:  # made meanwhile
            log.info("ServiceCIDR %s not made: %s", DEFAULT_NAME, exc)


def install(registry: Registry, net: Callable[[], ClusterNet | None]) -> None:
    """Follow the writes of Services, IPAddresses and ServiceCIDRs. net: the cluster's address
    plan, when known (its Service range is the default ServiceCIDR's)."""
    registry.after_change[SERVICES.key] = [lambda old, new: follow_service(registry, old, new)]
    registry.after_change[IP_ADDRESSES.key] = [lambda old, new: follow_ip_address(registry, old, new)]
    registry.after_change[SERVICE_CIDRS.key] = [
        lambda old, new: follow_service_cidr(registry, net(), old, new)]


def ensure(registry: Registry, net: ClusterNet | None) -> None:
    """At start: the default ServiceCIDR, every ServiceCIDR synced (a deletion pending across a
    restart included), and the IPAddresses repaired."""
    if net is not None:
        ensure_default(registry, net)
    for cidr in registry.list(SERVICE_CIDRS, None)[0]:
        sync_service_cidr(registry, cidr)
    repair(registry)
