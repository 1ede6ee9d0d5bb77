"""HAProxy configuration for the TCP ports of one Service (the Service's proxy container).

The runtime must honour:

* command line ``haproxy -W -db -L local -f /tmp/emukube/haproxy.cfg`` (:data:`HAPROXY_COMMAND`):
  master-worker, foreground, and ``-L`` naming the local peer (:data:`HAPROXY_LOCAL_PEER`) so
  that ClientIP affinity entries survive reloads (without it HAProxy drops the peers section);
* ``/tmp/emukube/`` exists and is writable (config, runtime socket);
* reload = SIGUSR2 to the master process; the new worker takes over the listening sockets
  (``expose-fd listeners``), the old one keeps serving its open connections until they end.

A TCP port without endpoints has no listener, so clients are refused like with kube-proxy. The
stats listener on 127.0.0.1 (:func:`haproxy_stats_port`, normally 8404, ``/stats``) is always
there so that HAProxy starts even then.
"""

from __future__ import annotations

import re

from emukube.k8s.keys import object_key
from emukube.plan.types import Backend, ProxyPlan, Route, ServicePort
from emukube.render._template import fill, one_line, tidy, valid_endpoints

HAPROXY_LOCAL_PEER = "local"
HAPROXY_PEERS_SECTION = "emukube"
HAPROXY_CONFIG_PATH = "/tmp/emukube/haproxy.cfg"
HAPROXY_SOCKET_PATH = "/tmp/emukube/haproxy.sock"
HAPROXY_COMMAND = ("haproxy", "-W", "-db", "-L", HAPROXY_LOCAL_PEER, "-f", HAPROXY_CONFIG_PATH)
HAPROXY_STATS_PORT = 8404  # preferred; moved up when a Service port takes it
HAPROXY_PEER_PORT = 10000  # preferred; 127.0.0.1 only, used to hand over tables on reload

# `balance random` draws a point on a consistent-hash ring holding 16 x weight points per server.
# With the default weight (1) the arcs are uneven enough to give one pod 25 % more or less than
# its share; 100 brings that down to a few percent, like kube-proxy's uniform choice.
SERVER_WEIGHT = 100

_INVALID_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.:-]")


def _declared_tcp_ports(*plans: ProxyPlan) -> set[int]:
    """Every TCP port the proxy may ever listen on for these plans, with or without endpoints,
    so that the internal ports do not move when endpoints come and go."""
    used: set[int] = set()
    for plan in plans:
        for port in plan.tcp_ports():
            used.add(port.port)
            used.update(plan.listen_ports_extra.get(port.key, ()))
    return used


def _free_port(preferred: int, used: set[int]) -> int:
    port = preferred
    while port in used:
        port += 1
    if port > 65535:
        raise ValueError("no free internal port for HAProxy")
    return port


def haproxy_stats_port(*plans: ProxyPlan) -> int:
    """Port of the stats page (http://127.0.0.1:PORT/stats inside the proxy container)."""
    return _free_port(HAPROXY_STATS_PORT, _declared_tcp_ports(*plans))


def haproxy_peer_port(*plans: ProxyPlan) -> int:
    """Port of the local peer (127.0.0.1 inside the proxy container)."""
    used = _declared_tcp_ports(*plans) | {haproxy_stats_port(*plans)}
    return _free_port(HAPROXY_PEER_PORT, used)


def _server_lines(backends: tuple[Backend, ...], where: str) -> list[str]:
    """One ``server`` line per endpoint; names are the pod names, made valid and unique."""
    lines: list[str] = []
    seen: set[str] = set()
    for backend, address in valid_endpoints(backends, where):
        base = _INVALID_NAME_CHARS.sub("_", backend.pod) or "ep"
        name, n = base, 1
        while name in seen:
            n += 1
            name = f"{base}_{n}"
        seen.add(name)
        lines.append(f"    server {name} {address} weight {SERVER_WEIGHT}")
    return lines


def _port_label(port: ServicePort, backends: tuple[Backend, ...]) -> str:
    name = f' "{port.name}"' if port.name else ""
    targets = sorted({b.port for b in backends})
    return one_line(f"{port.key}{name} -> port {', '.join(map(str, targets))} on the endpoints")


