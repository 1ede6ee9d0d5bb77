"""Connecting to the Docker engine, and small helpers over the docker SDK.

The same code runs on the host (docker SDK 7) and inside the controller container (Debian's
python3-docker 5), so it sticks to the low-level calls both versions share.
"""

from __future__ import annotations

import io
import tarfile
import time

import docker
from docker.errors import APIError, DockerException, NotFound
from docker.models.containers import Container

from ..errors import EngineUnavailable
from ..k8s.times import epoch
from . import labels as L
from .engine_address import socket_name

# The engine's errors, for the code outside runtime/ that handles them (only runtime/ imports docker).
__all__ = ["APIError", "Container", "DockerException", "NotFound", "socket_name"]


def pooled(connections: int) -> docker.DockerClient:
    """A client for the controller, which talks to the engine from many threads at once."""
    return _local(docker.from_env(timeout=120, max_pool_size=connections))


def connect() -> docker.DockerClient:
    try:
        client = _local(docker.from_env(timeout=120))
        client.ping()
    except DockerException as exc:
        detail = "no such socket" if "FileNotFoundError" in repr(exc) or "No such file" in str(exc) else ""
        raise EngineUnavailable(socket_name(), detail) from None
    return client


def _local(client: docker.DockerClient) -> docker.DockerClient:
    """On a unix socket, requests' reading of proxy variables and ~/.netrc for every call is
    for nothing: it was a tenth of the controller's CPU while `up` made a cluster."""
    if client.api.base_url.startswith("http+docker://"):
        client.api.trust_env = False
    return client


def containers(client, cluster: str, all: bool = True, **extra: str):
    # ignore_removed: a container removed between the listing and its inspection is left out.
    return client.containers.list(all=all, filters=L.cluster_filter(cluster, **extra), ignore_removed=True)


def get_container(client, name: str):
    try:
        return client.containers.get(name)
    except NotFound:
        return None


def found(get, name: str) -> bool:
    """Whether the engine has it: `get` is client.images.get, client.volumes.get, ..."""
    try:
        get(name)
    except NotFound:
        return False
    return True


def remove(container, timeout: int = 0) -> None:
    try:
        if timeout and container.status == "running":
            container.stop(timeout=timeout)
        container.remove(force=True, v=True)
    except NotFound:
        pass
    except DockerException as exc:
        if "removal of container" in str(exc) and "already in progress" in str(exc):
            return
        raise


def tar_of(files: dict[str, tuple[bytes, int]]) -> bytes:
    """A tar archive of {path: (content, mode)}; parent directories are added as needed."""
    buf = io.BytesIO()
    seen: set[str] = set()
    now = time.time()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in sorted(files):
            parts = path.strip("/").split("/")
            for depth in range(1, len(parts)):
                d = "/".join(parts[:depth])
                if d not in seen:
                    seen.add(d)
                    info = tarfile.TarInfo(d)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, now
                    tar.addfile(info)
            content, mode = files[path]
            info = tarfile.TarInfo(path.strip("/"))
            info.size, info.mode, info.mtime = len(content), mode, now
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def put_files(container, files: dict[str, tuple[bytes, int]]) -> None:
    """Write files into a (created or running) container, whatever its image holds."""
    container.client.api.put_archive(container.id, "/", tar_of(files))


def read_file(container, path: str) -> bytes | None:
    try:
        stream, _ = container.client.api.get_archive(container.id, path)
    except NotFound:
        return None
    raw = b"".join(stream)
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        member = tar.next()
        handle = tar.extractfile(member) if member else None
        return handle.read() if handle else None


def docker_time(text: str) -> float:
    """Docker's RFC 3339 timestamps as epoch seconds (0 when unknown)."""
    return epoch(text)


def started_at(attrs: dict) -> float:
    """When the container last started."""
    return docker_time((attrs.get("State") or {}).get("StartedAt", ""))


def ip_on(container_attrs: dict, network: str) -> str:
    nets = container_attrs.get("NetworkSettings", {}).get("Networks", {}) or {}
    return (nets.get(network) or {}).get("IPAddress", "") or ""


def create(client, name: str, image: str, *, network: str | None = None, ip: str | None = None,
           ports: dict | None = None, host_config: dict | None = None, **config):
    """Create (not start) a container, optionally with a fixed address on the cluster network."""
    hc = dict(host_config or {})
    if network:
        hc.setdefault("network_mode", network)
    if ports:
        hc["port_bindings"] = ports
        config["ports"] = [(int(k.split("/")[0]), k.split("/")[1]) for k in ports]
    networking = None
    if network and ip:
        networking = client.api.create_networking_config(
            {network: client.api.create_endpoint_config(ipv4_address=ip)}
        )
    result = client.api.create_container(
        image, name=name, host_config=client.api.create_host_config(**hc),
        networking_config=networking, **config,
    )
    return client.containers.get(result["Id"])


# -- what the host's code does with a container it holds (only runtime/ calls the SDK) ------------
def run_in(container, cmd: list[str]) -> tuple[int, bytes, bytes]:
    """A command run to its end in a running container: (exit code, stdout, stderr)."""
    result = container.exec_run(cmd, demux=True)
    out, err = result.output if result.output else (b"", b"")
    return int(result.exit_code or 0), out or b"", err or b""


def exec_streaming(container, cmd: list[str]):
    """A command whose output is needed as it comes: yields (stdout, stderr) chunks, then returns
    its exit code (the generator's return value)."""
    api = container.client.api
    made = api.exec_create(container.id, cmd, stdout=True, stderr=True)
    yield from api.exec_start(made["Id"], stream=True, demux=True)
    return api.exec_inspect(made["Id"]).get("ExitCode") or 0


def start_attached(container):
    """Start a created container and yield what it prints until it ends."""
    output = container.attach(stdout=True, stderr=True, stream=True, logs=True)
    container.start()
    yield from output


def start(container) -> None:
    container.start()


def rename(container, name: str) -> None:
    container.rename(name)
    container.reload()


def refresh(container) -> None:
    """Read the container's state again (status, name, attrs); raises NotFound once it is gone."""
    container.reload()


def wait_exit(container, timeout: float | None) -> int:
    """The exit code once the container ends; DockerException or OSError (a timeout) if it does not."""
    return int(container.wait(timeout=timeout).get("StatusCode", 1))


def addresses_on(client, network: str) -> set[str]:
    """The IPv4 addresses the network's containers hold."""
    members = client.networks.get(network).attrs.get("Containers") or {}
    return {(c.get("IPv4Address") or "").split("/")[0] for c in members.values()}
