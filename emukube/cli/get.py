"""`emukube get` over the cluster's API: the server's Tables (so it prints what kubectl
prints), its objects for -o json|yaml, kind/name for -o name. Endpoints and EndpointSlices keep
emukube's NOT-READY column (README: where the emulation differs)."""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING

import typer
import yaml

from ..errors import EmukubeError, NotFound
from ..k8s.client import ApiError
from ..k8s.names import LAST_APPLIED, category, resolve
from ..views.tables import table_lines
from .options import api as api_of
from .options import handle

if TYPE_CHECKING:
    from ..client.cluster import Cluster

WITH_NOT_READY = ("endpoints", "endpointslices.discovery.k8s.io")


def _warn_once(told: set[str]):
    """The server's warnings on stderr, each once, as kubectl prints them ("Warning: ...")."""
    def warned(text: str) -> None:
        if text not in told:
            told.add(text)
            typer.echo(f"Warning: {text}", err=True)
    return warned


def run_get(cluster: str, kind: str, name: str | None, namespace: str | None, output: str,
            selector: str | None, show_labels: bool, show_secrets: bool) -> None:
    resources = []
    for part in [k for k in kind.split(",") if k]:
        resources += category(part) or [resolve(part)]
    if name and len(resources) > 1:
        raise EmukubeError("error: arguments in resource/name form must have a single resource and name")
    api = api_of(cluster)
    api.warned = _warn_once(set())
    several = len(resources) > 1
    printed = False
    items: list[dict] = []
    for res in resources:
        ns = namespace if res.namespaced else None
        query = {"labelSelector": selector} if selector else {}
        try:
            if output in ("json", "yaml", "name"):
                found = _named(api, res, ns, name) if name else api.list(res, ns, **query).get("items", [])
                for obj in found:
                    obj.setdefault("kind", res.kind)
                    obj.setdefault("apiVersion", res.api_version)
                items += found
                continue
            if res.key in WITH_NOT_READY and not selector and not show_labels:
                lines = _not_ready_lines(handle(cluster), res.key, namespace, name)
            else:
                table = api.table(res, ns, name, **query)
                lines = table_lines(table, res, wide=output == "wide", all_namespaces=namespace is None,
                                    with_kind=several or kind == "all", show_labels=show_labels)
        except ApiError as exc:
            raise NotFound(str(exc)) from None
        if len(lines) > 1:
            if printed:
                typer.echo("")
            typer.echo("\n".join(lines))
            printed = True
    if output in ("json", "yaml", "name"):
        _print_objects(items, output, single=bool(name), show_secrets=show_secrets)
    elif not printed:
        where = "any namespace" if namespace is None else f"{namespace} namespace"
        typer.echo(f"No resources found in {where}.", err=True)


def _named(api, res, ns: str | None, name: str) -> list[dict]:
    """One object; for EndpointSlices also those of the Service so named (emukube's shortcut)."""
    try:
        return [api.get(res, ns, name)]
    except ApiError as exc:
        if exc.code != 404 or res.kind != "EndpointSlice":
            raise
    found = api.list(res, ns, labelSelector=f"kubernetes.io/service-name={name}").get("items", [])
    if not found:
        raise NotFound(f'Error from server (NotFound): endpointslices.discovery.k8s.io "{name}" not found')
    return found


def _not_ready_lines(handle: Cluster, key: str, namespace: str | None, name: str | None) -> list[str]:
    from ..views import endpoint_tables as endpoint_views
    from ..views.tables import pad

    snap = handle.snapshot()
    services = [s for s in snap.of_kind("Service")
                if namespace in (None, s["metadata"].get("namespace", "default"))]
    if key == "endpoints":
        services = [s for s in services if name in (None, s["metadata"]["name"])]
        rows = endpoint_views.endpoints_table(snap, services, namespace is None)
    else:
        rows = endpoint_views.slices_table(snap, services, namespace is None, name)
    if name and len(rows) <= 1:
        plural = key.split(".")[0]
        raise NotFound(f'Error from server (NotFound): {plural} "{name}" not found')
    return pad([[str(c) for c in row] for row in rows])


def _print_objects(items: list[dict], output: str, single: bool, show_secrets: bool) -> None:
    if output == "name":
        for obj in items:
            group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
            kind = obj["kind"].lower() + (f".{group}" if group else "")
            typer.echo(f"{kind}/{obj['metadata']['name']}")
        return
    items = [_hidden(o) if o.get("kind") == "Secret" and not show_secrets else o for o in items]
    doc = items[0] if single and items else {"apiVersion": "v1", "kind": "List", "items": items,
                                              "metadata": {"resourceVersion": ""}}
    if output == "json":
        typer.echo(json.dumps(doc, indent=4))
    else:
        typer.echo(yaml.safe_dump(doc, sort_keys=False), nl=False)


def _hidden(secret: dict) -> dict:
    """Secret values stay out of terminals and CI logs unless --show-secrets (emukube's default)."""
    secret = copy.deepcopy(secret)
    for field in ("data", "stringData"):
        if field in secret:
            secret[field] = {k: "<hidden: use --show-secrets>" for k in secret[field]}
    secret.get("metadata", {}).get("annotations", {}).pop(LAST_APPLIED, None)
    return secret
