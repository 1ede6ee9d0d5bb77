"""Pods come and go, the Service stays: killed pods are replaced, rolling updates drop no request,
readiness drives endpoints and DNS, StatefulSet pods keep their names (real containers)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import tempfile
import threading
import time

import pytest
import yaml
from conftest import EMUKUBE, HERE
from kubectl_tools import Kube
from podtools import RequestLoop, dns_a, pods_wide, ready_endpoints, squeezed, wait_for

MANIFEST = HERE / "manifests" / "workloads.yaml"


def failures(lines, after: float = 0.0) -> list:
    return [x for x in lines if x[0] > after and x[2] != "200"]


def test_a_killed_pod_is_replaced_and_the_service_keeps_answering(cluster, engine):
    before = pods_wide(cluster, "web-")
    victim = sorted(before)[0]
    victim_ip = before[victim][2]
    loop = RequestLoop(cluster, "http://web/hostname")
    wait_for("the loop to send requests", lambda: len(loop.lines()) >= 5)
    killed = time.time()
    engine.containers.get(f"{cluster.name}_pod_default_{victim}").kill()
    wait_for("the killed pod to leave the Service", lambda: victim_ip not in ready_endpoints(cluster, "web"))
    out_of_endpoints = time.time()

    def replacement():
        now = pods_wide(cluster, "web-")
        fresh = [n for n in now if n not in before and now[n][0] == "1/1"]
        return fresh[0] if fresh and victim not in now else None

    new = wait_for("a replacement pod", replacement, timeout=120)
    assert pods_wide(cluster, "web-")[new][2] not in {ip for _, _, ip in before.values()}  # a new IP
    wait_for("the replacement to answer through the Service", lambda: any(b == new for _, b, _ in loop.lines()))
    serving = time.time()
    lines = loop.stop()
    assert lines and not failures(lines, after=out_of_endpoints), failures(lines, after=out_of_endpoints)
    print(f"\nkill -> out of endpoints {out_of_endpoints - killed:.1f}s, -> replacement serving "
          f"{serving - killed:.1f}s; {len(failures(lines))} failed request(s) of {len(lines)} before it left")


def _changed_template() -> str:
    docs = list(yaml.safe_load_all(MANIFEST.read_text()))
    docs[0]["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "VERSION", "value": "2"}]
    return yaml.safe_dump_all(docs)


@pytest.mark.parametrize("how", ["rollout restart", "apply a changed template"])
def test_a_rolling_update_under_load_fails_no_request(cluster, how):
    before = set(pods_wide(cluster, "web-"))
    loop = RequestLoop(cluster, "http://web/hostname")
    wait_for("the loop to send requests", lambda: len(loop.lines()) >= 5)
    if how == "rollout restart":
        assert cluster.emukube("rollout", "restart", "deployment", "web").stdout.strip() == \
            "deployment.apps/web restarted"  # kubectl's `TYPE NAME` as well as `TYPE/NAME`
    else:
        cluster.emukube("apply", "-", "--no-wait", input=_changed_template())
    status = cluster.emukube("rollout", "status", "deployment/web", "--timeout", "150s", timeout=200).stdout
    assert status.splitlines()[-1] == 'deployment "web" successfully rolled out'
    assert any(line.startswith('Waiting for deployment "web" rollout to finish') for line in status.splitlines())
    # Done as kubectl says it: old pods may still be Terminating (they count no more).
    after = {n: row for n, row in pods_wide(cluster, "web-").items() if row[1] != "Terminating"}
    assert len(after) == 3 and not set(after) & before and all(r == "1/1" for r, _, _ in after.values())
    wait_for("a new pod to answer", lambda: any(b in after for _, b, _ in loop.lines()))
    lines = loop.stop()
    assert len(lines) > 20 and not failures(lines), failures(lines)
    assert {b for _, b, _ in lines} & before, "the loop started before the update"


def test_readiness_drives_the_service_and_headless_dns(cluster):
    pods = pods_wide(cluster, "web-")
    pod = sorted(pods)[0]
    ip = pods[pod][2]
    wait_for("all pods in the headless records", lambda: dns_a(cluster, "web-pods") == {p[2] for p in pods.values()})
    cluster.emukube("exec", pod, "--", "touch", "/tmp/not-ready")
    wait_for("the unready pod to leave the Service", lambda: ip not in ready_endpoints(cluster, "web"))
    wait_for("the unready pod to leave headless DNS", lambda: ip not in dns_a(cluster, "web-pods"))
    assert pods_wide(cluster, "web-")[pod][:2] == ("0/1", "Running")
    assert "Readiness probe failed: HTTP probe failed with statuscode: 503" in cluster.emukube("describe", "pod", pod).stdout
    cluster.emukube("exec", pod, "--", "rm", "/tmp/not-ready")
    wait_for("the pod back in the Service", lambda: ip in ready_endpoints(cluster, "web"))
    wait_for("the pod back in headless DNS", lambda: ip in dns_a(cluster, "web-pods"))


def _resolve_from_pod(cluster, names: list[str]) -> dict[str, str]:
    out = cluster.sh("for n in " + " ".join(names) + "; do getent hosts $n; done", pod="deploy/web").stdout
    return {line.split()[1].split(".")[0]: line.split()[0] for line in out.splitlines()}


def test_statefulset_pods_resolve_by_name_and_keep_it_when_deleted(cluster):
    pods = pods_wide(cluster, "db-")
    assert sorted(pods) == ["db-0", "db-1", "db-2"]
    resolved = _resolve_from_pod(cluster, ["db-0.db", "db-1.db", "db-2.db"])
    assert resolved == {name: ip for name, (_, _, ip) in pods.items()}
    old_ip = pods["db-1"][2]
    assert cluster.emukube("delete", "pod", "db-1").stdout.strip() == 'pod "db-1" deleted from default namespace'

    def back_with_new_ip():
        row = pods_wide(cluster, "db-").get("db-1")
        return row if row and row[0] == "1/1" and row[2] != old_ip else None

    back = wait_for("db-1 back and ready", back_with_new_ip, timeout=120)
    wait_for("db-1.db to resolve to the new pod", lambda: _resolve_from_pod(cluster, ["db-1.db"]).get("db-1") == back[2])


def _before_events(text: str) -> str:
    """A describe's text without its Events, whose ages move on between two calls."""
    return text.split("\nEvents:")[0]


