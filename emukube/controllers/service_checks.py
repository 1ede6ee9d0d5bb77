"""Why a Service whose proxy answers would still fail a client, for `up` to say (as `explain`
does, in fewer words): it has no endpoints, or nothing listens on its targetPort."""

from __future__ import annotations

import socket

from ..plan import endpoints as ep
from ..plan.types import ProxyPlan


def endpoints_problem(svc: dict, plan: ProxyPlan, views: list[ep.PodView]) -> str:
    """"" when some port has an endpoint (or the Service has no ports)."""
    if not plan.ports or any(plan.backends.get(p.key) for p in plan.ports):
        return ""
    selector = svc["spec"].get("selector")
    if not selector:
        return "no endpoints: no selector, and no Endpoints or EndpointSlices written for it"
    chosen = ep.selected_pods(svc, views)
    text = ",".join(f"{k}={v}" for k, v in selector.items())
    if not chosen:
        return f"no endpoints: the selector {text} matches no pod in namespace {plan.namespace}"
    return f"no endpoints: none of the {len(chosen)} pod(s) the selector {text} matches is ready"


def refused(address: tuple[str, int]) -> bool:
    """Whether a TCP connection to the address is refused (nothing listens there)."""
    try:
        with socket.create_connection(address, timeout=1):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False  # slow or unreachable: not a verdict on the port


def listen_problem(plan: ProxyPlan, is_refused=refused) -> str:
    """"" when every TCP endpoint accepts; else which targetPort nothing listens on."""
    for port in plan.tcp_ports():
        closed = [b for b in plan.backends.get(port.key, ()) if is_refused((b.ip, b.port))]
        if closed:
            targets = sorted({b.port for b in closed})
            return (f"nothing listens on targetPort {','.join(map(str, targets))} of port {port.port}/TCP "
                    f"in {len(closed)} pod(s)")
    return ""
