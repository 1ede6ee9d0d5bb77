"""`emukube up`, `apply` and `down`: a cluster's life, with what `up` prints while and after it
comes up."""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, List, Optional, TextIO

import typer

from ..errors import EmukubeError
from ..plan.image_map import parse as parse_image_map
from ..plan.nodes import MAX_NODES
from .options import AddressOpt, ClusterOpt, ImageMapOpt, KubeconfigOpt, NodesOpt, PrivOpt, err, handle, parse_timeout
from .output import ingress_lines, invoked_as, print_table, reach_lines, service_rows

if TYPE_CHECKING:
    from ..client.cluster import Cluster


def _handle(cluster: str, address=None, allow_privileged=None, image_map=None, nodes=None) -> Cluster:
    images = parse_image_map(image_map) if image_map else None
    if nodes is not None and not 1 <= nodes <= MAX_NODES:
        raise EmukubeError(f"error: --nodes must be between 1 and {MAX_NODES}")
    return handle(cluster, address=address, allow_privileged=allow_privileged, images=images, nodes=nodes)


def _new_cluster_name(name: str) -> None:
    """Checked before anything is made: the name goes into container, network and volume names
    and the kubeconfig's context, so it is a DNS label (as a Namespace's name is)."""
    from ..manifests.names import is_dns1123_label

    problems = is_dns1123_label(name)
    if problems:
        raise EmukubeError(f'error: --cluster: Invalid value: "{name}": {"; ".join(problems)}')


def _apply(paths, cluster, wait, timeout, address, allow_privileged, image_map, nodes=None,
           kubeconfig_path: str | None = None, stdin: TextIO | None = None) -> None:
    from .up_progress import UpProgress

    _new_cluster_name(cluster)
    c = _handle(cluster, address, allow_privileged, image_map, nodes)
    existed = c.exists()
    display = UpProgress(c.client, cluster, live=sys.stderr.isatty())
    try:
        with display.console.status("validating, planning, starting the controller ...") if display.is_live \
                else contextlib.nullcontext():
            changes = c.apply(*paths, stdin=stdin or sys.stdin, wait=False)
    finally:  # skipped documents explain errors such as "no objects passed to apply"
        for line in c.warnings:
            err(f"warning: {line}")
    for change in changes:
        typer.echo(str(change))
    _merge_kubeconfig(c, kubeconfig_path, make_current=not existed)
    if not wait:
        return
    # Live on a terminal (stderr), plain lines otherwise: images, network, DNS, pods, Services.
    with display:
        display.applied(c.planned)
        c.wait_ready(timeout, display.update)
    snap = c.snapshot(pods=False, kinds=SHOWN_AFTER_UP)
    services = snap.of_kind("Service")
    if services:
        typer.echo("")
        print_table(service_rows(services, wide=False))
    # With --nodes, or --address, NodePorts are not on 127.0.0.1 (0.0.0.0 includes it).
    host = next((n.host_ip for n in snap.nodes), "127.0.0.1")
    lines = reach_lines(services, cluster, snap.of_kind("Deployment") + snap.of_kind("StatefulSet"),
                        "127.0.0.1" if host in ("0.0.0.0", "::") else host, invoked_as())
    lines += ingress_lines(snap.of_kind("Ingress"))
    if lines:
        typer.echo("\nHow to reach them:")
        for line in lines:
            typer.echo(f"  {line}")


# What `up` prints once the cluster answers: Services and how to reach them (workloads' ports,
# Ingresses' addresses, nodes' addresses, which cordoned or stopped Node objects change).
SHOWN_AFTER_UP = ("services", "deployments.apps", "statefulsets.apps", "ingresses.networking.k8s.io", "nodes")


def _merge_kubeconfig(c: Cluster, path: str | None, make_current: bool) -> None:
    """kind's convention: the cluster's entries in the kubeconfig kubectl reads, current when
    this `up` made the cluster."""
    from ..lifecycle import kubeconfig

    target = kubeconfig.default_path(path)
    try:
        kubeconfig.merge(target, c.kubeconfig(), make_current=make_current)
    except OSError as exc:
        raise EmukubeError(f"error: cannot write the kubeconfig {target}: {exc.strerror or exc}") from None
    if make_current:
        err(f'kubectl context "emukube-{c.name}" set in {target}')



def _manifests(paths: list[str] | None, filename: list[str] | None,
               kustomize: str | None = None) -> tuple[list[str], TextIO]:
    """What to apply, named as arguments or, as kubectl users type them, with -f (both may be),
    or a kustomization directory with -k; and what stands for stdin ("-")."""
    given = list(paths or []) + list(filename or [])
    if kustomize is not None:
        if given:  # kubectl apply's words
            raise EmukubeError("error: only one of -f or -k can be specified")
        from .kustomize import built

        return ["-"], built(kustomize)
    if not given:
        raise EmukubeError("error: must specify one of -f and -k")
    return given, sys.stdin


