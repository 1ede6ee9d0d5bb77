"""The `emukube` command: kubectl-style verbs over the cluster operations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import List, Optional

import typer
import yaml

from . import cluster_ops as ops
from .errors import EmukubeError
from .output import print_table, reach_lines, service_rows
from .runtime import engine
from .snapshot import Snapshot

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Kubernetes Services, Deployments and DNS as real Docker containers, without Kubernetes.")

ClusterOpt = typer.Option("emukube", "--cluster", envvar="EMUKUBE_CLUSTER", help="Cluster name.")
NsOpt = typer.Option("default", "--namespace", "-n", help="Namespace.")


def _client():
    return engine.connect()


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


def _load(paths: list[str], allow_privileged: bool) -> list[dict]:
    from .manifests import ManifestError, load_and_validate

    try:
        objects, warnings = load_and_validate(paths, stdin=sys.stdin, allow_privileged=allow_privileged)
    except ManifestError as exc:
        for problem in exc.problems:
            _err(f"error: {problem}")
        raise typer.Exit(2)
    for line in warnings:
        _err(f"warning: {line}")
    if not objects:
        raise EmukubeError("error: no objects passed to apply")
    return objects


def _apply(paths, cluster, wait, timeout, address, allow_privileged, image_map, verb) -> None:
    objects = _load(paths, allow_privileged)
    if address not in ("127.0.0.1", "localhost"):
        _err(f"warning: NodePorts will listen on {address}: reachable from beyond this machine")
    settings = {"address": address, "allow_privileged": allow_privileged,
                "image_map": dict(m.split("=", 1) for m in image_map or [])}
    client = _client()
    state = ops.read_state(client, cluster)
    # Plan the whole merged state (allocations included) before Docker is touched.
    net = state.net or ops.plan_network(client, cluster)
    merged = ops.merge(state.objects, objects)
    planned = ops.plan_objects(client, state, net, merged)
    if state.net is None:
        ops.create_network(client, net)
    for obj in objects:
        kind, ns, name = ops.object_key(obj)
        before = next((o for o in state.objects if ops.object_key(o) == (kind, ns, name)), None)
        verb_done = "created" if before is None else ("unchanged" if _same(before, obj) else "configured")
        typer.echo(f"{kind.lower()}/{name} {verb_done}")
    generation = ops.start_controller(client, state, net, planned, settings)
    if not wait:
        return
    typer.echo("waiting for pods to be ready and Services to answer ...", err=True)

    def progress(status):
        for line in status.get("waiting", [])[:6]:
            typer.echo(f"  ... {line}", err=True)

    ops.wait_converged(client, cluster, generation, timeout, progress if sys.stderr.isatty() else None)
    snap = Snapshot(client, cluster)
    typer.echo("")
    print_table(service_rows(snap.of_kind("Service"), wide=False))
    lines = reach_lines(snap.of_kind("Service"), cluster, snap.of_kind("Deployment") + snap.of_kind("StatefulSet"))
    if lines:
        typer.echo("\nHow to reach them:")
        for line in lines:
            typer.echo(f"  {line}")


def _same(a: dict, b: dict) -> bool:
    strip = lambda o: {k: v for k, v in o.items() if k not in ("status",)}  # noqa: E731
    a2 = json.loads(json.dumps(strip(a)))
    a2["metadata"].pop("creationTimestamp", None)
    return json.dumps(a2, sort_keys=True) == json.dumps(strip(b), sort_keys=True)


def _parse_timeout(text: str) -> float:
    text = text.strip()
    units = {"s": 1, "m": 60, "h": 3600}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


@app.command()
def up(paths: List[str] = typer.Argument(..., help="Files, directories, or - for stdin."),
       cluster: str = ClusterOpt,
       wait: bool = typer.Option(True, "--wait/--no-wait", help="Return once every Service answers."),
       timeout: str = typer.Option("180s", help="How long --wait waits (e.g. 90s, 5m)."),
       address: str = typer.Option("127.0.0.1", help="Host address NodePorts listen on."),
       allow_privileged: bool = typer.Option(False, "--allow-privileged"),
       image_map: Optional[List[str]] = typer.Option(None, "--image-map", help="OLD=NEW image swap.")):
    """Create or update a cluster from manifests, and wait until it answers."""
    _apply(paths, cluster, wait, _parse_timeout(timeout), address, allow_privileged, image_map, "up")


@app.command()
def apply(paths: List[str] = typer.Argument(..., help="Files, directories, or - for stdin."),
          cluster: str = ClusterOpt,
          filename: Optional[List[str]] = typer.Option(None, "-f", "--filename", hidden=True),
          wait: bool = typer.Option(True, "--wait/--no-wait"),
          timeout: str = typer.Option("180s"),
          address: str = typer.Option("127.0.0.1"),
          allow_privileged: bool = typer.Option(False, "--allow-privileged"),
          image_map: Optional[List[str]] = typer.Option(None, "--image-map")):
    """Apply manifests to a running cluster; only what changed is touched."""
    _apply(list(paths) + list(filename or []), cluster, wait, _parse_timeout(timeout), address,
           allow_privileged, image_map, "apply")


@app.command()
def down(cluster: str = ClusterOpt, all_: bool = typer.Option(False, "--all", help="Every emukube cluster.")):
    """Remove the cluster: every container, volume and network with its labels."""
    client = _client()
    names = ops.all_clusters(client) if all_ else [cluster]
    for name in names:
        count = ops.down(client, name)
        typer.echo(f"cluster {name} removed ({count} containers)")


KINDS = {"svc": "services", "service": "services", "services": "services", "po": "pods", "pod": "pods",
         "pods": "pods", "ep": "endpoints", "endpoints": "endpoints", "endpointslice": "endpointslices",
         "endpointslices": "endpointslices", "deploy": "deployments", "deployment": "deployments",
         "deployments": "deployments", "sts": "statefulsets", "statefulset": "statefulsets",
         "statefulsets": "statefulsets", "cm": "configmaps", "configmap": "configmaps",
         "configmaps": "configmaps", "secret": "secrets", "secrets": "secrets", "ns": "namespaces",
         "namespace": "namespaces", "namespaces": "namespaces"}


@app.command()
def get(kind: str = typer.Argument(..., help="svc | pods | endpoints | endpointslices | deploy | sts | cm"),
        name: Optional[str] = typer.Argument(None), cluster: str = ClusterOpt, namespace: str = NsOpt,
        all_namespaces: bool = typer.Option(False, "--all-namespaces", "-A"),
        output: str = typer.Option("", "--output", "-o", help="wide | json | yaml"),
        show_secrets: bool = typer.Option(False, "--show-secrets", help="Print Secret data with -o.")):
    """Show objects like kubectl get."""
    from .output import get_rows, as_api_list

    resource = KINDS.get(kind.lower())
    if resource is None:
        raise EmukubeError(f'error: the server doesn\'t have a resource type "{kind}"')
    snap = Snapshot(_client(), cluster)
    ns = None if all_namespaces else namespace
    if output in ("json", "yaml"):
        doc = as_api_list(snap, resource, ns, name, show_secrets)
        if name and not doc["items"]:
            raise EmukubeError(f'Error from server (NotFound): {resource} "{name}" not found')
        if name:
            doc = doc["items"][0]
        typer.echo(json.dumps(doc, indent=4) if output == "json" else yaml.safe_dump(doc, sort_keys=False), nl=False)
        if output == "json":
            typer.echo("")
        return
    rows = get_rows(snap, resource, ns, name, output == "wide", all_namespaces)
    if name and len(rows) <= 1:
        raise EmukubeError(f'Error from server (NotFound): {resource} "{name}" not found')
    if len(rows) <= 1:
        where = "any namespace" if all_namespaces else f"{namespace} namespace"
        typer.echo(f"No resources found in {where}.", err=True)
        return
    print_table(rows)


def _pod_container(snap: Snapshot, pod: str, namespace: str, container: Optional[str]):
    client = snap.client
    found = [c for c in engine.containers(client, snap.state.cluster, **{"emukube.io/namespace": namespace,
                                                                        "emukube.io/name": pod})
             if c.labels.get("emukube.io/role") in ("pod", "app")]
    if not found:
        raise EmukubeError(f'Error from server (NotFound): pods "{pod}" not found')
    if container:
        found = [c for c in found if c.labels.get("emukube.io/container") == container]
        if not found:
            raise EmukubeError(f'error: container {container} is not valid for pod {pod}')
    return found[0]


def _resolve_pod_ref(snap: Snapshot, ref: str, namespace: str) -> str:
    """POD, pod/POD, or deploy/NAME (its first pod), like kubectl."""
    if "/" not in ref:
        return ref
    kind, name = ref.split("/", 1)
    if kind in ("pod", "pods", "po"):
        return name
    owner_kind = {"deploy": "Deployment", "deployment": "Deployment", "sts": "StatefulSet",
                  "statefulset": "StatefulSet"}.get(kind)
    pods = [p for p in snap.pods if p.namespace == namespace and p.owner == f"{owner_kind}/{name}"]
    if not pods:
        raise EmukubeError(f'Error from server (NotFound): {kind} "{name}" has no pods')
    return pods[0].name


@app.command(name="exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec_(ctx: typer.Context, pod: str = typer.Argument(...), cluster: str = ClusterOpt, namespace: str = NsOpt,
          container: Optional[str] = typer.Option(None, "-c", "--container"),
          interactive: bool = typer.Option(False, "-i", "--stdin"), tty: bool = typer.Option(False, "-t", "--tty")):
    """Run a command in a pod: emukube exec POD -- CMD..."""
    args = [a for a in ctx.args if a != "--"]
    if not args:
        raise EmukubeError("error: you must specify at least one command for the container")
    snap = Snapshot(_client(), cluster)
    target = _pod_container(snap, _resolve_pod_ref(snap, pod, namespace), namespace, container)
    flags = (["-i"] if interactive else []) + (["-t"] if tty else [])
    # The docker CLI handles terminals and streams best; the SDK is the fallback.
    if flags or os.environ.get("EMUKUBE_EXEC_VIA_CLI"):
        raise typer.Exit(subprocess.call(["docker", "exec", *flags, target.id, *args]))
    result = snap.client.api.exec_create(target.id, args, stdout=True, stderr=True)
    for chunk in snap.client.api.exec_start(result["Id"], stream=True, demux=True):
        out, err = chunk
        if out:
            sys.stdout.buffer.write(out)
            sys.stdout.flush()
        if err:
            sys.stderr.buffer.write(err)
            sys.stderr.flush()
    raise typer.Exit(snap.client.api.exec_inspect(result["Id"]).get("ExitCode") or 0)


@app.command()
def logs(pod: str, cluster: str = ClusterOpt, namespace: str = NsOpt,
         container: Optional[str] = typer.Option(None, "-c", "--container"),
         follow: bool = typer.Option(False, "-f", "--follow"), tail: int = typer.Option(-1, "--tail")):
    """Print a pod's logs (POD or deploy/NAME)."""
    snap = Snapshot(_client(), cluster)
    target = _pod_container(snap, _resolve_pod_ref(snap, pod, namespace), namespace, container)
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
    client = _client()
    state = ops.require(ops.read_state(client, cluster))
    resource = KINDS.get(kind.lower(), kind)
    if resource == "pods":
        snap = Snapshot(client, cluster)
        pod = next((p for p in snap.pods if p.name == name and p.namespace == namespace), None)
        if pod is None:
            raise EmukubeError(f'Error from server (NotFound): pods "{name}" not found')
        declared = snap.find("Pod", name, namespace)
        for c in engine.containers(client, cluster, **{"emukube.io/namespace": namespace, "emukube.io/name": name}):
            engine.remove(c, timeout=2)
        if declared is not None:
            _replace_objects(client, state, [o for o in state.objects if o is not declared])
        typer.echo(f'pod "{name}" deleted')
        return
    kind_name = {"services": "Service", "deployments": "Deployment", "statefulsets": "StatefulSet",
                 "configmaps": "ConfigMap", "secrets": "Secret", "namespaces": "Namespace"}.get(resource)
    keep = [o for o in state.objects if not (o["kind"] == kind_name and o["metadata"]["name"] == name and
                                             o["metadata"].get("namespace", "default") == namespace)]
    if len(keep) == len(state.objects):
        raise EmukubeError(f'Error from server (NotFound): {resource} "{name}" not found')
    _replace_objects(client, state, keep)
    typer.echo(f'{kind_name.lower()} "{name}" deleted')