def test_describe_is_kubectls_describe_of_the_cluster(cluster, tmp_path):
    from emukube import Cluster as Handle

    pods = pods_wide(cluster, "web-")
    pod = sorted(pods)[0]
    text = squeezed(cluster.emukube("describe", "pod", pod).stdout)
    for expected in (f"Name: {pod}", f"IP: {pods[pod][2]}", "Node: node-1/", "Controlled By: ReplicaSet/web-",
                     "Labels: app=web", "Image: emukube/echo:1.0", "Port: 8080/TCP (http)", "State: Running",
                     "Restart Count: 0", "Ready True", "QoS Class: BestEffort", "Started container echo",
                     "Readiness: http-get http://:http/readyz delay=0s timeout=1s period=1s #success=1 #failure=1"):
        assert expected in text, (expected, text)
    kubectl_text = Kube(cluster.name, tmp_path)("describe", "pod", pod).stdout
    assert _before_events(cluster.emukube("describe", "pod", pod).stdout) == _before_events(kubectl_text)
    svc = squeezed(cluster.emukube("describe", "svc", "web").stdout)
    endpoints = next(line for line in svc.splitlines() if line.startswith("Endpoints:"))
    assert sorted(endpoints.split()[1].split(",")) == sorted(f"{ip}:8080" for _, _, ip in pods.values())
    for expected in ("Type: ClusterIP", "Port: http 80/TCP", "TargetPort: http/TCP", "Session Affinity: None"):
        assert expected in svc, (expected, svc)
    deploy = squeezed(cluster.emukube("describe", "deploy/web").stdout)
    assert "Replicas: 3 desired | 3 updated | 3 total | 3 available | 0 unavailable" in deploy
    sts = squeezed(cluster.emukube("describe", "sts", "db").stdout)
    assert "Pods Status: 3 Running / 0 Waiting / 0 Succeeded / 0 Failed" in sts and "Update Strategy: RollingUpdate" in sts
    assert squeezed(cluster.emukube("describe", "pods", "-l", "app=web").stdout).count("\nName: web-") == len(pods) - 1
    missing = cluster.emukube("describe", "pod", "nope", check=False)
    assert missing.returncode == 2 and missing.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'
    bad = cluster.emukube("describe", "widgets", "x", check=False)
    assert bad.returncode == 2 and bad.stderr.strip() == 'error: the server doesn\'t have a resource type "widgets"'
    assert _before_events(Handle(cluster.name).describe("svc", "web")) == \
        _before_events(cluster.emukube("describe", "svc", "web").stdout)