PathsArg = typer.Argument(None, help="Files, directories, or - for stdin (or -f FILE, as kubectl).", show_default=False)
FilenameOpt = typer.Option(None, "-f", "--filename", hidden=True)
KustomizeOpt = typer.Option(None, "-k", "--kustomize", metavar="DIR",
                            help="A kustomization directory, built as `kubectl apply -k` builds it.")


def up(paths: Optional[List[str]] = PathsArg, filename: Optional[List[str]] = FilenameOpt,
       kustomize: Optional[str] = KustomizeOpt, cluster: str = ClusterOpt,
       wait: bool = typer.Option(True, "--wait/--no-wait", help="Return once every Service answers."),
       timeout: str = typer.Option("180s", help="How long --wait waits (e.g. 90s, 5m)."),
       address: Optional[str] = AddressOpt, allow_privileged: Optional[bool] = PrivOpt,
       image_map: Optional[List[str]] = ImageMapOpt, nodes: Optional[int] = NodesOpt,
       kubeconfig_path: Optional[str] = KubeconfigOpt,
       attach: bool = typer.Option(False, "--attach",
                                   help="Then stream events until Ctrl-C (the cluster keeps running).")):
    """Create or update a cluster from manifests, and wait until it answers."""
    from .workloads import attach as attach_events
    from .workloads import events_version

    _new_cluster_name(cluster)
    given, stdin = _manifests(paths, filename, kustomize)
    since = events_version(cluster) if attach else None
    _apply(given, cluster, wait, parse_timeout(timeout), address, allow_privileged,
           image_map, nodes, kubeconfig_path, stdin)
    if attach:
        attach_events(cluster, since)


def apply(paths: Optional[List[str]] = PathsArg, filename: Optional[List[str]] = FilenameOpt,
          kustomize: Optional[str] = KustomizeOpt, cluster: str = ClusterOpt,
          wait: bool = typer.Option(True, "--wait/--no-wait"),
          timeout: str = typer.Option("180s"),
          address: Optional[str] = AddressOpt, allow_privileged: Optional[bool] = PrivOpt,
          image_map: Optional[List[str]] = ImageMapOpt, nodes: Optional[int] = NodesOpt):
    """Apply manifests to a running cluster; only what changed is touched."""
    given, stdin = _manifests(paths, filename, kustomize)
    _apply(given, cluster, wait, parse_timeout(timeout), address, allow_privileged, image_map, nodes,
           stdin=stdin)


def down(cluster: str = ClusterOpt, all_: bool = typer.Option(False, "--all", help="Every emukube cluster."),
         yes: bool = typer.Option(False, "--yes", "-y", help="With --all: do not ask (for scripts)."),
         kubeconfig_path: Optional[str] = KubeconfigOpt):
    """Remove the cluster: every container, volume and network with its labels, and its kubeconfig entries."""
    from ..lifecycle import kubeconfig, ops
    from ..runtime import engine

    client = engine.connect()
    names = ops.all_clusters(client) if all_ else [cluster]
    if all_ and names and not yes:
        _confirm_all(names)
    failed: list[str] = []
    for name in names:  # with --all, one cluster that cannot be removed does not keep the others
        try:
            count = ops.down(client, name)
        except EmukubeError as exc:
            failed.append(str(exc))
            continue
        with contextlib.suppress(OSError, ValueError):  # an unreadable kubeconfig is not ours to fix
            kubeconfig.remove(kubeconfig.default_path(kubeconfig_path), name)
        typer.echo(f"cluster {name} removed ({count} containers)")
    if failed:
        raise EmukubeError("\n".join(failed))


def ls(quiet: bool = typer.Option(False, "--quiet", "-q", help="Only the names.")) -> None:
    """List the clusters on the engine, like `docker compose ls`: status, pods running, API, kubectl context."""
    from ..lifecycle import ops
    from ..runtime import engine
    from ..views.clusters import cluster_rows

    client = engine.connect()
    names = ops.all_clusters(client)
    if quiet:
        for name in names:
            typer.echo(name)
        return
    if not names:
        typer.echo("No clusters found.", err=True)  # kind's words when it has none
        return
    from ..runtime.clusters import container_summaries

    print_table([["NAME", "STATUS", "PODS", "API", "CONTEXT"], *cluster_rows(names, container_summaries(client))])


def _confirm_all(names: list[str]) -> None:
    """The other clusters on the engine may be someone else's (a colleague's, a test run's)."""
    listed = ", ".join(names)
    if not sys.stdin.isatty():
        raise EmukubeError(f"error: --all removes every emukube cluster on this engine ({listed}): "
                           "add --yes to confirm")
    if not typer.confirm(f"Remove every emukube cluster on this engine ({listed})?", default=False, err=True):
        err("nothing removed")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    for verb in (up, apply, down, ls):
        app.command()(verb)
