"""The pizza shop without emukube: the same containers, images and network, started with plain
`docker run` (the floor) or `docker-compose up`, then waited on until every one answers.

Layout (what `emukube up examples/pizza.yaml` makes): 9 echo pods, one HAProxy per Service
with a ClusterIP (kitchen, phone, reception, flour, cashier; the NodePort and LoadBalancer
ones publish a loopback port), CoreDNS with a cluster.local zone, and one more base-image
container standing in for emukube's controller: 16 containers.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from emukube.runtime import images

from .machine import BENCH_LABEL, free_port, free_subnet, remove_labelled

ECHO = "emukube/echo:1.0"
# name, replicas, container port (the orders database listens on 5432, as in pizza.yaml)
PODS = [("kitchen", 3, 8080), ("orders", 3, 5432), ("flour", 1, 8080), ("cashier", 2, 8080)]
# Service name, backend pods, published on the host (NodePort / LoadBalancer)
PROXIES = [("kitchen", "kitchen", False), ("phone", "kitchen", True), ("reception", "kitchen", True),
           ("flour", "flour", False), ("cashier", "cashier", False)]

HAPROXY_CFG = """global
    maxconn 4096
    nbthread 1
    httpclient.ssl.verify none
defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h
listen svc
    bind :80
    balance random(1)
{servers}
"""
COREFILE = "cluster.local:53 {\n    file /cfg/cluster.local.db cluster.local\n}\n"
ZONE_HEAD = """$ORIGIN cluster.local.
$TTL 5
@ IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5
@ IN NS ns.dns.cluster.local.
"""


@dataclass
class Box:
    """One container, in terms both `docker run` and a compose file can express."""

    name: str
    image: str
    ip: str
    env: dict = field(default_factory=dict)
    entrypoint: list | None = None
    command: list = field(default_factory=list)
    mounts: list = field(default_factory=list)  # (host path, container path)
    ports: list = field(default_factory=list)  # (host port, container port) on 127.0.0.1
    answers: tuple = ()  # ("http", port, path) | ("dns", name) | ()

    def run_argv(self, prefix: str, network: str, dns_ip: str, label: str) -> list[str]:
        argv = ["docker", "run", "-d", "--name", f"{prefix}_{self.name}", "--hostname", self.name,
                "--network", network, "--ip", self.ip, "--dns", dns_ip, "--label", f"{BENCH_LABEL}={label}",
                "--restart", "always"]
        for k, v in self.env.items():
            argv += ["-e", f"{k}={v}"]
        for src, dst in self.mounts:
            argv += ["-v", f"{src}:{dst}:ro"]
        for host, cont in self.ports:
            argv += ["-p", f"127.0.0.1:{host}:{cont}"]
        if self.entrypoint:
            argv += ["--entrypoint", self.entrypoint[0], "--user", "0"]
        return argv + [self.image, *self.entrypoint[1:], *self.command] if self.entrypoint else \
            argv + [self.image, *self.command]

    def compose_service(self, dns_ip: str, label: str) -> dict:
        svc = {"image": self.image, "hostname": self.name, "restart": "always", "dns": [dns_ip],
               "labels": {BENCH_LABEL: label}, "networks": {"net": {"ipv4_address": self.ip}}}
        if self.env:
            svc["environment"] = dict(self.env)
        if self.entrypoint:
            svc["entrypoint"], svc["user"] = list(self.entrypoint), "0"
        if self.command:
            svc["command"] = list(self.command)
        if self.mounts:
            svc["volumes"] = [f"{s}:{d}:ro" for s, d in self.mounts]
        if self.ports:
            svc["ports"] = [f"127.0.0.1:{h}:{c}" for h, c in self.ports]
        return svc


class Layout:
    """The 16 containers on a free /24, with their config files in a temporary directory."""

    def __init__(self, client, label: str):
        self.label = label
        self.subnet = free_subnet(client)
        hosts = list(ipaddress.ip_network(self.subnet).hosts())
        self.dir = Path(tempfile.mkdtemp(prefix="ekbench-"))
        self.dns_ip = str(hosts[9])
        base = images.resolve(client, "haproxy")
        boxes: list[Box] = []
        pod_ips: dict[str, list[str]] = {}
        n = 20
        for name, replicas, port in PODS:
            for i in range(replicas):
                ip = str(hosts[n])
                n += 1
                pod_ips.setdefault(name, []).append(ip)
                env = {"HTTP_PORT": str(port)} if port != 8080 else {}
                boxes.append(Box(f"{name}-{i}", ECHO, ip, env=env, answers=("http", port, "/hostname")))
        zone = [ZONE_HEAD, f"ns.dns IN A {self.dns_ip}\n"]
        for i, (svc, backend, published) in enumerate(PROXIES):
            ip = str(hosts[2 + i])
            port = dict((p[0], p[2]) for p in PODS)[backend]
            servers = "".join(f"    server {backend}-{j} {b}:{port}\n" for j, b in enumerate(pod_ips[backend]))
            cfg = self.dir / f"{svc}.cfg"
            cfg.write_text(HAPROXY_CFG.format(servers=servers))
            boxes.append(Box(f"svc-{svc}", base, ip, entrypoint=["haproxy"],
                             command=["-W", "-db", "-f", "/cfg/haproxy.cfg"],
                             mounts=[(str(cfg), "/cfg/haproxy.cfg")],
                             ports=[(free_port(), 80)] if published else [], answers=("http", 80, "/hostname")))
            zone.append(f"{svc}.default.svc IN A {ip}\n")
        for i, ip in enumerate(pod_ips["orders"]):
            zone.append(f"orders-{i}.orders.default.svc IN A {ip}\norders.default.svc IN A {ip}\n")
        (self.dir / "Corefile").write_text(COREFILE)
        (self.dir / "cluster.local.db").write_text("".join(zone))
        boxes.append(Box("coredns", images.resolve(client, "coredns"), self.dns_ip,
                         command=["-conf", "/cfg/Corefile"],
                         mounts=[(str(self.dir / "Corefile"), "/cfg/Corefile"),
                                 (str(self.dir / "cluster.local.db"), "/cfg/cluster.local.db")],
                         answers=("dns", "kitchen.default.svc.cluster.local")))
        # Exits on SIGTERM (a bare `sleep` as PID 1 would not), so `compose down` does not wait 10 s.
        boxes.append(Box("controller", base, str(hosts[8]), entrypoint=["sh"],
                         command=["-c", "trap 'exit 0' TERM; sleep infinity & wait"]))
        self.boxes = boxes

    def cleanup(self, client) -> None:
        remove_labelled(client, self.label)
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- waiting until every container answers (from the host: bridge addresses are local) -------

def _http_ok(ip: str, port: int, path: str) -> bool:
    try:
        conn = http.client.HTTPConnection(ip, port, timeout=0.5)
        conn.request("GET", path)
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except (OSError, http.client.HTTPException):
        return False


def _dns_ok(ip: str, name: str) -> bool:
    query = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        try:
            s.sendto(query, (ip, 53))
            reply = s.recv(512)
        except OSError:
            return False
    return len(reply) > 12 and reply[:2] == b"\x42\x42" and reply[3] & 0x0F == 0 and reply[7] > 0


def wait_answering(boxes: list[Box], timeout: float = 180) -> None:
    pending = [b for b in boxes if b.answers]
    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(max_workers=8) as pool:
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError("not answering: " + ", ".join(b.name for b in pending))
            checks = [pool.submit(_http_ok, b.ip, b.answers[1], b.answers[2]) if b.answers[0] == "http"
                      else pool.submit(_dns_ok, b.ip, b.answers[1]) for b in pending]
            pending = [b for b, ok in zip(pending, checks) if not ok.result()]
            if pending:
                time.sleep(0.05)


# ---- the two ways up, and down ----------------------------------------------------------------

def _check(cmd: list[str], timeout: float = 300) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if result.returncode:
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited {result.returncode}: {result.stderr.strip()[-300:]}")
    return result.stdout


def _run_box(box: Box, layout: Layout, network: str) -> str:
    """`docker run -d` of one box. Docker 20.10 now and then keeps a removed container's host
    port allocated (a floor run failed so: "Bind for 127.0.0.1:52193 failed: port is already
    allocated", nothing listening there): the box's published port is chosen again, 3 tries."""
    prefix = f"ekbench-{layout.label}"
    for attempt in range(3):
        try:
            return _check(box.run_argv(prefix, network, layout.dns_ip, layout.label))
        except RuntimeError as exc:
            if "port is already allocated" not in str(exc) or not box.ports or attempt == 2:
                raise
            subprocess.run(["docker", "rm", "-f", f"{prefix}_{box.name}"], capture_output=True, timeout=60)
            box.ports = [(free_port(), inside) for _, inside in box.ports]
    raise AssertionError("unreachable")


def docker_run_up(layout: Layout) -> float:
    """docker network create, then every `docker run -d` (8 at a time), then wait: seconds."""
    t0 = time.monotonic()
    network = f"ekbench-{layout.label}"
    _check(["docker", "network", "create", "--subnet", layout.subnet, "--label",
            f"{BENCH_LABEL}={layout.label}", network])
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda box: _run_box(box, layout, network), layout.boxes))
    wait_answering(layout.boxes)
    return time.monotonic() - t0


