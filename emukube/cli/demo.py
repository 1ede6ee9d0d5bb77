"""`make demo`: the pizza shop on a machine where other clusters may run already.

NodePorts are host ports, each held by one cluster on the machine. When another cluster holds
a nodePort the manifest asks for (the shop's phone asks for 30080), the demo runs without that
request, so the API server gives a free port, and says who holds the asked one; `up` prints the
port to curl. The newcomer decides nothing before the shop answers.

Usage: python -m emukube.cli.demo EMUKUBE FILE (the cluster is $EMUKUBE_CLUSTER, else emukube).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys

import yaml

from ..errors import EmukubeError


def held_node_ports(docs: list[dict], taken: dict[int, str]) -> dict[int, str]:
    """The nodePorts the Services ask for that others hold: port -> holder ("cluster NAME")."""
    held = {}
    for doc in docs:
        if doc.get("kind") == "Service":
            for port in (doc.get("spec") or {}).get("ports") or []:
                if port.get("nodePort") in taken:
                    held[port["nodePort"]] = taken[port["nodePort"]]
    return held


def without_node_ports(docs: list[dict], ports: set[int]) -> list[dict]:
    """The documents with those nodePort requests left out (the API server picks free ones)."""
    out = []
    for doc in docs:
        if held_node_ports([doc], dict.fromkeys(ports, "")):
            doc = {**doc, "spec": {**doc["spec"], "ports": [
                {k: v for k, v in p.items() if not (k == "nodePort" and v in ports)} for p in doc["spec"]["ports"]]}}
        out.append(doc)
    return out


def note(port: int, holder: str, prog: str) -> str:
    other = holder.split(" ", 1)[-1]
    return (f"note: NodePort {port} is held by emukube cluster \"{other}\" (`{prog} down --cluster {other}` "
            f"frees it): this demo gets a free port instead; curl the one printed below")


def _taken(cluster: str) -> dict[int, str]:
    from ..lifecycle.ops import other_clusters_node_ports
    from ..runtime import engine

    try:
        return other_clusters_node_ports(engine.connect(), cluster)
    except EmukubeError:  # no engine: `up` says so in its own words
        return {}


def main(argv: list[str]) -> int:
    prog, path = argv
    with open(path) as fh:
        docs = [d for d in yaml.safe_load_all(fh) if d]
    held = held_node_ports(docs, _taken(os.environ.get("EMUKUBE_CLUSTER", "emukube")))
    if not held:
        print(f"{prog} up {shlex.quote(path)}", file=sys.stderr)
        os.execv(prog, [prog, "up", path])
    for port, holder in sorted(held.items()):
        print(note(port, holder, prog), file=sys.stderr)
    text = yaml.safe_dump_all(without_node_ports(docs, set(held)), sort_keys=False)
    print(f"{prog} up - < {shlex.quote(path)}   # without nodePort {', '.join(map(str, sorted(held)))}",
          file=sys.stderr)
    child = subprocess.Popen([prog, "up", "-"], stdin=subprocess.PIPE, text=True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C reaches `up` too: it is up's to handle
    child.communicate(text)
    return child.returncode if child.returncode >= 0 else 128 - child.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
