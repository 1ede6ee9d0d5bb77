"""Under load (a long test, ~2 min, runs in CI; `-m "not load"` leaves it out): ~200 requests/s
through a NodePort for at least 60 s while the Deployment is scaled 3 -> 1 -> 3 and restarted
with `rollout restart`: not one request may fail. Removed endpoints are drained first (the proxy
drops the pod, then the pod gets SIGTERM), and new ones join only once ready."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest
from conftest import HERE
from leftovers import wait_for

MANIFEST = HERE / "manifests" / "under_load.yaml"
pytestmark = pytest.mark.load

RATE = 200  # requests per second, each on a new connection (no keep-alive to hide failures)
MIN_SECONDS, MAX_SECONDS = 60, 240  # the load runs at least this long, and never longer
WORKERS = 12


@dataclass
class Load:
    """Paced requests from a few threads until stopped; every outcome is recorded."""

    url: str
    results: Counter = field(default_factory=Counter)  # "ok" or what went wrong
    hostnames: Counter = field(default_factory=Counter)
    failures: list = field(default_factory=list)  # (seconds since start, what)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        self.started = time.monotonic()
        self._next, self._lock = 0, threading.Lock()
        threads = [threading.Thread(target=self._worker, daemon=True) for _ in range(WORKERS)]
        for t in threads:
            t.start()
        self.threads = threads

    def _worker(self) -> None:
        with httpx.Client(timeout=5, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            while not self.stop.is_set():
                with self._lock:
                    i, self._next = self._next, self._next + 1
                if i >= RATE * MAX_SECONDS:
                    return
                delay = self.started + i / RATE - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                try:
                    r = client.get(self.url)
                    what = "ok" if r.status_code == 200 and r.text else f"HTTP {r.status_code}"
                    if what == "ok":
                        self.hostnames[r.text] += 1
                except httpx.HTTPError as exc:
                    what = type(exc).__name__
                self.results[what] += 1
                if what != "ok":
                    self.failures.append((round(time.monotonic() - self.started, 1), what))

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


def ready_pods(cluster) -> list[str]:
    rows = cluster.emukube("get", "pods").stdout.splitlines()[1:]
    return [r.split()[0] for r in rows if r.split()[1] == "1/1" and r.split()[2] == "Running"]


def test_no_request_is_lost_while_scaling_and_restarting(cluster):
    node_port = cluster.svc_field("web", 4).split(":")[1].split("/")[0]
    load = Load(f"http://127.0.0.1:{node_port}/hostname")
    first = set(ready_pods(cluster))
    assert len(first) == 3
    load.run()
    steps = []
    try:
        wait_for(lambda: load.seconds > 3, "the load running")
        cluster.emukube("scale", "deployment/web", "--replicas", "1")
        wait_for(lambda: len(cluster.pods("web-")) == 1, "scaled to 1", timeout=120, every=0.5)
        steps.append(("scaled to 1", round(load.seconds)))
        cluster.emukube("scale", "deployment/web", "--replicas", "3")
        wait_for(lambda: len(ready_pods(cluster)) == 3, "scaled to 3", timeout=120, every=0.5)
        steps.append(("scaled to 3", round(load.seconds)))
        cluster.emukube("rollout", "restart", "deployment/web")
        cluster.emukube("rollout", "status", "deployment/web", "--timeout", "150s", timeout=200)
        wait_for(lambda: len(cluster.pods("web-")) == 3, "the old pods gone", timeout=120, every=0.5)
        steps.append(("restarted", round(load.seconds)))
        wait_for(lambda: load.seconds >= MIN_SECONDS, "a minute of load", timeout=MIN_SECONDS + 5)
    finally:
        load.finish()
    report = f"{dict(load.results)} over {load.seconds:.0f}s; steps {steps}; first failures {load.failures[:10]}"
    print(report)
    assert load.results["ok"] >= 2000, report  # the load really ran
    assert sum(n for what, n in load.results.items() if what != "ok") == 0, report
    last = set(ready_pods(cluster))
    assert not last & first  # every pod was replaced, and they all answered
    assert first <= set(load.hostnames) and last <= set(load.hostnames), report