def _listeners(plan: ProxyPlan) -> list[str]:
    """One `listen` section per TCP port of the plan that has endpoints."""
    service = one_line(object_key(plan.namespace, plan.name))
    affinity = plan.affinity_timeout is not None
    listeners: list[str] = []
    for port in sorted(plan.tcp_ports(), key=lambda p: p.port):
        backends = plan.backends.get(port.key, ())
        servers = _server_lines(backends, f"{service} {port.key}")
        if not servers:
            continue  # no endpoints: nothing listens, clients are refused
        bind_ports = [port.port] + sorted(set(plan.listen_ports_extra.get(port.key, ())) - {port.port})
        binds = "\n".join(f"    bind :{p}" for p in bind_ports)
        stickiness = ""
        if affinity:
            stickiness = fill(
                "haproxy-affinity.tmpl",
                timeout=max(1, int(plan.affinity_timeout)),  # type: ignore[arg-type]
                peers_section=HAPROXY_PEERS_SECTION,
            )
        routes = plan.routes.get(port.key)
        routing, local = (_policy_routing(port, backends, routes, f"{service} {port.key}") if routes else
                          _local_routing(plan, port, backends, f"{service} {port.key}"))
        listeners.append(
            fill(
                "haproxy-listen.tmpl",
                port_label=_port_label(port, backends),
                proxy_name=f"tcp-{port.port}",
                binds=binds,
                routing=routing,
                affinity=stickiness,
                servers="\n".join(servers) + "\n",
            )
            + local
        )
    return listeners


def _local_routing(plan: ProxyPlan, port: ServicePort, backends: tuple[Backend, ...], where: str) -> tuple[str, str]:
    """internalTrafficPolicy Local: (lines for the listen section, backend sections per node)."""
    if not plan.client_nodes:
        return "", ""
    acls, drops, rules, sections = [], [], [], []
    for i, (node, ips) in enumerate(plan.client_nodes):
        acl = f"from_node_{i}"
        acls.append(f"    acl {acl} src {' '.join(ips)}\n")
        servers = _server_lines(tuple(b for b in backends if b.node == node), where)
        if not servers:
            drops.append(f"    tcp-request connection silent-drop if {acl}\n")
            continue
        name = f"tcp-{port.port}-node-{i}"
        rules.append(f"    use_backend {name} if {acl}\n")
        sections.append(fill("haproxy-local.tmpl", port_label=_port_label(port, backends), node=one_line(node),
                             proxy_name=name, servers="\n".join(servers) + "\n"))
    return fill("haproxy-routing.tmpl", acls="".join(acls), rules="".join(drops + rules)), "".join(sections)


def _policy_routing(port: ServicePort, backends: tuple[Backend, ...], routes: tuple[Route, ...],
                    where: str) -> tuple[str, str]:
    """NetworkPolicy: (lines for the listen section, a backend section per reachable set)."""
    acls: dict[tuple[str, ...], str] = {}
    sections: dict[tuple[str, ...], str] = {}
    rules = []
    for route in routes:
        for addresses, _ in route.when:
            acls.setdefault(addresses, f"np_{len(acls)}")
        name = sections.get(route.pods)
        if name is None:
            name = sections[route.pods] = f"tcp-{port.port}-np-{len(sections)}"
        condition = " ".join(("" if inside else "!") + acls[addresses] for addresses, inside in route.when)
        rules.append(f"    use_backend {name}" + (f" if {condition}" if condition else "") + "\n")
    acl_lines = "".join(f"    acl {acl} src {' '.join(addresses)}\n" for addresses, acl in acls.items())
    label = _port_label(port, backends)
    text = ""
    for pods, name in sections.items():
        servers = _server_lines(tuple(b for b in backends if b.pod in pods), where)
        text += (fill("haproxy-reach.tmpl", port_label=label, proxy_name=name, servers="\n".join(servers) + "\n")
                 if servers else fill("haproxy-hold.tmpl", port_label=label, proxy_name=name))
    return fill("haproxy-policy.tmpl", acls=acl_lines, rules="".join(rules)), text


def render_haproxy(plan: ProxyPlan) -> str:
    """haproxy.cfg for the TCP ports of ``plan``'s Service. Same plan, same text, byte for byte."""
    return render_haproxy_many(f"the TCP ports of Service {plan.namespace}/{plan.name}", [plan])


def render_haproxy_many(subject: str, plans: list[ProxyPlan]) -> str:
    """One haproxy.cfg serving several plans whose ports do not overlap (a node's NodePorts)."""
    listeners: list[str] = []
    affinity = False
    for plan in plans:
        mine = _listeners(plan)
        listeners += mine
        affinity = affinity or (plan.affinity_timeout is not None and bool(mine))
    peers = ""
    if affinity:
        peers = fill(
            "haproxy-peers.tmpl",
            peers_section=HAPROXY_PEERS_SECTION,
            local_peer=HAPROXY_LOCAL_PEER,
            peer_port=haproxy_peer_port(*plans),
        )
    text = fill(
        "haproxy.cfg.tmpl",
        subject=one_line(subject),
        local_peer=HAPROXY_LOCAL_PEER,
        config_path=HAPROXY_CONFIG_PATH,
        socket_path=HAPROXY_SOCKET_PATH,
        stats_port=haproxy_stats_port(*plans),
        peers=peers,
        listeners="".join(listeners),
    )
    return tidy(text)
