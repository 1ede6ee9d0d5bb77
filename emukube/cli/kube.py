"""Verbs for the cluster's Kubernetes API: `emukube kubeconfig` and `emukube kubectl -- ARGS`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import typer

from ..errors import EmukubeError
from .options import ClusterOpt


def kubeconfig(cluster: str = ClusterOpt,
               internal: bool = typer.Option(False, "--internal",
                                             help="The address pods on the cluster's network reach.")):
    """Print the cluster's kubeconfig (like `kind get kubeconfig`)."""
    from ..client.cluster import Cluster
    from ..lifecycle import kubeconfig as kc

    typer.echo(kc.dump(Cluster(cluster).kubeconfig(internal=internal)), nl=False)


def kubectl_path() -> str:
    """kubectl from the project's venv (scripts/ensure-kubectl.sh puts it there), else PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "kubectl")
    found = beside if os.access(beside, os.X_OK) else shutil.which("kubectl")
    if not found:
        raise EmukubeError("error: kubectl not found (run scripts/ensure-kubectl.sh, or install kubectl 1.35)")
    return found


def kubectl(ctx: typer.Context, cluster: str = ClusterOpt):
    """Run kubectl against this cluster: emukube kubectl -- get pods -o wide (like `minikube kubectl --`)."""
    from ..client.cluster import Cluster
    from ..lifecycle import kubeconfig as kc

    args = list(ctx.args)
    if args[:1] == ["--"]:
        args = args[1:]
    config = kc.dump(Cluster(cluster).kubeconfig())
    with tempfile.NamedTemporaryFile("w", prefix="emukube-kubeconfig-", suffix=".yaml") as fh:
        fh.write(config)
        fh.flush()
        env = dict(os.environ, KUBECONFIG=fh.name)
        code = subprocess.call([kubectl_path(), *args], env=env)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command()(kubeconfig)
    app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(kubectl)
