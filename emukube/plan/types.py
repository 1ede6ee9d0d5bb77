"""Desired state as plain data: what the renderers and the runtime consume. No Docker here."""

from __future__ import annotations

from dataclasses import dataclass, field

CLUSTER_DOMAIN = "cluster.local"


@dataclass(frozen=True)
class ServicePort:
    """One entry of spec.ports after defaulting (targetPort filled, protocol filled)."""

    port: int
    protocol: str = "TCP"  # TCP | UDP | SCTP
    name: str = ""  # "" when the Service has a single unnamed port
    target_port: int | str = 0  # a number, or a container port name resolved per pod
    node_port: int | None = None

    @property
    def key(self) -> str:
        """Identifies the port inside one Service: protocol and number are unique together."""
        return f"{self.protocol}/{self.port}"


@dataclass(frozen=True)
class Backend:
    """One endpoint of one Service port: a pod address and the resolved target port."""

    pod: str
    ip: str
    port: int
    node: str = ""  # where it runs: internalTrafficPolicy Local sends a client to its own node's


@dataclass(frozen=True)
class Route:
    """NetworkPolicy, as a Service's proxy enforces it (plan/network_policy.py): a client whose
    address meets every term of `when` reaches only the endpoints (pod names) in `pods`, and
    with none its connection goes nowhere. A term is (addresses or CIDRs, whether the client's
    address is among them)."""

    when: tuple[tuple[tuple[str, ...], bool], ...]
    pods: tuple[str, ...]


@dataclass(frozen=True)
class ProxyPlan:
    """Everything one Service's proxy container needs to be configured.

    backends maps ServicePort.key to the *ready* endpoints of that port. A port whose list is
    empty must refuse connections (nothing listens), exactly like kube-proxy with no endpoints.
    listen_ports_extra maps ServicePort.key to additional ports the proxy must listen on for
    that same backend inside the container (the nodePort, the LoadBalancer's published port).
    """

    namespace: str
    name: str
    cluster_ip: str
    ports: tuple[ServicePort, ...]
    backends: dict[str, tuple[Backend, ...]] = field(default_factory=dict)
    affinity_timeout: int | None = None  # seconds; None means sessionAffinity: None
    listen_ports_extra: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # internalTrafficPolicy Local: (node, addresses of the pods on it) per node. A pod reaches only
    # the endpoints on its own node, none if it has none there; other clients reach them all.
    client_nodes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # NetworkPolicy: per port key, the routes clients take in order (the first that holds);
    # none while no policy keeps any client from any endpoint.
    routes: dict[str, tuple[Route, ...]] = field(default_factory=dict)

    def tcp_ports(self) -> tuple[ServicePort, ...]:
        return tuple(p for p in self.ports if p.protocol == "TCP")

    def udp_ports(self) -> tuple[ServicePort, ...]:
        return tuple(p for p in self.ports if p.protocol == "UDP")


@dataclass(frozen=True)
class DnsEndpoint:
    """An address a headless Service publishes. hostname is the pod's spec.hostname when its
    spec.subdomain equals the Service name (Kubernetes' rule), else None (dashed IP is used)."""

    ip: str
    hostname: str | None = None


@dataclass(frozen=True)
class DnsService:
    """A Service as DNS sees it.

    kind is "ClusterIP" (any type with a cluster IP: ClusterIP, NodePort, LoadBalancer),
    "Headless" or "ExternalName". endpoints are only used for Headless, and already hold only
    what DNS must publish (ready ones, or all with publishNotReadyAddresses).
    """

    namespace: str
    name: str
    kind: str
    ports: tuple[ServicePort, ...] = ()
    cluster_ip: str | None = None
    external_name: str | None = None
    endpoints: tuple[DnsEndpoint, ...] = ()


@dataclass(frozen=True)
class DnsPlan:
    services: tuple[DnsService, ...]
    serial: int  # SOA serial: CoreDNS reloads a zone only when it changes
    domain: str = CLUSTER_DOMAIN
    dns_ip: str = ""
    # CIDRs whose reverse (PTR) zones CoreDNS serves, e.g. ("10.96.0.0/16",)
    reverse_cidrs: tuple[str, ...] = ()
    ttl: int = 5
