"""NetworkPolicy at the Service proxies: which clients reach which endpoints. Pure.

A network plugin filters every packet at the pods. In emukube the one place every Service
connection passes is the Service's proxy, and it sees the client's own address. So policies
are enforced there: a client reaches, of a Service port's endpoints, those whose ingress
policies admit it on that port and which its own egress policies let it reach; one that
reaches none waits until it gives up (Kubernetes drops its packets: a timeout there too).
Clients are told apart by address: every pod's is known, and any other address (the host
through a NodePort or LoadBalancer, a node proxy) counts as outside the cluster, which only
an ipBlock (or a rule with no peers) admits. Connections to a pod's own address (a headless
Service, a pod IP) pass no proxy: plan/pod_firewall.py filters those in the pods themselves.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import replace

from .endpoints import PodView
from .selectors import label_selector
from .types import Backend, ProxyPlan, Route, ServicePort

EVERYWHERE = ("0.0.0.0/0",)
# emukube's Ingress controller connects to Services from its own address. Policies written for a
# cluster with ingress-nginx admit its pods by their namespace and labels, so it counts as one.
INGRESS_NAMESPACE = "ingress-nginx"
INGRESS_LABELS = {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": "ingress-nginx",
                  "app.kubernetes.io/component": "controller"}
# Outside clients meet the endpoints' ipBlocks in 2^k combinations of k distinct sets of
# them; past this many sets, the sets are joined (a client any admits reaches all of them).
MAX_OUTSIDE_SETS = 4
RULES = {"from": "ingress", "to": "egress"}  # a rule's peers field -> the spec's list of such rules


def ingress_controller(ip: str) -> PodView:
    """The Ingress controller as a client: ingress-nginx's controller pod."""
    return PodView("ingress-nginx-controller", INGRESS_NAMESPACE, ip, dict(INGRESS_LABELS), ready=True)


def with_ingress_namespace(namespace_labels: dict[str, dict]) -> dict[str, dict]:
    """The namespaces' labels, with ingress-nginx's (kubernetes.io/metadata.name) where none is declared."""
    return {INGRESS_NAMESPACE: {"kubernetes.io/metadata.name": INGRESS_NAMESPACE}, **namespace_labels}


def namespace_labels(objects: Sequence[dict]) -> dict[str, dict]:
    """Each Namespace's labels, as namespaceSelectors see them (ingress-nginx's included)."""
    return with_ingress_namespace({o["metadata"]["name"]: o["metadata"].get("labels") or {}
                                   for o in objects if o.get("kind") == "Namespace"})


def types_of(policy: dict) -> tuple[str, ...]:
    spec = policy.get("spec") or {}
    return tuple(spec.get("policyTypes") or ["Ingress"] + (["Egress"] if spec.get("egress") else []))


def selecting(policies: Sequence[dict], pod: PodView, direction: str) -> list[dict]:
    """The policies of the pod's namespace whose podSelector selects it, for that direction."""
    return [p for p in policies if (p.get("metadata") or {}).get("namespace", "default") == pod.namespace
            and direction in types_of(p) and label_selector((p.get("spec") or {}).get("podSelector") or {},
                                                            pod.labels)]


def _in_block(ip: str, block: dict) -> bool:
    try:
        address = ipaddress.ip_address(ip)
        return address in ipaddress.ip_network(block.get("cidr", ""), strict=False) and not any(
            address in ipaddress.ip_network(e, strict=False) for e in block.get("except") or [])
    except ValueError:
        return False


def peer_matches(peer: dict, policy_namespace: str, pod: PodView | None, ip: str,
                 namespace_labels: dict[str, dict]) -> bool:
    """One NetworkPolicyPeer against a pod (None: an address outside the cluster's pods)."""
    if "ipBlock" in peer:
        return _in_block(ip, peer["ipBlock"] or {})
    if pod is None:
        return False
    namespaces = peer.get("namespaceSelector")
    if namespaces is None:
        in_namespace = pod.namespace == policy_namespace
    else:
        in_namespace = label_selector(namespaces, namespace_labels.get(pod.namespace, {}))
    return in_namespace and label_selector(peer.get("podSelector") or {}, pod.labels)


