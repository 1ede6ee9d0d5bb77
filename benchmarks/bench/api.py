"""Section 7: the cluster's Kubernetes API server, as kubectl and other clients see it.

One cluster (a generated manifest: Deployment web of 20 echo pods behind a NodePort Service,
100 ConfigMaps, 100 Secrets) and, side by side in the same run:
1. `kubectl get pods` with ~300 objects stored, against `docker ps` on the same engine;
2. GET of one ConfigMap and LIST of the pods, p50/p99 over 1000 / 200 keep-alive requests
   (httpx), the GET against the engine's own GET /containers/ID/json on its socket;
3. PATCH -> watch event: a watch on configmaps (plain HTTP streaming, httpx), 200 merge
   PATCHes one after another, each awaited; from the PATCH's response and from its start;
4. `kubectl scale deploy/web --replicas=N+1` until the new pod answers through the NodePort
   (ekload watch-http on the host), against `docker run -d` of the echo image until it answers;
5. resident memory (VmRSS) of the API server and of the controller process inside the
   controller container after 5 s idle, and the CPU that container uses while idle (what a
   cluster left running costs a laptop, or a test run holding several);
6. `kubectl get svc` and `emukube get svc` after 100 ClusterIP Services selecting no pod.
--quick: 5 pods, 30 ConfigMaps and 30 Secrets, 20 Services, half the requests; one run.
"""

from __future__ import annotations

import json
import math
import os
import queue
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
import yaml

from emukube import Cluster
from emukube.client.cluster import unique_name
from emukube.lifecycle import kubeconfig as kcfg
from emukube.lifecycle import ops
from emukube.lifecycle.connection import credentials_of

from . import tools
from .context import Context, log
from .machine import BENCH_LABEL, cpu_seconds, free_port, remove_labelled
from .measure import Goal, Row, at_most, wait_until
from .startup import EMUKUBE

KUBECTL = str(Path(EMUKUBE).parent / "kubectl")
ECHO = "emukube/echo:1.0"
SECTION = "7"
CALLS = 3  # CLI calls per run for the wall-time rows (their median is the run's figure)
WITHIN_1S = Goal("+ <= 1 s", lambda v, b: b is not None and v - b <= 1.0, "diff")

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
        - name: echo
          image: emukube/echo:1.0
          ports: [{{name: http, containerPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  type: NodePort
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: http}}]
"""


class Sizes:
    def __init__(self, quick: bool):
        self.replicas = 5 if quick else 20
        self.configs = 30 if quick else 100  # ConfigMaps, and as many Secrets
        self.services = 20 if quick else 100
        self.gets = 500 if quick else 1000
        self.lists = 100 if quick else 200
        self.patches = 100 if quick else 200


def manifest(sizes: Sizes, path: Path) -> None:
    docs = [DEPLOY.format(replicas=sizes.replicas)]
    for i in range(sizes.configs):
        docs.append(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i:03d}"},
                                    "data": {"key": f"value {i}", "other": "x" * 200}}))
        docs.append(yaml.safe_dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"secret-{i:03d}"},
                                    "stringData": {"password": f"p{i:03d}" * 8}}))
    docs.append(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "watched"},
                                "data": {"seq": "-1"}}))
    path.write_text("---\n".join(docs))


def services_manifest(count: int, path: Path) -> None:
    """ClusterIP Services whose selector matches no pod: only their proxies start."""
    docs = [yaml.safe_dump({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"svc-{i:03d}"},
                            "spec": {"selector": {"app": f"nothing-{i:03d}"}, "ports": [{"port": 80}]}})
            for i in range(count)]
    path.write_text("---\n".join(docs))


class Api:
    """The benchmark's cluster: its kubeconfig (a temp file), kubectl and an httpx client."""

    def __init__(self, ctx: Context, name: str, tmp: Path):
        self.ctx, self.name, self.tmp = ctx, name, tmp
        self.kubeconfig = tmp / "kubeconfig"
        self.env = dict(os.environ, KUBECONFIG=str(self.kubeconfig))
        self.cluster = Cluster(name)
        self.http: httpx.Client | None = None

    def connect(self) -> None:
        """Write this cluster's own kubeconfig (kubectl uses only it) and open the httpx client."""
        self.kubeconfig.write_text(kcfg.dump(self.cluster.kubeconfig()))
        creds = credentials_of(self.controller())
        self.server = creds.server
        verify = ssl.create_default_context(cadata=creds.ca_pem.decode())
        self.http = httpx.Client(base_url=creds.server, verify=verify, timeout=30,
                                 headers={"Authorization": f"Bearer {creds.token}"})
        self.auth = {"Authorization": f"Bearer {creds.token}"}
        self.verify = verify

    def controller(self):
        return ops.require(ops.read_state(self.ctx.client, self.name)).controller

    def close(self) -> None:
        if self.http is not None:
            self.http.close()

    def remove(self) -> None:
        """`emukube down` as a user runs it, then whatever it left, and the temp folder."""
        self.close()
        log(f"down {self.name}")
        try:
            self.cli([EMUKUBE, "down", "--cluster", self.name], timeout=300)
        finally:
            Cluster(self.name).down()
            remove_labelled(self.ctx.client, self.name)
            shutil.rmtree(self.tmp, ignore_errors=True)

    def cli(self, argv: list[str], timeout: float = 120) -> tuple[float, str]:
        t0 = time.monotonic()
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=self.env)
        took = time.monotonic() - t0
        if result.returncode:
            raise RuntimeError(f"{' '.join(argv[:4])} exited {result.returncode}: {result.stderr.strip()[-300:]}")
        return took, result.stdout

    def kubectl(self, *args: str, timeout: float = 120) -> tuple[float, str]:
        return self.cli([KUBECTL, "--cache-dir", str(self.tmp / "kube-cache"), *args], timeout)

    def emukube(self, *args: str, timeout: float = 120) -> tuple[float, str]:
        return self.cli([EMUKUBE, *args, "--cluster", self.name], timeout)

    def get(self, path: str, **params) -> dict:
        r = self.http.get(path, params=params)
        r.raise_for_status()
        return r.json()

    def web_pods(self) -> list[dict]:
        return self.get("/api/v1/namespaces/default/pods", labelSelector="app=web")["items"]

    def count_objects(self) -> int:
        """Every object the API server lists, in every resource that can be listed."""
        paths = [("/api/v1", r) for r in self.get("/api/v1")["resources"]]
        for group in self.get("/apis")["groups"]:
            gv = group["preferredVersion"]["groupVersion"]
            paths += [(f"/apis/{gv}", r) for r in self.get(f"/apis/{gv}")["resources"]]
        total = 0
        for base, res in paths:
            if "/" not in res["name"] and "list" in res.get("verbs", []):
                total += len(self.get(f"{base}/{res['name']}").get("items") or [])
        return total


