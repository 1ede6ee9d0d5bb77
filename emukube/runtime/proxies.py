"""One proxy per Service: HAProxy holds the ClusterIP (TCP), nginx joins it for UDP.

Configs are written into a folder of the cluster's DNS volume that the proxy has mounted (in
the controller; copied into the container elsewhere), and reloaded with a signal (HAProxy
master-worker: SIGUSR2, nginx: SIGHUP). A copy into a container is an engine call: it was one
more for every proxy made and every reload while `up` started the pods. A reload leaves
established connections on the old worker, so endpoints that stay keep their connections.
Only what cannot change in place (address, published ports, images) recreates the container.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from docker.models.containers import Container

from ..plan.types import ProxyPlan
from ..render import render_haproxy, render_nginx
from ..render.haproxy import HAPROXY_LOCAL_PEER
from ..render.nginx import NGINX_PID_PATH
from . import engine
from . import labels as L
from .files import replace_file
from .pods import Context

CONFIG_DIR = "/tmp/emukube"
HAPROXY_CMD = ["-W", "-db", "-L", HAPROXY_LOCAL_PEER, "-f", f"{CONFIG_DIR}/haproxy.cfg"]
NGINX_CMD = ["-g", "daemon off;", "-c", f"{CONFIG_DIR}/nginx.conf"]
PROXY_CONFIGS = "proxies"  # the folder of the DNS volume (runtime/dns_paths.py) with one folder per proxy
APPLIED_SUFFIX = ".applied"  # beside a config: the digest of the config the process was last told to load


def proxy_name(cluster: str, namespace: str, name: str, udp: bool = False) -> str:
    return f"{cluster}_svc_{namespace}_{name}" + ("_udp" if udp else "")


def published_ports(svc: dict, plan: ProxyPlan, node_address: str | None) -> dict[str, list[tuple[str, int]]]:
    """Host port bindings: nodePorts on the node address, LoadBalancer ports on its own IP."""
    bindings: dict[str, list[tuple[str, int]]] = {}
    lb_ips = [i["ip"] for i in svc.get("status", {}).get("loadBalancer", {}).get("ingress", []) if i.get("ip")]
    for p in plan.ports:
        proto = p.protocol.lower()
        if p.node_port and node_address:
            bindings.setdefault(f"{p.node_port}/{proto}", []).append((node_address, p.node_port))
        for ip in lb_ips:
            bindings.setdefault(f"{p.port}/{proto}", []).append((ip, p.port))
    return bindings


def shape_of(plan: ProxyPlan, bindings: dict, ctx: Context) -> str:
    blob = json.dumps([plan.cluster_ip, sorted(bindings.items()), bool(plan.udp_ports()),
                       ctx.images.get("haproxy"), ctx.images.get("nginx")], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class Proxies:
    """Keeps proxy containers in line with plans; remembers what config each one runs."""

    def __init__(self, client, ctx: Context, marks: Path | None = None):
        self.client, self.ctx = client, ctx
        # Where the marks (see `runs`) are kept: a folder of the controller's state volume, which
        # the next controller finds too; each copy into a proxy was another engine call per reload.
        self.marks = marks
        self.pushed: dict[str, str] = {}  # container id -> config text
        self.names: dict[str, str] = {}  # container id -> container name
        self.distrusted: set[str] = set()  # container names whose markers (see `runs`) lie: a reload was lost

    def reload(self, svc: dict, plan: ProxyPlan, existing: dict[str, Container], settle: bool = True) -> str | None:
        """Bring a running proxy of the right shape in line: "reloaded" or "" (unchanged).
        None when it must be (re)created instead (see `create`): missing, stopped, or its
        address, published ports or images changed. existing: container name -> container.
        settle: return only once HAProxy's new worker serves the new config (see `push`)."""
        what = self.needs(svc, plan, existing)
        if what != "reload":
            return what
        ctx = self.ctx
        tcp = existing[proxy_name(ctx.cluster, plan.namespace, plan.name)]
        udp = existing.get(proxy_name(ctx.cluster, plan.namespace, plan.name, udp=True))
        tcp_cfg, udp_cfg = render_haproxy(plan), render_nginx(plan)
        changed = ""
        if not self.runs(tcp, "haproxy.cfg", tcp_cfg):
            self.push(tcp, "haproxy.cfg", tcp_cfg, "SIGUSR2", settle)
            changed = "reloaded"
        if udp is not None and udp_cfg is not None and not self.runs(udp, "nginx.conf", udp_cfg):
            self.push(udp, "nginx.conf", udp_cfg, "SIGHUP")
            changed = "reloaded"
        if udp is not None and udp_cfg is None:
            engine.remove(udp)
        return changed

    def needs(self, svc: dict, plan: ProxyPlan, existing: dict[str, Container]) -> str | None:
        """What `reload` would do, without doing it: None (to be created), "reload" or ""."""
        ctx = self.ctx
        tcp = existing.get(proxy_name(ctx.cluster, plan.namespace, plan.name))
        udp = existing.get(proxy_name(ctx.cluster, plan.namespace, plan.name, udp=True))
        tcp_cfg, udp_cfg = render_haproxy(plan), render_nginx(plan)
        healthy = tcp is not None and tcp.labels.get(L.SHAPE) == self._shape(svc, plan)[1] and tcp.status == "running"
        if tcp is None or not healthy or (udp_cfg is not None and (udp is None or udp.status != "running")):
            return None
        stale = not self.runs(tcp, "haproxy.cfg", tcp_cfg) or (udp is not None and (
            udp_cfg is None or not self.runs(udp, "nginx.conf", udp_cfg)))
        return "reload" if stale else ""

    def create(self, svc: dict, plan: ProxyPlan, existing: dict[str, Container]) -> None:
        """(Re)create the Service's proxy containers (same ClusterIP), configs in place."""
        ctx = self.ctx
        name = proxy_name(ctx.cluster, plan.namespace, plan.name)
        udp_name = proxy_name(ctx.cluster, plan.namespace, plan.name, udp=True)
        bindings, shape = self._shape(svc, plan)
        tcp_cfg, udp_cfg = render_haproxy(plan), render_nginx(plan)
        for old in (existing.get(udp_name), existing.get(name)):
            if old is not None:
                engine.remove(old)
        labels = {L.CLUSTER: ctx.cluster, L.ROLE: L.Role.PROXY, L.NAMESPACE: plan.namespace, L.NAME: plan.name,
                  L.SHAPE: shape}
        tcp = engine.create(self.client, name, ctx.images["haproxy"], network=ctx.net.network_name,
                            ip=plan.cluster_ip, ports=bindings, labels=labels, entrypoint=["haproxy"],
                            command=HAPROXY_CMD, user="0", hostname=f"svc-{plan.name}"[:63],
                            host_config=dict(restart_policy={"Name": "always"}, binds=self.config_binds(name)))
        self.push(tcp, "haproxy.cfg", tcp_cfg, None)
        tcp.start()
        if udp_cfg is not None:
            labels[L.ROLE] = L.Role.PROXY_UDP
            udp = engine.create(self.client, udp_name, ctx.images["nginx"], labels=labels, entrypoint=["nginx"],
                                command=NGINX_CMD, user="0",
                                host_config=dict(network_mode=f"container:{tcp.id}", restart_policy={"Name": "always"},
                                                 binds=self.config_binds(udp_name)))
            self.push(udp, "nginx.conf", udp_cfg, None)
            udp.start()

    def _shape(self, svc: dict, plan: ProxyPlan) -> tuple[dict, str]:
        # With several nodes, NodePorts are published on the host by the node proxies instead.
        # Pods reach them at the node's INTERNAL-IP, the node proxy's, never on the bridge's
        # gateway: that is a host address, reachable from the LAN by a route through this host.
        bindings = published_ports(svc, plan, self.ctx.node_address if self.ctx.nodes == 1 else None)
        return bindings, shape_of(plan, bindings, self.ctx)

    def runs(self, container, filename: str, text: str) -> bool:
        """Whether the proxy already runs this config. A controller replaced by `apply` finds
        the mark its predecessor left after the last reload, so unchanged Services are not reloaded."""
        if container.id not in self.pushed and container.name not in self.distrusted:
            mark = self._local_mark(container, filename)
            if mark is None:  # left by a controller of an older emukube, in the proxy itself
                mark = engine.read_file(container, f"{CONFIG_DIR}/{filename}{APPLIED_SUFFIX}")
            if mark is not None and mark.decode(errors="replace") == _digest(text):
                self.pushed[container.id] = text
        return self.pushed.get(container.id) == text

    def _mark_path(self, container, filename: str) -> Path | None:
        return self.marks / f"{container.name}.{filename}{APPLIED_SUFFIX}" if self.marks is not None else None

    def _local_mark(self, container, filename: str) -> bytes | None:
        """The digest recorded for this very container (its name may have been reused)."""
        path = self._mark_path(container, filename)
        try:
            held, _, digest = path.read_bytes().partition(b" ") if path is not None else (b"", b"", b"")
        except OSError:
            return None
        return digest if held == container.id.encode() else None

    def _mark(self, container, filename: str, text: str) -> dict[str, tuple[bytes, int]]:
        """Record that the process was told to load `text`: in the marks folder, else the
        file (returned) to copy into the proxy beside its config."""
        path = self._mark_path(container, filename)
        if path is None:
            return {f"{CONFIG_DIR}/{filename}{APPLIED_SUFFIX}": (_digest(text).encode(), 0o644)}
        _replace(path, f"{container.id} {_digest(text)}".encode())
        return {}

    def config_binds(self, name: str) -> dict:
        """The proxy's config folder, mounted from the controller's (none outside the controller)."""
        if self.ctx.proxy_dirs is None:
            return {}
        mine, hosts = self.ctx.proxy_dirs
        Path(mine, name).mkdir(parents=True, exist_ok=True)
        return {f"{hosts}/{name}": {"bind": CONFIG_DIR, "mode": "rw"}}  # rw: nginx writes its pid file there

    def _write(self, container, filename: str, text: str) -> None:
        self.put(container, filename, text.encode())

    def put(self, container, filename: str, data: bytes) -> None:
        """A file into the proxy's config folder, replaced whole."""
        if self.ctx.proxy_dirs is None or not container.attrs.get("HostConfig", {}).get("Binds"):
            engine.put_files(container, {f"{CONFIG_DIR}/{filename}": (data, 0o644)})
            return  # a proxy made before its config had a folder (an older emukube's)
        _replace(Path(self.ctx.proxy_dirs[0], container.name.lstrip("/"), filename), data)

    def push(self, container, filename: str, text: str, signal: str | None, settle: bool = True) -> None:
        if not signal:  # the process reads it when it starts
            self._write(container, filename, text)
            self._put_mark(container, filename, text)
        elif signal == "SIGUSR2":
            self._write(container, filename, text)
            # PID 1 ignores a signal before it installs its handler: a proxy still starting
            # would lose the reload. And until the new worker has loaded, new connections
            # still go to the old endpoints: the controller drains a stopping pod only after
            # this returns (settle), so that no connection reaches a pod that is shutting down.
            young = time.time() - engine.started_at(container.attrs) < 15
            loads = _wait_for_loads(container, 1, limit=3.0) if young or settle else 0
            container.kill(signal=signal)
            if settle and not _settle(container, signal, loads, RESIGNAL_YOUNG if young else RESIGNAL_AFTER):
                return  # never loaded: not marked as pushed, so the next pass pushes it again
            self._put_mark(container, filename, text)  # only once the reload was asked for
        else:
            self._write(container, filename, text)
            _wait_for_nginx(container)
            container.kill(signal=signal)
            self._put_mark(container, filename, text)
        self.pushed[container.id] = text
        self.names[container.id] = container.name

    def _put_mark(self, container, filename: str, text: str) -> None:
        files = self._mark(container, filename, text)
        if files:
            engine.put_files(container, files)

    def forget(self, name: str) -> None:
        """Push (and reload) the configs of this proxy (and its UDP partner) again on the next
        pass: one did not take effect."""
        names = {name, name + "_udp"}
        self.distrusted.update(names)
        for cid in [cid for cid, n in list(self.names.items()) if n in names]:
            self.pushed.pop(cid, None)


