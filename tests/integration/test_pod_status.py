"""Pod status as the real kubectl shows it (issue 17): init containers that fail stay listed in
Init:CrashLoopBackOff with their logs readable; a missing image is ErrImagePull/ImagePullBackOff
with a hint and the pod starts once the image is there; READY counts sidecars."""

from __future__ import annotations

import json
import re
import time

import pytest
from conftest import HERE, wait_until
from kubectl_tools import Kube

MANIFEST = HERE / "manifests" / "one-web.yaml"


def pod(name: str, spec: dict) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})


def sh(name: str, script: str, **extra) -> dict:
    return {"name": name, "image": "emukube/echo:1.0", "command": ["sh", "-c", script], **extra}


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    return Kube(cluster.name, tmp_path_factory.mktemp("kube"))


def row(kube: Kube, name: str) -> list[str]:
    """NAME READY STATUS RESTARTS AGE of `kubectl get pod NAME`, [] when it is not listed."""
    lines = kube("get", "pods", check=False).stdout.splitlines()[1:]
    return next((re.split(r"\s{2,}", line.strip()) for line in lines if line.split()[0] == name), [])


def status_becomes(kube: Kube, name: str, word: str, timeout: float = 90) -> list[str]:
    seen: list[list[str]] = []

    def check():
        r = row(kube, name)
        seen.append(r)
        return r if len(r) > 2 and r[2] == word else None

    try:
        return wait_until(check, f"pod {name} {word}", timeout=timeout)
    except AssertionError:
        raise AssertionError(f"pod {name} never {word}; last rows: {seen[-3:]}") from None