def run(ctx: Context) -> list[Row]:
    sizes = Sizes(ctx.quick)
    tmp = Path(tempfile.mkdtemp(prefix="ekbench-api-"))
    api = Api(ctx, unique_name("ekba"), tmp)
    manifest(sizes, tmp / "api.yaml")
    rows: list[Row] = []
    try:
        log(f"up {api.name}: web x {sizes.replicas}, {sizes.configs} ConfigMaps + {sizes.configs} Secrets")
        took, _ = api.cli([EMUKUBE, "up", str(tmp / "api.yaml"), "--cluster", api.name, "--timeout", "300s",
                           "--kubeconfig", str(api.kubeconfig)], timeout=400)
        log(f"  up took {took:.1f} s")
        api.connect()
        for part in (get_pods, latency, watch, scale, memory, idle_cpu, services):
            rows += guarded(part, api, sizes)
    finally:
        api.remove()
    return rows


def guarded(part, api: Api, sizes, section: str = SECTION) -> list[Row]:
    """One part's rows; a part that fails gives one ERROR row and the others still run."""
    log(f"section {section}: {part.__doc__.splitlines()[0]}")
    try:
        return part(api, sizes)
    except Exception as exc:  # noqa: BLE001 - reported in the table
        log(f"  failed: {type(exc).__name__}: {exc}")
        return [Row(section, part.__doc__.splitlines()[0], "", error=f"{type(exc).__name__}: {str(exc)[:200]}")]


