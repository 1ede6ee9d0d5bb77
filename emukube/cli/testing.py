"""`emukube port-forward` and `emukube load`: reaching ClusterIP Services from the host, and
images for machines without a registry (both for testing real apps; see emukube.client.cluster)."""

from __future__ import annotations

import signal
import time
from typing import List

import typer

from ..errors import EmukubeError
from .options import ClusterOpt, NsOpt, handle


def parse_port_spec(spec: str) -> tuple[int | None, str]:
    """kubectl's [LOCAL:]REMOTE: "8080:80", ":80" (a free local port: 0), "80" (local = 80),
    "http" (local = the port it names: None)."""
    local, colon, remote = spec.rpartition(":")
    if not remote:
        raise EmukubeError(f"error: invalid port specification \"{spec}\": no remote port")
    if not colon:
        return (int(remote) if remote.isdigit() else None), remote
    if local == "":
        return 0, remote
    if not local.isdigit() or int(local) > 65535:
        raise EmukubeError(f"error: Error parsing local port '{local}': strconv.ParseUint: parsing "
                           f"\"{local}\": invalid syntax")
    return int(local), remote


def port_forward(target: str = typer.Argument(..., help="svc/NAME, pod/NAME, POD, deploy/NAME or sts/NAME"),
                 ports: List[str] = typer.Argument(..., help="[LOCAL:]REMOTE, e.g. 8080:80, :80 (any free port), 80"),
                 cluster: str = ClusterOpt, namespace: str = NsOpt,
                 address: str = typer.Option("127.0.0.1", "--address", help="Host address to listen on.")):
    """Forward host ports to a Service or pod until Ctrl-C, like kubectl port-forward."""
    if address not in ("127.0.0.1", "localhost"):
        typer.echo(f"warning: listening on {address}: reachable from beyond this machine", err=True)
    host = "127.0.0.1" if address == "localhost" else address
    c = handle(cluster)
    made = []
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        for spec in ports:
            local, remote = parse_port_spec(spec)
            shown = c.forward_display_port(target, remote, namespace)
            fwd = c.port_forward(target, remote, shown if local is None else local, namespace, host)
            made.append(fwd)
            typer.echo(f"Forwarding from {host}:{fwd.local_port} -> {shown}")
        while all(_running(f.container) for f in made):
            time.sleep(1)
        raise EmukubeError("error: lost connection to the cluster (the forward was removed)")
    except KeyboardInterrupt:
        pass
    finally:
        for fwd in made:
            fwd.remove()
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _running(container) -> bool:
    from ..runtime import engine

    try:
        engine.refresh(container)
    except Exception:  # noqa: BLE001 - gone (removed by `down`) or the engine went away
        return False
    return container.status == "running"


def load(paths: List[str] = typer.Argument(..., help="Archives made by `docker save` (tar, tar.gz)")):
    """Load images from archives into the engine, like docker load (no registry needed)."""
    from ..runtime import engine
    from ..runtime.image_load import load_archive

    client = engine.connect()
    for path in paths:
        load_archive(client, path, log=typer.echo)


def register(app) -> None:
    app.command("port-forward")(port_forward)
    app.command("load")(load)
