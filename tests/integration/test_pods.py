"""Inside pods: init containers, containers sharing localhost, ConfigMaps and Secrets, liveness
restarts and CrashLoopBackOff; skipped kinds and an undeclared namespace (real containers)."""

from __future__ import annotations

import json
import re

from conftest import HERE
from podtools import pods_wide, squeezed, wait_for

MANIFEST = HERE / "manifests" / "pods.yaml"
CRASHING = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: crash}
spec:
  replicas: 1
  selector: {matchLabels: {app: crash}}
  template:
    metadata: {labels: {app: crash}}
    spec:
      containers:
        - {name: boom, image: "emukube/echo:1.0", command: [sh, -c, "echo about to fail; exit 1"]}
"""


def test_skipped_kinds_get_one_warning_each_and_the_rest_applies(cluster):
    result = cluster.emukube("apply", str(MANIFEST))
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.stderr
    assert 'skipping HTTPRoute "front": emukube does not emulate this kind' in warnings[0]
    assert "persistentvolumeclaim/data unchanged" in result.stdout  # claims are emulated
    assert "deployment/shop unchanged" in result.stdout and "pod/multi unchanged" in result.stdout


def test_an_undeclared_namespace_works(cluster):
    rows = cluster.emukube("get", "pods", "-n", "shop").stdout.splitlines()[1:]
    assert len(rows) == 1 and rows[0].split()[1:3] == ["1/1", "Running"]
    answer = cluster.sh("curl -s -m 5 http://shop.shop/hostname", pod="multi").stdout
    assert answer == rows[0].split()[0]
    search = cluster.emukube("exec", rows[0].split()[0], "-n", "shop", "--", "cat", "/etc/resolv.conf").stdout
    assert "search shop.svc.cluster.local svc.cluster.local cluster.local" in search


def test_init_containers_ran_in_order_before_the_app(cluster):
    assert cluster.sh("cat /work/order", pod="multi").stdout.split() == ["first", "second"]
    assert "Init Containers:" in cluster.emukube("describe", "pod", "multi").stdout


def test_the_second_container_reaches_the_first_on_localhost(cluster):
    assert pods_wide(cluster, "multi")["multi"][0] == "2/2"
    answer = cluster.emukube("exec", "multi", "-c", "sidecar", "--", "curl", "-s", "-m", "5",
                             "http://localhost:8080/hostname").stdout
    assert answer == "multi"


def test_configmap_and_secret_as_env_and_as_files(cluster):
    env = cluster.sh('echo "$GREETING|$PASSWORD|$CM_LEVEL|$CM_GREETING|$token|$MY_POD"', pod="multi").stdout
    assert env.strip() == "hello|s3cret|debug|hello|abc123|multi"
    files = cluster.sh("stat -L -c '%a %n' /etc/conf/* /etc/secret/*; cat /etc/conf/app.conf /etc/secret/token",
                       pod="multi").stdout.splitlines()
    assert files == ["600 /etc/conf/app.conf", "400 /etc/secret/PASSWORD", "400 /etc/secret/token",
                     "port=8080", "abc123"]


def test_a_failing_liveness_probe_restarts_the_container(cluster):
    pod = next(iter(pods_wide(cluster, "live-")))
    cluster.emukube("exec", pod, "--", "touch", "/tmp/dead")
    wait_for("RESTARTS 1 and running again",
             lambda: pods_wide(cluster, "live-")[pod][:2] == ("1/1", "Running") and
             cluster.emukube("get", "pods", pod).stdout.splitlines()[1].split()[3] == "1", timeout=120)
    text = squeezed(cluster.emukube("describe", "pod", pod).stdout)
    assert "Restart Count: 1" in text and "Liveness: exec [sh -c test ! -f /tmp/dead]" in text
    assert "Container echo failed liveness probe, will be restarted" in text


def _waits(cluster, pod: str, seen: list[str]) -> list[str]:
    """The back-offs the container's status has shown so far (its waiting message, polled), in order."""
    status = json.loads(cluster.emukube("get", "pod", pod, "-o", "json").stdout)["status"]
    waiting = (status.get("containerStatuses") or [{}])[0].get("state", {}).get("waiting") or {}
    found = re.fullmatch(rf"back-off (\S+) restarting failed container=boom pod={pod}_default\([0-9a-f-]+\)",
                         waiting.get("message", ""))
    if found and (not seen or seen[-1] != found.group(1)):
        seen.append(found.group(1))
    return seen


def test_a_crashing_container_backs_off_like_crashloopbackoff(cluster, engine):
    cluster.emukube("apply", "-", "--no-wait", input=CRASHING)
    wait_for("STATUS CrashLoopBackOff",
             lambda: any(s == "CrashLoopBackOff" for _, s, _ in pods_wide(cluster, "crash-").values()), timeout=120)
    pod = next(iter(pods_wide(cluster, "crash-")))
    delays: list[str] = []
    wait_for("a second back-off", lambda: len(_waits(cluster, pod, delays)) >= 2, timeout=150, pause=1)
    assert delays[:2] == ["10s", "20s"], delays  # kubelet: 10 s doubling, capped 5 min
    restarts = int(cluster.emukube("get", "pods", pod).stdout.splitlines()[1].split()[3])
    assert 2 <= restarts <= len(delays) + 1  # one restart per back-off, not Docker's 100 ms loop
    # The kubelet's BackOff event has the same words at every wait, so the Event counts them.
    counted = rf"Back-off restarting failed container boom in pod {pod}_default\([0-9a-f-]+\) \(x[2-9]\)"
    wait_for("the BackOff event counted", lambda: re.search(counted, cluster.emukube("events").stdout),
             timeout=30, pause=1)
    container = engine.containers.get(f"{cluster.name}_pod_default_{pod}")
    assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "no" and container.attrs["RestartCount"] == 0
    wait_for("describe to show the back-off and the last exit", lambda: all(
        x in squeezed(cluster.emukube("describe", "pod", pod).stdout)
        for x in ("Reason: CrashLoopBackOff", "Last State: Terminated", "Exit Code: 1")), timeout=60, pause=2)
    assert "about to fail" in cluster.emukube("logs", pod).stdout
