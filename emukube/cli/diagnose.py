"""`emukube explain`, `doctor`, `graph`, `top` and `export compose`: seeing what a cluster is
doing and why. Thin: the logic is in diagnose, cluster_checks, graph, proxy_stats and
export_compose."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from ..errors import EmukubeError, NotFound
from ..k8s.applied import SYSTEM_SERVICES
from .options import ClusterOpt, NsOpt

if TYPE_CHECKING:
    from ..client.snapshot import Snapshot


def _snapshot(cluster: str) -> Snapshot:
    from ..client.snapshot import Snapshot
    from ..runtime import engine

    return Snapshot(engine.connect(), cluster)


def _service(snap: Snapshot, ref: str, namespace: str) -> dict:
    kind, _, name = ref.rpartition("/")
    if kind not in ("", "svc", "service", "services"):
        raise EmukubeError(f'error: explain takes svc/NAME or ingress/NAME, not "{ref}"')
    found = snap.find("Service", name, namespace)
    if found is None:
        raise NotFound(f'Error from server (NotFound): services "{name}" not found')
    return found


def _ingress(snap: Snapshot, name: str, namespace: str):
    from ..diagnose.checks import explain_ingresses

    found = snap.find("Ingress", name, namespace)
    if found is None:
        raise NotFound(f'Error from server (NotFound): ingresses.networking.k8s.io "{name}" not found')
    return explain_ingresses(snap, [found])[0]


def _system_service(cluster: str, name: str, namespace: str):
    """`kubernetes` or `kube-dns`, which the API server keeps (diagnose/explain_system.py)."""
    from ..diagnose.explain_system import explain_system
    from ..k8s.client import missing_is_not_found
    from ..k8s.resources import BY_KEY
    from ..plan import system_pods
    from .options import api

    client = api(cluster)
    with missing_is_not_found():  # the server's words: services "NAME" not found
        svc = client.get(BY_KEY["services"], namespace, name)
    pods = client.list(BY_KEY["pods"], system_pods.NAMESPACE, labelSelector="k8s-app=kube-dns")["items"] \
        if name == "kube-dns" else []
    return explain_system(svc, pods)


def explain(service: str = typer.Argument(..., help="svc/NAME (or NAME), or ingress/NAME"),
            cluster: str = ClusterOpt, namespace: str = NsOpt):
    """Walk client -> Service -> endpoints -> pod port (or an Ingress's rules to their Services)
    and say what is wrong, in plain words. Ports are tried from inside the cluster. Exit code 1
    when a problem is found."""
    from ..diagnose.checks import explain_services

    snap = _snapshot(cluster)
    kind, _, name = service.rpartition("/")
    if kind in ("ing", "ingress", "ingresses"):
        result = _ingress(snap, name, namespace)
    elif kind in ("", "svc", "service", "services") and f"{namespace}/{name}" in SYSTEM_SERVICES \
            and snap.find("Service", name, namespace) is None:
        result = _system_service(cluster, name, namespace)
    else:
        result = explain_services(snap, [_service(snap, service, namespace)])[0]
    for line in result.lines():
        typer.echo(line)
    raise typer.Exit(0 if result.ok else 1)


def doctor(cluster: str = ClusterOpt):
    """Check the engine, images, controller, DNS and host ports, then explain every Service
    and Ingress. Exit code 1 when anything is wrong."""
    from ..diagnose.checks import doctor as run_doctor
    from ..runtime import engine

    checks, explanations = run_doctor(engine.connect(), cluster)
    typer.echo(f"Cluster {cluster}")
    for check in checks:
        typer.echo(f"  {'ok' if check.ok else 'FAIL':<5} {check.name}: {check.detail}")
    for kind, heading in (("Service", "Services"), ("Ingress", "Ingresses")):
        mine = [e for e in explanations if e.kind == kind]
        if mine or kind == "Service":
            typer.echo(heading)
        for e in mine:
            first = e.problems[0].text if e.problems else e.summary
            typer.echo(f"  {'ok' if e.ok else 'FAIL':<5} {e.service}: {first}")
    troubled = [e for e in explanations if any(f.severity != "LIMIT" for f in e.findings)]
    for e in troubled:
        typer.echo("")
        for line in e.lines(limits=False):
            typer.echo(line)
    failed = any(not c.ok for c in checks) or any(not e.ok for e in explanations)
    if failed:
        typer.echo("\nproblems found", err=True)
    raise typer.Exit(1 if failed else 0)


def graph(cluster: str = ClusterOpt,
          output: Optional[Path] = typer.Option(None, "--output", "-o", help=(
              "Write to FILE: .mmd (Mermaid text), .dot (Graphviz text), or .svg/.png rendered by "
              "Graphviz `dot` (apt install graphviz); without it, Mermaid text is printed.")),
          direction: str = typer.Option("TD", "--direction", help="Mermaid direction: TD or LR.")):
    """The cluster as a Mermaid flowchart: clients, Services with their type, IPs and ports, pods
    with their IPs and readiness, and DNS. Paste it where Mermaid renders (GitHub, docs), or
    write SVG/PNG with --output (drawn by Graphviz `dot` from the same graph)."""
    import shutil
    import subprocess

    from ..diagnose.checks import node_addresses
    from ..views import graph as g

    if direction not in ("TD", "LR"):
        raise EmukubeError(f'error: --direction must be TD or LR, not "{direction}"')
    if output is not None and output.is_dir():  # before the work, as dot would only fail after it
        raise EmukubeError(f"error: --output {output}: is a directory (name a file: {output / 'graph.mmd'})")
    snap = _snapshot(cluster)
    model = g.build(snap.of_kind("Service"), snap.pods, snap.state.net.dns_ip if snap.state.net else "",
                    node_addresses(snap)[0])
    suffix = output.suffix.lower() if output else ""
    if suffix in ("", ".mmd", ".md", ".mermaid"):
        text = g.to_mermaid(model, direction)
        if output is None:
            typer.echo(text, nl=False)
        else:
            _write(output, text.encode())
    elif suffix == ".dot":
        assert output is not None  # a suffix comes from --output
        _write(output, g.to_dot(model).encode())
    elif suffix in (".svg", ".png"):
        dot = shutil.which("dot")
        if dot is None:
            raise EmukubeError("error: writing SVG or PNG needs Graphviz `dot` (apt install graphviz); "
                               "or write Mermaid text with --output FILE.mmd")
        result = subprocess.run([dot, f"-T{suffix[1:]}", "-o", str(output)], input=g.to_dot(model).encode(),
                                capture_output=True, timeout=120)
        if result.returncode != 0:
            raise EmukubeError(f"error: dot failed: {result.stderr.decode(errors='replace').strip()[:300]}")
    else:
        raise EmukubeError(f'error: unknown output format "{suffix}" (use .mmd, .dot, .svg or .png)')
    if output is not None:
        typer.echo(f"wrote {output}", err=True)


def top(what: str = typer.Argument("all", help="services | pods | all"), cluster: str = ClusterOpt,
        namespace: str = NsOpt, all_namespaces: bool = typer.Option(False, "--all-namespaces", "-A"),
        watch: bool = typer.Option(False, "--watch", "-w", help="Show again every --interval seconds."),
        interval: float = typer.Option(2.0, "--interval", min=0.5, help="Seconds between updates with --watch.")):
    """Connections per Service and per pod, from the proxies' statistics (HAProxy for TCP,
    nginx's session log for UDP). TCP counters start again when a proxy reloads (its endpoints
    changed); the controller's own checks are counted too (one per proxy change)."""
    from ..client.snapshot import Snapshot
    from ..diagnose.top import collect, pod_rows, service_rows
    from ..k8s.names import kind_of
    from ..runtime import engine
    from .output import print_table

    shown = ["Service", "Pod"] if what == "all" else [kind_of(what, ("Service", "Pod"))]
    if None in shown:
        raise EmukubeError(f'error: top takes services, pods or all, not "{what}"')
    client = engine.connect()
    clear = watch and sys.stdout.isatty()
    try:
        while True:
            snap = Snapshot(client, cluster)
            services = [s for s in snap.of_kind("Service")
                        if all_namespaces or s["metadata"].get("namespace", "default") == namespace]
            stats = collect(client, cluster, services, snap.pods)
            if clear:
                typer.echo("\x1b[H\x1b[2J", nl=False)
            if not stats:
                typer.echo(f"No proxied Services in {'any namespace' if all_namespaces else namespace}.", err=True)
            for i, kind in enumerate(shown):
                rows = (service_rows if kind == "Service" else pod_rows)(stats, all_namespaces)
                if len(rows) > 1:
                    if i:
                        typer.echo("")
                    print_table(rows)
            if not watch:
                return
            time.sleep(interval)
            if not clear:
                typer.echo("")
    except KeyboardInterrupt:
        return