class Stream:
    """A long-running emukube command whose output lines are read as they come (bounded waits).
    Its stderr goes to a file, and a wait that runs out dumps the command's Python stacks there
    (faulthandler on SIGABRT), so a hang says where it hangs; one that exited says why at once."""

    def __init__(self, cluster, *args: str):
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([EMUKUBE, *args], stdout=subprocess.PIPE, stderr=self.err, text=True,
                                     env=dict(os.environ, EMUKUBE_CLUSTER=cluster.name, PYTHONFAULTHANDLER="1"))
        self.lines: queue.Queue = queue.Queue()
        self.reader = threading.Thread(target=lambda: [self.lines.put(x.rstrip("\n")) for x in self.proc.stdout],
                                       daemon=True)
        self.reader.start()

    def read_until(self, *wanted: str, timeout: float = 60) -> str:
        """The first new line containing every `wanted`."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                if not self.reader.is_alive() and self.lines.empty():
                    break  # it exited: nothing more will come
                continue
            seen.append(line)
            if all(w in line for w in wanted):
                return line
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:  # still running: where is it?
            self.proc.send_signal(signal.SIGABRT)
            self.proc.wait(timeout=20)
        pytest.fail(f"no line with {wanted!r} within {timeout:.0f}s; saw {seen[-5:]}; "
                    f"exit {self.proc.returncode}; stderr:\n{self.stderr()[-6000:]}")

    def stderr(self) -> str:
        self.err.seek(0)
        return self.err.read()

    def interrupt(self) -> int:
        """Ctrl-C; the exit code."""
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=20)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=20)


def test_events_follow_and_up_attach_stream_until_interrupted(cluster):
    pod = sorted(pods_wide(cluster, "web-"))[1]
    follow = Stream(cluster, "events", "-f")
    try:
        follow.read_until("pod/", "Started")  # the Events so far come first
        cluster.emukube("exec", pod, "--", "touch", "/tmp/not-ready")
        follow.read_until(f"pod/{pod}", "Unhealthy", "Readiness probe failed")
        assert follow.interrupt() == 0
    finally:
        follow.kill()
        cluster.emukube("exec", pod, "--", "rm", "-f", "/tmp/not-ready")
    attach = Stream(cluster, "up", str(MANIFEST), "--attach", "--timeout", "150s")
    try:
        attach.read_until("TIME", "REASON", timeout=200)
        cluster.emukube("delete", "pod", "db-2")
        attach.read_until("pod/db-2", "Killing", "Stopping container echo")
        assert attach.interrupt() == 0
        assert "Ctrl-C stops watching" in attach.stderr()
    finally:
        attach.kill()
    # Ctrl-C left the cluster running: the StatefulSet brings db-2 back.
    wait_for("db-2 back", lambda: pods_wide(cluster, "db-").get("db-2", ("",))[0] == "1/1", timeout=120)


def test_apply_carries_on_when_the_object_changes_under_it(cluster, tmp_path):
    """Between reading a Deployment and writing it, `emukube apply` meets another writer (a
    rollout's status, kubectl): it tries again from what the server holds, as kubectl apply does,
    instead of failing with 409 Conflict."""
    kube = Kube(cluster.name, tmp_path)
    cluster.emukube("apply", str(MANIFEST), "--no-wait")  # from the file's template, whatever ran before
    stop = threading.Event()

    def annotate() -> None:  # bounded: at most 300 writes, until the applies are done
        for i in range(300):
            if stop.is_set():
                return
            kube("annotate", "deployment/web", f"churn={i}", "--overwrite", check=False)

    churn = threading.Thread(target=annotate, daemon=True)
    churn.start()
    try:
        for manifest in (_changed_template(), MANIFEST.read_text()) * 2:
            applied = cluster.emukube("apply", "-", "--no-wait", input=manifest, check=False)
            assert applied.returncode == 0 and "deployment/web configured" in applied.stdout, \
                applied.stdout + applied.stderr
    finally:
        stop.set()
        churn.join(timeout=60)
    assert kube.obj("get", "deployment", "web")["metadata"]["annotations"]["churn"]  # kept by each apply
    kube("rollout", "status", "deployment/web", "--timeout=150s", timeout=160)
