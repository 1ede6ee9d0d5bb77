"""The engine objects a cluster is made of besides its pods and proxies: its network and volumes,
found, made and removed by the cluster's label; and the host ports every cluster publishes."""

from __future__ import annotations

from docker.errors import APIError, NotFound
from docker.types import IPAMConfig, IPAMPool

from ..errors import EmukubeError
from ..plan.network import ClusterNet
from . import engine
from . import labels as L
from .published import node_ports_of


class SubnetTaken(Exception):
    """Another network took the planned subnet between planning and creating."""


def subnet_of(client, cluster: str) -> str | None:
    """The cluster's subnet, from its network's label; None when it has no network."""
    subnet = None
    for n in client.networks.list(filters={"label": f"{L.CLUSTER}={cluster}"}):
        subnet = n.attrs["Labels"][L.SUBNET]
    return subnet


def subnets_in_use(client) -> set[str]:
    """Every subnet a network on this engine holds, ours or not."""
    return {cfg["Subnet"] for n in client.networks.list()
            for cfg in (n.attrs.get("IPAM") or {}).get("Config") or [] if cfg.get("Subnet")}


def create_network(client, net: ClusterNet) -> None:
    ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=net.subnet, iprange=net.pod_cidr, gateway=net.gateway)])
    try:
        client.networks.create(net.network_name, driver="bridge", ipam=ipam, check_duplicate=True,
                               labels={L.CLUSTER: net.name, L.SUBNET: net.subnet})
    except APIError as exc:
        # "Pool overlaps with other one", or with our fixed gateway "failed to allocate gateway
        # (10.N.0.1): Address already in use".
        if "overlaps" in str(exc) or "failed to allocate gateway" in str(exc):
            raise SubnetTaken(net.subnet) from None
        if exc.status_code == 409:
            raise EmukubeError(f'cluster "{net.name}" is being created by another process') from None
        raise


def has_volume(client, name: str) -> bool:
    return bool(client.volumes.list(filters={"name": name}))


def ensure_volume(client, name: str, cluster: str, tmpfs: bool = False) -> bool:
    """tmpfs: in memory only (the engine mounts it while a container uses it). Whether it was
    made now (so is empty)."""
    if has_volume(client, name):
        return False
    opts = {"driver_opts": {"type": "tmpfs", "device": "tmpfs", "o": "mode=0755"}} if tmpfs else {}
    client.volumes.create(name, labels={L.CLUSTER: cluster}, **opts)
    return True


def controllers(client) -> list:
    """Every cluster's running controller container on this engine."""
    return client.containers.list(filters={"label": f"{L.ROLE}={L.Role.CONTROLLER}"}, ignore_removed=True)


def published_node_ports(client, cluster: str) -> dict[int, str]:
    """NodePorts the other clusters' containers publish now -> "cluster NAME"."""
    return node_ports_of(client.api.containers(filters={"label": L.CLUSTER}), cluster)


def published_ports(client, cluster: str) -> set[tuple[str, int, str]]:
    """(host address, port, tcp|udp) the cluster's own containers publish now."""
    held = set()
    for c in client.api.containers(all=True, filters={"label": f"{L.CLUSTER}={cluster}"}):
        for p in c.get("Ports") or []:
            if p.get("PublicPort"):
                held.add((p.get("IP", ""), p["PublicPort"], p.get("Type", "tcp")))
    return held


def has_image(client, ref: str) -> bool:
    return engine.found(client.images.get, ref)


def remove_volumes_and_networks(client, cluster: str) -> list[str]:
    """Remove the cluster's volumes and networks; what could not go yet, with the engine's reason."""
    left: list[str] = []
    label = {"label": f"{L.CLUSTER}={cluster}"}
    for vol in client.volumes.list(filters=label):
        _remove_or_note(vol.remove, vol.name, left, force=True)
    for net in client.networks.list(filters=label):
        _remove_or_note(net.remove, net.name, left)
    return left


def _remove_or_note(remove, name: str, left: list[str], **kw) -> None:
    try:
        remove(**kw)
    except NotFound:
        pass
    except APIError as exc:  # still in use by a container created meanwhile
        left.append(f"{name}: {exc.explanation or exc}")


def cluster_names(client) -> set[str]:
    """Every cluster with anything left on the engine, by label: networks, containers, volumes."""
    names = {(n.attrs.get("Labels") or {}).get(L.CLUSTER)
             for n in client.networks.list(filters={"label": L.CLUSTER})}
    names |= {(c.get("Labels") or {}).get(L.CLUSTER)
              for c in client.api.containers(all=True, filters={"label": L.CLUSTER})}
    names |= {(v.attrs.get("Labels") or {}).get(L.CLUSTER)
              for v in client.volumes.list(filters={"label": L.CLUSTER})}
    return {n for n in names if n}


def container_summaries(client) -> list[dict]:
    """The engine's summaries (labels, state, ports) of every cluster's containers, in one listing."""
    return client.api.containers(all=True, filters={"label": L.CLUSTER})


def copy_into(client, container, archive: bytes) -> None:
    """A tar archive unpacked at the container's root."""
    client.api.put_archive(container.id, "/", archive)
