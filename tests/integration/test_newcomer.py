"""Issue 19, a newcomer's first ten minutes, typed as a user types it in the checkout (with a
PATH that does not hold the venv, as after `make demo`): the demo beside a cluster holding the
shop's NodePort, printed commands that work as printed, a bad cluster name refused before
anything is made, no Service table for no Services, `get ns|secret|nodes` as kubectl shows
them, and no traceback from any verb, whatever it is fed: files it cannot read or write, a
cluster that does not exist, an engine gone before or in the middle of the command, Ctrl-C."""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from conftest import holding_port, run, wait_until

from emukube.lifecycle import ops

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = "tests/integration/manifests/newcomer.yaml"
EMUKUBE = ".venv/bin/emukube"  # as the README types it: `make demo` puts nothing on PATH
PID = os.getpid() % 100000
KITCHEN = r"kitchen-[a-z0-9]+-[a-z0-9]{5}"
ENGINE_SOCKET = "/var/run/docker.sock"


def newcomer_env(cluster: str | None = None, **extra: str) -> dict:
    venv_bin = os.path.realpath(ROOT / ".venv" / "bin")
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if os.path.realpath(p) != venv_bin)
    env = dict(os.environ, PATH=path, **extra)
    env.pop("EMUKUBE_CLUSTER", None)
    if cluster:
        env["EMUKUBE_CLUSTER"] = cluster
    return env


def typed(command: str, cluster: str | None = None, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess:
    """A command line as the user types it at the checkout's root."""
    return subprocess.run(["bash", "-c", command], cwd=ROOT, env=newcomer_env(cluster, **extra),
                          capture_output=True, text=True, timeout=timeout)


def one_error_line(result: subprocess.CompletedProcess, code: int = 2) -> str:
    """What a user error prints: one line on stderr, the exit code, no traceback."""
    shown = f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.returncode == code and "Traceback" not in shown, shown
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), shown
    return lines[0]


@pytest.fixture(scope="module")
def newcomer(engine):
    """A cluster with no Service (a Deployment and a Secret), and what its `up` printed."""
    name = f"n{PID}new"
    try:
        result = typed(f"{EMUKUBE} up {MANIFEST} --cluster {name}")
        assert result.returncode == 0, result.stdout + result.stderr
        yield name, result
    finally:
        run("down", cluster=name, check=False)


# -- 1. `make demo` while another cluster holds the shop's NodePort --------------------------------

def _hold(engine, manifest: Path, holder: str) -> None:
    """`up` of the holder once no other cluster holds its port: another test's cluster may hold
    the shop's for a while (and take it between a look and an `up`)."""
    def made() -> bool:
        if 30080 in ops.other_clusters_node_ports(engine, holder):
            return False
        result = typed(f"{EMUKUBE} up {manifest} --cluster {holder}")
        assert result.returncode == 0 or "provided port is already allocated" in result.stderr, result.stderr
        return result.returncode == 0

    wait_until(made, "port 30080 free for the holder", timeout=400, every=5)


def test_make_demo_beside_a_cluster_that_holds_30080(engine, tmp_path):
    holder, demo = f"n{PID}hold", f"n{PID}demo"
    manifest = tmp_path / "holder.yaml"
    manifest.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: door}\nspec:\n  type: NodePort\n"
                        "  selector: {app: door}\n  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]\n")
    fix = f"`{EMUKUBE} down --cluster {holder}` frees it"
    with holding_port(30080):
        _demo_beside_a_holder(engine, manifest, holder, demo, fix)


def _demo_beside_a_holder(engine, manifest: Path, holder: str, demo: str, fix: str) -> None:
    try:
        _hold(engine, manifest, holder)
        # The shop by hand: refused, naming the holder and the fix, and nothing made.
        refused = one_error_line(typed(f"{EMUKUBE} up examples/pizza.yaml --cluster {demo}"))
        assert "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated" in refused
        assert f'(held by emukube cluster "{holder}": {fix}, or leave nodePort out' in refused, refused
        assert ops.all_clusters(engine, demo) == []
        # `make demo`: the shop answers on a free port, and the user is told why.
        shop = typed("make demo", cluster=demo, timeout=900)
        assert shop.returncode == 0 and "Traceback" not in shop.stderr, shop.stdout + shop.stderr
        assert f'note: NodePort 30080 is held by emukube cluster "{holder}" ({fix})' in shop.stderr, shop.stderr
        phone = re.search(r"^  phone +(curl http://127\.0\.0\.1:(\d+)/)$", shop.stdout, re.M)
        assert phone and phone.group(2) != "30080", shop.stdout
        answer = typed(phone.group(1) + "hostname", timeout=60)
        assert answer.returncode == 0 and re.fullmatch(KITCHEN, answer.stdout), answer
        # 4. An emukube command `up` printed works as printed (emukube is not on PATH).
        orders = re.search(r"^  orders +(.+?) +\(headless", shop.stdout, re.M)
        assert orders and orders.group(1) == f"{EMUKUBE} dns --cluster {demo} orders", shop.stdout
        records = typed(orders.group(1), timeout=60)
        assert records.returncode == 0 and len(re.findall(r"\sIN\s+A\s+10\.", records.stdout)) == 3, records
    finally:
        run("down", cluster=demo, check=False)
        run("down", cluster=holder, check=False)


