"""NetworkPolicy at a pod's own address: the netfilter rules of its network namespace. Pure.

A connection to a pod's own address (a headless Service's record, a pod IP) passes no Service
proxy (plan/network_policy.py filters those). For it, each pod a policy selects gets rules in its
network namespace (runtime/pod_firewall.py): a new connection from a pod its ingress policies do
not admit is dropped, as is one it opens to a pod its egress policies do not allow (a timeout,
as with a network plugin). CoreDNS counts as kube-system's kube-dns pod, so a policy that takes
away all egress takes DNS too, as on Kubernetes, unless a rule lets port 53 through. Only pods
are told apart here: connections from or to other addresses (the Service proxies, which filter
for themselves, the controller's probes, the host, kubectl port-forward) pass, as a network
plugin lets the kubelet's pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import system_pods
from .endpoints import PodView
from .network_policy import RULES, block_nets, peer_matches, selecting

DNS_PORTS = (("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP"))


def coredns(ip: str) -> PodView:
    """CoreDNS as the pods' policies see it: its pod in kube-system (plan/system_pods.py)."""
    return PodView(system_pods.DEPLOYMENT, system_pods.NAMESPACE, ip, dict(system_pods.LABELS), ready=True,
                   container_ports=DNS_PORTS)


@dataclass(frozen=True)
class Accept:
    """New connections this rule lets through: from (or to) `peer` ("" any address), with this
    protocol ("" any) and destination ports ("8080", "8000:8100"; "" any)."""

    peer: str = ""
    protocol: str = ""
    ports: str = ""


@dataclass(frozen=True)
class Firewall:
    """None: no policy of that direction selects the pod, nothing is filtered. Otherwise what is
    accepted, and then every other pod's address dropped (`pods`)."""

    inbound: tuple[Accept, ...] | None = None
    outbound: tuple[Accept, ...] | None = None
    pods: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.inbound is None and self.outbound is None


def firewall(pod: PodView, pods: Sequence[PodView], policies: Sequence[dict],
             namespace_labels: dict[str, dict]) -> Firewall:
    """The pod's rules under these policies; `pods`: every pod with an address (CoreDNS's view included)."""
    others = [p for p in pods if p.ip and p.ip != pod.ip]
    inbound = _accepts(pod, selecting(policies, pod, "Ingress"), "from", others, namespace_labels)
    outbound = _accepts(pod, selecting(policies, pod, "Egress"), "to", others, namespace_labels)
    if inbound is None and outbound is None:
        return Firewall()
    return Firewall(inbound, outbound, tuple(sorted({p.ip for p in others})))


def _accepts(pod: PodView, chosen: list[dict], peers_key: str, others: Sequence[PodView],
             namespace_labels: dict[str, dict]) -> tuple[Accept, ...] | None:
    if not chosen:
        return None
    found: list[Accept] = []
    for policy in chosen:
        namespace = (policy.get("metadata") or {}).get("namespace", "default")
        for rule in (policy.get("spec") or {}).get(RULES[peers_key]) or []:
            peers = rule.get(peers_key) or []
            ports = rule.get("ports") or []
            if not peers:
                found += _ported("", ports, [pod] if peers_key == "from" else list(others))
                continue
            for peer in peers:
                if "ipBlock" in peer:
                    found += [a for net in block_nets(peer["ipBlock"] or {})
                              for a in _ported(str(net), ports, [pod] if peers_key == "from" else [])]
                    continue
                for other in others:
                    if peer_matches(peer, namespace, other, other.ip, namespace_labels):
                        found += _ported(other.ip, ports, [pod] if peers_key == "from" else [other])
    return tuple(dict.fromkeys(found))


def _ported(peer: str, ports: list, destinations: Sequence[PodView]) -> list[Accept]:
    """The accepts for a peer on a rule's ports; a named port is each destination pod's port of
    that name (none when no destination is known: an ipBlock's egress by name)."""
    if not ports:
        return [Accept(peer)]
    out = []
    for entry in ports:
        protocol, value = entry.get("protocol") or "TCP", entry.get("port")
        if value is None:
            out.append(Accept(peer, protocol))
        elif isinstance(value, int) or str(value).isdigit():
            end = entry.get("endPort")
            out.append(Accept(peer, protocol, f"{value}:{end}" if end else str(value)))
        else:
            out += [Accept(peer, protocol, str(number)) for d in destinations
                    for name, number, proto in d.container_ports if name == value and proto == protocol]
    return out
