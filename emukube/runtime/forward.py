"""Port-forward: a host port that reaches a Service's ClusterIP:port or a pod's IP:port.

kubectl tunnels port-forwards through the API server; here a small HAProxy container on the
cluster network publishes ADDRESS:LOCAL (0 = a free port the engine picks) and relays every
connection to the target. It carries the cluster's label, so `emukube down` removes it with the
rest, and the controller leaves it alone (it only manages its own roles).

Two lifetimes: "cluster" forwards (made by `Cluster.url` for ClusterIP Services) stay until the
cluster goes and are reused; "session" forwards (`emukube port-forward`) are removed by whoever
made them.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from docker.errors import APIError

from ..errors import EmukubeError
from ..render.forward import FORWARD_CONFIG_PATH, FORWARD_LISTEN_PORT, render_forward
from . import engine, images
from . import labels as L

ROLE = "forward"
TARGET = "emukube.io/forward-target"  # what the user asked for: "svc/default/web:80"
ADDRESS = "emukube.io/forward-address"  # where it relays to: "10.96.1.7:80"
LIFETIME = "emukube.io/forward-lifetime"  # cluster | session


@dataclass(frozen=True)
class Forward:
    container: object
    host: str
    local_port: int
    target: str
    address: str

    def remove(self) -> None:
        engine.remove(self.container)


def find(client, cluster: str, target: str, address: str, host: str = "127.0.0.1") -> Forward | None:
    """A running, reusable ("cluster" lifetime) forward to the same target and address."""
    for c in engine.containers(client, cluster, all=False, **{L.ROLE: ROLE, TARGET: target,
                                                                LIFETIME: "cluster"}):
        if c.labels.get(ADDRESS) == address:
            port = published_port(c, host)
            if port:
                return Forward(c, host, port, target, address)
    return None


def published_port(container, host: str) -> int | None:
    container.reload()
    for binding in (container.attrs["NetworkSettings"].get("Ports") or {}).get(f"{FORWARD_LISTEN_PORT}/tcp") or []:
        if binding.get("HostIp") in (host, "0.0.0.0", "") and binding.get("HostPort"):
            return int(binding["HostPort"])
    return None


def create(client, cluster: str, network: str, target: str, target_ip: str, target_port: int, *,
           local_port: int = 0, host: str = "127.0.0.1", lifetime: str = "session",
           timeout: float = 30) -> Forward:
    """Start a forward host:local_port -> target_ip:target_port and wait until it listens.
    Raises EmukubeError in kubectl's words when the host port cannot be had."""
    address = f"{target_ip}:{target_port}"
    kind, _, rest = target.partition("/")
    name = f"{cluster}_forward_{kind}_{rest.replace('/', '_').replace(':', '_')}_{secrets.token_hex(3)}"
    labels = {L.CLUSTER: cluster, L.ROLE: ROLE, TARGET: target, ADDRESS: address, LIFETIME: lifetime}
    container = engine.create(
        client, name, images.resolve(client, "haproxy"), network=network, labels=labels,
        ports={f"{FORWARD_LISTEN_PORT}/tcp": [(host, local_port or None)]},
        entrypoint=["haproxy"], command=["-W", "-db", "-f", FORWARD_CONFIG_PATH], user="0",
        host_config=dict(restart_policy={"Name": "unless-stopped"}))
    try:
        engine.put_files(container, {FORWARD_CONFIG_PATH: (render_forward(target_ip, target_port, target).encode(),
                                                           0o644)})
        container.start()
        _wait_listening(container, timeout)
        port = published_port(container, host)
    except APIError as exc:
        engine.remove(container)
        # "driver failed programming ... on endpoint NAME (ID): Error starting userland proxy: ..."
        reason = str(exc.explanation or exc).rsplit("): ", 1)[-1]
        raise EmukubeError(f"Unable to listen on port {local_port}: {reason}\n"
                           f"error: unable to listen on any of the requested ports: [{{{local_port} {target_port}}}]") \
            from None
    except BaseException:
        engine.remove(container)
        raise
    if port is None:
        engine.remove(container)
        raise EmukubeError(f"error: the engine published no host port for the forward to {target}")
    return Forward(container, host, port, target, address)


def _wait_listening(container, timeout: float) -> None:
    """Docker's proxy accepts on the host at once; HAProxy inside may not listen yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        if container.status != "running":
            logs = container.logs(tail=5).decode(errors="replace").strip()
            raise EmukubeError(f"error: the port-forward container stopped: {logs[-300:]}")
        if container.exec_run(["nc", "-z", "127.0.0.1", str(FORWARD_LISTEN_PORT)]).exit_code == 0:
            return
        time.sleep(0.2)
    raise EmukubeError(f"error: the port-forward did not listen within {timeout:.0f}s")
