"""Rendered configs checked by the real programs (Debian's haproxy 2.6 and nginx with its stream
module), without Docker. These tests fail, never skip, when a program is missing: CI installs
`haproxy nginx-light libnginx-mod-stream`.

Besides the syntax checks, two short live runs on loopback addresses confirm what the runtime
relies on: nothing listens for a port without endpoints (refused), every pod gets traffic,
ClientIP affinity holds, and survives a reload (HAProxy, SIGUSR2, `-L local`) that changes the
endpoint list.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from emukube.plan.types import Backend, ProxyPlan, ServicePort
from emukube.render import render_haproxy, render_nginx
from emukube.render.haproxy import HAPROXY_COMMAND, haproxy_peer_port, haproxy_stats_port
from emukube.render.nginx import NGINX_COMMAND

pytestmark = pytest.mark.integration


def program(name: str) -> str:
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        pytest.fail(f"{name} is not installed (apt-get install haproxy nginx-light libnginx-mod-stream)")
    return path


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample_plans() -> dict[str, ProxyPlan]:
    backends = (Backend("web-7d9-a", "10.97.0.5", 8080), Backend("web-7d9-b", "10.97.0.6", 8080))
    base = ProxyPlan(
        namespace="default",
        name="web",
        cluster_ip="10.96.0.10",
        ports=(
            ServicePort(free_port(), "TCP", "http", 8080, 30080),
            ServicePort(free_port(), "TCP", "empty", 8443),
            ServicePort(free_port(socket.SOCK_DGRAM), "UDP", "dns", 53),
            ServicePort(free_port(socket.SOCK_DGRAM), "UDP", "none", 53),
        ),
    )
    tcp, _, udp, _ = base.ports
    full = dataclasses.replace(
        base,
        backends={
            tcp.key: backends + (Backend("odd name!", "fd00::6", 8080),),
            udp.key: (Backend("dns-0", "10.97.0.7", 53), Backend("dns-1", "fd00::8", 53)),
        },
        listen_ports_extra={tcp.key: (free_port(),), udp.key: (free_port(socket.SOCK_DGRAM),)},
    )
    return {
        "full": full,
        "affinity": dataclasses.replace(full, affinity_timeout=10800),
        "no-endpoints": dataclasses.replace(base, affinity_timeout=60),
        "tcp-only": dataclasses.replace(full, ports=full.tcp_ports()),
        "local": dataclasses.replace(  # internalTrafficPolicy Local: node-3 has no endpoint
            full, backends={tcp.key: (dataclasses.replace(backends[0], node="node-1"),
                                      dataclasses.replace(backends[1], node="node-2")),
                            udp.key: (Backend("dns-0", "10.97.0.7", 53, node="node-1"),)},
            client_nodes=(("node-1", ("10.97.0.5", "10.97.0.9")), ("node-2", ("10.97.0.6",)),
                          ("node-3", ("10.97.0.7",)))),
    }


@pytest.mark.parametrize("case", ["full", "affinity", "no-endpoints", "tcp-only", "local"])
def test_haproxy_accepts_the_config(case, tmp_path):
    haproxy = program("haproxy")
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(render_haproxy(sample_plans()[case]))
    result = subprocess.run(
        [haproxy, "-c", "-L", "local", "-f", str(cfg)], capture_output=True, text=True, timeout=30
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output and "ALERT" not in output, output


@pytest.mark.parametrize("case", ["full", "affinity", "no-endpoints", "local"])
def test_nginx_accepts_the_config(case, tmp_path):
    nginx = program("nginx")
    conf = tmp_path / "nginx.conf"
    text = render_nginx(sample_plans()[case])
    assert text is not None
    conf.write_text(text.replace("/tmp/emukube/", f"{tmp_path}/"))
    result = subprocess.run(
        [nginx, "-e", "stderr", "-t", "-c", str(conf)], capture_output=True, text=True, timeout=30
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "[warn]" not in output and "[emerg]" not in output, output


# ---------------------------------------------------------------------------------------------
# live runs on loopback addresses


def tcp_backend(ip: str, port: int, name: str, stop: threading.Event) -> socket.socket:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((ip, port))
    server.listen(128)
    server.settimeout(0.2)

    def loop():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.sendall(name.encode())
        server.close()

    threading.Thread(target=loop, daemon=True).start()
    return server


def udp_backend(ip: str, port: int, name: str, stop: threading.Event) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((ip, port))
    server.settimeout(0.2)

    def loop():
        while not stop.is_set():
            try:
                _, peer = server.recvfrom(512)
            except (TimeoutError, OSError):
                continue
            server.sendto(name.encode(), peer)
        server.close()

    threading.Thread(target=loop, daemon=True).start()


def tcp_ask(port: int, source: str = "127.0.0.1") -> str:
    with socket.socket() as c:
        c.settimeout(5)
        c.bind((source, 0))
        c.connect(("127.0.0.1", port))
        return c.recv(100).decode()


def udp_ask(port: int, source: str = "127.0.0.1") -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
        c.settimeout(3)
        c.bind((source, 0))
        c.connect(("127.0.0.1", port))
        c.send(b"hostname")
        try:
            return c.recv(100).decode()
        except ConnectionRefusedError:
            return "REFUSED"


def wait_for_tcp(port: int, deadline: float = 10.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


@contextlib.contextmanager
def running(command: list[str]):
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        print(output)


def test_haproxy_live(tmp_path: Path):
    haproxy = program("haproxy")
    stop = threading.Event()
    target = free_port()
    pods = [Backend(f"pod-{i}", f"127.0.2.{10 + i}", target) for i in range(3)]
    for pod in pods:
        tcp_backend(pod.ip, pod.port, pod.pod, stop)
    http, empty = ServicePort(free_port(), "TCP", "http", target), ServicePort(free_port(), "TCP", "x", target)
    extra = free_port()
    plan = ProxyPlan(
        "default",
        "web",
        "10.96.0.10",
        ports=(http, empty),
        backends={http.key: tuple(pods), empty.key: ()},
        listen_ports_extra={http.key: (extra,)},
        affinity_timeout=300,
    )
    stats_port, peer_port = free_port(), free_port()

    def write(p: ProxyPlan) -> None:
        text = render_haproxy(p)
        text = text.replace("/tmp/emukube/", f"{tmp_path}/")
        text = text.replace(f"127.0.0.1:{haproxy_stats_port(p)}", f"127.0.0.1:{stats_port}")
        text = text.replace(f"127.0.0.1:{haproxy_peer_port(p)}", f"127.0.0.1:{peer_port}")
        (tmp_path / "haproxy.cfg").write_text(text)

    def reload(proc, p: ProxyPlan) -> None:
        write(p)
        proc.send_signal(signal.SIGUSR2)
        time.sleep(1.5)

    write(plan)
    command = [haproxy if part == "haproxy" else part for part in HAPROXY_COMMAND]
    command[command.index("/tmp/emukube/haproxy.cfg")] = str(tmp_path / "haproxy.cfg")
    try:
        with running(command) as proc:
            wait_for_tcp(stats_port)
            page = urllib.request.urlopen(f"http://127.0.0.1:{stats_port}/stats;csv", timeout=5).read()
            assert b"pod-0" in page
            with pytest.raises(ConnectionRefusedError):
                tcp_ask(empty.port)  # no endpoints: refused, like kube-proxy
            # every pod gets traffic, on the Service port and on the extra port
            assert set(tcp_ask(http.port, f"127.0.3.{i % 250 + 1}") for i in range(150)) == {
                p.pod for p in pods
            }
            assert set(tcp_ask(extra, f"127.0.4.{i % 250 + 1}") for i in range(60)) == {p.pod for p in pods}
            # affinity: 15 answers in a row from one client are identical
            clients = [f"127.0.5.{i}" for i in range(1, 13)]
            first = {c: tcp_ask(http.port, c) for c in clients}
            for c in clients[:4]:
                assert {tcp_ask(http.port, c) for _ in range(15)} == {first[c]}
            # HAProxy only hands its table over once it has been up for a few seconds (it first
            # waits for an older process to teach it): let the first process settle.
            time.sleep(5.5)
            without_pod0 = dataclasses.replace(plan, backends={http.key: tuple(pods[1:]), empty.key: ()})
            reload(proc, without_pod0)
            after = {c: tcp_ask(http.port, c) for c in clients}
            kept = [c for c in clients if first[c] != "pod-0"]
            assert kept and all(after[c] == first[c] for c in kept), (first, after)
            assert "pod-0" not in after.values()
            # the last endpoint leaves: the port stops listening
            reload(proc, dataclasses.replace(plan, backends={}))
            with pytest.raises(ConnectionRefusedError):
                tcp_ask(http.port)
            assert proc.poll() is None
    finally:
        stop.set()


def test_nginx_live(tmp_path: Path):
    nginx = program("nginx")
    stop = threading.Event()
    target = free_port(socket.SOCK_DGRAM)
    pods = [Backend(f"pod-{i}", f"127.0.2.{20 + i}", target) for i in range(3)]
    for pod in pods:
        udp_backend(pod.ip, pod.port, pod.pod, stop)
    dns = ServicePort(free_port(socket.SOCK_DGRAM), "UDP", "dns", target)
    empty = ServicePort(free_port(socket.SOCK_DGRAM), "UDP", "none", target)
    extra = free_port(socket.SOCK_DGRAM)
    plan = ProxyPlan(
        "default",
        "dns",
        "10.96.0.10",
        ports=(dns, empty),
        backends={dns.key: tuple(pods)},
        listen_ports_extra={dns.key: (extra,)},
    )
    conf = tmp_path / "nginx.conf"

    def write(p: ProxyPlan) -> None:
        conf.write_text(render_nginx(p).replace("/tmp/emukube/", f"{tmp_path}/"))

    write(plan)
    command = [nginx if part == "nginx" else part for part in NGINX_COMMAND]
    command[command.index("/tmp/emukube/nginx.conf")] = str(conf)
    command[1:1] = ["-e", "stderr"]
    try:
        with running(command) as proc:
            end = time.monotonic() + 10
            while not (tmp_path / "nginx.pid").exists() and time.monotonic() < end:
                time.sleep(0.05)
            time.sleep(0.3)
            counts = collections.Counter(udp_ask(dns.port) for _ in range(150))
            assert set(counts) == {p.pod for p in pods}, counts
            assert {udp_ask(extra) for _ in range(60)} == {p.pod for p in pods}
            assert udp_ask(empty.port) == "REFUSED"
            write(dataclasses.replace(plan, affinity_timeout=60))
            proc.send_signal(signal.SIGHUP)
            time.sleep(1.5)
            clients = [f"127.0.6.{i}" for i in range(1, 40)]
            for c in clients[:5]:
                assert len({udp_ask(dns.port, c) for _ in range(15)}) == 1
            assert len({udp_ask(dns.port, c) for c in clients}) > 1
            assert proc.poll() is None
    finally:
        stop.set()
