"""`emukube graph`: the cluster as a picture, in the style of the Mermaid diagrams people use to
teach Services (`graph TD`, `A["Client"] --> B["Service<br/>10.96.0.1"]`). One graph model,
two writers: Mermaid text, and Graphviz DOT for SVG/PNG (mermaid-cli needs a browser). Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..plan import endpoints as ep
from ..plan.allocate import has_cluster_ip

if TYPE_CHECKING:
    from ..client.snapshot import PodRow


@dataclass(frozen=True)
class Node:
    id: str
    lines: tuple[str, ...]
    kind: str  # client | host | dns | service | pod | external
    group: str = ""  # namespace subgraph, "" for the outside
    trouble: bool = False  # a Service without endpoints, a pod that is not ready


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    label: str = ""
    dotted: bool = False  # DNS answers, unready endpoints: no traffic is proxied along it


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    groups: dict[str, str] = field(default_factory=dict)  # id -> title


def node_id(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(parts))


def _ports(svc: dict) -> list[str]:
    out = []
    for p in svc["spec"].get("ports") or []:
        node = f":{p['nodePort']}" if p.get("nodePort") else ""
        target = p.get("targetPort", p["port"])
        out.append(f"{p['port']}{node}/{p.get('protocol', 'TCP')} -> {target}")
    return out


def _service_node(svc: dict, group: str, has_endpoints: bool) -> Node:
    spec, name = svc["spec"], svc["metadata"]["name"]
    kind = spec.get("type", "ClusterIP")
    lines = []
    if kind == "ExternalName":
        lines = [f"{name} (ExternalName)", f"CNAME {spec.get('externalName', '')}"]
    elif spec.get("clusterIP") == "None":
        lines = [f"{name} (Headless)", "clusterIP: None", "DNS returns the pod IPs"]
    else:
        lines = [f"{name} ({kind})", f"ClusterIP {spec.get('clusterIP', '')}"]
        lines += [f"EXTERNAL-IP {i['ip']}" for i in svc.get("status", {}).get("loadBalancer", {}).get("ingress", [])
                  if i.get("ip")]
    if kind != "ExternalName":
        lines += _ports(svc)
        if spec.get("sessionAffinity") == "ClientIP":
            lines.append("sessionAffinity: ClientIP")
        if not has_endpoints:
            lines.append("no endpoints")
    ns = svc["metadata"].get("namespace", "default")
    return Node(node_id("svc", ns, name), tuple(lines), "service", group,
                trouble=kind != "ExternalName" and not has_endpoints)


def build(services: list[dict], pods: list[PodRow], dns_ip: str = "", node_address: str = "127.0.0.1") -> Graph:
    g = Graph()
    live = [p for p in pods if p.phase != "Terminating"]
    views = [p.view() for p in live]
    namespaces = sorted({s["metadata"].get("namespace", "default") for s in services} | {p.namespace for p in live})
    for ns in namespaces:
        g.groups[node_id("ns", ns)] = f"namespace {ns}"
    proxied = [s for s in services if has_cluster_ip(s)]
    published = [s for s in services if s["spec"].get("type") in ("NodePort", "LoadBalancer")]
    if published:
        g.nodes.append(Node("host", ("Host (outside the cluster)", node_address), "host"))
    if services:
        g.nodes.append(Node("client", ("Client pod", "inside the cluster"), "client"))
    if dns_ip:
        g.nodes.append(Node("dns", ("CoreDNS", dns_ip, "cluster.local"), "dns"))
        if services:
            g.edges.append(Edge("client", "dns", "DNS lookup"))
    for p in live:
        state = "ready" if p.ready else f"not ready{': ' + p.reason if p.reason else ''}"
        g.nodes.append(Node(node_id("pod", p.namespace, p.name), (f"Pod {p.name}", p.ip or "no IP", state[:60]),
                            "pod", node_id("ns", p.namespace), trouble=not p.ready))
    for svc in services:
        ns = svc["metadata"].get("namespace", "default")
        sid = node_id("svc", ns, svc["metadata"]["name"])
        rows = ep.endpoint_rows(svc, views)
        g.nodes.append(_service_node(svc, node_id("ns", ns), any(r.ready for r in rows)))
        spec = svc["spec"]
        if spec.get("type") == "ExternalName":
            target = spec.get("externalName", "")
            if not any(n.id == node_id("ext", target) for n in g.nodes):
                g.nodes.append(Node(node_id("ext", target), (target,), "external"))
            g.edges.append(Edge(sid, node_id("ext", target), "CNAME", dotted=True))
            continue
        headless = spec.get("clusterIP") == "None"
        if svc in proxied:
            first = (spec.get("ports") or [{}])[0]
            g.edges.append(Edge("client", sid, f"{spec.get('clusterIP')}:{first.get('port', '')}"))
        for p in spec.get("ports") or []:
            if p.get("nodePort"):
                g.edges.append(Edge("host", sid, f"{node_address}:{p['nodePort']}"))
        for ing in svc.get("status", {}).get("loadBalancer", {}).get("ingress", []):
            first = (spec.get("ports") or [{}])[0]
            g.edges.append(Edge("host", sid, f"{ing.get('ip')}:{first.get('port', '')}"))
        for row in rows:
            pid = node_id("pod", ns, row.pod)
            if not row.ready:
                g.edges.append(Edge(sid, pid, "not ready", dotted=True))
            elif headless:
                g.edges.append(Edge(sid, pid, "A record", dotted=True))
            else:
                ports = sorted({str(port) for _, port, _ in row.ports})
                g.edges.append(Edge(sid, pid, ":" + ",".join(ports) if ports else ""))
    return g


# ---- Mermaid ------------------------------------------------------------------------------
def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("|", "#124;")


def _mermaid_node(n: Node) -> str:
    label = "<br/>".join(_mermaid_text(line) for line in n.lines)
    if n.kind in ("client", "host"):
        return f'{n.id}(["{label}"])'
    if n.kind == "dns":
        return f'{n.id}[("{label}")]'
    if n.kind == "external":
        return f'{n.id}{{{{"{label}"}}}}'
    return f'{n.id}["{label}"]'


def _layout(g: Graph) -> tuple[list[Node], list[tuple[str, str, list[Node]]]]:
    """Nodes outside any namespace, then (group id, title, members) of each non-empty group."""
    groups = [(gid, title, [n for n in g.nodes if n.group == gid]) for gid, title in g.groups.items()]
    return [n for n in g.nodes if not n.group], [grp for grp in groups if grp[2]]


def _nodes(g: Graph, node, open_group, close_group: str) -> list[str]:
    """The nodes outside any group, then each group's: the same nesting in every output format."""
    outside, groups = _layout(g)
    out = [f"    {node(n)}" for n in outside]
    for gid, title, members in groups:
        out.append(f"    {open_group(gid, title)}")
        out += [f"        {node(n)}" for n in members]
        out.append(f"    {close_group}")
    return out