export_app = typer.Typer(help="Write the cluster in another tool's format.", no_args_is_help=True)


@export_app.command("compose")
def export_compose(cluster: str = ClusterOpt,
                   output_dir: Optional[Path] = typer.Option(
                       None, "--output-dir", help="Write DIR/compose.yaml and the configs as files beside it "
                                                  "(any Compose v2) instead of printing one file with inline "
                                                  "configs (Compose v2.23.1+)."),
                   subnet: Optional[str] = typer.Option(None, "--subnet", help=(
                       "Another /16 of 10.96.0.0-10.127.0.0 for the export (every address moves along), "
                       "e.g. to run it beside the cluster.")),
                   address: Optional[str] = typer.Option(None, "--address", help=(
                       "Host address for NodePorts (default: the cluster's).")),
                   project: Optional[str] = typer.Option(None, "--project", help="Compose project name.")):
    """A Compose file that reproduces the cluster: network and subnet, CoreDNS with its Corefile
    and zones, the proxies with their rendered configs, the pods with env, command, files and
    static IPs, NodePorts on the host. There is no controller: no self-healing and no
    readiness-driven endpoints. Usage: emukube export compose > compose.yaml"""

    from ..runtime.settings import Settings
    from ..views.compose import export

    if output_dir is not None and output_dir.exists() and not output_dir.is_dir():
        raise EmukubeError(f"error: --output-dir {output_dir}: not a directory (write the single file with "
                           f"`emukube export compose > {output_dir}`)")
    snap = _snapshot(cluster)
    if snap.state.controller is None:
        raise NotFound(f'no controller for cluster "{cluster}": nothing to export')
    assert snap.state.net is not None
    given = Settings.of_container(snap.state.controller)
    try:
        result = export(snap.objects, snap.pods, snap.state.net, given.user(), given.images,
                        project=project or f"emukube-{cluster}",
                        source=f'emukube cluster "{cluster}"', subnet=subnet, address=address,
                        inline=output_dir is None)
    except ValueError as exc:
        raise EmukubeError(f"error: {exc}") from None
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if output_dir is None:
        typer.echo(result.text, nl=False)
        return
    _write(output_dir / "compose.yaml", result.text.encode())
    for rel, content in result.files.items():
        _write(output_dir / rel, content)
    typer.echo(f"wrote {output_dir / 'compose.yaml'} and {len(result.files)} config file(s)", err=True)


def _write(path: Path, data: bytes) -> None:
    """Its directories made as needed; what stops it (a file where a directory goes, no
    permission, a full disk) is one line naming the path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except (FileExistsError, NotADirectoryError):  # a file where a directory goes
        blocker = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), path.parent)
        raise EmukubeError(f"error: cannot write {path}: {blocker} is a file, not a directory") from None
    except OSError as exc:
        raise EmukubeError(f"error: cannot write {path}: {(exc.strerror or str(exc)).lower()}") from None


def register(app) -> None:
    app.add_typer(export_app, name="export", help="Write the cluster in another tool's format (compose).")
    app.command()(explain)
    app.command()(doctor)
    app.command()(graph)
    app.command()(top)
