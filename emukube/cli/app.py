"""The `emukube` command: kubectl-style verbs over the cluster operations."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from typing import List, Optional

import typer
from docker.errors import DockerException

from ..lifecycle import ops
from ..diagnose import dns_query
from ..client.cluster import OWNER_KINDS, Cluster
from ..errors import EmukubeError
from ..plan.nodes import MAX_NODES
from .output import invoked_as, print_table, reach_lines, service_rows
from ..plan.image_map import parse as parse_image_map
from ..runtime import engine

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Kubernetes Services, Deployments and DNS as real Docker containers, without Kubernetes.")

ClusterOpt = typer.Option("emukube", "--cluster", envvar="EMUKUBE_CLUSTER", help="Cluster name.")
NsOpt = typer.Option("default", "--namespace", "-n", help="Namespace.")


def _client():
    return engine.connect()


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


def _handle(cluster: str, address=None, allow_privileged=None, image_map=None, nodes=None) -> Cluster:
    images = parse_image_map(image_map) if image_map else None
    if nodes is not None and not 1 <= nodes <= MAX_NODES:
        raise EmukubeError(f"error: --nodes must be between 1 and {MAX_NODES}")
    return Cluster(cluster, address=address, allow_privileged=allow_privileged, images=images, nodes=nodes)


def _new_cluster_name(name: str) -> None:
    """Checked before anything is made: the name goes into container, network and volume names
    and the kubeconfig's context, so it is a DNS label (as a Namespace's name is)."""
    from ..manifests.names import is_dns1123_label

    problems = is_dns1123_label(name)
    if problems:
        raise EmukubeError(f'error: --cluster: Invalid value: "{name}": {"; ".join(problems)}')


def _apply(paths, cluster, wait, timeout, address, allow_privileged, image_map, nodes=None,
           kubeconfig_path: str | None = None) -> None:
    from .up_progress import UpProgress

    _new_cluster_name(cluster)
    c = _handle(cluster, address, allow_privileged, image_map, nodes)
    existed = c.exists()
    display = UpProgress(c.client, cluster, live=sys.stderr.isatty())
    try:
        with display.console.status("validating, planning, starting the controller ...") if display.is_live \
                else contextlib.nullcontext():
            changes = c.apply(*paths, stdin=sys.stdin, wait=False)
    finally:  # skipped documents explain errors such as "no objects passed to apply"
        for line in c.warnings:
            _err(f"warning: {line}")
    for change in changes:
        typer.echo(str(change))
    _merge_kubeconfig(c, kubeconfig_path, make_current=not existed)
    if not wait:
        return
    # Live on a terminal (stderr), plain lines otherwise: images, network, DNS, pods, Services.
    with display:
        display.applied()
        c.wait_ready(timeout, display.update)
    snap = c.snapshot()
    services = snap.of_kind("Service")
    if services:
        typer.echo("")
        print_table(service_rows(services, wide=False))
    # With --nodes, or --address, NodePorts are not on 127.0.0.1 (0.0.0.0 includes it).
    host = next((n.host_ip for n in snap.nodes), "127.0.0.1")
    lines = reach_lines(services, cluster, snap.of_kind("Deployment") + snap.of_kind("StatefulSet"),
                        "127.0.0.1" if host in ("0.0.0.0", "::") else host, invoked_as())
    if lines:
        typer.echo("\nHow to reach them:")
        for line in lines:
            typer.echo(f"  {line}")


def _merge_kubeconfig(c: Cluster, path: str | None, make_current: bool) -> None:
    """kind's convention: the cluster's entries in the kubeconfig kubectl reads, current when
    this `up` made the cluster."""
    from ..client import kubeconfig

    target = kubeconfig.default_path(path)
    try:
        kubeconfig.merge(target, c.kubeconfig(), make_current=make_current)
    except OSError as exc:
        raise EmukubeError(f"error: cannot write the kubeconfig {target}: {exc.strerror or exc}") from None
    if make_current:
        _err(f'kubectl context "emukube-{c.name}" set in {target}')


def _parse_timeout(text: str) -> float:
    text = text.strip()
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if text and text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        raise EmukubeError(f'error: invalid timeout "{text}" (use e.g. 90s, 5m)') from None


AddressOpt = typer.Option(None, "--address", help="Host address NodePorts listen on (default 127.0.0.1).")
PrivOpt = typer.Option(None, "--allow-privileged/--no-allow-privileged",
                       help="Allow privileged pods, host networking and Docker socket mounts.")
ImageMapOpt = typer.Option(None, "--image-map", help="OLD=NEW image swap (repeatable).")
NodesOpt = typer.Option(None, "--nodes", help="Emulated nodes, each with its own address (default 1).")
KubeconfigOpt = typer.Option(None, "--kubeconfig", help="The kubeconfig to write the cluster's context to "
                                                      "(default: $KUBECONFIG, else ~/.kube/config).")


@app.command()
def up(paths: List[str] = typer.Argument(..., help="Files, directories, or - for stdin."),
       cluster: str = ClusterOpt,
       wait: bool = typer.Option(True, "--wait/--no-wait", help="Return once every Service answers."),
       timeout: str = typer.Option("180s", help="How long --wait waits (e.g. 90s, 5m)."),
       address: Optional[str] = AddressOpt, allow_privileged: Optional[bool] = PrivOpt,
       image_map: Optional[List[str]] = ImageMapOpt, nodes: Optional[int] = NodesOpt,
       kubeconfig_path: Optional[str] = KubeconfigOpt,
       attach: bool = typer.Option(False, "--attach", help="Then stream events until Ctrl-C (the cluster keeps running).")):
    """Create or update a cluster from manifests, and wait until it answers."""
    from .workloads import attach as attach_events, events_version

    _new_cluster_name(cluster)
    since = events_version(cluster) if attach else None
    _apply(paths, cluster, wait, _parse_timeout(timeout), address, allow_privileged, image_map, nodes,
           kubeconfig_path)
    if attach:
        attach_events(cluster, since)


@app.command()
def apply(paths: List[str] = typer.Argument(..., help="Files, directories, or - for stdin."),
          cluster: str = ClusterOpt,
          filename: Optional[List[str]] = typer.Option(None, "-f", "--filename", hidden=True),
          wait: bool = typer.Option(True, "--wait/--no-wait"),
          timeout: str = typer.Option("180s"),
          address: Optional[str] = AddressOpt, allow_privileged: Optional[bool] = PrivOpt,
          image_map: Optional[List[str]] = ImageMapOpt, nodes: Optional[int] = NodesOpt):
    """Apply manifests to a running cluster; only what changed is touched."""
    _apply(list(paths) + list(filename or []), cluster, wait, _parse_timeout(timeout), address,
           allow_privileged, image_map, nodes)


@app.command()
def down(cluster: str = ClusterOpt, all_: bool = typer.Option(False, "--all", help="Every emukube cluster."),
         yes: bool = typer.Option(False, "--yes", "-y", help="With --all: do not ask (for scripts)."),
         kubeconfig_path: Optional[str] = KubeconfigOpt):
    """Remove the cluster: every container, volume and network with its labels, and its kubeconfig entries."""
    from ..client import kubeconfig

    client = _client()
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


def _confirm_all(names: list[str]) -> None:
    """The other clusters on the engine may be someone else's (a colleague's, a test run's)."""
    listed = ", ".join(names)
    if not sys.stdin.isatty():
        raise EmukubeError(f"error: --all removes every emukube cluster on this engine ({listed}): "
                           "add --yes to confirm")
    if not typer.confirm(f"Remove every emukube cluster on this engine ({listed})?", default=False, err=True):
        _err("nothing removed")
        raise typer.Exit(1)


