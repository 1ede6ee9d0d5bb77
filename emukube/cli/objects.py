"""Verbs on a running cluster's objects and pods: get, exec, logs, delete, scale, events, dns."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Optional

import typer

from ..errors import EmukubeError
from ..k8s.names import kind_of
from .options import ClusterOpt, NameArg, NsOpt, api, err, handle, parse_timeout, typed_name

OUTPUTS = ("wide", "json", "yaml", "name")


def get(kind: str = typer.Argument(..., help="pods | svc | deploy | ... (several: svc,deploy; all)"),
        name: Optional[str] = typer.Argument(None), cluster: str = ClusterOpt, namespace: str = NsOpt,
        all_namespaces: bool = typer.Option(False, "--all-namespaces", "-A"),
        output: str = typer.Option("", "--output", "-o", help="wide | json | yaml | name"),
        selector: Optional[str] = typer.Option(None, "--selector", "-l", help="Label selector, as kubectl's."),
        show_labels: bool = typer.Option(False, "--show-labels"),
        show_secrets: bool = typer.Option(False, "--show-secrets", help="Print Secret data with -o.")):
    """Show objects like kubectl get: the cluster's API server's tables and objects."""
    from .get import run_get

    if output and output not in OUTPUTS:
        raise EmukubeError(f'error: unable to match a printer suitable for the output format "{output}", '
                           f"allowed formats are: {','.join(sorted(OUTPUTS))}")
    run_get(cluster, kind, name, None if all_namespaces else namespace, output, selector, show_labels,
            show_secrets)


def exec_(ctx: typer.Context, pod: str = typer.Argument(...), cluster: str = ClusterOpt, namespace: str = NsOpt,
          container: Optional[str] = typer.Option(None, "-c", "--container"),
          interactive: bool = typer.Option(False, "-i", "--stdin"), tty: bool = typer.Option(False, "-t", "--tty")):
    """Run a command in a pod: emukube exec POD -- CMD..."""
    args = list(ctx.args)  # click took the first "--"; later ones are the command's own (kubectl's way)
    if not args:
        raise EmukubeError("error: you must specify at least one command for the container")
    from ..runtime import engine

    target = handle(cluster).container_of(pod, namespace, container)
    flags = (["-i"] if interactive else []) + (["-t"] if tty else [])
    # The docker CLI handles terminals and streams best; the SDK is the fallback.
    if flags or os.environ.get("EMUKUBE_EXEC_VIA_CLI"):
        raise typer.Exit(subprocess.call(["docker", "exec", *flags, target.id, *args]))
    chunks = engine.exec_streaming(target, args)
    while True:
        try:
            out, err = next(chunks)
        except StopIteration as end:
            raise typer.Exit(end.value) from None
        if out:
            sys.stdout.buffer.write(out)
            sys.stdout.flush()
        if err:
            sys.stderr.buffer.write(err)
            sys.stderr.flush()


def logs(pod: Optional[str] = typer.Argument(
             None, help="POD, deploy/NAME or sts/NAME; none: every pod of the namespace, as `docker compose logs`."),
         cluster: str = ClusterOpt, namespace: str = NsOpt,
         container: Optional[str] = typer.Option(None, "-c", "--container"),
         follow: bool = typer.Option(False, "-f", "--follow"),
         tail: Optional[int] = typer.Option(None, "--tail", help="Lines (default all; 10 with -l, as kubectl)."),
         selector: Optional[str] = typer.Option(None, "-l", "--selector", help="Label selector, as kubectl's."),
         all_containers: bool = typer.Option(False, "--all-containers"),
         prefix: bool = typer.Option(False, "--prefix", help="[pod/NAME/CONTAINER] before each line."),
         previous: bool = typer.Option(False, "-p", "--previous", help="The container's run before this one."),
         since: Optional[str] = typer.Option(None, "--since", help="Only newer lines (5s, 2m, 3h)."),
         timestamps: bool = typer.Option(False, "--timestamps"),
         max_log_requests: int = typer.Option(5, "--max-log-requests", help="How many streams -l -f follows.")):
    """Print a pod's logs (POD or deploy/NAME), the pods -l selects, or every pod's (prefixed)."""
    from ..client import logs as pod_logs

    if pod and selector is not None:
        raise EmukubeError("error: only a selector (-l) or a POD name is allowed")
    options = {"previous": "true" if previous else None, "timestamps": "true" if timestamps else None,
               "sinceSeconds": str(max(1, int(parse_timeout(since)))) if since else None}
    client = api(cluster)
    lines = -1 if tail is None else tail
    if pod and not all_containers and not prefix:  # the bytes as they come
        chunks = pod_logs.read(client, pod, namespace, container, lines, follow, **options)
    elif pod:
        picked = pod_logs.pod_of(client, pod, namespace)
        sources = pod_logs.sources_of(picked, True) if all_containers else \
            [(picked, pod_logs.container_of(picked, container))]
        chunks = pod_logs.read_many(client, sources, lines, follow, prefix, **options)
    else:  # -l as kubectl's; nothing at all: every pod, prefixed, as `docker compose logs`
        sources = pod_logs.sources(client, namespace, selector or "", all_containers)
        if not sources:
            err(f"No resources found in {namespace} namespace.")
        if follow and selector is not None and len(sources) > max_log_requests:
            raise EmukubeError(f"error: you are attempting to follow {len(sources)} log streams, but maximum "
                               f"allowed concurrency is {max_log_requests}, use --max-log-requests to increase "
                               "the limit")
        if selector is not None and tail is None:
            lines = 10
        chunks = pod_logs.read_many(client, sources, lines, follow, prefix or selector is None, **options)
    try:
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass


def delete(kind: str, name: str, cluster: str = ClusterOpt, namespace: str = NsOpt):
    """Delete one object of any kind (a pod: its owner replaces it), as kubectl delete KIND NAME."""
    from ..client import edits

    res = edits.delete(api(cluster), kind, name, namespace)  # returns once it is gone, as kubectl
    typer.echo(edits.deleted_line(res, name, namespace))


def scale(target: str = typer.Argument(..., help="deployment/NAME or statefulset/NAME"),
          name: Optional[str] = NameArg,
          replicas: int = typer.Option(..., "--replicas"), cluster: str = ClusterOpt, namespace: str = NsOpt,
          wait: bool = typer.Option(False, "--wait/--no-wait"), timeout: str = typer.Option("120s")):
    """Change the replicas of a Deployment or StatefulSet."""
    from ..client import edits

    target = typed_name(target, name)
    kind, _, name = target.partition("/")
    if wait:  # until the controller converged: its report is read through the engine
        handle(cluster).scale(target, replicas, namespace, wait=wait, timeout=parse_timeout(timeout))
    else:
        edits.scale(api(cluster), target, replicas, namespace)
    typer.echo(f"{(kind_of(kind, edits.OWNERS) or kind).lower()}.apps/{name} scaled")


def events(cluster: str = ClusterOpt, follow: bool = typer.Option(False, "-f", "--follow")):
    """The cluster's Events in every namespace, like kubectl get events -A (-f to watch)."""
    from .workloads import print_events

    print_events(cluster, follow)


def dns(name: str, rtype: str = typer.Argument("A"), cluster: str = ClusterOpt, namespace: str = NsOpt,
        tcp: bool = typer.Option(False, "--tcp", help="Query over TCP.")):
    """Query the cluster DNS from inside the cluster, as a pod in NAMESPACE would (search list,
    ndots:5), and print the answer section."""
    from ..diagnose import dns_query
    from ..runtime import engine

    answer = dns_query.query(engine.connect(), cluster, name, rtype, namespace, tcp)
    if not answer.found:
        err(dns_query.not_found_message(answer))
        raise typer.Exit(1)
    typer.echo("\n".join(answer.records))


def register(app: typer.Typer) -> None:
    app.command()(get)
    app.command(name="exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(exec_)
    for verb in (logs, delete, scale, events, dns):
        app.command()(verb)