# -- 4. hints name emukube as the user typed it ------------------------------------------------------

def test_a_hint_names_emukube_as_it_was_typed(engine):
    line = one_error_line(typed(f"{EMUKUBE} get pods --cluster n{PID}none"))
    assert line == f'error: no cluster named "n{PID}none" (run `{EMUKUBE} up FILE` first)'


# -- 2. `down --all` is a confirmed choice ---------------------------------------------------------------

def test_down_all_asks_first(engine, newcomer):
    """Other clusters on the engine may be someone else's: without --yes nothing goes, on a
    terminal the answer decides (never --yes here: it would remove other tests' clusters)."""
    import pexpect

    name, _ = newcomer
    refused = one_error_line(typed(f"{EMUKUBE} down --all < /dev/null"))
    assert refused.startswith("error: --all removes every emukube cluster on this engine (") and name in refused
    assert refused.endswith("): add --yes to confirm"), refused
    terminal = pexpect.spawn("bash", ["-c", f"{EMUKUBE} down --all"], cwd=str(ROOT), env=newcomer_env(),
                             encoding="utf-8", timeout=60)
    try:
        terminal.expect_exact("? [y/N]: ")
        assert name in terminal.before
        terminal.sendline("n")
        terminal.expect(pexpect.EOF)
    finally:
        terminal.close(force=True)
    assert terminal.exitstatus == 1 and "nothing removed" in terminal.before, terminal.before
    assert ops.read_state(engine, name).exists


# -- 7. a bad cluster name -----------------------------------------------------------------------------

@pytest.mark.parametrize("command, name", [
    (f"{EMUKUBE} up {MANIFEST} --cluster 'Bad Name'", "Bad Name"),
    (f"EMUKUBE_CLUSTER=Bad_Name {EMUKUBE} apply {MANIFEST}", "Bad_Name"),
    (f"{EMUKUBE} up {MANIFEST} --attach --cluster -dash", "-dash"),
], ids=["space", "underscore-from-env", "leading-dash"])
def test_a_bad_cluster_name_is_refused_before_anything_is_made(engine, command, name):
    line = one_error_line(typed(command))
    assert line.startswith(f'error: --cluster: Invalid value: "{name}": a lowercase RFC 1123 label must consist '
                           "of lower case alphanumeric characters or '-'"), line
    assert ops.all_clusters(engine, name) == []
    assert not [n.name for n in engine.networks.list() if name in n.name]


# -- 9. no Services, no table --------------------------------------------------------------------------

def test_up_with_no_services_prints_no_table(newcomer):
    _, result = newcomer
    printed = [line for line in result.stdout.splitlines() if line.strip()]
    assert printed == ["deployment/web created", "secret/creds created"], result.stdout


# -- 8. get ns, get secret, node AGE --------------------------------------------------------------------

def test_get_ns_as_kubectl_prints_it(newcomer):
    name, _ = newcomer
    rows = [line.split() for line in typed(f"{EMUKUBE} get ns", cluster=name).stdout.splitlines()]
    assert rows[0] == ["NAME", "STATUS", "AGE"], rows
    assert {r[0]: r[1] for r in rows[1:]}.get("default") == "Active", rows


def test_get_secret_shows_data_not_string_data(newcomer):
    name, _ = newcomer
    hidden = yaml.safe_load(typed(f"{EMUKUBE} get secret creds -o yaml", cluster=name).stdout)
    shown = yaml.safe_load(typed(f"{EMUKUBE} get secret creds -o yaml --show-secrets", cluster=name).stdout)
    for secret in (hidden, shown):
        assert "stringData" not in secret and list(secret["data"]) == ["password"], secret
    assert hidden["data"]["password"] == "<hidden: use --show-secrets>"
    assert base64.b64decode(shown["data"]["password"]) == b"hunter2"


