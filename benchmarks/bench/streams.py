"""Section 8: kubectl's streaming verbs through the cluster's API server (issue 15's goals).

One cluster with a pod serving a 1 MB file over HTTP (Python's http.server, in the echo image),
and side by side in the same run:
1. `kubectl exec POD -- true` wall time, against `docker exec CONTAINER true` on the same pod;
2. `kubectl port-forward` throughput: 1 MB responses fetched one after another through the
   forward, against the same fetches straight to the pod's IP from the host (the host reaches
   the cluster network); MB/s over a bounded number of fetches.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from emukube.client.cluster import unique_name

from .api import KUBECTL, Api, guarded, median_of_calls
from .context import Context, log
from .measure import Row, at_least_x, at_most
from .startup import EMUKUBE

SECTION = "8"
MB = 1 << 20
EXECS = 5  # kubectl exec calls per run (their median is the run's figure)
FETCHES = 40  # 1 MB fetches per run and way

FILES = """apiVersion: v1
kind: Pod
metadata: {name: files}
spec:
  containers:
    - name: files
      image: emukube/echo:1.0
      command: ["sh", "-c", "head -c 1048576 /dev/urandom > /tmp/1m && cd /tmp && exec python3 -m http.server 8000"]
      ports: [{containerPort: 8000}]
      readinessProbe: {tcpSocket: {port: 8000}, periodSeconds: 1}
"""


def run(ctx: Context) -> list[Row]:
    tmp = Path(tempfile.mkdtemp(prefix="ekbench-streams-"))
    api = Api(ctx, unique_name("ekbs"), tmp)
    (tmp / "files.yaml").write_text(FILES)
    rows: list[Row] = []
    try:
        log(f"up {api.name}: one pod serving a 1 MB file")
        api.cli([EMUKUBE, "up", str(tmp / "files.yaml"), "--cluster", api.name, "--timeout", "300s",
                 "--kubeconfig", str(api.kubeconfig)], timeout=400)
        api.connect()
        for part in (exec_wall, port_forward):
            rows += guarded(part, api, ctx, SECTION)
    finally:
        api.remove()
    return rows


def exec_wall(api: Api, ctx: Context) -> list[Row]:
    """kubectl exec POD -- true, against docker exec"""
    container = f"{api.name}_pod_default_files"
    kubectl, docker = [], []
    for _ in range(ctx.runs):
        kubectl.append(median_of_calls(lambda: api.kubectl("exec", "files", "--", "true")[0], EXECS))
        docker.append(median_of_calls(lambda: api.cli(["docker", "exec", container, "true"])[0], EXECS))
    return [Row(SECTION, f"kubectl exec POD -- true, median of {EXECS} calls", "s", kubectl,
                "docker exec CONTAINER true", docker, at_most(0.4, "s"))]


def _fetch_rate(url: str, count: int) -> float:
    """MB/s of `count` 1 MB GETs one after another (each checked whole)."""
    with httpx.Client(timeout=30) as http:
        t0 = time.monotonic()
        for _ in range(count):
            body = http.get(url).content
            if len(body) != MB:
                raise RuntimeError(f"{url} answered {len(body)} bytes, not 1 MB")
        return count / (time.monotonic() - t0)


def port_forward(api: Api, ctx: Context) -> list[Row]:
    """kubectl port-forward throughput with 1 MB responses, against the pod's IP"""
    pod_ip = api.get("/api/v1/namespaces/default/pods/files")["status"]["podIP"]
    count = FETCHES // 4 if ctx.quick else FETCHES
    forwarded, direct = [], []
    proc = subprocess.Popen([KUBECTL, "port-forward", "pod/files", ":8000"], env=api.env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = proc.stdout.readline()  # "Forwarding from 127.0.0.1:PORT -> 8000"
        found = re.search(r"127\.0\.0\.1:(\d+)", line)
        if not found:
            raise RuntimeError(f"kubectl port-forward printed {line!r}: {proc.stderr.read()[-300:] if proc.poll() else ''}")
        local = f"http://127.0.0.1:{found.group(1)}/1m"
        ways = [(forwarded, local), (direct, f"http://{pod_ip}:8000/1m")]
        for run in range(ctx.runs):
            # Each run's first way meets the machine as the last one left it: who goes first alternates.
            for rates, url in ways if run % 2 == 0 else ways[::-1]:
                rates.append(_fetch_rate(url, count))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return [Row(SECTION, f"kubectl port-forward, {count} x 1 MB responses one after another", "MB/s", forwarded,
                "the pod's IP from the host", direct, at_least_x(0.5))]