def to_mermaid(g: Graph, direction: str = "TD") -> str:
    out = [f"graph {direction}"]
    out += _nodes(g, _mermaid_node, lambda gid, title: f'subgraph {gid}["{_mermaid_text(title)}"]', "end")
    for e in g.edges:
        arrow = "-.->" if e.dotted else "-->"
        label = f"|{_mermaid_text(e.label)}|" if e.label else ""
        out.append(f"    {e.src} {arrow}{label} {e.dst}")
    trouble = [n.id for n in g.nodes if n.trouble]
    if trouble:
        out.append("    classDef trouble stroke:#c00,stroke-width:2px,stroke-dasharray:5 5")
        out.append(f"    class {','.join(trouble)} trouble")
    return "\n".join(out) + "\n"


# ---- Graphviz DOT -------------------------------------------------------------------------
_DOT_SHAPES = {"client": "oval", "host": "oval", "dns": "cylinder", "external": "hexagon", "service": "box",
               "pod": "box"}
_DOT_FILL = {"client": "#e8f0fe", "host": "#e8f0fe", "dns": "#fff4d6", "service": "#dff5e1", "pod": "#ffffff",
             "external": "#f2f2f2"}


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _dot_node(n: Node) -> str:
    label = "\\n".join(_dot_text(line) for line in n.lines)
    extra = ', color="#cc0000", penwidth=2, style="rounded,filled,dashed"' if n.trouble else ""
    return (f'{n.id} [label="{label}", shape={_DOT_SHAPES[n.kind]}, fillcolor="{_DOT_FILL[n.kind]}"'
            f"{extra}];")


def to_dot(g: Graph) -> str:
    out = ["digraph emukube {", '    graph [rankdir=TB, fontname="Helvetica"];',
           '    node [style="rounded,filled", fontname="Helvetica", fontsize=11];',
           '    edge [fontname="Helvetica", fontsize=10];']
    out += _nodes(g, _dot_node, lambda gid, title: f'subgraph cluster_{gid} {{ label="{_dot_text(title)}"; '
                  'style="rounded"; color="#888888";', "}")
    for e in g.edges:
        attrs = [f'label="{_dot_text(e.label)}"'] if e.label else []
        if e.dotted:
            attrs.append("style=dashed")
        out.append(f"    {e.src} -> {e.dst}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    out.append("}")
    return "\n".join(out) + "\n"
