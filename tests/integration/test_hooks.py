"""Lifecycle hooks, graceful termination and fsGroup as the kubelet runs them: postStart before
the container counts as Running, a failing postStart kills and restarts it, preStop before
SIGTERM, `kubectl delete --grace-period` over the spec's terminationGracePeriodSeconds, and
volumes owned by the pod's fsGroup."""

from __future__ import annotations

import json
import os

import pytest
from conftest import HERE, wait_until
from kubectl_tools import Kube

MANIFEST = HERE / "manifests" / "one-web.yaml"


def pod(name: str, command: str, **spec) -> dict:
    container = {"name": "main", "image": "emukube/echo:1.0", "command": ["sh", "-c", command]}
    container.update(spec.pop("container", {}))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [container], **spec}}


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    return Kube(cluster.name, tmp_path_factory.mktemp("kube"))


def apply(kube: Kube, obj: dict) -> None:
    kube("apply", "-f", "-", input=json.dumps(obj))


def events(kube: Kube, name: str) -> list[tuple[str, str]]:
    """(reason, message) of the pod's events, oldest first."""
    items = json.loads(kube("get", "events", "--field-selector", f"involvedObject.name={name}",
                            "-o", "json").stdout)["items"]
    items.sort(key=lambda e: (e.get("lastTimestamp") or e.get("eventTime") or "", e["metadata"]["name"]))
    return [(e.get("reason", ""), e.get("message", "")) for e in items]


def gone(kube: Kube, name: str) -> bool:
    return "NotFound" in kube("get", "pod", name, check=False).stderr


def test_post_start_runs_before_the_container_counts_as_running(kube):
    """The hook sleeps before writing: were the pod Ready before it returned, the file would be missing."""
    apply(kube, pod("poststart", "exec sleep 3600", container={"lifecycle": {"postStart": {"exec": {
        "command": ["sh", "-c", "sleep 1; echo made-by-post-start > /tmp/hook"]}}}}))
    try:
        kube("wait", "pod/poststart", "--for=condition=Ready", "--timeout=90s", timeout=120)
        assert kube("exec", "poststart", "--", "cat", "/tmp/hook").stdout.strip() == "made-by-post-start"
    finally:
        kube("delete", "pod", "poststart", "--grace-period=1", "--wait=false", check=False)


def test_a_failing_post_start_hook_kills_and_restarts_the_container(kube):
    apply(kube, pod("badstart", "exec sleep 3600", container={"lifecycle": {"postStart": {"exec": {
        "command": ["sh", "-c", "echo no-good; exit 3"]}}}}))
    try:
        def restarted():
            status = kube.obj("get", "pod", "badstart").get("status") or {}
            return any(c.get("restartCount", 0) >= 1 for c in status.get("containerStatuses") or [])

        wait_until(restarted, "badstart restarted after its postStart failed", timeout=90)
        seen = events(kube, "badstart")
        failed = [m for r, m in seen if r == "FailedPostStartHook"]
        assert failed and failed[0].startswith(
            'Exec lifecycle hook ([sh -c echo no-good; exit 3]) for Container "main" in Pod "badstart_default" '
            "failed - error: command 'sh -c echo no-good; exit 3' exited with 3"), seen
        assert ("Killing", "FailedPostStartHook") in seen
    finally:
        kube("delete", "pod", "badstart", "--grace-period=1", "--wait=false", check=False)


