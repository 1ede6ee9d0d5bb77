"""The offline images really build and really run (needs a Docker engine; no registry).

The first run builds the images (minutes: debootstrap + Go); later runs find them present.
Everything created here is named ektest-img-* and removed at the end.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import time
import uuid

import docker
import docker.errors
import pytest

from emukube.runtime import images

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def client():
    # FAIL, not skip, without an engine: a CI that silently skips these proves nothing.
    try:
        c = docker.from_env()
        c.ping()
    except Exception as e:  # noqa: BLE001 - any way of not answering is a failure
        pytest.fail(f"cannot reach the Docker engine: {e}")
    yield c
    c.close()


@pytest.fixture(scope="module")
def built(client):
    images.build(client, log=lambda line: print("build:", line))
    return {n: images.offline_ref(n) for n in ("base", "echo", "pause", "coredns")}


@pytest.fixture
def no_overrides(monkeypatch):
    for role in images.ROLES:
        monkeypatch.delenv(f"EMUKUBE_IMAGE_{role.upper()}", raising=False)


class Sandbox:
    """A throwaway network and the containers started on it; removed by the fixture."""

    def __init__(self, client):
        self.client = client
        self.net = client.networks.create(f"ektest-img-{uuid.uuid4().hex[:8]}", driver="bridge")
        self.containers = []

    def run(self, image, command=None, start=True, **kw):
        c = self.client.containers.create(
            image, command, name=f"ektest-img-{uuid.uuid4().hex[:8]}", network=self.net.name, **kw)
        self.containers.append(c)
        if start:
            c.start()
        return c

    def ip(self, c):
        c.reload()
        return c.attrs["NetworkSettings"]["Networks"][self.net.name]["IPAddress"]

    def close(self):
        for c in self.containers:
            try:
                c.remove(force=True)
            except docker.errors.NotFound:
                pass
        self.net.remove()


@pytest.fixture
def sandbox(client):
    box = Sandbox(client)
    try:
        yield box
    finally:
        box.close()


def sh(container, script: str) -> tuple[int, str]:
    code, out = container.exec_run(["sh", "-c", script])
    return code, out.decode(errors="replace").strip()


def wait_for(container, script: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while True:
        code, out = sh(container, script)
        if code == 0 or time.monotonic() > deadline:
            assert code == 0, f"{script!r} kept failing: {out}"
            return out
        time.sleep(0.2)


def test_all_images_present_and_resolved(client, built, no_overrides):
    for ref in built.values():
        assert client.images.get(ref).labels["io.emukube.input-hash"] == ref.split(":")[1]
    assert images.resolve(client, "haproxy") == images.resolve(client, "nginx") == built["base"]
    assert images.resolve(client, "controller") == built["base"]
    for role in ("echo", "pause", "coredns"):
        assert images.resolve(client, role) == built[role]
    assert all(r["present"] and r["source"] == "offline build" for r in images.status(client))


def test_second_build_builds_nothing(client, built):
    assert images.build(client, log=lambda _: None) == []


def test_override_and_missing(client, built, no_overrides, monkeypatch, tmp_path):
    monkeypatch.setenv("EMUKUBE_IMAGE_ECHO", "example.org/my-echo:1")
    assert images.resolve(client, "echo") == "example.org/my-echo:1"
    monkeypatch.delenv("EMUKUBE_IMAGE_ECHO")
    # Change an input: the echo tag changes, nothing is present, and echo has no upstream.
    src = tmp_path / "images"
    shutil.copytree(images._src_dir(), src)
    (src / "echo" / "main.go").write_text((src / "echo" / "main.go").read_text() + "\n// changed\n")
    monkeypatch.setattr(images, "_src_dir", lambda: src)
    assert images.offline_ref("base") == built["base"]
    with pytest.raises(images.ImageMissing, match="emukube images build --offline") as e:
        images.resolve(client, "echo")
    assert e.value.refs_tried == [images.offline_ref("echo")] != [built["echo"]]


def test_echo_serves_http_udp_and_tools(built, sandbox):
    pod = sandbox.run(built["echo"], hostname="ektest-pod")
    tool = sandbox.run(built["echo"], ["sleep", "infinity"])
    ip = sandbox.ip(pod)
    assert wait_for(tool, f"curl -sf http://{ip}:8080/hostname") == "ektest-pod"
    assert sh(tool, f"curl -s 'http://{ip}:8080/echo?msg=hi'") == (0, "hi")
    assert sh(tool, f"curl -s -o /dev/null -w '%{{http_code}}' http://{ip}:8080/readyz") == (0, "200")
    assert sh(pod, "touch /tmp/not-ready")[0] == 0
    assert sh(tool, f"curl -s -o /dev/null -w '%{{http_code}}' http://{ip}:8080/readyz") == (0, "503")
    # UDP on UDP_PORT (8081) and on the HTTP port number too.
    assert sh(tool, f"echo 'echo hello' | nc -u -w1 {ip} 8081") == (0, "hello")
    assert sh(tool, f"echo hostname | nc -u -w1 {ip} 8080") == (0, "ektest-pod")
    code, out = sh(tool, "for t in dig nslookup nc curl wget ip ps; do command -v $t || exit 1; done")
    assert code == 0 and len(out.split()) == 7, out
    assert sh(tool, f"wget -qO- http://{ip}:8080/") == (0, "ektest-pod")


def test_echo_sigterm_fails_readiness_then_exits_0(built, sandbox):
    pod = sandbox.run(built["echo"], hostname="ektest-pod", environment={"SHUTDOWN_DELAY": "3"})
    tool = sandbox.run(built["echo"], ["sleep", "infinity"])
    ip = sandbox.ip(pod)
    wait_for(tool, f"curl -sf http://{ip}:8080/readyz")
    pod.kill(signal="SIGTERM")
    assert sh(tool, f"curl -s -o /dev/null -w '%{{http_code}}' http://{ip}:8080/readyz") == (0, "503")
    assert sh(tool, f"curl -s http://{ip}:8080/healthz") == (0, "ok")  # still serving
    assert pod.wait(timeout=15)["StatusCode"] == 0


def test_base_runs_haproxy_nginx_stream_and_python(built, sandbox):
    script = r"""set -e
