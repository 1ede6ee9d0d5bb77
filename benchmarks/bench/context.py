"""What every section gets: run settings, the engine, and the shared workload cluster."""

from __future__ import annotations

import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from emukube import Cluster
from emukube.client.cluster import unique_name
from emukube.lifecycle import ops

from . import tools

MANIFESTS = Path(__file__).resolve().parent.parent / "manifests"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class Context:
    client: object  # docker.DockerClient
    runs: int
    quick: bool
    cache: dict = field(default_factory=dict)  # figures one section measures for another
    _workload: Workload | None = None

    def workload(self) -> Workload:
        if self._workload is None:
            self._workload = Workload.start(self)
        return self._workload

    def close(self) -> None:
        if self._workload is not None:
            log(f"down {self._workload.cluster.name}")
            self._workload.cluster.down()
            self._workload = None


class Workload:
    """benchmarks/manifests/workload.yaml running, with hey and ekload in the client pod."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.pool = ThreadPoolExecutor(max_workers=4)
        self.refresh_client()

    @classmethod
    def start(cls, ctx: Context) -> Workload:
        name = unique_name("ekbw")
        log(f"up {name} (benchmarks/manifests/workload.yaml)")
        cluster = Cluster.up(MANIFESTS / "workload.yaml", name=name, timeout=300)
        try:
            return cls(cluster)
        except BaseException:
            cluster.down()
            raise

    def refresh_client(self) -> None:
        self.client_container = self.cluster.container_of("deploy/client")
        tools.install_into(self.client_container)

    # -- addresses --------------------------------------------------------------------------
    def cluster_ip(self, service: str) -> str:
        return self.cluster.service(service)["spec"]["clusterIP"]

    @property
    def dns_server(self) -> str:
        return ops.read_state(self.cluster.client, self.cluster.name).net.dns_ip + ":53"

    def web_pods(self) -> dict[str, str]:
        """Ready web pods: name -> IP."""
        return {p.name: p.ip for p in self.cluster.pods("app=web") if p.ready and p.phase == "Running"}

    def wait_web(self, count: int = 3, timeout: float = 120) -> dict[str, str]:
        self.cluster.wait_ready(timeout=timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pods = self.web_pods()
            if len(pods) == count:
                return pods
            time.sleep(0.2)
        raise TimeoutError(f"web did not get {count} ready pods")

    # -- tools in the client pod ------------------------------------------------------------
    def ekload(self, *args: str, timeout: float = 90) -> dict:
        return tools.ekload_json(self.client_container, list(args), timeout)

    def ekload_bg(self, *args: str, timeout: float = 90) -> Future:
        """Start a watcher in the client pod; give it a moment to send its first request."""
        fut = self.pool.submit(tools.ekload_json, self.client_container, list(args), timeout)
        time.sleep(0.4)
        return fut

    def now_in(self, pod: str, script: str) -> float:
        """Run a shell line in a pod and return the instant it ran, by the pod's clock
        (the host's: containers share it), in Unix seconds."""
        result = self.cluster.exec(pod, f"{script} && date +%s.%N")
        if result.exit_code:
            raise RuntimeError(f"{script!r} in {pod}: {result.stderr or result.stdout}")
        return float(result.stdout.strip().splitlines()[-1])
