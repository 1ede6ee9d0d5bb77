"""Reaching a cluster from inside, for people at a terminal.

`curl`: call a Service from inside the cluster (the controller container is on the cluster
network and has curl and dig) and tell which pod answered. A Service proxy works in TCP mode,
so nothing in the answer names the pod; its per-endpoint counters do: the endpoint whose
"bytes sent" grew during the call answered it (runtime/haproxy_stats).

`run`: a throwaway pod like `kubectl run`. It is made here, not through the applied objects
(which would replace the controller twice per run), with the same runtime code as any pod: it
gets the cluster DNS and shows in `get pods`; the controller leaves it alone (labels.run_by_cli).
"""

from __future__ import annotations

import ipaddress
import random
import re
import time
from dataclasses import dataclass, replace

from ..errors import EmukubeError, NotFound
from ..k8s.names import kind_of
from ..lifecycle import ops
from ..plan import endpoints as ep
from ..plan.workloads import bare_pod
from ..runtime import engine, haproxy_stats
from ..runtime import labels as L
from ..runtime.engine import APIError, DockerException
from ..runtime.pods import PodStartError, context_of, create_pod
from ..runtime.proxies import proxy_name
from ..runtime.settings import Settings
from .snapshot import Snapshot

SERVICE_PREFIXES = ("svc/", "service/", "services/")
OTHER_KINDS = ("Pod", "Deployment", "StatefulSet", "ReplicaSet", "Node", "Endpoints")
CLUSTER_DOMAIN = "svc.cluster.local"
_IPV4 = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


# -- curl ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CurlResult:
    """What `emukube curl` saw: curl's own output, and who answered."""

    exit_code: int
    body: str
    error: str  # curl's messages (stderr)
    url: str
    notes: tuple[str, ...]  # plain sentences: alias, proxy, which pod answered or refused
    answered_by: tuple[str, ...] = ()  # pod names

    def summary(self) -> str:
        return "\n".join(f"* {n}" for n in self.notes)


def parse_target(text: str) -> tuple[str, str, str]:
    """svc/NAME[:PORT][/PATH] -> (NAME, PORT or "", /PATH)."""
    usage = f'error: cannot curl "{text}": use svc/NAME[:PORT][/PATH], e.g. svc/web:80/hostname'
    rest = text
    for prefix in SERVICE_PREFIXES:
        if rest.startswith(prefix):
            rest = rest[len(prefix):]
            break
    else:  # NAME[:PORT][/PATH] is a Service too; pod/..., deploy/... are not
        if kind_of(rest.split("/", 1)[0], OTHER_KINDS):
            raise EmukubeError(usage)
    head, slash, path = rest.partition("/")
    name, _, port = head.partition(":")
    if not name:
        raise EmukubeError(usage)
    return name, port, "/" + path if slash else "/"


def _service_port(svc: dict, wanted: str) -> int:
    name = svc["metadata"]["name"]
    ports = [p for p in svc["spec"].get("ports") or [] if p.get("protocol", "TCP") == "TCP"]
    if not wanted:
        if ports:
            return int(ports[0]["port"])
        if svc["spec"].get("type") == "ExternalName":
            return 80
        raise EmukubeError(f"error: service {name} has no TCP port to call")
    for p in ports:
        if str(p["port"]) == wanted or p.get("name") == wanted:
            return int(p["port"])
    if wanted.isdigit() and svc["spec"].get("type") == "ExternalName":
        return int(wanted)
    raise EmukubeError(f"error: service {name} has no TCP port {wanted!r}")


def _fqdn(name: str, namespace: str) -> str:
    return f"{name}.{namespace}.{CLUSTER_DOMAIN}"


def _resolve(controller, dns_ip: str, fqdn: str) -> tuple[list[str], list[str]]:
    """(addresses, CNAME targets) the cluster DNS gives for a name."""
    _, out, _ = engine.run_in(controller, ["dig", "+short", "+time=2", "+tries=2", f"@{dns_ip}", fqdn, "A"])
    lines = [x.strip() for x in out.decode(errors="replace").splitlines() if x.strip()]
    return [x for x in lines if _IPV4.match(x)], [x for x in lines if not _IPV4.match(x) and not x.startswith(";")]


