"""`emukube describe` (kubectl's), `emukube rollout restart|status`, and the event stream behind
`emukube events -f` and `emukube up --attach` (logic: emukube.client.kubectl, rollout, events)."""

from __future__ import annotations

from typing import Optional

import typer

from ..errors import EmukubeError
from .options import ClusterOpt, NameArg, NsOpt, api, handle, parse_timeout, typed_name

ROLLOUT_HELP = "Restart a Deployment, StatefulSet or DaemonSet, or watch its rollout."
rollout_app = typer.Typer(help=ROLLOUT_HELP, no_args_is_help=True)


def describe(ctx: typer.Context,
             kind: str = typer.Argument(..., metavar="KIND [NAME]...",
                                        help="pod | svc | deploy | ... (or KIND/NAME), then names or -l SELECTOR"),
             cluster: str = ClusterOpt, namespace: str = NsOpt):
    """Show objects in detail: kubectl describe itself, run against this cluster."""
    from ..client import kubectl

    kubectl.path()  # a missing kubectl says so before the cluster is looked for
    done = kubectl.run(cluster, api(cluster), ["describe", kind, *ctx.args, "-n", namespace])
    if done.returncode:  # kubectl has said why (NotFound, an unknown kind): bad input
        raise typer.Exit(2)


@rollout_app.command("restart")
def rollout_restart(target: str = typer.Argument(..., help="deployment/NAME or statefulset/NAME"),
                    name: Optional[str] = NameArg, cluster: str = ClusterOpt, namespace: str = NsOpt):
    """Replace every pod through a rolling update (sets the template's restartedAt annotation)."""
    from ..client import rollout

    target = typed_name(target, name)
    kind = rollout.restart(api(cluster), target, namespace)
    typer.echo(f"{kind.lower()}.apps/{target.split('/', 1)[-1]} restarted")


@rollout_app.command("status")
def rollout_status(target: str = typer.Argument(..., help="deployment/NAME or statefulset/NAME"),
                   name: Optional[str] = NameArg, cluster: str = ClusterOpt, namespace: str = NsOpt,
                   watch: bool = typer.Option(True, "--watch/--no-watch", "-w", help="Wait until it is done."),
                   timeout: str = typer.Option("0s", help="Give up after this long (0s: never).")):
    """Wait until a rollout is done, printing kubectl's progress lines."""
    from ..client import rollout

    target = typed_name(target, name)
    rollout.wait(api(cluster), target, namespace, parse_timeout(timeout) or None, watch, progress=typer.echo)


def stream_events(cluster: str, since: str | None = None) -> None:
    """Print events as they come until Ctrl-C or until the cluster is removed."""
    try:
        for event in handle(cluster).follow_events(since):
            typer.echo(event.line())
    except KeyboardInterrupt:
        pass


def print_events(cluster: str, follow: bool) -> None:
    """`emukube events [-f]`: the Events so far, then (-f) what comes, like kubectl get events -A -w."""
    from ..client import events as ev

    events, version = ev.read(api(cluster))
    typer.echo(ev.HEADER)
    for event in events:
        typer.echo(event.line())
    if follow:
        stream_events(cluster, version)


def attach(cluster: str, since: str | None) -> None:
    """`emukube up --attach`: stream events in the foreground; Ctrl-C leaves the cluster running."""
    from ..client import events as ev

    typer.echo(f"streaming events of cluster {cluster}; Ctrl-C stops watching (the cluster keeps running)",
               err=True)
    typer.echo(ev.HEADER)
    stream_events(cluster, since)


def events_version(cluster: str) -> str:
    """The resourceVersion before an `up --attach`, so the stream starts with what up did
    ("0" for a cluster that does not exist yet: a watch from 0 starts with every Event)."""
    from ..client import events as ev

    try:
        return ev.read(api(cluster))[1]
    except EmukubeError:
        return "0"


def register(app) -> None:
    app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(describe)
    app.add_typer(rollout_app, name="rollout", help=ROLLOUT_HELP)
