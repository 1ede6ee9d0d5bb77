"""Verbs for the cluster's Kubernetes API: `emukube kubeconfig` and `emukube kubectl -- ARGS`."""

from __future__ import annotations

import typer

from .options import ClusterOpt, api


def kubeconfig(cluster: str = ClusterOpt,
               internal: bool = typer.Option(False, "--internal",
                                             help="The address pods on the cluster's network reach.")):
    """Print the cluster's kubeconfig (like `kind get kubeconfig`)."""
    from ..client.cluster import Cluster
    from ..lifecycle import kubeconfig as kc

    typer.echo(kc.dump(Cluster(cluster).kubeconfig(internal=internal)), nl=False)


def kubectl(ctx: typer.Context, cluster: str = ClusterOpt):
    """Run kubectl against this cluster: emukube kubectl -- get pods -o wide (like `minikube kubectl --`)."""
    from ..client import kubectl as runner

    args = list(ctx.args)
    if args[:1] == ["--"]:
        args = args[1:]
    runner.path()  # a missing kubectl says so before the cluster is looked for
    raise typer.Exit(runner.run(cluster, api(cluster), args).returncode)


def register(app: typer.Typer) -> None:
    app.command()(kubeconfig)
    app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(kubectl)