def _replace_objects(client, state, objects: list[dict]) -> str:
    env = dict(e.split("=", 1) for e in state.controller.attrs["Config"]["Env"] if "=" in e)
    settings = {"address": env.get("EMUKUBE_NODE_ADDRESS", "127.0.0.1"),
                "allow_privileged": env.get("EMUKUBE_ALLOW_PRIVILEGED") == "1",
                "image_map": json.loads(env.get("EMUKUBE_IMAGE_MAP") or "{}")}
    return ops.start_controller(client, state, state.net, objects, settings)


@app.command()
def scale(target: str = typer.Argument(..., help="deployment/NAME or statefulset/NAME"),
          replicas: int = typer.Option(..., "--replicas"), cluster: str = ClusterOpt, namespace: str = NsOpt,
          wait: bool = typer.Option(False, "--wait/--no-wait"), timeout: str = typer.Option("120s")):
    """Change the replicas of a Deployment or StatefulSet."""
    if replicas < 0:
        raise EmukubeError("error: --replicas must be >= 0")
    client = _client()
    state = ops.require(ops.read_state(client, cluster))
    kind, _, name = target.partition("/")
    kind_name = {"deploy": "Deployment", "deployment": "Deployment", "deployments": "Deployment",
                 "sts": "StatefulSet", "statefulset": "StatefulSet", "statefulsets": "StatefulSet",
                 "rs": "ReplicaSet", "replicaset": "ReplicaSet"}.get(kind)
    objects = json.loads(json.dumps(state.objects))
    found = next((o for o in objects if o["kind"] == kind_name and o["metadata"]["name"] == name and
                  o["metadata"].get("namespace", "default") == namespace), None)
    if found is None:
        raise EmukubeError(f'Error from server (NotFound): {kind}s "{name}" not found')
    found["spec"]["replicas"] = replicas
    generation = _replace_objects(client, state, objects)
    typer.echo(f"{kind_name.lower()}.apps/{name} scaled")
    if wait:
        ops.wait_converged(client, cluster, generation, _parse_timeout(timeout))