def median_of_calls(fn, calls: int = CALLS) -> float:
    return sorted(fn() for _ in range(calls))[calls // 2]


# -- 1. kubectl get pods --------------------------------------------------------------------
def get_pods(api: Api, sizes: Sizes) -> list[Row]:
    """kubectl get pods with ~300 objects stored, against docker ps"""
    stored = api.count_objects()
    api.kubectl("get", "pods")  # fills kubectl's discovery cache, as any second call finds it
    ours, floor = [], []
    ways = [(ours, lambda: api.kubectl("get", "pods")[0]),
            (floor, lambda: api.cli(["docker", "ps"])[0])]
    for run_ in range(api.ctx.runs):
        for out, fn in ways[run_ % 2:] + ways[:run_ % 2]:
            out.append(median_of_calls(fn))
    running = len(api.ctx.client.api.containers())
    return [Row(SECTION, f"kubectl get pods ({sizes.replicas} pods, {stored} objects stored), "
                f"median of {CALLS} calls", "s", ours, f"docker ps ({running} containers)", floor,
                at_most(0.2, "s"))]


# -- 2. GET / LIST latency ------------------------------------------------------------------
def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99, nearest rank (of 100 samples, p99 is the second largest)."""
    s = sorted(samples)
    return s[(len(s) - 1) // 2], s[max(0, math.ceil(len(s) * 0.99) - 1)]


def timed_gets(client: httpx.Client, path: str, count: int, limit: float = 60) -> list[float]:
    """`count` GETs one after another on one kept-alive connection; milliseconds each."""
    client.get(path).raise_for_status()  # the connection (and TLS) is set up before timing
    out, deadline = [], time.monotonic() + limit
    for _ in range(count):
        t0 = time.perf_counter()
        r = client.get(path)
        out.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
        if time.monotonic() > deadline:
            break
    return out


def latency(api: Api, sizes: Sizes) -> list[Row]:
    """API GET of one object and LIST of pods, p50/p99 (httpx, keep-alive)"""
    one = "/api/v1/namespaces/default/configmaps/cm-000"
    pods = "/api/v1/namespaces/default/pods"
    engine = engine_client()
    got: dict[str, list[float]] = {k: [] for k in ("get50", "get99", "list50", "list99", "eng50", "eng99")}
    controller = api.controller().id
    try:
        for _ in range(api.ctx.runs):
            for key, client, path, count in (("get", api.http, one, sizes.gets),
                                             ("eng", engine, f"/containers/{controller}/json", sizes.gets),
                                             ("list", api.http, pods, sizes.lists)):
                if client is None:
                    continue
                p50, p99 = percentiles(timed_gets(client, path, count))
                got[key + "50"].append(p50)
                got[key + "99"].append(p99)
    finally:
        if engine is not None:
            engine.close()
    base = "engine GET /containers/ID/json" if engine is not None else ""
    return [
        Row(SECTION, f"API GET of one ConfigMap, p50 ({sizes.gets} requests, keep-alive)", "ms",
            got["get50"], base, got["eng50"]),
        Row(SECTION, "API GET of one ConfigMap, p99", "ms", got["get99"], base, got["eng99"], at_most(10, "ms")),
        Row(SECTION, f"API LIST of {sizes.replicas} pods, p50 ({sizes.lists} requests, keep-alive)", "ms",
            got["list50"]),
        Row(SECTION, f"API LIST of {sizes.replicas} pods, p99", "ms", got["list99"], goal=at_most(10, "ms")),
    ]


def engine_client() -> httpx.Client | None:
    """The Docker engine's API on its unix socket: the floor of a local JSON GET."""
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if not host.startswith("unix://"):
        return None
    return httpx.Client(transport=httpx.HTTPTransport(uds=host[len("unix://"):]), base_url="http://docker",
                        timeout=30)


# -- 3. write -> watch event ------------------------------------------------------------------
class Watcher(threading.Thread):
    """A watch on configmaps (the watched one), read line by line as events arrive; puts
    (seq, arrival) on a queue. Bounded by the server's timeoutSeconds and by a stop event."""

    def __init__(self, api: Api, rv: str, seconds: int):
        super().__init__(daemon=True)
        self.events: queue.Queue = queue.Queue()
        self.client = httpx.Client(base_url=api.server, verify=api.verify, headers=api.auth,
                                   timeout=httpx.Timeout(30, read=seconds + 10))
        self.params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": str(seconds),
                       "fieldSelector": "metadata.name=watched"}
        self.error: Exception | None = None
        self.opened = threading.Event()

    def run(self) -> None:
        try:
            with self.client.stream("GET", "/api/v1/namespaces/default/configmaps", params=self.params) as r:
                r.raise_for_status()
                self.opened.set()
                for line in r.iter_lines():
                    at = time.perf_counter()
                    if not line.strip():
                        continue
                    seq = (json.loads(line).get("object", {}).get("data") or {}).get("seq", "")
                    self.events.put((seq, at))
                    if seq == "stop":
                        return
        except Exception as exc:  # noqa: BLE001 - the main thread reports it
            self.error = exc
        finally:
            self.opened.set()
            self.events.put(("closed", time.perf_counter()))
            self.client.close()


