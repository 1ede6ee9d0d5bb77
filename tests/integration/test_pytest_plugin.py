"""The pytest plugin, run the way a team runs it: pytest in a subprocess finding the plugin by
its entry point, on a generated test file. Every cluster it makes carries a prefix of ours
(EMUKUBE_TEST_PREFIX), so "nothing left behind" is checked without touching anyone else's."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emukube.lifecycle import ops

ONE_WEB = Path(__file__).parent / "manifests" / "one-web.yaml"

SCOPES = '''
import os
import httpx
import pytest

pytestmark = pytest.mark.emukube("k8s")


def record(cluster, what):
    with open(os.environ["RECORD"], "a") as fh:
        fh.write(f"{what} {cluster.name}\\n")


def test_module_one(emukube_cluster):
    record(emukube_cluster, "module")
    assert httpx.get(emukube_cluster.url("svc/web") + "/hostname", timeout=10).text == "web"


def test_module_kubeconfig(emukube_cluster, emukube_kubeconfig):
    record(emukube_cluster, "module")
    import subprocess
    import sys
    from pathlib import Path

    from kubernetes import client, config

    kubectl = Path(sys.executable).parent / "kubectl"
    got = subprocess.run([str(kubectl), "--kubeconfig", str(emukube_kubeconfig), "get", "pods", "-o", "name"],
                         capture_output=True, text=True, timeout=60)
    assert got.stdout.split() == ["pod/web"], got.stderr
    core = client.CoreV1Api(config.new_client_from_config(str(emukube_kubeconfig)))
    assert [s.metadata.name for s in core.list_namespaced_service("default").items] == ["kubernetes", "web"]
    assert oct(emukube_kubeconfig.stat().st_mode & 0o777) == "0o600"


def test_module_two_fails(emukube_cluster):
    record(emukube_cluster, "module")
    import time

    crasher = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "crasher"}, "spec": {"containers": [
        {"name": "app", "image": "emukube/echo:1.0", "command": ["sh", "-c", "echo the crasher says hello; exit 3"]}]}}
    emukube_cluster.apply(objects=[crasher], wait=False)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not any(p.name == "crasher" and p.restarts >= 2  # backed off once
                                                  for p in emukube_cluster.pods()):
        time.sleep(0.5)
    assert emukube_cluster.exec("web", "exit 1").exit_code == 0, "a failing test"


@pytest.mark.emukube("k8s", scope="function")
def test_function(emukube_cluster):
    record(emukube_cluster, "function")


@pytest.mark.emukube("nope")
def test_bad_path_is_explained(emukube_cluster):
    pass
'''

INTERRUPTED = '''
import os
import time
import pytest


@pytest.mark.emukube("k8s")
def test_waits(emukube_cluster):
    with open(os.environ["RECORD"], "w") as fh:
        fh.write(emukube_cluster.name)
    time.sleep(300)
'''


def write_suite(tmp_path: Path, name: str, source: str) -> Path:
    (tmp_path / "k8s").mkdir(exist_ok=True)
    (tmp_path / "k8s" / "web.yaml").write_text(ONE_WEB.read_text())
    (tmp_path / name).write_text(source)
    return tmp_path / name


def pytest_env(tmp_path: Path, prefix: str) -> dict:
    return dict(os.environ, EMUKUBE_TEST_PREFIX=prefix, RECORD=str(tmp_path / "record.txt"))


def pytest_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]


def test_scopes_failures_and_nothing_left(engine, tmp_path):
    prefix = f"ps{os.getpid() % 100000}s"
    suite = write_suite(tmp_path, "test_scopes.py", SCOPES)
    plain = write_suite(tmp_path, "test_plain.py", "def test_plain(emukube_cluster):\n    pass\n")
    result = subprocess.run(pytest_cmd(str(plain), str(suite)), cwd=tmp_path, env=pytest_env(tmp_path, prefix),
                            capture_output=True, text=True, timeout=600)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "3 passed" in out and "1 failed" in out and "2 errors" in out, out
    assert "a failing test" in out
    # the failed test's report: its cluster's pods, Warning events, and the crashed container's output
    report = out.split("emukube cluster ps", 1)[1]
    assert "$ kubectl get pods -A" in report and re.search(r"default\s+web\s+1/1\s+Running", report), report
    assert re.search(r"pod/crasher  BackOff: Back-off restarting failed container app in pod crasher_default\(", report), \
        report
    assert "container app of pod default/crasher:\n  the crasher says hello" in report, report
    assert "@pytest.mark.emukube: no such file or directory" in out
    assert "emukube_cluster needs @pytest.mark.emukube" in out
    records = [line.split() for line in (tmp_path / "record.txt").read_text().splitlines()]
    module_names = {name for what, name in records if what == "module"}
    function_names = {name for what, name in records if what == "function"}
    assert len(module_names) == 1 and len(function_names) == 1 and module_names != function_names
    assert all(name.startswith(prefix) for name in module_names | function_names)
    assert ops.all_clusters(engine, prefix) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_leaves_nothing(engine, tmp_path, signum):
    prefix = f"pi{os.getpid() % 100000}s{int(signum)}"
    suite = write_suite(tmp_path, "test_interrupted.py", INTERRUPTED)
    record = tmp_path / "record.txt"
    proc = subprocess.Popen(pytest_cmd(str(suite)), cwd=tmp_path, env=pytest_env(tmp_path, prefix),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while not record.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert record.exists(), "the test never started"
        name = record.read_text()
        assert ops.all_clusters(engine, name) == [name]
        proc.send_signal(signum)
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2 and "KeyboardInterrupt" in out, out
    assert ops.all_clusters(engine, prefix) == []