OUTPUTS = ("wide", "json", "yaml", "name")


@app.command()
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


@app.command(name="exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec_(ctx: typer.Context, pod: str = typer.Argument(...), cluster: str = ClusterOpt, namespace: str = NsOpt,
          container: Optional[str] = typer.Option(None, "-c", "--container"),
          interactive: bool = typer.Option(False, "-i", "--stdin"), tty: bool = typer.Option(False, "-t", "--tty")):
    """Run a command in a pod: emukube exec POD -- CMD..."""
    args = list(ctx.args)  # click took the first "--"; later ones are the command's own (kubectl's way)
    if not args:
        raise EmukubeError("error: you must specify at least one command for the container")
    c = Cluster(cluster)
    target = c.container_of(pod, namespace, container)
    flags = (["-i"] if interactive else []) + (["-t"] if tty else [])
    # The docker CLI handles terminals and streams best; the SDK is the fallback.
    if flags or os.environ.get("EMUKUBE_EXEC_VIA_CLI"):
        raise typer.Exit(subprocess.call(["docker", "exec", *flags, target.id, *args]))
    result = c.client.api.exec_create(target.id, args, stdout=True, stderr=True)
    for chunk in c.client.api.exec_start(result["Id"], stream=True, demux=True):
        out, err = chunk
        if out:
            sys.stdout.buffer.write(out)
            sys.stdout.flush()
        if err:
            sys.stderr.buffer.write(err)
            sys.stderr.flush()
    raise typer.Exit(c.client.api.exec_inspect(result["Id"]).get("ExitCode") or 0)