def test_a_failing_init_container_shows_init_crash_loop_back_off_and_its_logs(kube):
    kube("apply", "-f", "-", input=pod("stuck", {
        "initContainers": [sh("prepare", "echo prepared"),
                           sh("check", "echo check-run-$(cat /proc/sys/kernel/random/uuid); echo giving up; exit 3")],
        "containers": [sh("app", "exec sleep 3600")]}))
    r = status_becomes(kube, "stuck", "Init:CrashLoopBackOff")
    assert r[1] == "0/1" and r[3].startswith(("1 ", "2 ")), r
    state = kube.obj("get", "pod", "stuck")["status"]
    check = state["initContainerStatuses"][1]
    assert check["name"] == "check" and check["restartCount"] >= 1, check
    assert check["state"]["waiting"]["reason"] == "CrashLoopBackOff", check
    assert check["lastState"]["terminated"]["exitCode"] == 3, check
    assert state["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    assert state["phase"] == "Pending"

    current = kube("logs", "stuck", "-c", "check").stdout.splitlines()
    previous = kube("logs", "stuck", "-c", "check", "--previous").stdout.splitlines()
    assert len(current) == 2 and current[0].startswith("check-run-") and current[1] == "giving up", current
    assert len(previous) == 2 and previous[0].startswith("check-run-"), previous

    text = kube("describe", "pod", "stuck").stdout
    assert re.search(r"^Init Containers:\n  prepare:", text, re.M), text
    assert re.search(r"  check:\n(.*\n)*?    State:\s+Waiting\n\s+Reason:\s+CrashLoopBackOff\n"
                     r"\s+Last State:\s+Terminated\n\s+Reason:\s+Error\n\s+Exit Code:\s+3", text), text
    wait_until(lambda: re.search(r"Warning\s+BackOff\s+.*Back-off restarting failed container check in pod stuck_default",
                                 kube("describe", "pod", "stuck").stdout), "describe shows the BackOff event")
    kube("delete", "pod", "stuck", "--wait=false")
    wait_until(lambda: not row(kube, "stuck"), "pod stuck gone")


def test_a_command_not_found_is_run_container_error_then_crash_loop_back_off(kube):
    """A typo'd command: the runtime refuses the start; the kubelet's words over containerd."""
    kube("run", "typo", "--image=busybox", "--", "sleeep", "3600")
    r = status_becomes(kube, "typo", "CrashLoopBackOff")
    assert r[1] == "0/1", r
    status = kube.obj("get", "pod", "typo")["status"]
    typo = status["containerStatuses"][0]
    ended = typo["lastState"]["terminated"]
    assert (ended["exitCode"], ended["reason"]) == (128, "StartError"), typo
    assert ended["message"].startswith("failed to create containerd task: ") and \
        'exec: "sleeep": executable file not found in $PATH' in ended["message"], ended
    assert status["phase"] == "Running", status  # the kubelet's getPhase: waiting to restart
    text = kube("describe", "pod", "typo").stdout
    assert re.search(r"Last State:\s+Terminated\n\s+Reason:\s+StartError\n\s+Message:\s+failed to create "
                     r"containerd task: .*\n\s+Exit Code:\s+128", text), text
    assert re.search(r"Warning\s+Failed\s+.*Error: failed to create containerd task: .*\"sleeep\": executable file "
                     r"not found in \$PATH", text), text
    wait_until(lambda: row(kube, "typo")[3].startswith("1 "), "typo tried again after 10 s", timeout=40)
    kube("delete", "pod", "typo", "--wait=false")


def test_a_command_not_found_with_restart_policy_never_fails_the_pod(kube):
    kube("run", "typo-once", "--image=busybox", "--restart=Never", "--", "sleeep")
    kube("wait", "--for=jsonpath={.status.phase}=Failed", "pod/typo-once", "--timeout=60s", timeout=90)
    assert row(kube, "typo-once")[1:4] == ["0/1", "StartError", "0"]
    kube("delete", "pod", "typo-once", "--wait=false")


def test_an_init_container_running_then_pod_initializing_then_running(kube):
    # The init container waits for a Service the test creates: Init:0/1 for as long as it likes.
    kube("apply", "-f", "-", input=pod("gated", {
        "initContainers": [sh("wait", "until getent hosts gate; do sleep 0.3; done")],
        "containers": [sh("app", "exec sleep 3600")]}))
    status_becomes(kube, "gated", "Init:0/1")
    kube("create", "service", "clusterip", "gate", "--tcp=80:80")
    r = status_becomes(kube, "gated", "Running")
    assert r[1:4] == ["1/1", "Running", "0"], r
    assert "gate.default.svc.cluster.local" in kube("logs", "gated", "-c", "wait").stdout
    text = kube("describe", "pod", "gated").stdout
    assert re.search(r"  wait:\n(.*\n)*?    State:\s+Terminated\n\s+Reason:\s+Completed\n\s+Exit Code:\s+0\n"
                     r"\s+Started:\s+\w{3}, \d\d \w{3} 20\d\d ", text), text
    kube("delete", "pod", "gated", "--wait=false")


def test_a_missing_image_is_image_pull_back_off_until_it_is_tagged(kube, engine, cluster):
    image = f"emukube-test/absent-{cluster.name}:1"
    kube("apply", "-f", "-", input=pod("later", {"containers": [{"name": "app", "image": image,
                                                                 "command": ["sleep", "3600"]}]}))
    try:
        first = wait_until(lambda: (r := row(kube, "later")) and r[2] in ("ErrImagePull", "ImagePullBackOff") and r,
                           "later fails to pull")
        assert first[1] == "0/1", first
        status_becomes(kube, "later", "ImagePullBackOff")
        waiting = kube.obj("get", "pod", "later")["status"]["containerStatuses"][0]["state"]["waiting"]
        assert waiting["reason"] == "ImagePullBackOff", waiting
        assert waiting["message"].startswith(f'Back-off pulling image "{image}": ErrImagePull: Failed to pull image '
                                             f'"{image}": '), waiting
        assert "emukube load" in waiting["message"] and f"--image-map {image}=LOCAL" in waiting["message"], waiting
        told = (f'Back-off pulling image "{image}"', "Error: ErrImagePull", "Error: ImagePullBackOff",
                f'Failed to pull image "{image}"')
        wait_until(lambda: all(words in kube("get", "events", "--field-selector", "involvedObject.name=later").stdout
                               for words in told), f"the kubelet's events for later: {told}")
        assert "Pending" in kube("describe", "pod", "later").stdout
        logs = kube("logs", "later", check=False)  # a try may have begun again meanwhile: ErrImagePull
        assert logs.stderr.strip() in [f'Error from server (BadRequest): container "app" in pod "later" is waiting '
                                       f"to start: {why}" for why in ("trying and failing to pull image",
                                                                      "image can't be pulled")], logs.stderr

        engine.images.get("emukube/echo:1.0").tag(image)
        r = status_becomes(kube, "later", "Running")
        assert r[1] == "1/1", r
    finally:
        kube("delete", "pod", "later", "--wait=false", check=False)
        wait_until(lambda: not row(kube, "later"), "pod later gone")
        engine.images.remove(image, noprune=True)


def test_never_pull_and_a_missing_config_map_key(kube):
    kube("apply", "-f", "-", input=pod("never", {"containers": [{"name": "app", "image": "emukube-test/nowhere:1",
                                                                 "imagePullPolicy": "Never"}]}))
    kube("apply", "-f", "-", input=pod("nokey", {"containers": [sh("app", "echo $COLOUR; exec sleep 3600", env=[
        {"name": "COLOUR", "valueFrom": {"configMapKeyRef": {"name": "paint", "key": "colour"}}}])]}))
    status_becomes(kube, "never", "ErrImageNeverPull")
    status_becomes(kube, "nokey", "CreateContainerConfigError")
    waiting = kube.obj("get", "pod", "nokey")["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["message"] == "couldn't find key colour in ConfigMap default/paint", waiting
    kube("create", "configmap", "paint", "--from-literal=colour=teal")
    status_becomes(kube, "nokey", "Running")
    wait_until(lambda: kube("logs", "nokey", check=False).stdout == "teal\n", "nokey logs its colour")
    kube("delete", "pod", "never", "nokey", "--wait=false")


def test_ready_counts_a_sidecar_as_kubectl_does(kube):
    kube("apply", "-f", "-", input=pod("sided", {
        "initContainers": [sh("setup", "echo ready"),
                           sh("proxy", "exec sleep 3600", restartPolicy="Always", readinessProbe={
                               "exec": {"command": ["test", "-e", "/tmp/ready"]}, "periodSeconds": 1})],
        "containers": [sh("app", "exec sleep 3600"),
                       sh("lagging", "exec sleep 3600", readinessProbe={"exec": {"command": ["false"]},
                                                                        "periodSeconds": 1})]}))
    status_becomes(kube, "sided", "Running")
    # app ready; the sidecar's probe fails until /tmp/ready exists; lagging never. (READY may
    # lag the first Running by a tick: CI saw Running 0/3 once.)
    wait_until(lambda: row(kube, "sided")[1:3] == ["1/3", "Running"], "sided 1/3 Running")
    time.sleep(2)  # two of the probes' periods: still only the app
    assert row(kube, "sided")[1] == "1/3"
    kube("exec", "sided", "-c", "proxy", "--", "touch", "/tmp/ready")
    wait_until(lambda: row(kube, "sided")[1] == "2/3", "the sidecar ready")
    statuses = kube.obj("get", "pod", "sided")["status"]["initContainerStatuses"]
    proxy = next(s for s in statuses if s["name"] == "proxy")
    assert proxy["started"] is True and proxy["ready"] is True and "running" in proxy["state"], proxy
    kube("delete", "pod", "sided", "--wait=false")


def test_a_sidecar_that_exits_is_restarted(kube):
    kube("apply", "-f", "-", input=pod("resided", {
        "initContainers": [sh("flaky", "echo up; sleep 1; exit 1", restartPolicy="Always")],
        "containers": [sh("app", "exec sleep 3600")]}))

    def restarted():
        obj = kube.obj("get", "pod", "resided")
        statuses = (obj.get("status") or {}).get("initContainerStatuses") or [{}]
        return statuses[0] if statuses[0].get("restartCount", 0) >= 1 else None

    flaky = wait_until(restarted, "the sidecar restarted", timeout=60)
    assert flaky["lastState"]["terminated"]["exitCode"] == 1, flaky
    assert row(kube, "resided")[3].startswith(("1 ", "2 ", "3 ")), row(kube, "resided")
    assert kube("logs", "resided", "-c", "flaky", "--previous").stdout == "up\n"
    kube("delete", "pod", "resided", "--wait=false")
