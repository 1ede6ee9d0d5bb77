"""Node verbs for failure demos: cordon, uncordon, drain, node stop|start."""

from __future__ import annotations

import typer

from .options import ClusterOpt, err, handle, parse_timeout

node_app = typer.Typer(no_args_is_help=True, help="Stop or start an emulated node (its pods go away).")


def cordon(node: str, cluster: str = ClusterOpt):
    """Mark a node unschedulable; its pods keep running."""
    handle(cluster).cordon(node, True)
    typer.echo(f"node/{node} cordoned")


def uncordon(node: str, cluster: str = ClusterOpt):
    """Mark a node schedulable again."""
    handle(cluster).cordon(node, False)
    typer.echo(f"node/{node} uncordoned")


def drain(node: str, cluster: str = ClusterOpt,
          timeout: str = typer.Option("300s", help="How long evictions a PodDisruptionBudget refuses are retried.")):
    """Cordon a node and evict its pods; Deployments and StatefulSets start them elsewhere."""
    c = handle(cluster)
    typer.echo(f"node/{node} cordoned")
    for pod in c.drain(node, parse_timeout(timeout), retried=err):
        typer.echo(f"pod/{pod.split('/', 1)[1]} evicted")
    typer.echo(f"node/{node} drained")


@node_app.command()
def stop(node: str, cluster: str = ClusterOpt):
    """Power a node off: its pods and its NodePorts go away; Services answer from other nodes."""
    handle(cluster).node_power(node, running=False)
    typer.echo(f"node/{node} stopped")


@node_app.command()
def start(node: str, cluster: str = ClusterOpt):
    """Power a node on again."""
    handle(cluster).node_power(node, running=True)
    typer.echo(f"node/{node} started")


def register(app) -> None:
    for verb in (cordon, uncordon, drain):
        app.command()(verb)
    app.add_typer(node_app, name="node")
