"""The cluster's CoreDNS container and the zone files it serves.

The controller writes the Corefile and zones into a Docker volume it shares with CoreDNS,
atomically (temporary file + rename), and bumps the SOA serial on every write: CoreDNS's file
plugin reloads a zone only when its serial changes (it looks every ZONE_RELOAD). A Corefile that
differs from the one on disk is followed by SIGUSR1 (see :func:`reload_corefile`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from docker.errors import DockerException

from ..plan import pod_dns, system_pods
from ..plan.types import CLUSTER_DOMAIN, DnsPlan
from ..render import render_corefile, render_zones
from ..render.coredns import next_serial, zone_file_name, zone_serial
from . import engine
from . import labels as L
from .dns_paths import dns_volume
from .files import replace_file
from .pods import Context

DNS_MOUNT = system_pods.CONFIG_DIR


def dns_name(cluster: str) -> str:
    return f"{cluster}_dns"


def dns_current(ctx: Context, existing, pod: str) -> bool:
    """CoreDNS runs, runs the image the settings name (after an emukube upgrade the old one may
    lack plugins the Corefile now uses: a reload it refuses keeps the old Corefile), and stands
    for the pod named `pod` (another: a new template, or its pod deleted)."""
    image = ((existing.attrs.get("Config") or {}).get("Image") if existing is not None else None)
    return existing is not None and existing.status == "running" and image in (None, ctx.images["coredns"]) \
        and existing.labels.get(L.NAME) == pod


def ensure_dns(client, ctx: Context, existing, pod: str) -> bool:
    """Create CoreDNS, as the pod named `pod`, if it is missing, dead, of another image or of
    another pod, at the same address. True when (re)created."""
    if dns_current(ctx, existing, pod):
        return False
    if existing is not None:
        engine.remove(existing)
    container = engine.create(
        client, dns_name(ctx.cluster), ctx.images["coredns"], network=ctx.net.network_name, ip=ctx.net.dns_ip,
        # Named as its pod in the API (plan/system_pods.py): `kubectl logs` finds it so.
        labels={L.CLUSTER: ctx.cluster, L.ROLE: L.Role.DNS, L.NAMESPACE: system_pods.NAMESPACE,
                L.NAME: pod, L.CONTAINER: system_pods.CONTAINER},
        command=["-conf", f"{DNS_MOUNT}/Corefile"],
        user="0", hostname="coredns",
        host_config=dict(binds={dns_volume(ctx.cluster): {"bind": DNS_MOUNT, "mode": "ro"}},
                         restart_policy={"Name": "always"}),
    )
    container.start()
    return True


@dataclass(frozen=True)
class DnsWrite:
    """What one ZoneWriter.write changed on disk."""

    zones: bool = False
    corefile: bool = False  # CoreDNS must be told (SIGUSR1)

    def __bool__(self) -> bool:
        return self.zones or self.corefile


class ZoneWriter:
    """Writes DNS files under a directory (the shared volume) only when their content changes."""

    def __init__(self, directory: str):
        self.dir = Path(directory)
        self.last_body: str | None = None
        self.last_probe: DnsPlan | None = None
        self.last_custom: str | None = None
        # A previous controller may have left a serial ahead of the clock: continue after it,
        # never reuse it (CoreDNS would keep the old records).
        forward = self.dir / "zones" / zone_file_name(CLUSTER_DOMAIN)
        self.serial = zone_serial(forward.read_text()) if forward.is_file() else None

    def write(self, plan_for_serial, custom: str | None = None) -> DnsWrite:
        """plan_for_serial(serial) -> DnsPlan. Zones first, then the Corefile naming them.
        custom: the Corefile the kube-system/coredns ConfigMap holds (render_corefile)."""
        probe = plan_for_serial(1)  # any valid serial: only the records are compared
        if probe == self.last_probe and custom == self.last_custom:  # not rendered again
            return DnsWrite()
        self.last_custom = custom
        body = render_corefile(probe, custom) + "".join(v for _, v in sorted(render_zones(probe).items()))
        if body == self.last_body:
            self.last_probe = probe
            return DnsWrite()
        self.serial = next_serial(self.serial, time.time())
        plan: DnsPlan = plan_for_serial(self.serial)
        (self.dir / "zones").mkdir(parents=True, exist_ok=True)
        for name, text in render_zones(plan).items():
            replace_file(self.dir / "zones" / name, text)
        corefile = _write_if_changed(self.dir / "Corefile", render_corefile(plan, custom))
        self.last_body, self.last_probe = body, probe
        return DnsWrite(zones=True, corefile=corefile)


def reload_corefile(container) -> bool:
    """Make a running CoreDNS re-read its Corefile now (graceful; a bad file keeps the old one)."""
    try:
        container.kill(signal="SIGUSR1")
        return True
    except DockerException:
        return False  # not running: it reads the new file when it starts


def resolv_conf(dns_ip: str, namespace: str) -> str:
    """A pod's resolver: CoreDNS alone (ClusterFirst). Docker's embedded resolver would answer
    PTR queries for container addresses with container names, shadowing the cluster's records;
    CoreDNS forwards everything outside cluster.local to it instead."""
    return pod_dns.cluster_first(dns_ip, namespace).text()


def node_resolver() -> pod_dns.ResolvConf:
    """The node's resolver (dnsPolicy Default): the controller's own, which Docker wrote: its
    embedded resolver, which pods on the cluster network reach at the same address."""
    try:
        return pod_dns.parse(Path("/etc/resolv.conf").read_text())
    except OSError:
        return pod_dns.ResolvConf(("127.0.0.11",), (), ("ndots:0",))


def write_resolv_confs(directory: str, dns_ip: str, namespaces: set[str],
                       pod_specs: Iterable[tuple[str, dict]] = ()) -> None:
    """One file per namespace, and one per other dnsPolicy/dnsConfig a declared pod has
    (plan/pod_dns.py): written before such a pod starts, since pods bind-mount them."""
    folder = Path(directory) / "resolv"
    folder.mkdir(parents=True, exist_ok=True)
    for ns in namespaces:
        target = folder / f"{ns}.conf"
        _write_if_changed(target, resolv_conf(dns_ip, ns))
    node = None
    for ns, spec in pod_specs:
        name = pod_dns.resolv_file(spec, ns)
        if name != f"{ns}.conf":
            node = node or node_resolver()
            _write_if_changed(folder / name, pod_dns.pod_resolv(spec, ns, dns_ip, node).text())


def _write_if_changed(path: Path, text: str) -> bool:
    if path.is_file() and path.read_text() == text:
        return False
    replace_file(path, text)
    return True
