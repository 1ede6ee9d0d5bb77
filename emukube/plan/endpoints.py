"""From Services and observed pods to endpoints, proxy plans and the DNS plan. Pure."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from . import slices as sl
from .allocate import has_cluster_ip
from .network import ClusterNet
from .types import Backend, DnsEndpoint, DnsPlan, DnsService, ProxyPlan, ServicePort


@dataclass(frozen=True)
class PodView:
    """A running pod as the data plane sees it."""

    name: str
    namespace: str
    ip: str
    labels: dict = field(hash=False)
    ready: bool = False  # its readiness, terminating or not (the EndpointSlice's `serving`)
    terminating: bool = False
    # (name, containerPort, protocol) of every container of the pod, in declaration order
    container_ports: tuple[tuple[str, int, str], ...] = ()
    hostname: str = ""
    subdomain: str = ""
    node: str = ""
    # (hostPort, containerPort) of its TCP hostPorts without a hostIP, which its node's proxy serves
    host_ports: tuple[tuple[int, int], ...] = ()


def selects(selector: dict | None, labels: dict) -> bool:
    """A Service selector matches when every key=value is in the pod's labels."""
    if not selector:
        return False  # no selector: no automatic endpoints
    return all(labels.get(k) == v for k, v in selector.items())


def service_ports(svc: dict) -> tuple[ServicePort, ...]:
    return tuple(
        ServicePort(
            port=p["port"],
            protocol=p.get("protocol", "TCP"),
            name=p.get("name") or "",
            target_port=p.get("targetPort", p["port"]),
            node_port=p.get("nodePort"),
        )
        for p in svc["spec"].get("ports") or []
    )


def resolve_target(port: ServicePort, pod: PodView) -> int | None:
    """A numeric targetPort is used as is; a name resolves per pod to its first container port
    with that name and protocol; a pod without one is left out of this port's endpoints."""
    if isinstance(port.target_port, int):
        return port.target_port
    if str(port.target_port).isdigit():
        return int(port.target_port)
    for name, number, protocol in pod.container_ports:
        if name == port.target_port and protocol == port.protocol:
            return number
    return None


def selected_pods(svc: dict, pods: list[PodView]) -> list[PodView]:
    ns = svc["metadata"].get("namespace", "default")
    selector = svc["spec"].get("selector")
    return [p for p in pods if p.namespace == ns and p.ip and selects(selector, p.labels)]


@dataclass(frozen=True)
class EndpointRow:
    """One address of a Service's endpoints, for `get endpoints` and EndpointSlices."""

    pod: str
    ip: str
    ready: bool  # the EndpointSlice condition kube-proxy routes by
    terminating: bool
    ports: tuple[tuple[str, int, str], ...]  # (port name, resolved port, protocol)
    node: str = ""
    serving: bool = False  # the pod passes its readiness probe (terminating or not)


def endpoint_ready(svc: dict, pod: PodView) -> bool:
    """The EndpointSlice controller's rule: ready and not terminating, or anything at all with
    publishNotReadyAddresses."""
    return bool(svc["spec"].get("publishNotReadyAddresses")) or (pod.ready and not pod.terminating)


def endpoint_rows(svc: dict, pods: list[PodView]) -> list[EndpointRow]:
    rows = []
    ports = service_ports(svc)
    for pod in sorted(selected_pods(svc, pods), key=lambda p: p.name):
        resolved = tuple(
            (p.name, n, p.protocol) for p in ports if (n := resolve_target(p, pod)) is not None
        )
        rows.append(EndpointRow(pod.name, pod.ip, endpoint_ready(svc, pod), pod.terminating, resolved, pod.node,
                                serving=pod.ready))
    return rows


def backends(svc: dict, pods: list[PodView]) -> dict[str, tuple[Backend, ...]]:
    """Endpoints per port key, as kube-proxy programs them: the ready ones, or with none ready
    the serving ones that are terminating (since Kubernetes 1.28)."""
    out: dict[str, tuple[Backend, ...]] = {}
    chosen = sorted(selected_pods(svc, pods), key=lambda p: p.name)
    ready = [p for p in chosen if endpoint_ready(svc, p)]
    leaving = [p for p in chosen if p.terminating and p.ready]  # PodView.ready: serving
    for port in service_ports(svc):
        found: tuple[Backend, ...] = ()
        for group in (ready, leaving):
            found = tuple(Backend(pod=pod.name, ip=pod.ip, port=target, node=pod.node) for pod in group
                          if (target := resolve_target(port, pod)) is not None)
            if found:
                break
        out[port.key] = found
    return out


def manual_backends(svc: dict, slices: list[dict]) -> dict[str, tuple[Backend, ...]]:
    """A selectorless Service's endpoints, from the EndpointSlices naming it (kube-proxy's
    rule): each Service port goes to the slice port of the same name; the ready endpoints, or
    with none ready the serving ones that are terminating."""
    out: dict[str, tuple[Backend, ...]] = {}
    for port in service_ports(svc):
        ready, terminating = sl.slice_backends(port, slices)
        out[port.key] = tuple(ready or terminating)
    return out


# kube-proxy leaves a Service with either label to another proxy (its own name is empty).
NOT_PROXIED_LABELS = ("service.kubernetes.io/service-proxy-name", "service.kubernetes.io/headless")