def port_matches(rule_ports: list, port: int, protocol: str, pod: PodView | None) -> bool:
    """A rule's ports against the destination's port: none listed is every port; a name is the
    destination pod's container port of that name."""
    if not rule_ports:
        return True
    for entry in rule_ports:
        if (entry.get("protocol") or "TCP") != protocol:
            continue
        value = entry.get("port")
        if value is None:
            return True
        if isinstance(value, int) or str(value).isdigit():
            if int(value) <= port <= int(entry.get("endPort") or value):
                return True
        elif pod is not None and any(name == value and number == port and proto == protocol
                                     for name, number, proto in pod.container_ports):
            return True
    return False


def _rule_admits(rule: dict, peers_key: str, policy_ns: str, other: PodView | None, other_ip: str,
                 port: int, protocol: str, dest: PodView | None, namespace_labels: dict[str, dict]) -> bool:
    if not port_matches(rule.get("ports") or [], port, protocol, dest):
        return False
    peers = rule.get(peers_key) or []
    return not peers or any(peer_matches(p, policy_ns, other, other_ip, namespace_labels) for p in peers)


def _admitted(chosen: Sequence[dict], peers_key: str, other: PodView | None, other_ip: str, port: int,
              protocol: str, dest: PodView | None, namespace_labels: dict[str, dict]) -> bool:
    """Whether these policies (those selecting one side, for one direction) let the other side
    through on the destination's port: yes when there are none, else when a rule of one does."""
    return not chosen or any(
        _rule_admits(rule, peers_key, (p.get("metadata") or {}).get("namespace", "default"), other, other_ip,
                     port, protocol, dest, namespace_labels)
        for p in chosen for rule in (p.get("spec") or {}).get(RULES[peers_key]) or [])


def outside_sources(policies: Sequence[dict], dest: PodView | None, port: int, protocol: str) -> tuple[str, ...]:
    """The CIDRs outside clients may come from to reach this endpoint on that port."""
    chosen = selecting(policies, dest, "Ingress") if dest is not None else []
    if not chosen:
        return EVERYWHERE
    nets: list[ipaddress.IPv4Network] = []
    for policy in chosen:
        for rule in (policy.get("spec") or {}).get("ingress") or []:
            if not port_matches(rule.get("ports") or [], port, protocol, dest):
                continue
            peers = rule.get("from") or []
            if not peers:
                return EVERYWHERE
            nets += [n for peer in peers if "ipBlock" in peer for n in block_nets(peer["ipBlock"] or {})]
    return tuple(str(n) for n in ipaddress.collapse_addresses(nets))


def block_nets(block: dict) -> list[ipaddress.IPv4Network]:
    """An ipBlock as plain CIDRs: its cidr less each except."""
    try:
        nets = [ipaddress.IPv4Network(block.get("cidr", ""), strict=False)]
        for cut in block.get("except") or []:
            hole = ipaddress.IPv4Network(cut, strict=False)
            nets = [piece for n in nets for piece in _less(n, hole)]
        return nets
    except ValueError:  # an IPv6 block: no IPv6 here
        return []


def with_starting(views: Sequence[PodView], starting: Sequence[PodView]) -> list[PodView]:
    """The pods policies weigh as clients: those being made (their address is chosen), and the
    running ones no pod being made replaces (an earlier pod of the same name, on its way out)."""
    replaced = {(v.namespace, v.name) for v in starting}
    return [*starting, *(v for v in views if (v.namespace, v.name) not in replaced)]


def restrict(plan: ProxyPlan, pods: Sequence[PodView], policies: Sequence[dict],
             namespace_labels: dict[str, dict]) -> ProxyPlan:
    """The plan with the routes its TCP and UDP ports' clients take under these policies; as it
    was when no policy keeps any client from any of its endpoints."""
    if not policies:
        return plan
    routes = {}
    for port in (*plan.tcp_ports(), *plan.udp_ports()):
        servers = plan.backends.get(port.key, ())
        found = _port_routes(plan, port, servers, pods, policies, namespace_labels) if servers else ()
        if found:
            routes[port.key] = found
    return replace(plan, routes=routes) if routes else plan


