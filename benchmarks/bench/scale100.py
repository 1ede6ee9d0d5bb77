"""Section 5: 100 Services x 2 pods (a generated manifest): `emukube up` time, memory of
emukube's own containers (proxies, CoreDNS, controller) per Service, `emukube get svc` time;
and `emukube down` of it, reported in section 6. --quick uses 10 Services."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from emukube import Cluster
from emukube.client.cluster import unique_name
from emukube.runtime import engine
from emukube.runtime import labels as L

from .context import Context, log
from .machine import memory_mb
from .measure import Row, below
from .startup import EMUKUBE

OWN_ROLES = ("proxy", "proxy-udp", "dns", "controller")
GET_SVC_RUNS = 5

DOC = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
        - name: echo
          image: emukube/echo:1.0
          ports: [{{name: http, containerPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: 80, targetPort: http}}]
"""


def manifest(services: int) -> Path:
    path = Path(tempfile.mkstemp(prefix="ekbench-svc-", suffix=".yaml")[1])
    path.write_text("---\n".join(DOC.format(name=f"svc-{i:03d}") for i in range(services)))
    return path


def _emukube(*args: str, timeout: float) -> float:
    t0 = time.monotonic()
    result = subprocess.run([EMUKUBE, *args], capture_output=True, text=True, timeout=timeout)
    if result.returncode:
        raise RuntimeError(f"emukube {args[0]} exited {result.returncode}: {result.stderr.strip()[-300:]}")
    return time.monotonic() - t0


def run(ctx: Context) -> list[Row]:
    services = 10 if ctx.quick else 100
    path = manifest(services)
    up, per_service, get_svc, down = [], [], [], []
    try:
        for run_ in range(ctx.runs):
            name = unique_name("ekbs")
            log(f"{services} Services x 2 pods, run {run_ + 1}/{ctx.runs}: up {name}")
            try:
                up.append(_emukube("up", str(path), "--cluster", name, "--timeout", "900s", timeout=1000))
                time.sleep(3)  # let the last reloads settle: idle memory
                own = [c for c in engine.containers(ctx.client, name, all=False)
                       if c.labels.get(L.ROLE) in OWN_ROLES]
                per_service.append(sum(memory_mb(c) for c in own) / services)
                get_svc.append(sorted(_emukube("get", "svc", "--cluster", name, timeout=120)
                                      for _ in range(GET_SVC_RUNS))[GET_SVC_RUNS // 2])
                log(f"down {name}")
                down.append(_emukube("down", "--cluster", name, timeout=600))
            finally:
                Cluster(name).down()
    finally:
        path.unlink(missing_ok=True)
    ctx.cache["scale100 down"] = down
    ctx.cache["scale100 services"] = services
    return [
        Row("5", f"emukube up, {services} Services x 2 pods ({services * 3 + 2} containers)", "s", up),
        Row("5", "memory of emukube's containers (proxies, CoreDNS, controller) per Service", "MB",
            per_service, goal=below(10, "MB")),
        Row("5", f"emukube get svc, {services} Services (median of {GET_SVC_RUNS} calls)", "s", get_svc),
    ]