def test_node_operations_keep_the_node_age(newcomer):
    name, _ = newcomer

    def created() -> str:
        return json.loads(typed(f"{EMUKUBE} get nodes node-1 -o json", cluster=name).stdout)["metadata"]["creationTimestamp"]

    def pods() -> dict[str, tuple[str, str]]:
        rows = [line.split() for line in typed(f"{EMUKUBE} get pods", cluster=name).stdout.splitlines()[1:]]
        return {r[0]: (r[1], r[2]) for r in rows}

    first, before = created(), set(pods())
    for verb in ("cordon node-1", "uncordon node-1", "node stop node-1", "node start node-1"):
        done = typed(f"{EMUKUBE} {verb}", cluster=name)
        assert done.returncode == 0, done.stdout + done.stderr
        assert created() == first, verb
        if verb.startswith("node stop"):  # the later tests want web's pod: the stop done, then its new one
            wait_until(lambda: not before & set(pods()), "the stopped node's pod gone")
    wait_until(lambda: ("1/1", "Running") in pods().values(), "a web pod running after node start")


# -- 5. files: one line, exit 2 -------------------------------------------------------------------------

def test_files_a_user_names_fail_in_one_line(newcomer, tmp_path):
    name, _ = newcomer
    a_file, a_dir = tmp_path / "compose.yaml", tmp_path / "g.mmd"
    a_file.write_text("services: {}\n")
    a_dir.mkdir()
    expected = {
        f"{EMUKUBE} export compose --output-dir {a_file}": f"error: --output-dir {a_file}: not a directory",
        f"{EMUKUBE} graph -o {a_dir}": f"error: --output {a_dir}: is a directory",
        f"{EMUKUBE} graph -o {a_file}/dir/g.mmd": f"error: cannot write {a_file}/dir/g.mmd: {a_file} is a file",
        f"{EMUKUBE} graph -o /sys/g.mmd": "error: cannot write /sys/g.mmd: ",
        f"{EMUKUBE} export compose --output-dir /sys/compose": "error: cannot write /sys/compose/compose.yaml: ",
        f"{EMUKUBE} up {tmp_path}/missing.yaml": f"error: {tmp_path}/missing.yaml: cannot read: No such file",
        f"{EMUKUBE} up {a_dir}": f"error: {a_dir}: no *.yaml, *.yml or *.json files",
        f"{EMUKUBE} up /bin/sh": "error: /bin/sh: not valid UTF-8",
        f"{EMUKUBE} up {MANIFEST} --kubeconfig {a_dir}": f"error: cannot write the kubeconfig {a_dir}: ",
        f"{EMUKUBE} load {tmp_path}/missing.tar": f"error: open {tmp_path}/missing.tar: no such file or directory",
    }
    for command, start in expected.items():
        assert one_error_line(typed(command, cluster=name)).startswith(start), command
    written = typed(f"{EMUKUBE} graph -o {tmp_path}/new/dir/g.mmd", cluster=name)
    assert written.returncode == 0 and (tmp_path / "new/dir/g.mmd").read_text().startswith("graph TD"), written


# -- 5. Ctrl-C -------------------------------------------------------------------------------------------

LONG_RUNNING = [["events", "-f"], ["logs", "-f", "deploy/web"], ["top", "-w"], ["port-forward", "deploy/web", ":8080"],
                ["exec", "deploy/web", "--", "sh", "-c", "echo ready; sleep 60"], ["up", MANIFEST, "--attach"]]


@pytest.mark.parametrize("args", LONG_RUNNING, ids=[a[0] for a in LONG_RUNNING])
def test_ctrl_c_ends_a_verb_without_a_traceback(newcomer, args):
    """Ctrl-C as a terminal sends it: to the whole foreground process group, once the verb runs."""
    name, _ = newcomer
    proc = subprocess.Popen([EMUKUBE, *args[:1], "--cluster", name, *args[1:]], cwd=ROOT, env=newcomer_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True)
    reader.start()
    try:
        first = lines.get(timeout=120)
        assert proc.poll() is None and not first.startswith("error"), f"ended before Ctrl-C: {first}"
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    reader.join(timeout=30)
    shown = first + "".join(lines.get_nowait() for _ in range(lines.qsize()))
    assert code in (0, 130) and "Traceback" not in shown, f"exit {code}\n{shown}"


# -- 5. every verb, bad inputs: never a traceback --------------------------------------------------------

