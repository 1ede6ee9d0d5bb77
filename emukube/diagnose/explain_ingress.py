"""`emukube explain ingress/NAME`: each rule of an Ingress, the Service it reaches and whether
that Service works (its own explanation), and where the emulation differs. Pure: works on the
Ingresses, Services and Secrets the caller read, and the Services' explanations."""

from __future__ import annotations

from ..manifests.unemulated import ingress_annotations
from ..plan import ingress as plan
from .explain import LIMIT, PROBLEM, WARNING, Explanation, Finding


def _key(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name', '')}"


def _address(ing: dict) -> str:
    found = [i.get("ip") for i in ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]
    return found[0] if found and found[0] else ""


def explain_ingress(ing: dict, ingresses: list[dict], services: list[dict], secrets: list[dict],
                    service_checks: dict[str, Explanation]) -> Explanation:
    """service_checks: "namespace/name" -> the explanation of each Service the rules name."""
    key, spec = _key(ing), ing.get("spec") or {}
    out = Explanation(service=key, kind="Ingress")
    address = _address(ing)
    routes = plan.plan(ingresses, services, secrets)
    mine = [r for r in routes.routes if r.ingress == key]
    out.chain.append(("address", f"{address}:80, :443" if address else "none yet (the Ingress controller is starting)"))
    out.chain.append(("class", f"{spec.get('ingressClassName') or '<none>'} (served by emukube's controller)"))
    for route in mine:
        target = route.target
        where = target.address or target.why
        out.chain.append(("rule", f"{route.host or '*'} {route.path} ({route.path_type}) -> "
                                  f"{target.service}:{target.port} ({where})"))
        if not target.address:
            out.findings.append(Finding(PROBLEM, f"{route.host or '*'}{route.path}: {target.why}: requests get 503"))
            continue
        check = service_checks.get(f"{target.namespace}/{target.service}")
        if check is not None and check.problems:
            out.findings.append(Finding(PROBLEM, f"{route.host or '*'}{route.path} -> {target.service}: "
                                                 f"{check.problems[0].text}"))
    _shadowed(out, ing, mine)
    for what in ingress_annotations(ing):
        out.findings.append(Finding(WARNING, f"annotation {what} is not honoured (of a controller's own "
                                             "annotations, emukube's honours ingress-nginx's rewrite-target, "
                                             "use-regex, ssl-redirect, force-ssl-redirect and app-root)"))
    have, namespace = {c.secret for c in routes.certificates}, key.split("/")[0]
    missing = {t.get("secretName", "") for t in spec.get("tls") or []
               if f"{namespace}/{t.get('secretName')}" not in have}
    for name in sorted(missing):
        out.findings.append(Finding(WARNING, f'TLS Secret "{name}" is missing or holds no tls.crt and tls.key: its '
                                             "hosts get the fake certificate and plain HTTP"))
    first = mine[0] if mine else None
    host = f"-H 'Host: {first.host.replace('*', 'www')}' " if first and first.host else ""
    out.summary = f"curl {host}http://{address}{first.path if first else '/'}" if address else "not served yet"
    out.findings.append(Finding(LIMIT, "one controller serves every Ingress, whatever its class"))
    out.findings.append(Finding(LIMIT, "backends see the Service proxy's address; X-Forwarded-For holds the "
                                       "address the Ingress controller saw (the engine's gateway from the host)"))
    return out


def _shadowed(out: Explanation, ing: dict, mine: list[plan.Route]) -> None:
    """Rules an older Ingress holds the same host and path of: that one's backend answers."""
    served = {(r.host, r.path_type, r.path) for r in mine}
    for rule in (ing.get("spec") or {}).get("rules") or []:
        host = (rule.get("host") or "").lower()
        for path in (rule.get("http") or {}).get("paths") or []:
            wanted = (host, path.get("pathType") or "Prefix", path.get("path") or "/")
            if wanted not in served:
                out.findings.append(Finding(WARNING, f"{host or '*'}{wanted[2]} ({wanted[1]}) is an older "
                                                     "Ingress's: its backend answers"))