@app.command()
def events(cluster: str = ClusterOpt, follow: bool = typer.Option(False, "-f", "--follow")):
    """What the controller did, like kubectl get events (-f to watch)."""
    client = _client()
    state = ops.require(ops.read_state(client, cluster))
    typer.echo(f"{'TIME':<22}{'TYPE':<9}{'REASON':<16}{'OBJECT':<40}MESSAGE")

    def show(line: str) -> None:
        try:
            e = json.loads(line)
        except ValueError:
            return
        if "reason" in e:
            typer.echo(f"{e['time']:<22}{e['type']:<9}{e['reason']:<16}{e['object']:<40}{e['message']}")

    raw = engine.read_file(state.controller, "/state/events.log") or b""
    for line in raw.decode(errors="replace").splitlines():
        show(line)
    if follow:
        try:
            for chunk in state.controller.logs(stream=True, follow=True, since=int(__import__("time").time())):
                for line in chunk.decode(errors="replace").splitlines():
                    show(line)
        except KeyboardInterrupt:
            pass


@app.command()
def dns(name: str, rtype: str = typer.Argument("A"), cluster: str = ClusterOpt, namespace: str = NsOpt,
        tcp: bool = typer.Option(False, "--tcp", help="Query over TCP.")):
    """Query the cluster DNS from inside the cluster, as a pod in NAMESPACE would (search list,
    ndots:5), and print the answer section."""
    client = _client()
    state = ops.require(ops.read_state(client, cluster))
    rtype = rtype.upper()
    if rtype == "PTR":
        candidates, query = [name], ["-x"]
    else:
        suffixes = [f"{namespace}.svc.cluster.local", "svc.cluster.local", "cluster.local"]
        bare = name.rstrip(".")
        candidates = [bare] if name.endswith(".") or bare.count(".") >= 5 else \
            [f"{bare}.{s}" for s in suffixes] + [bare]
        query = []
    for candidate in candidates:
        cmd = ["dig", "+noall", "+answer", "+time=2", "+tries=1", f"@{state.net.dns_ip}", *query, candidate]
        if rtype != "PTR":
            cmd.append(rtype)
        if tcp:
            cmd.insert(1, "+tcp")
        out = state.controller.exec_run(cmd).output.decode(errors="replace").strip()
        if out:
            typer.echo(out)
            return
    typer.echo(f"** server can't find {name}: NXDOMAIN (or no {rtype} record)", err=True)
    raise typer.Exit(1)


def _mount_images() -> None:
    from .cli_images import app as images_app

    app.add_typer(images_app, name="images", help="List, pull or build the images emukube runs.")


_mount_images()


def main() -> None:
    try:
        app()
    except EmukubeError as exc:
        for line in str(exc).splitlines():
            _err(line if line.startswith(("error", "Error")) else f"error: {line}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(130)