# What each verb is given besides the bad input; a verb `emukube --help` lists that is not here fails.
ARGS = {
    "up": [MANIFEST], "apply": [MANIFEST], "down": [], "get": ["pods"], "exec": ["deploy/web", "--", "true"],
    "logs": ["deploy/web"], "delete": ["pod", "nosuch"], "scale": ["deployment/web", "--replicas", "1"],
    "events": [], "dns": ["web"], "describe": ["deploy", "web"], "curl": ["svc/web"],
    "run": ["probe", "--rm", "--image", "emukube/echo:1.0", "--", "true"], "explain": ["svc/web"], "doctor": [],
    "graph": [], "top": [], "port-forward": ["deploy/web", ":8080"], "load": ["/bin/sh"], "cordon": ["node-1"],
    "uncordon": ["node-1"], "drain": ["node-9"], "kubeconfig": [], "kubectl": ["--", "get", "pods"],
    "images list": [], "images pull": ["nosuch"], "images build": ["nosuch"], "rollout restart": ["deployment/nosuch"],
    "rollout status": ["deployment/web"], "export compose": [], "node stop": ["node-9"], "node start": ["node-9"],
    "ls": [],
}
NO_CLUSTER_OPTION = ("load", "images list", "images pull", "images build", "ls")
LAST = ("up", "apply", "down")  # what could change the cluster most goes last when the engine is cut


def verbs() -> list[str]:
    def listed(*group: str) -> list[str]:
        shown = typed(" ".join([EMUKUBE, *group, "--help"]), COLUMNS="200").stdout
        return re.findall(r"^│ ([a-z][a-z-]*) ", shown, re.M)

    found = []
    for verb in listed():
        below = listed(verb) if verb in ("images", "rollout", "export", "node") else []
        found += [f"{verb} {sub}" for sub in below] or [verb]
    return sorted(found, key=lambda v: (v in LAST, LAST.index(v) if v in LAST else 0))


class CutEngine:
    """A socket in front of the engine's that passes `allowed` requests, then hangs up on every
    connection: the engine gone in the middle of a command."""

    def __init__(self, path: Path, allowed: int):
        self.allowed, self.seen, self.lock = allowed, 0, threading.Lock()
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(str(path))
        self.server.listen(64)
        self.socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(ENGINE_SOCKET)
            self.socks += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, requests: bool) -> None:
        try:
            while data := src.recv(65536):
                if requests:
                    with self.lock:
                        self.seen += len(re.findall(rb"(?:^|\r\n)(?:GET|POST|PUT|DELETE|HEAD) /\S* HTTP/1\.1\r\n", data))
                        gone = self.seen > self.allowed
                    if gone:
                        break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.server.close()
        for s in self.socks:
            s.close()


def _no_traceback(command: str, result: subprocess.CompletedProcess) -> str:
    shown = f"$ {command}\nexit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    if "Traceback" in result.stdout + result.stderr or result.returncode not in (0, 1, 2) \
            or (result.returncode and not result.stderr.strip()):
        return shown
    return ""


def test_no_verb_prints_a_traceback(newcomer, tmp_path):
    name, _ = newcomer
    found = verbs()
    assert set(found) == set(ARGS), f"verbs without arguments here: {set(found) - set(ARGS)}"
    failures = []

    def feed(verb: str, cluster: str, **extra: str) -> None:
        option = [] if verb in NO_CLUSTER_OPTION else ["--cluster", f"'{cluster}'"]
        command = " ".join([EMUKUBE, verb, *option, *ARGS[verb]])
        try:
            result = typed(command, timeout=180, **extra)
        except subprocess.TimeoutExpired:
            failures.append(f"$ {command}\ndid not end within 180 s")
            return
        if problem := _no_traceback(command, result):
            failures.append(problem)

    def cut(verb: str, allowed: int) -> None:  # the engine gone after its ping, and a little later
        sock = tmp_path / f"engine-{found.index(verb)}-{allowed}.sock"
        engine_cut = CutEngine(sock, allowed)
        try:
            feed(verb, name, DOCKER_HOST=f"unix://{sock}")
        finally:
            engine_cut.close()
            sock.unlink()

    # Verbs that change little run side by side (each a process of its own; the cluster's state is
    # not what is checked); `up`, `apply` and `down` run last and alone, `down` the very last.
    first = [v for v in found if v not in LAST]
    steps = [lambda v=v: feed(v, f"n{PID}none") for v in first]  # no such cluster
    steps += [lambda v=v: feed(v, "Bad Name") for v in first]
    steps += [lambda v=v: feed(v, name, DOCKER_HOST="unix:///nonexistent/docker.sock") for v in first]  # no engine
    steps += [lambda v=v, a=a: cut(v, a) for v in first for a in (1, 6)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda step: step(), steps))
    for verb in LAST:
        feed(verb, f"n{PID}none")
        feed(verb, "Bad Name")
        feed(verb, name, DOCKER_HOST="unix:///nonexistent/docker.sock")
    for verb in LAST:
        for allowed in (1, 6):
            cut(verb, allowed)
    assert not failures, "\n\n".join(failures)