def _proxied_service(snap: Snapshot, svc: dict) -> dict | None:
    """The Service whose proxy a call lands on: itself, or an ExternalName's in-cluster target."""
    spec = svc["spec"]
    if spec.get("type") == "ExternalName":
        target = spec.get("externalName", "").rstrip(".")
        parts = target.split(".")
        if target.endswith("." + CLUSTER_DOMAIN) and len(parts) == 5:
            return snap.find("Service", parts[0], parts[1])
        return None
    return None if spec.get("clusterIP") in (None, "", "None") else svc


def curl(cluster, target: str, namespace: str = "default", timeout: float = 10,
         include: bool = False) -> CurlResult:
    name, port_ref, path = parse_target(target)
    snap = cluster.snapshot()
    svc = snap.find("Service", name, namespace)
    if svc is None:
        raise NotFound(f'Error from server (NotFound): services "{name}" not found')
    port = _service_port(svc, port_ref)
    controller, net = snap.state.controller, snap.state.net
    url = f"http://{name}{'' if port == 80 else f':{port}'}{path}"
    notes: list[str] = []
    addresses, aliases = _resolve(controller, net.dns_ip, _fqdn(name, namespace))
    if svc["spec"].get("type") == "ExternalName":
        notes.append(f"{name} is an ExternalName Service: DNS answers with a CNAME to "
                     f"{svc['spec'].get('externalName')}")
    if not addresses:
        notes.append(f"{_fqdn(name, namespace)} does not resolve in the cluster DNS" +
                     (f" (the alias {aliases[-1]} has no address)" if aliases else ""))
        return CurlResult(6, "", f"curl: (6) Could not resolve host: {name}", url, tuple(notes))
    ip = addresses[0]
    behind = _proxied_service(snap, svc)
    proxy = None
    if behind is not None and behind["spec"].get("clusterIP") == ip:
        proxy = engine.get_container(cluster.client, proxy_name(cluster.name, behind["metadata"].get(
            "namespace", "default"), behind["metadata"]["name"]))
    before = haproxy_stats.read(proxy) if proxy is not None else []
    cmd = ["curl", "-sS", "-m", str(max(1, int(timeout))), "--connect-timeout", "5",
           "--resolve", f"{name}:{port}:{ip}", *(["-i"] if include else []), url]
    code, out, err = engine.run_in(controller, cmd)
    after = _stats_after(proxy, before, port, code == 0)
    pods_by_ip = {p.ip: p.name for p in snap.pods if p.ip}
    answered: list[str] = []
    if behind is None or proxy is None:
        pod = pods_by_ip.get(ip)
        if pod:
            answered = [pod] if code == 0 else []
            many = f", the first of {len(addresses)} pod addresses DNS gave" if len(addresses) > 1 else ""
            what = "is headless" if svc["spec"].get("clusterIP") == "None" else "resolves to a pod's address"
            notes.append(f"{name} {what}: curl connected straight to pod/{pod} ({ip}:{port}){many}")
    else:
        notes += _through_proxy(behind, port, snap, before, after, pods_by_ip, answered)
    return CurlResult(code, out.decode(errors="replace"),
                      err.decode(errors="replace"), url, tuple(notes), tuple(answered))


def _stats_after(proxy, before, port: int, answered: bool) -> list:
    """The proxy's counters after the call. HAProxy adds a TCP stream's bytes to its counters
    when it next wakes that stream, which may come just after curl already has the answer: an
    answered call whose bytes do not show yet is read again, for at most a second."""
    if proxy is None:
        return []
    after = haproxy_stats.read(proxy)
    for _ in range(10):
        if not answered or any(s.listener == f"tcp-{port}" for s in haproxy_stats.moved(before, after, "bout")):
            break
        time.sleep(0.1)
        after = haproxy_stats.read(proxy)
    return after