def _port_routes(plan: ProxyPlan, port: ServicePort, servers: tuple[Backend, ...], pods: Sequence[PodView],
                 policies: Sequence[dict], namespace_labels: dict[str, dict]) -> tuple[Route, ...]:
    views = {p.name: p for p in pods if p.namespace == plan.namespace}
    dests = [(b, views.get(b.pod)) for b in servers]
    names = tuple(b.pod for b in servers)
    reach: dict[tuple[str, ...], list[str]] = {}
    restricted = False
    # Which policies select each endpoint and each client, found once, not once per pair.
    ingress = [selecting(policies, dest, "Ingress") if dest is not None else [] for _, dest in dests]
    for client in (p for p in pods if p.ip):
        egress = selecting(policies, client, "Egress")
        allowed = tuple(b.pod for (b, dest), chosen in zip(dests, ingress) if _admitted(
            egress, "to", dest, b.ip, b.port, port.protocol, dest, namespace_labels) and _admitted(
            chosen, "from", client, client.ip, b.port, port.protocol, dest, namespace_labels))
        restricted = restricted or allowed != names
        if plan.client_nodes:  # internalTrafficPolicy Local: of those, the ones on its node
            allowed = tuple(b.pod for b in servers if b.pod in allowed and b.node == client.node)
        reach.setdefault(allowed, []).append(client.ip)
    outside: dict[tuple[str, ...], list[str]] = {}
    for b, dest in dests:
        outside.setdefault(outside_sources(policies, dest, b.port, port.protocol), []).append(b.pod)
    if not restricted and list(outside) == [EVERYWHERE]:
        return ()
    routes = [Route(((tuple(sorted(ips, key=ipaddress.ip_address)), True),), allowed)
              for allowed, ips in reach.items()]
    return tuple(routes + _outside_routes(outside, names))


def _outside_routes(outside: dict[tuple[str, ...], list[str]], names: tuple[str, ...]) -> list[Route]:
    """For addresses no pod has: one route per combination of the endpoints' source sets an
    address is in (and the others it is not in); in none, it reaches nothing."""
    sets = list(outside.items())
    if len(sets) > MAX_OUTSIDE_SETS:
        joined = ipaddress.collapse_addresses(ipaddress.IPv4Network(c) for cidrs, _ in sets for c in cidrs)
        sets = [(tuple(str(n) for n in joined), [p for _, pods in sets for p in pods])]
    routes = []
    for mask in range(2 ** len(sets) - 1, -1, -1):
        terms, members, possible = [], set(), True
        for i, (cidrs, pods) in enumerate(sets):
            inside = bool(mask >> i & 1)
            if cidrs == EVERYWHERE:
                possible = possible and inside  # every address is in it: a term that always holds
                members.update(pods)
                continue
            if not cidrs and inside:
                possible = False  # no address is in an empty set
            if inside:
                members.update(pods)
            if cidrs:
                terms.append((cidrs, inside))
        if possible:
            routes.append(Route(tuple(terms), tuple(n for n in names if n in members)))
    return routes


def region(route: Route) -> list[ipaddress.IPv4Network]:
    """The addresses a route's terms hold for, as CIDRs (for a proxy that matches addresses by
    longest prefix, as nginx's geo does, rather than by ordered rules)."""
    nets = [ipaddress.IPv4Network(EVERYWHERE[0])]
    for addresses, inside in route.when:
        given = [ipaddress.IPv4Network(a, strict=False) for a in addresses]
        if inside:
            nets = [piece for n in nets for g in given if (piece := _overlap(n, g)) is not None]
        else:
            for g in given:
                nets = [piece for n in nets for piece in _less(n, g)]
    return list(ipaddress.collapse_addresses(nets))


def _overlap(a: ipaddress.IPv4Network, b: ipaddress.IPv4Network) -> ipaddress.IPv4Network | None:
    return a if a.subnet_of(b) else b if b.subnet_of(a) else None


def _less(a: ipaddress.IPv4Network, b: ipaddress.IPv4Network) -> list[ipaddress.IPv4Network]:
    return [a] if not a.overlaps(b) else [] if a.subnet_of(b) else list(a.address_exclude(b))