def docker_run_ordered_up(layout: Layout) -> float:
    """The floor in Kubernetes' order, what any emulator keeping its semantics must at least do:
    first a controller (here a bare Python HTTP server) that answers, since nothing is made
    before one runs; then the rest 8 at a time, except that the StatefulSet's pods (OrderedReady,
    pizza's default) start one at a time, each once the one before answers: seconds."""
    t0 = time.monotonic()
    network = f"ekbench-{layout.label}"
    _check(["docker", "network", "create", "--subnet", layout.subnet, "--label",
            f"{BENCH_LABEL}={layout.label}", network])

    def run(box: Box) -> str:
        return _run_box(box, layout, network)

    controller = next(b for b in layout.boxes if b.name == "controller")
    controller.command, controller.answers = ["-c", "exec python3 -m http.server 8000"], ("http", 8000, "/")
    run(controller)
    wait_answering([controller])
    ordered = [b for b in layout.boxes if b.name.startswith("orders-")]

    def one_by_one() -> None:
        for box in ordered:
            run(box)
            wait_answering([box])

    with ThreadPoolExecutor(max_workers=8) as pool:
        chain = pool.submit(one_by_one)
        list(pool.map(run, [b for b in layout.boxes if b is not controller and b not in ordered]))
        chain.result()
    wait_answering(layout.boxes)
    return time.monotonic() - t0


