"""kubectl-style tables and API-shaped JSON/YAML for `get`."""

from __future__ import annotations

import copy

import typer

from . import endpoint_views
from .snapshot import Snapshot, age


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


def pod_rows(snap: Snapshot, pods, wide: bool, namespaced: bool = False) -> list[list[str]]:
    head = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] + (["IP", "NODE"] if wide else [])
    rows = [(["NAMESPACE"] if namespaced else []) + head]
    for p in pods:
        total = p.containers
        ready = total if p.ready else 0
        row = [p.name, f"{ready}/{total}", p.phase, str(p.restarts), age(p.created)]
        if wide:
            row += [p.ip or "<none>", p.node]
        rows.append(([p.namespace] if namespaced else []) + row)
    return rows


def deploy_rows(snap: Snapshot, workloads: list[dict], namespaced: bool = False) -> list[list[str]]:
    rows = [(["NAMESPACE"] if namespaced else []) + ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]]
    from .plan.workloads import template_hash

    for w in workloads:
        ns, name = w["metadata"].get("namespace", "default"), w["metadata"]["name"]
        owner = f"{w['kind']}/{name}"
        mine = [p for p in snap.pods if p.namespace == ns and p.owner == owner and p.phase != "Terminating"]
        current = template_hash(w["spec"]["template"])
        ready = sum(1 for p in mine if p.ready)
        updated = sum(1 for p in mine if p.labels.get("pod-template-hash", current) == current)
        rows.append(([ns] if namespaced else []) +
                    [name, f"{ready}/{w['spec'].get('replicas', 1)}", str(updated), str(ready),
                     age(w["metadata"].get("creationTimestamp"))])
    return rows


def _in_ns(objs, ns, name):
    return [o for o in objs if (ns is None or o["metadata"].get("namespace", "default") == ns)
            and (name is None or o["metadata"]["name"] == name)]


def get_rows(snap: Snapshot, resource: str, ns: str | None, name: str | None, wide: bool,
             namespaced: bool) -> list[list[str]]:
    if resource == "services":
        return service_rows(_in_ns(snap.of_kind("Service"), ns, name), wide, namespaced)
    if resource == "pods":
        pods = [p for p in snap.pods if (ns is None or p.namespace == ns) and (name is None or p.name == name)]
        return pod_rows(snap, pods, wide, namespaced)
    if resource == "endpoints":
        return endpoint_views.endpoints_table(snap, _in_ns(snap.of_kind("Service"), ns, name), namespaced)
    if resource == "endpointslices":
        return endpoint_views.slices_table(snap, _in_ns(snap.of_kind("Service"), ns, None), namespaced, name)
    if resource in ("deployments", "statefulsets"):
        kind = "Deployment" if resource == "deployments" else "StatefulSet"
        return deploy_rows(snap, _in_ns(snap.of_kind(kind), ns, name), namespaced)
    if resource == "nodes":
        return node_rows(snap, name, wide)
    kind = {"configmaps": "ConfigMap", "secrets": "Secret", "namespaces": "Namespace"}[resource]
    rows = [(["NAMESPACE"] if namespaced else []) + ["NAME", "DATA", "AGE"]]
    objs = snap.of_kind(kind) if kind == "Namespace" else _in_ns(snap.of_kind(kind), ns, name)
    for o in objs:
        data = len((o.get("data") or {})) + len(o.get("stringData") or {}) + len(o.get("binaryData") or {})
        rows.append(([o["metadata"].get("namespace", "")] if namespaced else []) +
                    [o["metadata"]["name"], str(data), age(o["metadata"].get("creationTimestamp"))])
    return rows


def node_rows(snap: Snapshot, name: str | None, wide: bool) -> list[list[str]]:
    head = ["NAME", "STATUS", "ROLES", "AGE", "VERSION"] + (["INTERNAL-IP", "EXTERNAL-IP", "PODS"] if wide else [])
    rows = [head]
    created = snap.state.controller.attrs.get("Created", "") if snap.state.controller is not None else ""
    for n in snap.nodes:
        if name and n.name != name:
            continue
        row = [n.name, n.status, "<none>", age(created[:19] + "Z" if created else None), "emukube"]
        if wide:
            pods = sum(1 for p in snap.pods if p.node == n.name)
            row += [n.internal_ip or snap.state.net.gateway, n.host_ip, str(pods)]
        rows.append(row)
    return rows


def _api_phase(p) -> str:
    """v1 PodStatus.phase from kubectl's STATUS word (a crash-looping pod is Running)."""
    if p.phase in ("ContainerCreating", "PodInitializing") or p.phase.startswith("Init:"):
        return "Pending"
    if p.phase in ("Completed", "Error") and p.spec.get("restartPolicy", "Always") != "Always":
        return "Succeeded" if p.phase == "Completed" else "Failed"
    return "Running"


def _pod_object(snap: Snapshot, p) -> dict:
    ready = "True" if p.ready else "False"
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": p.name, "namespace": p.namespace, "labels": p.labels},
            "spec": dict(p.spec, nodeName=p.node),
            "status": {"phase": _api_phase(p),
                       "podIP": p.ip, "podIPs": [{"ip": p.ip}] if p.ip else [],
                       "conditions": [{"type": "Ready", "status": ready},
                                      {"type": "ContainersReady", "status": ready}]}}


def as_api_list(snap: Snapshot, resource: str, ns: str | None, name: str | None, show_secrets: bool) -> dict:
    if resource == "pods":
        items = [_pod_object(snap, p) for p in snap.pods
                 if (ns is None or p.namespace == ns) and (name is None or p.name == name)]
    elif resource in ("endpoints", "endpointslices"):
        items = endpoint_views.api_items(snap, resource, _in_ns(snap.of_kind("Service"), ns, None), name)
    else:
        kind = {"services": "Service", "deployments": "Deployment", "statefulsets": "StatefulSet",
                "configmaps": "ConfigMap", "secrets": "Secret", "namespaces": "Namespace"}[resource]
        items = copy.deepcopy(_in_ns(snap.of_kind(kind), None if kind == "Namespace" else ns, name))
        if kind == "Secret" and not show_secrets:
            for item in items:
                for field in ("data", "stringData"):
                    if field in item:
                        item[field] = {k: "<hidden: use --show-secrets>" for k in item[field]}
        for item in items:
            if kind == "Service":
                item.setdefault("status", {"loadBalancer": {}})
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


def reach_lines(services: list[dict], cluster: str, workloads: list[dict] = (),
                node_host: str = "127.0.0.1") -> list[str]:
    """A ready-to-paste command per Service: curl from the host where it can, else in-cluster
    from a pod of the first Deployment/StatefulSet in the Service's namespace. NodePorts are
    curled at node_host (the first node's host address)."""
    lines = []
    clients = {}
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
            lines.append(f"{name:<16} emukube dns{flag}{nsflag} {name}      (CNAME to {spec.get('externalName')})")
        elif spec.get("clusterIP") == "None":
            lines.append(f"{name:<16} emukube dns{flag}{nsflag} {name}      (headless: one A record per ready pod)")
        elif tcp:
            port = "" if tcp[0]["port"] == 80 else f":{tcp[0]['port']}"
            pod = clients.get(ns, "POD")
            lines.append(f"{name:<16} emukube exec{flag}{nsflag} {pod} -- curl -s http://{name}{port}/   (in-cluster)")
    return lines