def kube_proxied(svc: dict) -> bool:
    """Whether kube-proxy programs the Service: not when a label hands it to another proxy."""
    labels = svc["metadata"].get("labels") or {}
    return not any(label in labels for label in NOT_PROXIED_LABELS)


def proxy_plan(svc: dict, pods: list[PodView], slices: Sequence[dict] = ()) -> ProxyPlan | None:
    """None for Services that need no proxy (headless, ExternalName). `slices`: the
    EndpointSlices of a Service without a selector (plan/slices.py)."""
    if not has_cluster_ip(svc) or not kube_proxied(svc):
        return None
    spec, meta = svc["spec"], svc["metadata"]
    ports = service_ports(svc)
    affinity = None
    if spec.get("sessionAffinity") == "ClientIP":
        affinity = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds", 10800)
    extra = {}
    for p in ports:
        listen = [p.node_port] if p.node_port else []
        extra[p.key] = tuple(listen)
    found = backends(svc, pods) if spec.get("selector") else manual_backends(svc, list(slices))
    return ProxyPlan(
        namespace=meta.get("namespace", "default"),
        name=meta["name"],
        cluster_ip=spec["clusterIP"],
        ports=ports,
        backends=found,
        affinity_timeout=affinity,
        listen_ports_extra={k: v for k, v in extra.items() if v},
        client_nodes=client_nodes(pods, found) if spec.get("internalTrafficPolicy") == "Local" else (),
    )


def client_nodes(pods: list[PodView], found: dict[str, tuple[Backend, ...]]) -> tuple:
    """The pods' addresses by node, for internalTrafficPolicy Local; none needed while every pod
    and endpoint is on one node (there, Local and Cluster are the same)."""
    by_node: dict[str, set[str]] = {}
    for pod in pods:
        if pod.ip:
            by_node.setdefault(pod.node, set()).add(pod.ip)
    nodes = set(by_node) | {b.node for group in found.values() for b in group}
    if len(nodes) <= 1:
        return ()
    return tuple((node, tuple(sorted(ips))) for node, ips in sorted(by_node.items()))


def dns_service(svc: dict, pods: list[PodView], slices: Sequence[dict] = ()) -> DnsService:
    """`slices`: the EndpointSlices of a Service without a selector (plan/slices.py)."""
    spec, meta = svc["spec"], svc["metadata"]
    common = dict(namespace=meta.get("namespace", "default"), name=meta["name"], ports=service_ports(svc))
    if spec.get("type") == "ExternalName":
        return DnsService(kind="ExternalName", external_name=spec.get("externalName"), **common)
    if spec.get("clusterIP") == "None":
        if not spec.get("selector"):
            return DnsService(kind="Headless", endpoints=sl.dns_endpoints(list(slices)), **common)
        publish_all = bool(spec.get("publishNotReadyAddresses"))
        endpoints = tuple(
            DnsEndpoint(ip=p.ip, hostname=p.hostname if p.subdomain == meta["name"] and p.hostname else None)
            for p in sorted(selected_pods(svc, pods), key=lambda p: p.name)
            if not p.terminating and (p.ready or publish_all)
        )
        return DnsService(kind="Headless", endpoints=endpoints, **common)
    return DnsService(kind="ClusterIP", cluster_ip=spec.get("clusterIP"), **common)


def dns_plan(services: list[dict], pods: list[PodView], net: ClusterNet, serial: int,
             slices_of: Callable[[dict], Sequence[dict]] = lambda svc: ()) -> DnsPlan:
    """`slices_of(svc)`: the EndpointSlices of a Service without a selector."""
    return DnsPlan(
        services=tuple(dns_service(s, pods, slices_of(s)) for s in services),
        serial=serial,
        dns_ip=net.dns_ip,
        reverse_cidrs=(net.subnet,),
    )


def apiserver_env(services: list[dict]) -> dict[str, str]:
    """KUBERNETES_SERVICE_HOST and its kin, which every pod gets whatever its namespace and
    enableServiceLinks (the kubelet adds the `kubernetes` Service's variables always)."""
    found = [s for s in services if s["metadata"].get("namespace", "default") == "default"
             and s["metadata"]["name"] == "kubernetes"]
    return service_env(found, "default")


def service_env(services: list[dict], namespace: str) -> dict[str, str]:
    """Docker-links-style variables for Services of the pod's namespace that exist when it starts."""
    env: dict[str, str] = {}
    for svc in services:
        spec, meta = svc["spec"], svc["metadata"]
        if meta.get("namespace", "default") != namespace or not has_cluster_ip(svc):
            continue
        ports = service_ports(svc)
        if not ports:
            continue
        prefix = meta["name"].upper().replace("-", "_")
        ip, first = spec["clusterIP"], ports[0]
        env[f"{prefix}_SERVICE_HOST"] = ip
        env[f"{prefix}_SERVICE_PORT"] = str(first.port)
        env[f"{prefix}_PORT"] = f"{first.protocol.lower()}://{ip}:{first.port}"
        for p in ports:
            if p.name:
                env[f"{prefix}_SERVICE_PORT_{p.name.upper().replace('-', '_')}"] = str(p.port)
            base = f"{prefix}_PORT_{p.port}_{p.protocol}"
            env[base] = f"{p.protocol.lower()}://{ip}:{p.port}"
            env[f"{base}_PROTO"] = p.protocol.lower()
            env[f"{base}_PORT"] = str(p.port)
            env[f"{base}_ADDR"] = ip
    return env