def watch_run(api: Api, count: int) -> tuple[list[float], list[float]]:
    """`count` PATCHes, each awaited on the watch; ms from each PATCH's response and start."""
    path = "/api/v1/namespaces/default/configmaps/watched"
    rv = api.get(path)["metadata"]["resourceVersion"]
    watcher = Watcher(api, rv, seconds=120)
    watcher.start()
    watcher.opened.wait(30)
    if watcher.error:
        raise watcher.error
    time.sleep(0.2)  # the watch is registered before the first write
    headers = {"Content-Type": "application/merge-patch+json"}
    after, since_start = [], []
    deadline = time.monotonic() + 90
    try:
        for i in range(count):
            t0 = time.perf_counter()
            r = api.http.patch(path, content=json.dumps({"data": {"seq": str(i)}}), headers=headers)
            t1 = time.perf_counter()
            r.raise_for_status()
            at = _await(watcher, str(i), limit=5)
            after.append((at - t1) * 1000)
            since_start.append((at - t0) * 1000)
            if time.monotonic() > deadline:
                break
    finally:
        api.http.patch(path, content=json.dumps({"data": {"seq": "stop"}}), headers=headers)
        watcher.join(15)
    return after, since_start


def _await(watcher: Watcher, seq: str, limit: float) -> float:
    deadline = time.monotonic() + limit
    while True:
        try:
            got, at = watcher.events.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError(f"no watch event for PATCH {seq} within {limit:g} s") from None
        if got == seq:
            return at
        if got == "closed":
            raise RuntimeError(f"the watch ended before PATCH {seq}'s event: {watcher.error}")


def watch(api: Api, sizes: Sizes) -> list[Row]:
    """PATCH -> watch event latency (httpx streaming watch on configmaps)"""
    p50, p99, start50 = [], [], []
    for _ in range(api.ctx.runs):
        after, since_start = watch_run(api, sizes.patches)
        a50, a99 = percentiles(after)
        p50.append(a50)
        p99.append(a99)
        start50.append(percentiles(since_start)[0])
    n = sizes.patches
    return [
        Row(SECTION, f"PATCH response -> watch event, p50 ({n} PATCHes one after another)", "ms", p50,
            goal=at_most(50, "ms")),
        Row(SECTION, "PATCH response -> watch event, p99", "ms", p99, goal=at_most(50, "ms")),
        Row(SECTION, "PATCH request start -> watch event, p50", "ms", start50, goal=at_most(50, "ms")),
    ]


# -- 4. kubectl scale -> the new pod answers --------------------------------------------------
def scale(api: Api, sizes: Sizes) -> list[Row]:
    """kubectl scale web N -> N+1 until the new pod answers via the NodePort"""
    url = api.cluster.url("web") + "/hostname"
    n = sizes.replicas
    ours, floor, calls = [], [], []
    ways = [("emukube", lambda: scale_once(api, url, n, ours, calls)),
            ("floor", lambda: floor.append(docker_run_until_answer(api)))]
    for run_ in range(api.ctx.runs):
        for label, fn in ways[run_ % 2:] + ways[:run_ % 2]:
            log(f"  scale run {run_ + 1}/{api.ctx.runs}: {label}")
            fn()
    note = f"kubectl scale itself took {sorted(calls)[len(calls) // 2]:.2f} s" if calls else ""
    return [Row(SECTION, f"kubectl scale deploy/web --replicas={n + 1} -> the new pod answers via NodePort",
                "s", ours, "docker run -d echo until it answers", floor, WITHIN_1S, note)]