def test_pre_stop_runs_before_sigterm_on_delete(kube, tmp_path):
    """The container writes 'started', its preStop 'prestop', its SIGTERM trap 'term', into a
    host directory that outlives the pod: the order is the kubelet's."""
    out = tmp_path / "out"
    out.mkdir()
    os.chmod(out, 0o777)
    apply(kube, pod("prestop", 'trap "echo term >> /out/log; exit 0" TERM; echo started >> /out/log; '
                               "while true; do sleep 0.2; done",
                    container={"volumeMounts": [{"name": "out", "mountPath": "/out"}],
                               "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "echo prestop >> /out/log"]}}}},
                    volumes=[{"name": "out", "hostPath": {"path": str(out)}}]))
    kube("wait", "pod/prestop", "--for=condition=Ready", "--timeout=90s", timeout=120)
    kube("delete", "pod", "prestop", "--timeout=60s", timeout=90)
    assert (out / "log").read_text().split() == ["started", "prestop", "term"]


def test_prestop_sleep_then_sigterm_with_a_shared_empty_dir(kube):
    """A sibling sees what the preStop wrote while the pod is Terminating (its own preStop sleeps)."""
    apply(kube, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "siblings"}, "spec": {
        "terminationGracePeriodSeconds": 30,
        "volumes": [{"name": "shared", "emptyDir": {}}],
        "containers": [
            {"name": "app", "image": "emukube/echo:1.0", "command": ["sleep", "3600"],
             "volumeMounts": [{"name": "shared", "mountPath": "/shared"}],
             "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "echo bye > /shared/prestop"]}}}},
            {"name": "watcher", "image": "emukube/echo:1.0", "command": ["sleep", "3600"],
             "volumeMounts": [{"name": "shared", "mountPath": "/shared"}],
             "lifecycle": {"preStop": {"sleep": {"seconds": 20}}}}]}})
    kube("wait", "pod/siblings", "--for=condition=Ready", "--timeout=90s", timeout=120)
    kube("delete", "pod", "siblings", "--wait=false")
    seen = wait_until(lambda: kube("exec", "siblings", "-c", "watcher", "--", "cat", "/shared/prestop",
                                   check=False).stdout.strip(), "the app's preStop output, seen by its sibling",
                      timeout=20)
    assert seen == "bye"
    wait_until(lambda: gone(kube, "siblings"), "siblings gone after its preStop sleep", timeout=90)


def test_delete_grace_period_overrides_the_spec_for_a_process_ignoring_sigterm(kube, engine, cluster):
    """terminationGracePeriodSeconds 300 and SIGTERM ignored: `--grace-period=2` still ends it
    (kubectl's own timeout is far below 300 s), and `--grace-period=0 --force` too."""
    for name in ("stubborn", "forced"):
        apply(kube, pod(name, 'trap "" TERM; while true; do sleep 1; done', terminationGracePeriodSeconds=300))
    for name in ("stubborn", "forced"):
        kube("wait", f"pod/{name}", "--for=condition=Ready", "--timeout=90s", timeout=120)
    kube("delete", "pod", "stubborn", "--grace-period=2", "--timeout=60s", timeout=90)
    assert gone(kube, "stubborn")
    assert ("Killing", "Stopping container main") in events(kube, "stubborn")  # the kubelet's words
    kube("delete", "pod", "forced", "--grace-period=0", "--force", timeout=60)
    prefix = f"{cluster.name}_pod_default_forced"

    def containers_removed():
        return not [c for c in engine.containers.list(all=True, ignore_removed=True,
                                                     filters={"label": f"emukube.io/cluster={cluster.name}"})
                    if c.name.startswith(prefix)]

    wait_until(containers_removed, "the forced pod's container removed", timeout=60)


def test_fs_group_owns_fresh_volumes(kube):
    """runAsUser 1000 with fsGroup 2000: the id has group 2000, and an emptyDir and a claim (fresh
    Docker volumes, root's) are the group's, writable, setgid: new files are the group's too."""
    apply(kube, {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "fsgroup-claim"},
                 "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Mi"}}}})
    apply(kube, pod("fsgroup", "exec sleep 3600", securityContext={"runAsUser": 1000, "fsGroup": 2000},
                    volumes=[{"name": "data", "emptyDir": {}},
                             {"name": "claim", "persistentVolumeClaim": {"claimName": "fsgroup-claim"}}],
                    container={"volumeMounts": [{"name": "data", "mountPath": "/data"},
                                                {"name": "claim", "mountPath": "/claim"}]}))
    try:
        kube("wait", "pod/fsgroup", "--for=condition=Ready", "--timeout=90s", timeout=120)
        ids = kube("exec", "fsgroup", "--", "id").stdout.split()
        assert ids[0] == "uid=1000" and "2000" in ids[2].split("=")[1].split(","), ids
        for path in ("/data", "/claim"):
            made = kube("exec", "fsgroup", "--", "sh", "-c", f"echo hi > {path}/f && stat -c '%g %a' {path} {path}/f")
            assert made.stdout.split() == ["2000", "2775", "2000", "644"], (path, made.stdout)
    finally:
        kube("delete", "pod", "fsgroup", "--grace-period=1", "--wait=false", check=False)
        kube("delete", "pvc", "fsgroup-claim", "--wait=false", check=False)
