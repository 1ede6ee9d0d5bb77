"""The HAProxy configuration of a cluster's Ingress controller, from plan/ingress.py's routes:
one HTTP frontend trying the routes in order, one backend per Service port they reach."""

from __future__ import annotations

import re

from emukube.plan.ingress import HTTP_PORT, HTTPS_PORT, IngressPlan, Route, Target
from emukube.render._template import fill, one_line, tidy
from emukube.render.haproxy import HAPROXY_SOCKET_PATH, HAPROXY_STATS_PORT

NOT_FOUND = "default_404"
FOLDER = "/tmp/emukube"  # the proxy's config folder (runtime/proxies.py)
CRT_LIST = "crt-list"
DEFAULT_CERT = "default.pem"  # the controller's fake certificate (runtime/ingress_proxy.py)
_UNSAFE = re.compile(r'["\\$]')


def _quoted(text: str) -> str:
    """One HAProxy word: single quotes keep everything as written (a `$` would be an
    environment variable between double quotes)."""
    if "'" not in text:
        return f"'{text}'"
    return '"' + _UNSAFE.sub(lambda m: "\\" + m.group(0), text) + '"'


def _host_test(host: str) -> str:
    if host.startswith("*."):  # one DNS label, as the Ingress API defines the wildcard
        return "var(txn.host) -m reg " + _quoted("^[^.]+" + re.escape(host[1:]) + "$")
    return f"var(txn.host) -m str {_quoted(host)}"


def _host_acl(i: int, host: str) -> str:
    return f"    acl host_{i} {_host_test(host)}\n"


def certificate_files(plan: IngressPlan) -> dict[str, str]:
    """The files beside the config: the crt-list (the fake certificate first, so it is the
    default) and one PEM per Secret, named by content so a changed Secret is a new file."""
    files = {f"tls-{c.digest}.pem": c.pem for c in plan.certificates}
    lines = [f"{FOLDER}/{DEFAULT_CERT}"] + [f"{FOLDER}/tls-{c.digest}.pem {' '.join(c.hosts)}"
                                             for c in plan.certificates]
    return {**files, CRT_LIST: "\n".join(lines) + "\n"}


def _redirect(plan: IngressPlan) -> str:
    """ingress-nginx's ssl-redirect: plain HTTP to a host with a certificate is sent to HTTPS
    (308), unless its Ingress says ssl-redirect "false"; force-ssl-redirect sends it without one.
    Then app-root: a request for / of its Ingress's hosts is sent there (302)."""
    hosts = sorted({h for c in plan.certificates for h in c.hosts} - set(plan.plain_hosts)
                   | set(plan.forced_https_hosts))
    lines = ""
    if hosts:
        terms = " or ".join("!{ ssl_fc }" + (f" {{ {_host_test(h)} }}" if h else "") for h in hosts)
        lines += f"    http-request redirect scheme https code 308 if {terms}\n"
    for host, root in plan.app_roots:
        where = f" {{ {_host_test(host)} }}" if host else ""
        lines += f"    http-request redirect location {_quoted(root)} code 302 if {{ path -m str / }}{where}\n"
    return lines


def _path_terms(route: Route) -> list[str]:
    """Alternatives (ORed) matching the route's path."""
    if route.regex:  # ingress-nginx's `location ~* "^PATH"`
        return [f"{{ path -m reg -i {_quoted('^' + route.path + ('$' if route.path_type == 'Exact' else ''))} }}"]
    if route.path_type == "Exact":
        return [f"{{ path -m str {_quoted(route.path)} }}"]
    if route.path_type == "ImplementationSpecific":  # nginx's plain `location /p`: a string prefix
        return [f"{{ path -m beg {_quoted(route.path)} }}"] if route.path != "/" else [""]
    prefix = route.path.rstrip("/")
    if not prefix:
        return [""]
    # Element-wise: /app matches /app and /app/x, never /apple.
    return [f"{{ path -m str {_quoted(prefix)} }}", f"{{ path -m beg {_quoted(prefix + '/')} }}"]


def _backend(name: str, target: Target, route: Route | None = None) -> str:
    """`route`: the one route sent here, whose rewrite-target the path gets."""
    head = f"\nbackend {name}\n    # {target.namespace}/{target.service}:{target.port}\n"
    if route is not None and route.rewrite:
        # nginx's `rewrite "(?i)PATH" TARGET break`: where PATH is found, the whole path becomes TARGET.
        replacement = re.sub(r"\$(\d)", r"\\\1", route.rewrite)
        head += f"    # rewrite-target: {one_line(route.rewrite)}\n" \
                f"    http-request replace-path {_quoted('(?i)' + route.path)} {_quoted(replacement)}\n"
    if target.address:
        return head + f"    server {target.service[:40] or 'svc'} {target.address}\n"
    body = f"503 Service Temporarily Unavailable: {target.why}"
    return head + f"    http-request return status 503 content-type text/plain string {_quoted(body)}\n"


def render_ingress(plan: IngressPlan, subject: str = "the cluster's Ingresses") -> str:
    names: dict[tuple[Target, Route | None], str] = {}

    def backend_of(target: Target, route: Route | None = None) -> str:
        """One backend per target, and one per route that rewrites the path."""
        return names.setdefault((target, route if route is not None and route.rewrite else None), f"be_{len(names)}")

    host_index = {host: i for i, host in enumerate(plan.hosts)}
    acls = "".join(_host_acl(i, h) for h, i in host_index.items())
    default = backend_of(plan.default) if plan.default is not None else NOT_FOUND
    rules: list[str] = []
    ended: set[str] = set()
    for route in plan.routes:
        if any(ord(ch) < 0x20 or ch == "\x7f" for ch in route.path):
            continue  # no request path holds a control character, and HAProxy's words cannot either
        for host in [h for h in plan.hosts if h not in ended and h != route.host and
                     (not route.host or host_index[h] < host_index.get(route.host, len(host_index)))]:
            ended.add(host)  # a host with rules answers only from them
            rules.append(f"    use_backend {default} if host_{host_index[host]}\n")
        host = f"host_{host_index[route.host]} " if route.host else ""
        terms = " or ".join((host + t).strip() for t in _path_terms(route))
        shown = one_line(f"{route.ingress}: {route.host or '*'} {route.path} ({route.path_type})")
        rules.append(f"    # {shown}\n"
                     f"    use_backend {backend_of(route.target, route)}" + (f" if {terms}" if terms else "") + "\n")
    rules += [f"    use_backend {default} if host_{host_index[h]}\n" for h in plan.hosts if h not in ended]
    backends = "".join(_backend(name, target, route) for (target, route), name in names.items())
    # Each certificate named by its content: a changed Secret changes the config, so it reloads.
    certs = "".join(f"# certificate {c.secret}: tls-{c.digest}.pem\n" for c in plan.certificates)
    if default == NOT_FOUND:
        backends += (f"\nbackend {NOT_FOUND}\n    http-request return status 404 content-type text/plain "
                     f"string {_quoted('default backend - 404')}\n")
    return tidy(certs + fill("haproxy-ingress.cfg.tmpl", subject=subject, socket_path=HAPROXY_SOCKET_PATH,
                             stats_port=HAPROXY_STATS_PORT, port=HTTP_PORT, tls_port=HTTPS_PORT,
                             crt_list=f"{FOLDER}/{CRT_LIST}", redirect=_redirect(plan), acls=acls,
                             rules="".join(rules), default=default, backends=backends))