def docker_run_down(client, layout: Layout) -> float:
    """`docker rm -f` of every container, then `docker network rm`: seconds."""
    t0 = time.monotonic()
    ids = [c.id for c in client.containers.list(ignore_removed=True, all=True, filters={"label": f"{BENCH_LABEL}={layout.label}"})]
    _check(["docker", "rm", "-f", *ids])
    _check(["docker", "network", "rm", f"ekbench-{layout.label}"])
    return time.monotonic() - t0


def compose_command() -> list[str] | None:
    """The compose implementation installed: docker-compose (v1, Debian's) or `docker compose`."""
    for cmd in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(cmd[0]) and subprocess.run([*cmd, "version"], capture_output=True).returncode == 0:
            return cmd
    return None


def compose_version(cmd: list[str]) -> str:
    out = subprocess.run([*cmd, "version", "--short"], capture_output=True, text=True).stdout.strip()
    return out or "?"


def compose_file(layout: Layout) -> Path:
    doc = {"version": "2.4",
           "networks": {"net": {"driver": "bridge", "labels": {BENCH_LABEL: layout.label},
                                "ipam": {"config": [{"subnet": layout.subnet}]}}},
           "services": {b.name: b.compose_service(layout.dns_ip, layout.label) for b in layout.boxes}}
    path = layout.dir / "compose.yml"
    path.write_text(json.dumps(doc, indent=1))  # JSON is YAML
    return path


def compose_up(cmd: list[str], layout: Layout) -> float:
    path = compose_file(layout)
    t0 = time.monotonic()
    _check([*cmd, "-p", f"ekbench{layout.label}", "-f", str(path), "up", "-d"])
    wait_answering(layout.boxes)
    return time.monotonic() - t0


def compose_down(cmd: list[str], layout: Layout) -> float:
    t0 = time.monotonic()
    _check([*cmd, "-p", f"ekbench{layout.label}", "-f", str(layout.dir / "compose.yml"), "down", "-v"])
    return time.monotonic() - t0
