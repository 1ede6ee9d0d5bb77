"""The real kubectl's port-forward (1.35: SPDY/3.1 tunnelled in a WebSocket) through emukube's API
server to pods, as a user types it; what arrives is checked byte for byte."""

from __future__ import annotations

import hashlib
import http.client
import re
import socket
import struct
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import HERE, wait_until
from kubectl_tools import KUBECTL, Kube

MANIFEST = HERE / "manifests" / "portforward.yaml"
BIG = 50 * 1024 * 1024


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    k = Kube(cluster.name, tmp_path_factory.mktemp("kube"))
    k("rollout", "status", "deployment/web", "--timeout=90s")
    k("wait", "--for=condition=Ready", "pod/files", "--timeout=120s")
    return k


@pytest.fixture(scope="module")
def web_pod(kube) -> str:
    return kube.lines("get", "pods", "-l", "app=web", "-o", "name")[0].split("/", 1)[1]


class Forward:
    """`kubectl port-forward TARGET :REMOTE...` in the background; ports: remote -> the local port
    kubectl chose and printed."""

    count = 0

    def __init__(self, kube: Kube, workdir: Path, target: str, *remotes: int, env: dict | None = None,
                 flags: tuple[str, ...] = ()):
        Forward.count += 1
        self.out, self.err = (workdir / f"forward-{Forward.count}.{s}" for s in ("out", "err"))
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen([KUBECTL, "port-forward", target, *(f":{r}" for r in remotes), *flags],
                                         env={**kube.env, **(env or {})}, stdout=out, stderr=err)
        self.ports = wait_until(lambda: self._ports(len(remotes)), f"kubectl port-forward {target} listening", 30)

    def _ports(self, expected: int) -> dict[int, int] | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"kubectl port-forward exited {self.proc.returncode}: {self.stderr()}")
        found = re.findall(r"^Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)$", self.out.read_text(), re.M)
        return {int(remote): int(local) for local, remote in found} if len(found) == expected else None

    def stderr(self) -> str:
        return self.err.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def get(port: int, path: str, conn: http.client.HTTPConnection | None = None) -> str:
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        resp = c.getresponse()
        body = resp.read().decode()
        assert resp.status == 200, (resp.status, body)
        return body
    finally:
        if conn is None:
            c.close()


def pod_ip(kube: Kube, pod: str) -> str:
    return kube("get", "pod", pod, "-o", "jsonpath={.status.podIP}").stdout.strip()


def pod_connections(engine, cluster, ip: str) -> list[str]:
    """The API server's open TCP connections to a pod (from its container, the controller)."""
    result = engine.containers.get(f"{cluster.name}_controller").exec_run(["ss", "-Htn", "dst", ip])
    assert result.exit_code == 0, result.output
    return [line for line in result.output.decode().splitlines() if line and not line.startswith("TIME-WAIT")]


# ---- many connections -----------------------------------------------------------------------
def _requests(port: int, worker: int, count: int, fresh: bool) -> list[str]:
    """`count` /echo requests, each answer checked; the failures, described."""
    failures, conn = [], None
    for i in range(count):
        msg = f"w{worker}-r{i}"
        try:
            if conn is None or fresh:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            body = get(port, f"/echo?msg={msg}", conn)
            if body != msg:
                failures.append(f"{msg}: {body!r}")
        except (OSError, http.client.HTTPException, AssertionError) as exc:
            failures.append(f"{msg}: {exc!r}")
            conn = None
        finally:
            if fresh and conn is not None:
                conn.close()
    return failures


def test_1000_requests_over_20_parallel_connections(kube, tmp_path, web_pod):
    with Forward(kube, tmp_path, f"pod/{web_pod}", 8080) as fwd:
        port = fwd.ports[8080]
        with ThreadPoolExecutor(20) as pool:
            failures = [f for fs in pool.map(lambda w: _requests(port, w, 50, False), range(20)) for f in fs]
        assert failures == []
        # one connection per request: a stream pair each, 20 being opened at a time
        with ThreadPoolExecutor(20) as pool:
            failures = [f for fs in pool.map(lambda w: _requests(port, w, 15, True), range(20)) for f in fs]
        assert failures == []
        assert fwd.proc.poll() is None
    assert fwd.out.read_text().count(f"Handling connection for {port}") == 20 + 300