def _replace(path: Path, data: bytes) -> None:
    """The file replaced whole: a proxy reloading, or the next controller, never reads half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, data)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


LOADED, NOT_LOADED = b"Loading success", b"Loading failure"


def _wait_for_loads(container, wanted: int, limit: float) -> int:
    """Until HAProxy's master has finished loading `wanted` times (once at start, once per
    reload; "Loading success" or "Loading failure"); returns how many loads it finished."""
    deadline = time.monotonic() + limit
    while True:
        logs = container.logs()
        loads = logs.count(LOADED) + logs.count(NOT_LOADED)
        if loads >= wanted or time.monotonic() > deadline:
            return loads
        time.sleep(0.05)


# A reload takes HAProxy 0.05-0.12 s from signal to load while `up` of pizza loads the machine.
RESIGNAL_AFTER, RESIGNAL_YOUNG, SETTLE_LIMIT = 1.0, 0.3, 5.0


def _settle(container, signal: str, loads: int, resignal: float = RESIGNAL_AFTER) -> bool:
    """Until HAProxy's master has loaded once more than `loads` times. A reload asked for
    moments after a new proxy's first load was now and then lost: its master loaded nothing
    more for the whole wait (5 s, load 5, 1 of ~10 `up`s of pizza, always the first reload of a
    proxy started under a second before), and the Service answered from the old config until
    a check found it silent and pushed it again, 6 s later. HAProxy is PID 1 of its container,
    and the kernel drops a signal PID 1 has no handler for: on a busy machine, a SIGUSR2 sent
    as soon as its master had printed its first "Loading success" was lost 2 times in 12.
    The signal is sent again after `resignal` seconds without a load (RESIGNAL_YOUNG for a
    proxy started seconds ago): a reload that was only slow then runs twice, which is harmless.
    False when no load came within SETTLE_LIMIT: the old config may still serve, and the caller
    must not take this one as applied."""
    deadline = time.monotonic() + SETTLE_LIMIT
    while True:
        wait = min(resignal, deadline - time.monotonic())
        if _wait_for_loads(container, loads + 1, limit=wait) > loads:
            return True
        if time.monotonic() >= deadline:
            return False
        container.kill(signal=signal)


def _wait_for_nginx(container, limit: float = 3.0) -> None:
    """nginx installs its signal handlers before it writes its pid file: wait for a young one."""
    container.reload()
    if time.time() - engine.started_at(container.attrs) > 15:
        return
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and not engine.read_file(container, NGINX_PID_PATH):
        time.sleep(0.1)