haproxy -v
nginx -V
printf 'load_module /etc/nginx/modules/ngx_stream_module.so;\nevents {}\nstream { server { listen 5353 udp; proxy_pass 127.0.0.1:53; } }\n' >/tmp/udp.conf
nginx -t -c /tmp/udp.conf
python3 -c 'import docker, yaml; print("python ok")'
"""
    c = sandbox.run(built["base"], ["sh", "-c", script])
    result = c.wait(timeout=60)
    logs = c.logs().decode()
    assert result["StatusCode"] == 0, logs
    assert "HAProxy version" in logs and "nginx version" in logs
    assert "test is successful" in logs and "python ok" in logs


def test_coredns_answers(built, sandbox):
    dns = sandbox.run(built["coredns"], ["-conf", "/Corefile"], start=False)
    corefile = b".:53 {\n    whoami\n}\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("Corefile")
        info.size = len(corefile)
        tar.addfile(info, io.BytesIO(corefile))
    dns.put_archive("/", buf.getvalue())
    dns.start()
    tool = sandbox.run(built["echo"], ["sleep", "infinity"])
    ip, tool_ip = sandbox.ip(dns), sandbox.ip(tool)
    out = wait_for(tool, f"dig +time=1 +tries=1 @{ip} foo")
    assert "status: NOERROR" in out and tool_ip in out, out  # whoami reports who asked


def test_pause_runs_until_sigterm(built, sandbox):
    pause = sandbox.run(built["pause"])
    time.sleep(0.5)
    pause.reload()
    assert pause.status == "running"
    t0 = time.monotonic()
    pause.stop(timeout=10)  # SIGTERM; a pause that ignored it would take the full 10 s
    assert time.monotonic() - t0 < 5
    assert pause.wait(timeout=5)["StatusCode"] == 0
