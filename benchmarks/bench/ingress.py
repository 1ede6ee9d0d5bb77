"""Section 11: HTTP through an Ingress (the cluster's HAProxy Ingress controller, then the
Service's proxy) vs through the Service's ClusterIP alone, from the same client pod, with hey;
and how soon a rule added to an Ingress is served. The Ingress goes into the shared workload
cluster (benchmarks/manifests/workload.yaml) after the sections that use it before."""

from __future__ import annotations

import copy
import time

import httpx

from emukube.lifecycle import ops

from .context import Context, log
from .measure import Row, at_least_x, below
from .proxy import PATH, HeyResults, alternated, hey

HOST = "solo.example"
INGRESS = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "bench", "namespace": "default"},
           "spec": {"rules": [{"host": HOST, "http": {"paths": [{
               "path": "/", "pathType": "Prefix", "backend": {"service": {"name": "solo", "port": {"number": 80}}}}]}}]}}
SERVED_WITHIN = 10.0  # seconds a new rule is waited for


def _served_after(cluster, address: str, host: str, ingress: dict) -> float:
    """Seconds from writing the Ingress to the first request for `host` it answers (polled every 10 ms)."""
    t0 = time.monotonic()
    cluster.apply(objects=[ingress], wait=False)
    with httpx.Client(timeout=1) as client:
        while time.monotonic() - t0 < SERVED_WITHIN:
            try:
                if client.get(f"http://{address}{PATH}", headers={"Host": host}).status_code == 200:
                    return time.monotonic() - t0
            except httpx.TransportError:
                pass
            time.sleep(0.01)
    raise TimeoutError(f"the rule for {host} was not served within {SERVED_WITHIN:.0f}s")


def run(ctx: Context) -> list[Row]:
    w = ctx.workload()
    w.cluster.apply(objects=[INGRESS], timeout=120)
    net = ops.read_state(w.cluster.client, w.cluster.name).net
    assert net is not None
    via_ingress, proxied = f"http://{net.ingress_ip}{PATH}", f"http://{w.cluster_ip('solo')}{PATH}"
    n_tp, n_lat = (2000, 800) if ctx.quick else (20000, 4000)
    loads = {"keepalive": ["-n", str(n_tp), "-c", "16"], "fixed": ["-n", str(n_lat), "-c", "4", "-q", "100"]}
    ways = {"ingress": (via_ingress, ["-host", HOST]), "clusterip": (proxied, [])}
    for url, extra in ways.values():  # warm up both paths
        hey(w, url, *extra, "-n", "300", "-c", "4")
    got = HeyResults()
    served: list[float] = []
    for run_ in range(ctx.runs):
        for load, args in loads.items():
            for way, (url, extra) in alternated(list(ways.items()), run_):
                log(f"ingress run {run_ + 1}/{ctx.runs}: {load} {way}")
                got.add(load, way, hey(w, url, *extra, *args))
        added = copy.deepcopy(INGRESS)
        added["spec"]["rules"].append({**added["spec"]["rules"][0], "host": f"r{run_}.example"})
        served.append(_served_after(w.cluster, net.ingress_address, f"r{run_}.example", added))

    col, note = got.col, got.note()
    base = "via the ClusterIP alone"
    return [
        Row("11", "req/s via an Ingress, keep-alive, 16 connections", "req/s", col("keepalive", "ingress", "rps"),
            base, col("keepalive", "clusterip", "rps"), at_least_x(0.5), note),
        Row("11", "p99 latency via an Ingress at 400 req/s", "ms", col("fixed", "ingress", "p99"),
            base, col("fixed", "clusterip", "p99")),
        Row("11", "a rule added to an Ingress, until it answers from the host", "s", served,
            goal=below(1, "s")),
    ]