def scale_once(api: Api, url: str, n: int, out: list[float], calls: list[float]) -> None:
    wait_until(lambda: len(api.web_pods()) == n, 90, 0.2, f"web back to {n} pods")
    known = sorted(p["metadata"]["name"] for p in api.web_pods())
    watcher = subprocess.Popen([str(tools.ekload()), "watch-http", "-url", url, "-new", ",".join(known),
                                "-timeout", "60s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)  # it is polling before the change
        t0 = time.time()
        calls.append(api.kubectl("scale", "deploy/web", f"--replicas={n + 1}")[0])
        stdout, stderr = watcher.communicate(timeout=75)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    res = json.loads(stdout.strip().splitlines()[-1]) if stdout.strip() else {}
    if not res.get("done"):
        raise TimeoutError(f"no new pod answered within 60 s: {res or stderr[-200:]}")
    out.append(res["at"] / 1e9 - t0)
    api.kubectl("scale", "deploy/web", f"--replicas={n}")


def docker_run_until_answer(api: Api) -> float:
    """`docker run -d` of the echo image, published on a loopback port, until /hostname answers."""
    port = free_port()
    name = unique_name("ekbf")
    t0 = time.monotonic()
    try:
        subprocess.run(["docker", "run", "-d", "--name", name, "--label", f"{BENCH_LABEL}={api.name}",
                        "-p", f"127.0.0.1:{port}:8080", ECHO], capture_output=True, timeout=120, check=True)
        url = f"http://127.0.0.1:{port}/hostname"
        with httpx.Client(timeout=1, headers={"Connection": "close"}) as c:  # a new connection each
            def answers() -> bool:
                try:
                    return c.get(url).status_code == 200
                except httpx.HTTPError:
                    return False

            wait_until(answers, 60, 0.005, "the echo container answers")
        return time.monotonic() - t0
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=120)


# -- 5. idle memory ----------------------------------------------------------------------------
RSS_SCRIPT = r"""
import os
for pid in os.listdir('/proc'):
    if not pid.isdigit():
        continue
    try:
        args = open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\0', b' ').decode().strip()
        rss = [l.split()[1] for l in open(f'/proc/{pid}/status') if l.startswith('VmRSS:')]
    except OSError:
        continue
    if rss:
        print(rss[0], args)
"""


def rss_mb(container) -> dict[str, float]:
    """VmRSS of the API server and the controller process, from /proc inside the container."""
    result = container.exec_run(["python3", "-c", RSS_SCRIPT])
    if result.exit_code:
        raise RuntimeError(f"reading /proc in {container.name}: {result.output.decode()[-200:]}")
    found = {}
    for line in result.output.decode().splitlines():
        kb, _, args = line.partition(" ")
        for role in ("apiserver", "controller"):
            if f"-m emukube.{role}" in args:
                found[role] = found.get(role, 0) + int(kb) / 1024
    return found


def memory(api: Api, sizes: Sizes) -> list[Row]:
    """API server and controller resident memory, idle 5 s"""
    time.sleep(5)
    container = api.controller()
    apiserver, controller = [], []
    for run_ in range(api.ctx.runs):
        if run_:
            time.sleep(1)
        found = rss_mb(container)
        if "apiserver" not in found:
            raise RuntimeError(f"no emukube.apiserver process in {container.name}")
        apiserver.append(found["apiserver"])
        controller.append(found.get("controller", 0))
    return [
        Row(SECTION, "API server resident memory (VmRSS), idle 5 s", "MB", apiserver, goal=at_most(60, "MB")),
        Row(SECTION, "controller process resident memory (VmRSS), idle 5 s, for the record", "MB", controller),
    ]


IDLE_WINDOW = 10.0  # seconds of each idle CPU sample


def idle_cpu(api: Api, sizes: Sizes) -> list[Row]:
    """the controller container's CPU while the cluster is idle"""
    container = api.controller()
    shares = []
    for _ in range(api.ctx.runs):
        before, t0 = cpu_seconds(container), time.monotonic()
        time.sleep(IDLE_WINDOW)
        shares.append((cpu_seconds(container) - before) / (time.monotonic() - t0) * 100)
    return [Row(SECTION, f"controller container's CPU (API server and controllers) while idle, {sizes.replicas} pods "
                f"and {sizes.configs} ConfigMaps and Secrets each, {IDLE_WINDOW:.0f} s samples, for the record",
                "% of a core", shares)]


# -- 6. get svc with 100 Services --------------------------------------------------------------
def services(api: Api, sizes: Sizes) -> list[Row]:
    """kubectl get svc and emukube get svc with 100 Services"""
    path = api.tmp / "services.yaml"
    services_manifest(sizes.services, path)
    took, _ = api.emukube("apply", str(path), "--timeout", "300s", timeout=400)
    log(f"  emukube apply of {sizes.services} Services took {took:.1f} s")
    count = len(api.get("/api/v1/namespaces/default/services")["items"])
    api.kubectl("get", "svc")
    kubectl, emukube = [], []
    ways = [(kubectl, lambda: api.kubectl("get", "svc")[0]), (emukube, lambda: api.emukube("get", "svc")[0])]
    for run_ in range(api.ctx.runs):
        for out, fn in ways[run_ % 2:] + ways[:run_ % 2]:
            out.append(median_of_calls(fn))
    return [
        Row(SECTION, f"emukube apply of {sizes.services} ClusterIP Services (no pods), for the record", "s",
            [took]),
        Row(SECTION, f"kubectl get svc, {count} Services, median of {CALLS} calls", "s", kubectl,
            goal=at_most(0.3, "s")),
        Row(SECTION, f"emukube get svc, {count} Services, median of {CALLS} calls", "s", emukube,
            goal=at_most(0.3, "s")),
    ]
