"""What a cluster left on the engine, and a small app manifest, for the reliability tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import run, wait_until

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: echo
          image: emukube/echo:1.0
          ports: [{name: http, containerPort: 8080}]
          readinessProbe: {httpGet: {path: /readyz, port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast}
"""


def made_by(engine, cluster: str) -> list[str]:
    """Every container, network and volume carrying the cluster's label."""
    label = {"label": f"emukube.io/cluster={cluster}"}
    return sorted([f"container {c.name}" for c in engine.containers.list(ignore_removed=True, all=True, filters=label)]
                  + [f"network {n.name}" for n in engine.networks.list(filters=label)]
                  + [f"volume {v.name}" for v in engine.volumes.list(filters=label)])


def containers(engine, cluster: str) -> dict[str, tuple]:
    """name -> (id, started at, restarts): what must not change when nothing changed."""
    out = {}
    for c in engine.containers.list(ignore_removed=True, all=True, filters={"label": f"emukube.io/cluster={cluster}"}):
        out[c.name] = (c.id, c.attrs["State"]["StartedAt"], c.attrs["RestartCount"])
    return out


def write_app(tmp_path: Path, replicas: int = 2, text: str = APP) -> Path:
    path = tmp_path / f"app-{replicas}.yaml"
    path.write_text(text.replace("REPLICAS", str(replicas)))
    return path


def wait_for(condition, what: str, timeout: float = 90, every: float = 0.02):
    return wait_until(condition, what, timeout, every)


class Clusters:
    """Names for a module's clusters; at the end, whatever they left is removed and reported."""

    def __init__(self, prefix: str):
        self.prefix, self.used = prefix, []

    def name(self, suffix: str) -> str:
        cluster = f"{self.prefix}{os.getpid() % 100000}{suffix}"
        self.used.append(cluster)
        return cluster

    def fixture(self):
        @pytest.fixture(scope="module", autouse=True)
        def no_leftovers(engine):
            yield
            left = {c: made_by(engine, c) for c in set(self.used)}
            for cluster in [c for c, things in left.items() if things]:
                run("down", cluster=cluster, check=False)
            leftover = {c: things for c, things in left.items() if things}
            assert not leftover, f"left behind: {leftover}"

        return no_leftovers