@app.command()
def logs(pod: str, cluster: str = ClusterOpt, namespace: str = NsOpt,
         container: Optional[str] = typer.Option(None, "-c", "--container"),
         follow: bool = typer.Option(False, "-f", "--follow"), tail: int = typer.Option(-1, "--tail")):
    """Print a pod's logs (POD or deploy/NAME)."""
    target = Cluster(cluster).container_of(pod, namespace, container)
    kwargs = {"stream": follow, "follow": follow}
    if tail >= 0:
        kwargs["tail"] = tail
    data = target.logs(**kwargs)
    if follow:
        try:
            for chunk in data:
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
        except KeyboardInterrupt:
            pass
    else:
        sys.stdout.buffer.write(data)


@app.command()
def delete(kind: str, name: str, cluster: str = ClusterOpt, namespace: str = NsOpt):
    """Delete a pod (its owner replaces it) or any applied object (svc, deploy, ...)."""
    kind_name = Cluster(cluster).delete(kind, name, namespace)
    typer.echo(f'{kind_name.lower()} "{name}" deleted')


@app.command()
def scale(target: str = typer.Argument(..., help="deployment/NAME or statefulset/NAME"),
          replicas: int = typer.Option(..., "--replicas"), cluster: str = ClusterOpt, namespace: str = NsOpt,
          wait: bool = typer.Option(False, "--wait/--no-wait"), timeout: str = typer.Option("120s")):
    """Change the replicas of a Deployment or StatefulSet."""
    kind, _, name = target.partition("/")
    Cluster(cluster).scale(target, replicas, namespace, wait=wait, timeout=_parse_timeout(timeout))
    typer.echo(f"{OWNER_KINDS.get(kind, kind).lower()}.apps/{name} scaled")


@app.command()
def events(cluster: str = ClusterOpt, follow: bool = typer.Option(False, "-f", "--follow")):
    """The cluster's Events in every namespace, like kubectl get events -A (-f to watch)."""
    from .workloads import print_events

    print_events(cluster, follow)


@app.command()
def dns(name: str, rtype: str = typer.Argument("A"), cluster: str = ClusterOpt, namespace: str = NsOpt,
        tcp: bool = typer.Option(False, "--tcp", help="Query over TCP.")):
    """Query the cluster DNS from inside the cluster, as a pod in NAMESPACE would (search list,
    ndots:5), and print the answer section."""
    answer = dns_query.query(_client(), cluster, name, rtype, namespace, tcp)
    if not answer.found:
        _err(dns_query.not_found_message(answer))
        raise typer.Exit(1)
    typer.echo("\n".join(answer.records))


# Verbs that live in their own modules; each module has register(app).
VERB_MODULES = ("cli_images", "cli_workloads", "cli_access", "cli_diagnose", "cli_testing", "cli_nodes", "cli_kube")


def _mount_verbs() -> None:
    import importlib

    for name in VERB_MODULES:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{name}":
                raise
            continue
        module.register(app)


_mount_verbs()


def os_error_line(exc: OSError) -> str:
    """One line for a file, permission or connection error, as Go's os errors read
    ("open PATH: no such file or directory"); a lost engine says so."""
    import requests

    if isinstance(exc, requests.RequestException):
        cause: BaseException = exc  # requests wraps urllib3's error, which wraps http.client's
        while (inner := next((a for a in cause.args if isinstance(a, BaseException)), None)) is not None:
            cause = inner
        return f"error: lost the connection to the Docker engine at {engine.socket_name()} ({_first_line(cause)})"
    if exc.filename is not None:
        where = f"{exc.filename} -> {exc.filename2}" if exc.filename2 is not None else str(exc.filename)
        return f"error: {where}: {(exc.strerror or str(exc)).lower()}"
    return f"error: {_first_line(exc.strerror or exc)}"


def _first_line(text) -> str:
    return (str(text).strip().splitlines() or [type(text).__name__])[0][:500]


def main() -> None:
    prog = invoked_as()
    try:
        app()
    except BaseException as exc:
        # The error is being reported: a Ctrl-C now just ends the process, with no traceback.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        sys.exit(_report(exc, prog))
    finally:  # likewise once the work is done: not the interpreter's clean-up
        signal.signal(signal.SIGINT, signal.SIG_DFL)


def _report(exc: BaseException, prog: str) -> int:
    """Print what ended the verb as the user's error, in one line, and return its exit code;
    anything else (typer's exit, a bug) goes on."""
    if isinstance(exc, EmukubeError):
        for line in str(exc).splitlines():
            line = line.replace("`emukube ", f"`{prog} ")  # hints are to be typed as they read
            _err(line if line.startswith(("error", "Error")) else f"error: {line}")
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        _err("interrupted")
        return 130
    if isinstance(exc, DockerException):  # an engine refusal is not a bug of the caller's: no traceback
        _err(f"error: the Docker engine refused: {_first_line(getattr(exc, 'explanation', None) or exc)}")
        return 2
    if isinstance(exc, OSError):  # files, permissions, a connection lost: the user's to fix, not a bug
        _err(os_error_line(exc))
        return 2
    raise exc
