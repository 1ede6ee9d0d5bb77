"""The live checks behind `emukube explain` and `emukube doctor`: port and DNS checks made from
inside the cluster network (the controller's container, like the probes), host port bindings,
the engine, the images and the controller's own report. The verdicts are judged in diagnose.py."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from ..client.snapshot import Snapshot
from ..plan.allocate import has_node_ports
from ..runtime import engine, images
from ..runtime.dns import dns_name
from ..runtime.engine import DockerException
from . import explain as diagnose

# Runs inside the controller container (python3 is there): one TCP connect per target, in parallel.
_CONNECT = r"""
import json, socket, sys
from concurrent.futures import ThreadPoolExecutor
def try_one(target):
    ip, port = target
    s = socket.socket(); s.settimeout(2)
    try:
        s.connect((ip, port)); return "open"
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:
        return "no answer within 2 s"
    except OSError as exc:
        return exc.strerror or str(exc)
    finally:
        s.close()
targets = json.loads(sys.argv[1])
with ThreadPoolExecutor(16) as pool:
    print(json.dumps(list(pool.map(try_one, targets))))
"""

STATUS_STALE_AFTER = 30  # seconds without a status report: the controller is stuck or gone


def port_checks(snap: Snapshot, targets: list[tuple[str, int]]) -> dict | None:
    """(ip, port) -> diagnose.OPEN / REFUSED / why; None when there is no running controller."""
    controller = snap.state.controller
    if controller is None or controller.status != "running":
        return None
    if not targets:
        return {}
    try:
        _, out, _ = engine.run_in(controller, ["python3", "-c", _CONNECT, json.dumps(targets)])
        output = out.decode(errors="replace")
        verdicts = json.loads(output.strip().splitlines()[-1])
    except (DockerException, ValueError, IndexError):
        return None
    return {tuple(t): v for t, v in zip(targets, verdicts)}


def explain_services(snap: Snapshot, services: list[dict]) -> list[diagnose.Explanation]:
    """Explanations with one port-check round trip for all of the Services."""
    targets = sorted({t for s in services for t in diagnose.listen_targets(s, snap.pods)})
    checks = port_checks(snap, targets)
    gateway = snap.state.net.gateway if snap.state.net else ""
    policies = snap.of_kind("NetworkPolicy")
    return [diagnose.explain(s, snap.pods, snap.status, checks, node_addresses(snap), gateway, policies)
            for s in services]


def node_addresses(snap: Snapshot) -> list[str]:
    """Where NodePorts listen on the host: the --address with one node, else each running node's."""
    if snap.state.controller is None or snap.state.net is None:
        return ["127.0.0.1"]
    return [n.host_ip for n in snap.nodes if not n.stopped] or ["127.0.0.1"]


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def engine_check(client) -> Check:
    version = client.version()
    return Check("engine", True, f"Docker {version.get('Version', '?')} (API {version.get('ApiVersion', '?')})")


def images_check(client) -> Check:
    rows = images.status(client)
    missing = [f"{r['name']} ({r['ref']})" for r in rows if not r["present"]]
    if missing:
        return Check("images", False, "missing: " + ", ".join(missing) + " (run `emukube images build`)")
    return Check("images", True, f"{len(rows)} present")


def controller_check(snap: Snapshot) -> Check:
    controller = snap.state.controller
    if controller is None:
        return Check("controller", False, "no controller container (run `emukube up` again)")
    if controller.status != "running":
        return Check("controller", False, f"the controller container is {controller.status}")
    status = snap.status
    if not status.generation:
        return Check("controller", False, "running but has not reported yet")
    age = time.time() - status.time
    if age > STATUS_STALE_AFTER:
        return Check("controller", False, f"its last report is {age:.0f} s old (see `emukube logs`/`events`)")
    if status.generation != controller.labels.get("emukube.io/generation"):
        return Check("controller", False, "running, still starting on the latest applied objects")
    if not status.converged:
        waiting = status.waiting
        return Check("controller", False, "running, not converged: " + "; ".join(waiting[:4]) +
                     (f" (+{len(waiting) - 4} more)" if len(waiting) > 4 else ""))
    return Check("controller", True, "running and converged")


