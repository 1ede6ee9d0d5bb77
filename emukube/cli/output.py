"""The Service table and ready-to-paste commands `up` prints (`get` prints the API's Tables)."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from typing import Sequence

import typer

from ..k8s.times import age


def print_table(rows: list[list[str]]) -> None:
    """Columns padded to their widest cell plus three spaces, as kubectl prints them."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [str(c).ljust(w + 3) if i < len(row) - 1 else str(c) for i, (c, w) in enumerate(zip(row, widths))]
        typer.echo("".join(cells).rstrip())


def _ports(svc: dict) -> str:
    parts = []
    for p in svc["spec"].get("ports") or []:
        node = f":{p['nodePort']}" if p.get("nodePort") else ""
        parts.append(f"{p['port']}{node}/{p.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def external_ip(svc: dict) -> str:
    spec = svc["spec"]
    if spec.get("type") == "ExternalName":
        return spec.get("externalName", "")
    ips = [i.get("ip") for i in svc.get("status", {}).get("loadBalancer", {}).get("ingress", [])]
    return ",".join(i for i in ips if i) or "<none>"


def service_rows(services: list[dict], wide: bool, namespaced: bool = False) -> list[list[str]]:
    head = ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"] + (["SELECTOR"] if wide else [])
    rows = [(["NAMESPACE"] if namespaced else []) + head]
    for s in services:
        spec = s["spec"]
        row = [s["metadata"]["name"], spec.get("type", "ClusterIP"),
               spec.get("clusterIP") or ("<none>" if spec.get("type") == "ExternalName" else ""),
               external_ip(s), _ports(s), age(s["metadata"].get("creationTimestamp"))]
        if wide:
            row.append(",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items()) or "<none>")
        rows.append(([s["metadata"].get("namespace", "default")] if namespaced else []) + row)
    return rows


def invoked_as(argv0: str | None = None) -> str:
    """How to type this emukube again: `emukube` when PATH finds this very program, else the path
    it was started by (after `make demo` that is .venv/bin/emukube, which PATH does not hold)."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    if os.path.basename(argv0) == "__main__.py":  # python -m emukube
        return f"{shlex.quote(sys.executable)} -m emukube"
    if os.sep not in argv0:
        return argv0
    found = shutil.which(os.path.basename(argv0))
    if found and os.path.realpath(found) == os.path.realpath(argv0):
        return os.path.basename(argv0)
    return shlex.quote(argv0)


def reach_lines(services: list[dict], cluster: str, workloads: Sequence[dict] = (),
                node_host: str = "127.0.0.1", prog: str = "emukube") -> list[str]:
    """A ready-to-paste command per Service: curl from the host where it can, else in-cluster
    from a pod of the first Deployment/StatefulSet in the Service's namespace. NodePorts are
    curled at node_host (the first node's host address); `prog` is how emukube is typed."""
    lines = []
    clients: dict[str, str] = {}
    for w in workloads:
        kind = "deploy" if w["kind"] == "Deployment" else "sts"
        clients.setdefault(w["metadata"].get("namespace", "default"), f"{kind}/{w['metadata']['name']}")
    flag = "" if cluster == "emukube" else f" --cluster {cluster}"
    for s in services:
        spec, name = s["spec"], s["metadata"]["name"]
        ns = s["metadata"].get("namespace", "default")
        nsflag = "" if ns == "default" else f" -n {ns}"
        tcp = [p for p in spec.get("ports") or [] if p.get("protocol", "TCP") == "TCP"]
        kind = spec.get("type", "ClusterIP")
        if kind == "LoadBalancer" and tcp:
            ip = external_ip(s).split(",")[0]
            lines.append(f"{name:<16} curl http://{ip}:{tcp[0]['port']}/")
        elif kind == "NodePort" and tcp and tcp[0].get("nodePort"):
            lines.append(f"{name:<16} curl http://{node_host}:{tcp[0]['nodePort']}/")
        elif kind == "ExternalName":
            lines.append(f"{name:<16} {prog} dns{flag}{nsflag} {name}      (CNAME to {spec.get('externalName')})")
        elif spec.get("clusterIP") == "None":
            lines.append(f"{name:<16} {prog} dns{flag}{nsflag} {name}      (headless: one A record per ready pod)")
        elif tcp:
            port = "" if tcp[0]["port"] == 80 else f":{tcp[0]['port']}"
            pod = clients.get(ns, "POD")
            lines.append(f"{name:<16} {prog} exec{flag}{nsflag} {pod} -- curl -s http://{name}{port}/   (in-cluster)")
    return lines


def ingress_lines(ingresses: list[dict]) -> list[str]:
    """A curl per Ingress, at its ADDRESS, with the host and path of its first rule."""
    lines = []
    for ing in ingresses:
        ips = [i.get("ip") for i in ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]
        if not ips or not ips[0]:
            continue
        rules = (ing.get("spec") or {}).get("rules") or [{}]
        host = str(rules[0].get("host") or "").replace("*", "www")
        paths = (rules[0].get("http") or {}).get("paths") or [{}]
        path = str(paths[0].get("path") or "/")
        header = f"-H 'Host: {host}' " if host else ""
        lines.append(f"{'ingress/' + ing['metadata']['name']:<16} curl {header}http://{ips[0]}{path}")
    return lines

