"""The options and parsing every verb group shares, defined once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ..errors import EmukubeError

if TYPE_CHECKING:
    from ..client.cluster import Cluster

ClusterOpt = typer.Option("emukube", "--cluster", envvar="EMUKUBE_CLUSTER", help="Cluster name.")
NsOpt = typer.Option("default", "--namespace", "-n", help="Namespace.")
# kubectl takes `TYPE NAME` as well as `TYPE/NAME` (rollout, scale): the name, when given apart.
NameArg = typer.Argument(None, hidden=True)
AddressOpt = typer.Option(None, "--address", help="Host address NodePorts listen on (default 127.0.0.1).")
PrivOpt = typer.Option(None, "--allow-privileged/--no-allow-privileged",
                       help="Allow privileged pods, host networking and Docker socket mounts.")
ImageMapOpt = typer.Option(None, "--image-map", help="OLD=NEW image swap (repeatable).")
NodesOpt = typer.Option(None, "--nodes", help="Emulated nodes, each with its own address (default 1).")
KubeconfigOpt = typer.Option(None, "--kubeconfig", help="The kubeconfig to write the cluster's context to "
                                                      "(default: $KUBECONFIG, else ~/.kube/config).")


def typed_name(target: str, name: str | None) -> str:
    """TYPE/NAME, from `TYPE/NAME` or from `TYPE NAME` (NameArg)."""
    return f"{target}/{name}" if name else target


def handle(name: str, **settings) -> Cluster:
    """The Python API's handle on a cluster. Imported here, when a verb runs: it brings the
    docker SDK and most of emukube, which a verb that needs neither (`--help`, `get`) should not
    wait for."""
    from ..client.cluster import Cluster

    return Cluster(name, **settings)


def api(name: str):
    """A client of the cluster's API (k8s.client.KubeClient): found from its kubeconfig entry
    when that answers (lifecycle.connection.by_kubeconfig), else through the engine."""
    from ..lifecycle.connection import by_kubeconfig

    return by_kubeconfig(name) or handle(name).api()


def err(msg: str) -> None:
    typer.echo(msg, err=True)


def parse_timeout(text: str) -> float:
    """kubectl's durations as the verbs take them: 90, 90s, 5m, 1h."""
    text = text.strip()
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if text and text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        raise EmukubeError(f'error: invalid timeout "{text}" (use e.g. 90s, 5m)') from None
