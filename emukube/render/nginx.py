"""nginx (stream module) configuration for the UDP ports of one Service.

The runtime must honour:

* command line ``nginx -g 'daemon off;' -c /tmp/emukube/nginx.conf`` (:data:`NGINX_COMMAND`);
* ``/tmp/emukube/`` exists and is writable (config, pid file);
* reload = SIGHUP to the master (graceful: old workers finish their UDP sessions);
* the stream module: Debian's nginx-light + libnginx-mod-stream ships it as a loadable module at
  :data:`NGINX_STREAM_MODULE` (the default, ``load_module`` line in the config). The official
  ``nginx`` image has it built in (``--with-stream``) and ships no such file: render with
  ``stream_module=None`` for that image, or nginx refuses to start.

A UDP port without endpoints has no ``server`` block: nothing listens, the client gets ICMP port
unreachable (refused), like kube-proxy. With no UDP listener at all, ``stream {}`` stays empty,
which nginx accepts.
"""

from __future__ import annotations

from emukube.k8s.keys import object_key
from emukube.plan.network_policy import region
from emukube.plan.types import Backend, ProxyPlan, ServicePort
from emukube.render._template import fill, one_line, tidy, valid_endpoints

NGINX_CONFIG_PATH = "/tmp/emukube/nginx.conf"
NGINX_PID_PATH = "/tmp/emukube/nginx.pid"
NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
NGINX_COMMAND = ("nginx", "-g", "daemon off;", "-c", NGINX_CONFIG_PATH)
# First word of the session lines nginx logs on stderr: "<mark> port upstream in out status".
NGINX_SESSION_MARK = "udp-session"

_RANDOM = "        random;"
_AFFINITY = (
    "        # sessionAffinity: ClientIP. nginx has no affinity timeout: a client keeps its\n"
    "        # endpoint for as long as the set of endpoints stays the same.\n"
    "        hash $remote_addr consistent;"
)


def _server_lines(backends: tuple[Backend, ...], where: str) -> list[str]:
    lines: list[str] = []
    seen: set[str] = set()
    for backend, address in valid_endpoints(backends, where):
        if address in seen:
            continue  # nginx would count the same address twice
        seen.add(address)
        lines.append(f"        server {address};  # {one_line(backend.pod)}")
    return lines


def _port_label(port: ServicePort) -> str:
    name = f' "{port.name}"' if port.name else ""
    return one_line(f"{port.key}{name}")


# Where a client pod whose node has no endpoint is sent: a port nothing answers in the proxy
# container, so its datagrams go unanswered, as kube-proxy drops them.
DROP_ADDRESS = "127.0.0.1:9"


def _local(plan: ProxyPlan, port: ServicePort, balance: str, where: str) -> tuple[str, str]:
    """internalTrafficPolicy Local: (the map and the upstreams per node, proxy_pass's target)."""
    upstream = f"udp_{port.port}"
    if not plan.client_nodes:
        return "", upstream
    backends = plan.backends.get(port.key, ())
    clients, upstreams = [], []
    for i, (node, ips) in enumerate(plan.client_nodes):
        servers = _server_lines(tuple(b for b in backends if b.node == node), where)
        name = f"{upstream}_node_{i}"
        upstreams.append(f"    upstream {name} {{  # clients on {one_line(node)}\n{balance}\n"
                         + "\n".join(servers or [f"        server {DROP_ADDRESS};  # no endpoint on this node"])
                         + "\n    }\n")
        clients += [f"        {ip} {name};" for ip in ips]
    variable = f"{upstream}_local"
    text = fill("nginx-local.tmpl", variable=variable, upstream=upstream, clients="\n".join(clients),
                upstreams="".join(upstreams))
    return text, f"${variable}"


def _policy(plan: ProxyPlan, port: ServicePort, balance: str, where: str) -> tuple[str, str]:
    """NetworkPolicy (plan/network_policy.py): (the geo map of client addresses to the upstream
    of the endpoints they may reach, and the upstreams; proxy_pass's target). geo takes the
    longest prefix: each pod's own address before the blocks of everyone else."""
    upstream, routes = f"udp_{port.port}", plan.routes[port.key]
    backends = plan.backends.get(port.key, ())
    names: dict[tuple[str, ...], str] = {}
    entries, upstreams = [], []
    for route in routes:
        name = names.get(route.pods)
        if name is None:
            name = names[route.pods] = f"{upstream}_np_{len(names)}"
            servers = _server_lines(tuple(b for b in backends if b.pod in route.pods), where)
            upstreams.append(f"    upstream {name} {{\n{balance}\n" + "\n".join(
                servers or [f"        server {DROP_ADDRESS};  # no endpoint these clients may reach"]) + "\n    }\n")
        entries += [f"        {net} {name};" for net in region(route)]
    variable, nowhere = f"{upstream}_np", f"{upstream}_np_none"
    upstreams.append(f"    upstream {nowhere} {{\n        server {DROP_ADDRESS};\n    }}\n")
    text = fill("nginx-policy.tmpl", variable=variable, upstream=nowhere, clients="\n".join(entries),
                upstreams="".join(upstreams))
    return text, f"${variable}"


def render_nginx(plan: ProxyPlan, *, stream_module: str | None = NGINX_STREAM_MODULE) -> str | None:
    """nginx.conf for the UDP ports of ``plan``'s Service; None when the Service has no UDP port.

    ``stream_module``: path for ``load_module``, or None when nginx has the stream module built in
    (official ``nginx`` image). Same arguments, same text, byte for byte.
    """
    udp_ports = sorted(plan.udp_ports(), key=lambda p: p.port)
    if not udp_ports:
        return None
    service = one_line(object_key(plan.namespace, plan.name))
    blocks: list[str] = []
    for port in udp_ports:
        servers = _server_lines(plan.backends.get(port.key, ()), f"{service} {port.key}")
        if not servers:
            continue  # no endpoints: nothing listens
        listen_ports = [port.port] + sorted(set(plan.listen_ports_extra.get(port.key, ())) - {port.port})
        balance = _AFFINITY if plan.affinity_timeout is not None else _RANDOM
        local, target = (_policy if port.key in plan.routes else _local)(plan, port, balance, f"{service} {port.key}")
        blocks.append(
            fill(
                "nginx-server.tmpl",
                port_label=_port_label(port),
                upstream=f"udp_{port.port}",
                balance=balance,
                servers="\n".join(servers),
                local=local,
                target=target,
                listens="\n".join(f"        listen {p} udp;" for p in listen_ports),
            )
        )
    if blocks:
        blocks.insert(0, fill("nginx-log.tmpl", marker=NGINX_SESSION_MARK))
    load_module = f"load_module {stream_module};" if stream_module else "# stream module built in"
    text = fill(
        "nginx.conf.tmpl",
        service=service,
        config_path=NGINX_CONFIG_PATH,
        pid_path=NGINX_PID_PATH,
        stream_module_line=load_module,
        servers="\n".join(blocks),
    )
    return tidy(text)