def _through_proxy(svc: dict, port: int, snap: Snapshot, before, after, pods_by_ip: dict,
                   answered: list[str]) -> list[str]:
    """Sentences on what the Service's proxy did with the call; fills `answered`."""
    meta = svc["metadata"]
    ns = meta.get("namespace", "default")
    where = "" if ns == "default" else f" in namespace {ns}"
    via = f"service/{meta['name']}{where} ({svc['spec']['clusterIP']}:{port})"
    listener = f"tcp-{port}"

    def label(s) -> str:
        return f"pod/{pods_by_ip.get(s.address.rsplit(':', 1)[0], s.server)} ({s.address})"

    sent = [s for s in haproxy_stats.moved(before, after, "bout") if s.listener == listener]
    refused = [s for s in haproxy_stats.moved(before, after, "econ") if s.listener == listener]
    answered += [pods_by_ip.get(s.address.rsplit(":", 1)[0], s.server) for s in sent]
    if len(sent) == 1:
        return [f"answered by {label(sent[0])} via {via}"]
    if sent:
        return [f"answered by one of {', '.join(label(s) for s in sent)} via {via} "
                "(other clients called at the same time)"]
    if refused:
        # The controller's own checks also land on endpoints: several may have refused meanwhile.
        which = label(refused[0]) if len(refused) == 1 else "one of " + ", ".join(label(s) for s in refused)
        ports = sorted({s.address.rsplit(":", 1)[1] for s in refused})
        return [f"{via} passed the call to {which}, which refused the connection: nothing listens on "
                f"port {', '.join(ports)} there"]
    ready = [r for r in ep.endpoint_rows(svc, snap.views()) if r.ready]
    if not ready:
        return [f"{via} has no ready endpoints, so nothing listens on its ClusterIP "
                f"(see `emukube get endpoints {meta['name']}`)"]
    return [f"no endpoint of {via} sent anything back"]


# -- run ----------------------------------------------------------------------------------------

def run_pod_object(name: str, image: str, args: list[str], namespace: str, *, command: bool = False,
                   restart: str = "Never", stdin: bool = False, tty: bool = False,
                   env: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> dict:
    """The Pod `kubectl run` would send: label run=NAME, one container named NAME."""
    container: dict = {"name": name, "image": image}
    if args:
        container["command" if command else "args"] = list(args)
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    if stdin:
        container["stdin"] = True
    if tty:
        container["tty"] = True
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {"run": name}},
            "spec": {"containers": [container], "restartPolicy": restart}}


def _validated(obj: dict, settings: dict) -> dict:
    from ..manifests import apply_defaults, validate
    from ..manifests.load import Doc

    problems = validate([Doc("<run>", 0, obj)], allow_privileged=bool(settings.get("allow_privileged")))
    if problems:
        raise EmukubeError("\n".join(p.message for p in problems))
    return apply_defaults(obj)


def _namespaces(objects: list[dict]) -> set[str]:
    return {"default"} | {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"} | {
        o["metadata"].get("namespace", "default") for o in objects if o["kind"] != "Namespace"}


def _free_ip(client, net) -> str:
    """A pod address no container on the cluster network holds (the controller picks the same way)."""
    used = engine.addresses_on(client, net.network_name)
    pool = net.pod_ip_pool()
    while True:
        ip = str(ipaddress.IPv4Address(pool[random.randrange(len(pool))]))
        if ip not in used:
            return ip


def create_run_pod(cluster, obj: dict, start: bool = True):
    """Create (and start) the pod of `run_pod_object`; returns its container."""
    client = cluster.client
    state = ops.require(ops.read_state(client, cluster.name))
    obj = _validated(obj, ops.settings_of(state.controller))
    meta = obj["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    if namespace not in _namespaces(state.objects):
        raise NotFound(f'Error from server (NotFound): namespaces "{namespace}" not found')
    taken = engine.containers(client, cluster.name, **{L.NAMESPACE: namespace, L.NAME: name})
    if taken or any(ops.object_key(o) == ("Pod", namespace, name) for o in state.objects):
        raise EmukubeError(f'Error from server (AlreadyExists): pods "{name}" already exists')
    assert state.controller is not None
    ctx = context_of(Settings.of_container(state.controller))
    plan = replace(bare_pod(obj), owner_kind=L.RUN_OWNER, owner_name=name)
    for attempt in range(3):
        try:
            containers = create_pod(client, ctx, plan, _free_ip(client, state.net), state.objects, start=start)
            return containers[-1]
        except PodStartError as exc:
            # Two pods may draw the same free address at once: Docker refuses the second.
            if "already in use" in str(exc) and attempt < 2:
                continue
            raise EmukubeError(f"error: pod {name} could not start: {exc}") from None
    raise AssertionError("unreachable")


def wait_exit(container, timeout: float | None) -> int:
    """The exit code of a pod's container once it ends (1 when it does not end in time)."""
    try:
        return engine.wait_exit(container, timeout)
    except (DockerException, OSError) as exc:  # requests' ReadTimeout is an OSError
        raise EmukubeError(f"error: timed out waiting for pod {container.labels.get(L.NAME)}: {exc}") from None


def remove_pod(cluster, namespace: str, name: str) -> None:
    for c in engine.containers(cluster.client, cluster.name, all=True, **{L.NAMESPACE: namespace, L.NAME: name}):
        try:
            engine.remove(c)
        except APIError:
            pass
