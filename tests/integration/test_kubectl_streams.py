"""The real kubectl's streaming verbs against emukube's API server (pods/log, pods/exec,
pods/attach): logs, exec, exec -it, attach, cp and run -it --rm, as a user types them."""

from __future__ import annotations

import re
import select
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pexpect
import pytest
from conftest import HERE, wait_until
from kubectl_tools import KUBECTL, Kube

MANIFEST = HERE / "manifests" / "kubectl_streams.yaml"
STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) (.*)$")


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    k = Kube(cluster.name, tmp_path_factory.mktemp("kube"))
    k("rollout", "status", "deployment/web", "--timeout=90s")
    for pod in ("counter", "crashy", "multi", "talker"):
        k("wait", "--for=jsonpath={.status.phase}=Running", f"pod/{pod}", "--timeout=90s")
    return k


def web_pod(kube: Kube) -> str:
    return kube.lines("get", "pods", "-l", "app=web", "-o", "name")[0].split("/", 1)[1]


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)


def read_line(proc: subprocess.Popen, timeout: float = 30) -> str:
    """The next line of proc's stdout; fails after timeout seconds instead of blocking."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"no output within {timeout:.0f}s"
    return proc.stdout.readline()


# ---- logs ---------------------------------------------------------------------------------------
def test_logs_tail_timestamps_limit_bytes(kube):
    wait_until(lambda: "line 5" in kube("logs", "counter").stdout, "counter wrote its lines")
    assert kube("logs", "counter").stdout.splitlines()[:5] == [f"line {i}" for i in range(1, 6)]
    assert kube("logs", "counter", "--tail=2").stdout == "line 4\nline 5\n"
    stamped = kube("logs", "counter", "--timestamps", "--tail=5").stdout.splitlines()
    assert [STAMP.match(line).group(2) for line in stamped] == [f"line {i}" for i in range(1, 6)], stamped
    assert kube("logs", "counter", "--limit-bytes=5").stdout == "line "


def test_logs_since_and_since_time(kube):
    first = kube("logs", "counter", "--timestamps", "--tail=5").stdout.splitlines()[0]
    early = parse_stamp(STAMP.match(first).group(1))
    # "late" is written only once the clock is 4 s past the first lines, so that a moment
    # between them is 1 s after them and 3 s before it.
    wait_until(lambda: datetime.now(UTC) > early + timedelta(seconds=4), "4 s passing", timeout=30)
    kube("exec", "counter", "--", "touch", "/tmp/go")
    wait_until(lambda: "late" in kube("logs", "counter").stdout, "counter wrote 'late'")
    middle = early + timedelta(seconds=1)
    assert kube("logs", "counter", f"--since-time={middle.strftime('%Y-%m-%dT%H:%M:%SZ')}").stdout == "late\n"
    seconds = int((datetime.now(UTC) - middle).total_seconds())
    assert kube("logs", "counter", f"--since={seconds}s").stdout == "late\n"
    assert kube("logs", "counter", "--since=1h").stdout.splitlines() == [f"line {i}" for i in range(1, 6)] + ["late"]


def test_logs_previous_run(kube):
    wait_until(lambda: kube("get", "pod", "crashy", "-o", "jsonpath={.status.containerStatuses[0].restartCount}")
               .stdout == "1" and "run 2" in kube("logs", "crashy").stdout, "crashy restarted once")
    assert kube("logs", "crashy").stdout == "run 2\n"
    assert kube("logs", "crashy", "--previous").stdout == "run 1\n"
    never = kube("logs", "counter", "--previous", check=False)
    assert never.returncode == 1
    assert never.stderr.strip() == ('Error from server (BadRequest): previous terminated container "main" '
                                    'in pod "counter" not found')


def test_logs_containers_deploy_selector(kube):
    assert kube("logs", "multi", "-c", "main").stdout == "main-says\n"
    assert kube("logs", "multi", "-c", "side").stdout == "side-says\n"
    assert kube("logs", "multi", "-c", "setup").stdout == "init-says\n"
    # kubectl keeps its requests in a map: the containers come in any order.
    assert sorted(kube("logs", "multi", "--all-containers").stdout.splitlines()) == \
        ["init-says", "main-says", "side-says"]
    prefixed = sorted(kube("logs", "multi", "--all-containers", "--prefix").stdout.splitlines())
    assert prefixed == ["[pod/multi/main] main-says", "[pod/multi/setup] init-says", "[pod/multi/side] side-says"]
    assert "netexec: hostname=web-" in kube("logs", "deploy/web").stdout
    lines = kube("logs", "-l", "app=web", "--prefix").stdout.splitlines()
    assert len(lines) == 2 and all(re.match(r"^\[pod/web-[\w-]+/echo\] .*netexec", line) for line in lines), lines


def test_logs_bad_container(kube):
    missing = kube("logs", "multi", "-c", "nope", check=False)
    assert missing.returncode == 1
    assert "container nope is not valid for pod multi" in missing.stderr
    both = kube("logs", "multi", check=False)  # kubectl picks the first container itself
    assert both.stdout == "main-says\n"


def test_logs_follow_sees_new_lines_and_ends_with_the_pod(kube):
    kube("run", "follow", "--image=emukube/echo:1.0", "--restart=Never", "--",
         "sh", "-c", "echo first; while [ ! -e /tmp/go ]; do sleep 0.2; done; echo second")
    try:
        kube("wait", "--for=jsonpath={.status.phase}=Running", "pod/follow", "--timeout=60s")
        proc = subprocess.Popen([KUBECTL, "logs", "-f", "follow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=kube.env)
        try:
            assert read_line(proc) == "first\n"
            kube("exec", "follow", "--", "touch", "/tmp/go")
            assert read_line(proc) == "second\n"
            assert proc.wait(timeout=60) == 0, proc.stderr.read()
            assert proc.stdout.read() == ""
        finally:
            proc.kill()
            proc.wait()
    finally:
        kube("delete", "pod", "follow", "--wait=false", check=False)


# ---- exec ---------------------------------------------------------------------------------------
def test_exec_streams_and_exit_codes(kube):
    pod = web_pod(kube)
    both = kube("exec", pod, "--", "sh", "-c", "echo to-out; echo to-err >&2")
    assert (both.stdout, both.stderr) == ("to-out\n", "to-err\n")
    assert kube("exec", pod, "--", "true").returncode == 0
    failed = kube("exec", pod, "--", "false", check=False)
    assert failed.returncode == 1 and failed.stderr == "command terminated with exit code 1\n"
    three = kube("exec", pod, "--", "sh", "-c", "exit 3", check=False)
    assert three.returncode == 3 and three.stderr == "command terminated with exit code 3\n"


def test_exec_stdin(kube):
    pod = web_pod(kube)
    text = "".join(f"line {i} with some text\n" for i in range(5000))
    assert kube("exec", "-i", pod, "--", "cat", input=text).stdout == text
    assert kube("exec", "-i", pod, "--", "wc", "-l", input=text).stdout.strip() == "5000"


def test_exec_into_a_missing_container(kube):
    result = kube("exec", "multi", "-c", "nope", "--", "true", check=False)
    assert result.returncode == 1
    assert "container nope is not valid for pod multi" in result.stderr, result.stderr


def test_exec_tty_through_a_terminal(kube):
    shell = pexpect.spawn(KUBECTL, ["exec", "-it", web_pod(kube), "--", "sh"], env=kube.env,
                          timeout=30, encoding="utf-8")
    try:
        shell.setwinsize(40, 100)
        shell.expect("# ")
        shell.sendline("stty size; echo $((6*7))")
        shell.expect(r"(\d+ \d+)\r\n42\r\n")
        assert shell.match.group(1) == "40 100"
        shell.setwinsize(30, 90)
        shell.expect("# ")
        shell.sendline("stty size")
        shell.expect(r"\r\n(\d+ \d+)\r\n")
        assert shell.match.group(1) == "30 90"
        shell.sendline("exit 5")
        shell.expect(pexpect.EOF)
        shell.close()
        assert shell.exitstatus == 5
        assert "command terminated with exit code 5" in shell.before
    finally:
        shell.close(force=True)


# ---- attach, cp, run ------------------------------------------------------------------------------
def test_attach(kube):
    result = kube("attach", "-i", "talker", input="hello\n", timeout=60)
    assert result.stdout == "got hello\n"
    assert "to stderr" in result.stderr
    kube("wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/talker", "--timeout=60s")
    done = kube("exec", "talker", "--", "true", check=False)  # kubectl's own refusal, from the phase
    assert done.returncode == 1
    assert done.stderr == "error: cannot exec into a container in a completed pod; current phase is Succeeded\n"


def test_cp_both_ways_with_spaces(kube, tmp_path):
    pod = web_pod(kube)
    source = tmp_path / "my file.txt"
    content = "".join(f"{i} naïve bytes\n" for i in range(20000))
    source.write_text(content)
    kube("cp", str(source), f"{pod}:/tmp/in the pod.txt")
    assert kube("exec", pod, "--", "cat", "/tmp/in the pod.txt").stdout == content
    back = tmp_path / "back again.txt"
    kube("cp", f"{pod}:/tmp/in the pod.txt", str(back))
    assert back.read_text() == content


def test_run_it_rm(kube):
    # Attached before the line (kubectl waits for Running) or after the end (kubectl then prints
    # the log): either way "hi" shows. Attached in between, it would be lost, in Kubernetes too.
    session = pexpect.spawn(KUBECTL, ["run", "oneshot", "--image=emukube/echo:1.0", "-it", "--rm",
                                      "--restart=Never", "--", "sh", "-c", "sleep 1; echo hi"],
                            env=kube.env, timeout=90, encoding="utf-8")
    try:
        session.expect(pexpect.EOF)
        session.close()
        assert session.exitstatus == 0, session.before
        assert re.search(r"^hi\r*$", session.before, re.M), session.before
        assert 'pod "oneshot" deleted' in session.before
    finally:
        session.close(force=True)
    gone(kube, "oneshot")
    shell = pexpect.spawn(KUBECTL, ["run", "shell", "--image=emukube/echo:1.0", "-it", "--rm", "--restart=Never",
                                    "--", "sh"], env=kube.env, timeout=90, encoding="utf-8")
    try:
        shell.expect("try pressing enter")
        shell.sendline("")
        shell.expect("# ")
        shell.sendline("echo $((2+3))x")
        shell.expect("5x")
        shell.sendline("exit 4")
        shell.expect(pexpect.EOF)
        shell.close()
        assert shell.exitstatus == 4, shell.before
        assert 'pod "shell" deleted' in shell.before
    finally:
        shell.close(force=True)
    gone(kube, "shell")


def gone(kube, pod: str) -> None:
    """--rm deleted it: it stays deleted (the controller does not publish it again)."""
    wait_until(lambda: kube("get", "pod", pod, check=False).returncode == 1, f"pod {pod} gone", timeout=30)
    time.sleep(2)  # a few controller ticks
    assert kube("get", "pod", pod, check=False).returncode == 1, f"pod {pod} came back"


# ---- no leaks -----------------------------------------------------------------------------------
def apiserver_counts(engine, cluster) -> tuple[int, int]:
    """(threads, open files) of the API server process in the controller container."""
    controller = engine.containers.get(f"{cluster.name}_controller")
    pid = controller.exec_run(["pgrep", "-o", "-f", "emukube.apiserver"]).output.decode().split()[0]
    out = controller.exec_run(["sh", "-c", f"ls /proc/{pid}/task | wc -l; ls /proc/{pid}/fd | wc -l"])
    threads, files = out.output.decode().split()
    return int(threads), int(files)


def killed_exec(kube: Kube, pod: str) -> None:
    proc = subprocess.Popen([KUBECTL, "exec", pod, "--", "sh", "-c", "echo ready; sleep 30"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=kube.env)
    try:
        assert read_line(proc) == "ready\n"
    finally:
        proc.kill()
        proc.wait()


def test_clients_killed_mid_stream_leave_nothing(kube, engine, cluster):
    pod = web_pod(kube)
    for _ in range(3):  # whatever the first sessions start once (the engine session) exists from here on
        killed_exec(kube, pod)
    threads, files = apiserver_counts(engine, cluster)
    for _ in range(100):
        killed_exec(kube, pod)
    # Files: the API server's own connections (controller watches, kubectl's last GETs) come and go
    # by a few; 100 leaked sessions would hold 200 (client and engine side each).
    wait_until(lambda: (lambda t, f: t <= threads and f <= files + 6)(*apiserver_counts(engine, cluster)),
               f"API server back to {threads} threads and ~{files} open files", timeout=60)