def dns_check(snap: Snapshot) -> Check:
    net, controller = snap.state.net, snap.state.controller
    dns = engine.get_container(snap.client, dns_name(snap.state.cluster))
    if dns is None or dns.status != "running":
        return Check("DNS", False, "the CoreDNS container is " + ("missing" if dns is None else dns.status))
    if controller is None or controller.status != "running":
        return Check("DNS", False, "cannot ask CoreDNS: no running controller to ask from")
    assert net is not None
    cmd = ["dig", "+short", "+time=2", "+tries=2", f"@{net.dns_ip}", "SOA", "cluster.local"]
    _, answer, err = engine.run_in(controller, cmd)
    out = (answer + err).decode(errors="replace").strip()
    if not out or "timed out" in out:
        return Check("DNS", False, f"CoreDNS at {net.dns_ip} does not answer for cluster.local")
    return Check("DNS", True, f"CoreDNS at {net.dns_ip} answers for cluster.local")


def expected_host_ports(svc: dict, addresses: list[str]) -> list[tuple[str, str, int]]:
    """(protocol, host address, port) a Service publishes on the host."""
    spec = svc["spec"]
    out = []
    for p in spec.get("ports") or []:
        proto = p.get("protocol", "TCP").lower()
        if has_node_ports(svc) and p.get("nodePort"):
            out += [(proto, address, p["nodePort"]) for address in addresses]
        for ing in svc.get("status", {}).get("loadBalancer", {}).get("ingress", []):
            if ing.get("ip"):
                out.append((proto, ing["ip"], p["port"]))
    return out


def _bound(snap: Snapshot) -> set[tuple[str, str, int]]:
    """Host ports the cluster's running containers hold (Service proxies, node proxies)."""
    bound = set()
    for container in engine.containers(snap.client, snap.state.cluster, all=False):
        for key, bindings in (container.attrs["NetworkSettings"].get("Ports") or {}).items():
            for b in bindings or []:
                bound.add((key.split("/")[1], b.get("HostIp"), int(b.get("HostPort"))))
    return bound


def host_ports_check(snap: Snapshot) -> Check:
    addresses = node_addresses(snap)
    bound = _bound(snap)
    wanted, missing = 0, []
    for svc in snap.of_kind("Service"):
        for item in expected_host_ports(svc, addresses):
            wanted += 1
            if item not in bound:
                missing.append(f"{svc['metadata']['name']} {item[1]}:{item[2]}/{item[0]}")
    if missing:
        return Check("host ports", False, "not bound: " + ", ".join(missing))
    return Check("host ports", True, f"{wanted} bound" if wanted else "none published")


def doctor(client, cluster: str) -> tuple[list[Check], list[diagnose.Explanation]]:
    checks = [engine_check(client), images_check(client)]
    snap = Snapshot(client, cluster)
    checks += [controller_check(snap), dns_check(snap), host_ports_check(snap)]
    return checks, explain_services(snap, snap.of_kind("Service")) + explain_ingresses(snap, snap.of_kind("Ingress"))


def explain_ingresses(snap: Snapshot, ingresses: list[dict]) -> list[diagnose.Explanation]:
    """Each Ingress's rules, with the explanations of the Services they name (one port-check
    round trip for all of them)."""
    from .explain_ingress import explain_ingress

    services = snap.of_kind("Service")
    named = {(_namespace(i), (b.get("service") or {}).get("name")) for i in ingresses for b in _backends(i)}
    checked = explain_services(snap, [s for s in services if (_namespace(s), s["metadata"]["name"]) in named])
    by_key = {e.service: e for e in checked}
    return [explain_ingress(i, snap.of_kind("Ingress"), services, snap.of_kind("Secret"), by_key)
            for i in ingresses]


def _namespace(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("namespace") or "default"


def _backends(ing: dict) -> list[dict]:
    spec = ing.get("spec") or {}
    paths = [p for r in spec.get("rules") or [] for p in (r.get("http") or {}).get("paths") or []]
    return [p.get("backend") or {} for p in paths] + ([spec["defaultBackend"]] if spec.get("defaultBackend") else [])