def _download_big(port: int) -> tuple[str, int, float]:
    """GET /big from the files pod: (sha256, size, seconds)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    start = time.monotonic()
    conn.request("GET", "/big")
    resp = conn.getresponse()
    assert resp.status == 200 and int(resp.headers["Content-Length"]) == BIG
    digest, size = hashlib.sha256(), 0
    while chunk := resp.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
        assert time.monotonic() - start < 120, f"only {size} bytes after 120 s"
    conn.close()
    return digest.hexdigest(), size, time.monotonic() - start


@pytest.fixture(scope="module")
def big_sha256(cluster, kube) -> str:
    return cluster.emukube("exec", "files", "--", "sha256sum", "/srv/big").stdout.split()[0]


def test_a_50_mb_transfer_arrives_byte_exact(kube, tmp_path, big_sha256):
    with Forward(kube, tmp_path, "pod/files", 8000) as fwd:
        digest, size, elapsed = _download_big(fwd.ports[8000])
    assert size == BIG and digest == big_sha256
    print(f"port-forward: {BIG / elapsed / 1e6:.0f} MB/s for 50 MB")


def test_plain_spdy_as_kubectl_falls_back_to(kube, tmp_path, web_pod, big_sha256):
    """kubectl speaks SPDY without the WebSocket when told to, or when a server refuses the tunnel."""
    plain = {"KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"}
    with Forward(kube, tmp_path, f"pod/{web_pod}", 8080, env=plain) as fwd:
        port = fwd.ports[8080]
        with ThreadPoolExecutor(20) as pool:
            failures = [f for fs in pool.map(lambda w: _requests(port, w, 10, w % 2 == 0), range(20)) for f in fs]
        assert failures == []
    with Forward(kube, tmp_path, "pod/files", 8000, env=plain, flags=("-v=6",)) as fwd:
        assert _download_big(fwd.ports[8000])[:2] == (big_sha256, BIG)
    err = fwd.stderr()
    assert re.search(r'"Response" verb="POST" url="https://[^"]+/api/v1/namespaces/default/pods/files/portforward" '
                     r'status="101 Switching Protocols"', err), err
    assert "tunneling_dialer" not in err, err


# ---- the forms kubectl resolves itself ---------------------------------------------------------
def test_svc_and_deploy_forms_reach_the_pod_behind_them(kube, tmp_path, web_pod):
    with Forward(kube, tmp_path, "svc/web", 80) as fwd:
        assert list(fwd.ports) == [8080]  # the Service's port 80 is the pod's port named http
        assert get(fwd.ports[8080], "/hostname") == web_pod
    with Forward(kube, tmp_path, "deploy/web", 8080) as fwd:
        assert get(fwd.ports[8080], "/hostname") == web_pod
    with Forward(kube, tmp_path, "deployment.apps/web", 8080) as fwd:
        assert get(fwd.ports[8080], "/echo?msg=apps") == "apps"


def test_two_ports_at_once(kube, tmp_path, web_pod):
    with Forward(kube, tmp_path, f"pod/{web_pod}", 8080, 9000) as fwd:
        for _ in range(3):
            assert get(fwd.ports[8080], "/hostname") == web_pod
            # 9000 writes the hostname and closes: the pod ends the connection first
            with socket.create_connection(("127.0.0.1", fwd.ports[9000]), timeout=10) as s:
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
            assert data.decode() == web_pod


# ---- failures -------------------------------------------------------------------------------
def test_a_port_nothing_listens_on_gets_the_kubelets_error(kube, tmp_path, web_pod):
    ip = pod_ip(kube, web_pod)
    with Forward(kube, tmp_path, f"pod/{web_pod}", 8080) as other, \
            Forward(kube, tmp_path, f"pod/{web_pod}", 9999, 8080) as fwd:
        local = fwd.ports[9999]
        with socket.create_connection(("127.0.0.1", local), timeout=10) as s:
            assert s.recv(1) == b""  # closed without a byte
        code = fwd.proc.wait(30)
        err = fwd.stderr()
        assert re.search(rf'an error occurred forwarding {local} -> 9999: error forwarding port 9999 to pod '
                         rf'{web_pod}, uid : failed to connect to {ip}:9999 .*: dial tcp4 {ip}:9999: connect: '
                         r'connection refused', err), err
        # client-go ends the whole session on an error-stream message, as against any cluster
        assert code == 1 and err.rstrip().endswith("error: lost connection to pod"), err
        # the API server goes on: another session is untouched, a new one works
        assert get(other.ports[8080], "/hostname") == web_pod
    with Forward(kube, tmp_path, f"pod/{web_pod}", 8080) as again:
        assert get(again.ports[8080], "/echo?msg=after") == "after"


def test_a_pod_that_is_not_there_or_not_running(kube, tmp_path):
    result = kube("port-forward", "pod/nothing", ":80", check=False, timeout=30)
    assert result.returncode == 1 and 'pods "nothing" not found' in result.stderr, result.stderr
    result = kube("port-forward", "svc/nothing", ":80", check=False, timeout=30)
    assert result.returncode == 1 and 'services "nothing" not found' in result.stderr, result.stderr
    kube("run", "done", "--image=emukube/echo:1.0", "--restart=Never", "--command", "--", "true")
    kube("wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/done", "--timeout=60s")
    result = kube("port-forward", "pod/done", ":80", check=False, timeout=30)
    assert result.returncode == 1, result
    assert "unable to forward port because pod is not running. Current status=Succeeded" in result.stderr


def test_clients_that_disconnect_mid_stream_leave_no_connection_behind(kube, cluster, engine, tmp_path):
    ip = pod_ip(kube, "files")
    with Forward(kube, tmp_path, "pod/files", 8000) as fwd:
        port = fwd.ports[8000]
        for _ in range(100):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"GET /big HTTP/1.1\r\nHost: files\r\n\r\n")
                assert s.recv(64).startswith(b"HTTP/1.0 200")
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, as a killed client
        wait_until(lambda: not pod_connections(engine, cluster, ip), "no connection to the pod left", 30)
        assert get(port, "/").startswith("<!DOCTYPE HTML>")  # the forward goes on
        # downloads in flight when kubectl itself dies. They keep reading (slowly): over SPDY one
        # stalled stream holds up the connection's others in kubectl (spdystream's frame queues)
        readers = [_SlowDownload(port) for _ in range(3)]
        try:
            wait_until(lambda: all(r.received > 1 << 20 for r in readers), "three downloads under way", 30)
            # Not always all three: kubectl's WebSocket transport buffers what a slow local reader has
            # not taken, so a pod may have sent its whole file (and its connection ended) already.
            assert 1 <= len(pod_connections(engine, cluster, ip)) <= 3
            fwd.proc.kill()
            fwd.proc.wait(10)
            wait_until(lambda: not pod_connections(engine, cluster, ip), "no connection to the pod left", 30)
            assert all(r.received < BIG for r in readers)
        finally:
            for r in readers:
                r.stop()


class _SlowDownload(threading.Thread):
    """GET /big read at a few MB/s, until the connection ends or stop()."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(b"GET /big HTTP/1.1\r\nHost: files\r\n\r\n")
        self.received, self.stopping = 0, threading.Event()
        self.start()

    def run(self) -> None:
        try:
            while not self.stopping.wait(0.005) and (chunk := self.sock.recv(65536)):
                self.received += len(chunk)
        except OSError:
            pass

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)
        self.sock.close()
