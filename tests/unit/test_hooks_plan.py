"""Lifecycle hooks and grace periods as the kubelet decides them (plan/hooks.py), and the fsGroup
ownership walk (runtime/volume_owner.py's script, run here on a temporary tree)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from http_stub import answering, closed_port

from emukube.plan.hooks import (
    HookAction,
    exec_error,
    failure_message,
    hook_action,
    hook_of,
    liveness_grace,
    stop_timeout,
    termination_grace,
)
from emukube.runtime.volume_owner import WALK, owner_args

CONTAINER = {"name": "web", "ports": [{"name": "http", "containerPort": 8080}]}


def test_handlers_become_actions():
    assert hook_action({"exec": {"command": ["sh", "-c", "echo hi"]}}, "10.0.0.5", CONTAINER) == \
        HookAction("exec", command=("sh", "-c", "echo hi"))
    assert hook_action({"httpGet": {"port": "http", "path": "stop", "httpHeaders": [{"name": "X", "value": "1"}]}},
                       "10.0.0.5", CONTAINER) == \
        HookAction("http", host="10.0.0.5", port=8080, path="/stop", headers=(("X", "1"),))
    assert hook_action({"httpGet": {"port": 443, "host": "example", "scheme": "HTTPS"}}, "10.0.0.5", CONTAINER) == \
        HookAction("http", scheme="https", host="example", port=443)
    assert hook_action({"sleep": {"seconds": 5}}, "", CONTAINER) == HookAction("sleep", seconds=5)
    assert hook_action({"tcpSocket": {"port": 80}}, "", CONTAINER) is None  # accepted, does nothing


def test_hook_of_a_container():
    c = {"lifecycle": {"preStop": {"sleep": {"seconds": 1}}}}
    assert hook_of(c, "preStop") == {"sleep": {"seconds": 1}}
    assert hook_of(c, "postStart") is None and hook_of({}, "preStop") is None


def test_failure_messages_are_the_kubelets():
    handler = {"exec": {"command": ["sh", "-c", "exit 3"]}}
    error = exec_error(("sh", "-c", "exit 3"), 3, "boom\n")
    assert failure_message(handler, "web", "p_default", error, "boom\n") == (
        'Exec lifecycle hook ([sh -c exit 3]) for Container "web" in Pod "p_default" failed - error: '
        "command 'sh -c exit 3' exited with 3: boom\n, message: \"boom\\n\"")
    assert failure_message({"httpGet": {"path": "/stop", "port": 80}}, "web", "p_default", "refused") == \
        'HTTP lifecycle hook (/stop) for Container "web" in Pod "p_default" failed - error: refused'
    assert failure_message({"sleep": {"seconds": 2}}, "web", "p_default", "x").startswith(
        'Sleep lifecycle hook (2) for Container "web"')


def test_grace_period_deletion_over_spec_at_least_one_second():
    assert termination_grace({}) == 30
    assert termination_grace({"terminationGracePeriodSeconds": 5}) == 5
    assert termination_grace({"terminationGracePeriodSeconds": 5}, 2) == 2  # kubectl delete --grace-period=2
    assert termination_grace({"terminationGracePeriodSeconds": 5}, 0) == 1  # --grace-period=0 --force
    assert termination_grace({"terminationGracePeriodSeconds": 0}) == 1
    assert liveness_grace({"terminationGracePeriodSeconds": 60}, {"terminationGracePeriodSeconds": 3}) == 3
    assert liveness_grace({"terminationGracePeriodSeconds": 60}, {"periodSeconds": 1}) == 60


def test_sigterm_gets_what_the_prestop_hook_left_never_under_two_seconds():
    assert stop_timeout(30, None) == 30
    assert stop_timeout(30, 4.9) == 26  # whole seconds, as the kubelet counts them
    assert stop_timeout(30, 30.0) == 2
    assert stop_timeout(1, None) == 2


def walk(tmp_path, policy: str, *mounts: str) -> None:
    gid = os.getgid()  # a group this process may give files
    subprocess.run([sys.executable, "-c", WALK, str(gid), policy, *mounts], check=True)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_fsgroup_walk_makes_the_tree_group_writable_and_setgid(tmp_path):
    root = tmp_path / "vol"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "f").write_text("x")
    os.chmod(root, 0o700)
    os.chmod(root / "sub", 0o700)
    os.chmod(root / "sub" / "f", 0o600)
    (root / "link").symlink_to("sub/f")
    walk(tmp_path, "Always", f"rw:{root}")
    assert mode(root) == 0o2770 and mode(root / "sub") == 0o2770
    assert mode(root / "sub" / "f") == 0o660
    assert os.stat(root / "sub" / "f").st_gid == os.getgid()


def test_fsgroup_walk_read_only_and_on_root_mismatch(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "f").write_text("x")
    os.chmod(ro / "f", 0o600)
    walk(tmp_path, "Always", f"ro:{ro}")
    assert mode(ro / "f") == 0o640
    done = tmp_path / "done"
    done.mkdir()
    os.chmod(done, 0o2770)
    (done / "f").write_text("x")
    os.chmod(done / "f", 0o600)
    walk(tmp_path, "OnRootMismatch", f"rw:{done}")
    assert mode(done / "f") == 0o600  # the root matched: nothing below it was changed
    walk(tmp_path, "Always", f"rw:{done}")
    assert mode(done / "f") == 0o660


def test_owner_args_name_each_volume_by_its_mount():
    assert owner_args(2000, "", [{"Source": "a"}, {"Source": "b", "ReadOnly": True}]) == \
        ["2000", "Always", "rw:/v0", "ro:/v1"]


def test_http_hook_any_answer_succeeds_no_answer_fails():
    """The kubelet's lifecycle GET: any HTTP answer (even 500) is success; no answer fails."""
    from emukube.runtime.hooks import run_hook

    with answering(500) as port:
        handler = {"httpGet": {"path": "/stop", "port": port}}
        assert run_hook(None, handler, "127.0.0.1", CONTAINER, "p_default") == ""
    closed = closed_port()
    message = run_hook(None, {"httpGet": {"path": "/stop", "port": closed}}, "127.0.0.1", CONTAINER, "p_default")
    assert message.startswith('HTTP lifecycle hook (/stop) for Container "web" in Pod "p_default" failed - error: ')


def test_a_hook_is_waited_for_at_most_the_grace_period():
    import threading

    from emukube.runtime.hooks import run_within

    release = threading.Event()
    try:
        assert run_within(lambda: "late" if release.wait(30) else "", 0.05)[0] == ""  # cut short
    finally:
        release.set()
    assert run_within(lambda: "failed", 5)[0] == "failed"
