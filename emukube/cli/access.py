"""`emukube curl` and `emukube run`: reaching the cluster from inside. Thin: the logic is in
emukube.client.inside (through the Cluster API)."""

from __future__ import annotations

import subprocess
import sys
from typing import List, Optional

import typer

from ..errors import EmukubeError
from .options import ClusterOpt, NsOpt, handle

RESTART_POLICIES = ("Always", "OnFailure", "Never")


def curl(target: str = typer.Argument(..., help="svc/NAME[:PORT][/PATH], e.g. svc/web:80/hostname"),
         cluster: str = ClusterOpt, namespace: str = NsOpt,
         include: bool = typer.Option(False, "--include", "-i", help="Show the response headers too."),
         max_time: float = typer.Option(10, "--max-time", "-m", help="Seconds curl may take.")):
    """Call a Service from inside the cluster, as a pod would (through the cluster DNS and the
    Service's ClusterIP), print the answer, and say which pod answered."""
    result = handle(cluster).curl(target, namespace, max_time, include)
    sys.stdout.write(result.body)
    sys.stdout.flush()
    if result.error:
        sys.stderr.write(result.error if result.error.endswith("\n") else result.error + "\n")
    if result.notes:
        lead = "\n" if result.body and not result.body.endswith("\n") else ""
        sys.stderr.write(lead + result.summary() + "\n")
    sys.stderr.flush()
    raise typer.Exit(result.exit_code)


def _env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise EmukubeError(f"error: invalid env: {pair} (use NAME=VALUE)")
        env[key] = value
    return env


def run(ctx: typer.Context, name: str = typer.Argument(..., help="The pod's name."),
        image: str = typer.Option(..., "--image", help="The container image."),
        cluster: str = ClusterOpt, namespace: str = NsOpt,
        rm: bool = typer.Option(False, "--rm", help="Wait for the command, show its output, then delete the pod."),
        stdin: bool = typer.Option(False, "--stdin", "-i", help="Attach this terminal's input."),
        tty: bool = typer.Option(False, "--tty", "-t", help="Give the container a terminal."),
        restart: str = typer.Option("Never", "--restart", help="Never | OnFailure | Always."),
        command: bool = typer.Option(False, "--command", help="The words after -- replace the image's "
                                                              "ENTRYPOINT (default: its CMD, like kubectl)."),
        env: Optional[List[str]] = typer.Option(None, "--env", help="NAME=VALUE (repeatable)."),
        labels: Optional[str] = typer.Option(None, "--labels", "-l", help="k=v,k2=v2 (default run=NAME).")):
    """Start a throwaway pod in the cluster, like kubectl run: emukube run [--rm] [-it] NAME
    --image IMG -- CMD... It gets the cluster DNS and shows in `get pods`."""
    if restart not in RESTART_POLICIES:
        raise EmukubeError(f'error: invalid restart policy: {restart} (use {", ".join(RESTART_POLICIES)})')
    args = list(ctx.args)  # click took the first "--"; later ones are the command's own
    pod_labels = dict(kv.split("=", 1) for kv in labels.split(",") if "=" in kv) if labels else None
    from ..client import inside as access
    from ..runtime import engine

    c = handle(cluster)
    obj = access.run_pod_object(name, image, args, namespace, command=command, restart=restart, stdin=stdin,
                                tty=tty, env=_env(env or []), labels=pod_labels)
    interactive = stdin or tty
    # Attached before it starts, so no first line is lost.
    container = access.create_run_pod(c, obj, start=not (interactive or rm))
    if not (interactive or rm):
        typer.echo(f"pod/{name} created")
        return
    code, last = 1, b"\n"
    try:
        if interactive:  # the docker CLI handles terminals best
            code = subprocess.call(["docker", "start", "-a", *(["-i"] if stdin else []), container.id])
        else:
            for chunk in engine.start_attached(container):
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
                last = chunk[-1:] or last
            code = access.wait_exit(container, None)
    finally:
        if rm:
            access.remove_pod(c, namespace, name)
            typer.echo(("" if last == b"\n" else "\n") + f'pod "{name}" deleted from {namespace} namespace', err=True)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command()(curl)
    app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(run)
