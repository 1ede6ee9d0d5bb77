"""Endpoint changes in the workload cluster, each watched from the client pod at once through
the Service (HTTP, a new connection per request) and through CoreDNS (the headless Service's
A records), so sections 3 and 4 report the same events from both sides.

Events, per run: docker kill of a web pod; a readiness failure (touch /tmp/not-ready); its
recovery; scale 3 -> 2; scale 2 -> 3. Times are from the change (the kill, the touch as the pod
saw it, the scale call) to the first answer showing the new state.
"""

from __future__ import annotations

import time

from .context import Context, Workload, log

HEADLESS = "web-pods.default.svc.cluster.local"
EVENTS = ("kill", "unready", "ready", "scale down", "scale up")


def _watch(w: Workload, http_args: list[str], dns_args: list[str]):
    url = f"http://{w.cluster_ip('web')}/hostname"
    http = w.ekload_bg("watch-http", "-url", url, "-timeout", "90s", *http_args, timeout=100)
    dns = w.ekload_bg("watch-dns", "-server", w.dns_server, "-name", HEADLESS, "-timeout", "90s",
                      *dns_args, timeout=100)
    return http, dns


def _finish(name: str, t0: float, http, dns, out: dict) -> None:
    h, d = http.result(), dns.result()
    for side, res in (("proxy", h), ("dns", d)):
        key = (name, side)
        if not res.get("done"):
            out.setdefault("failed", {})[key] = f"not seen within 90 s ({res})"[:200]
        elif res["at"] / 1e9 < t0 - 0.05:
            out.setdefault("failed", {})[key] = "watcher saw the change before it was made"
        else:
            out.setdefault(key, []).append(res["at"] / 1e9 - t0)
    out.setdefault((name, "errors"), []).append(h.get("errors", 0))
    out.setdefault((name, "requests"), []).append(h.get("requests", 0))


def one_run(w: Workload, run: int, out: dict) -> None:
    pods = w.wait_web(3)
    names = sorted(pods)
    # 1. docker kill: the replacement (a new name) answers through the Service / appears in DNS.
    victim = names[run % 3]
    http, dns = _watch(w, ["-new", ",".join(names)], ["-count", "3", "-without", pods[victim]])
    t0 = time.time()
    w.cluster.container_of(victim).kill()
    _finish("kill", t0, http, dns, out)
    pods = w.wait_web(3)
    names = sorted(pods)
    # 2. readiness failure of one pod, then 3. its recovery.
    flip = names[(run + 1) % 3]
    others = ",".join(ip for n, ip in pods.items() if n != flip)
    http, dns = _watch(w, ["-gone", flip], ["-want", others])
    t0 = w.now_in(flip, "touch /tmp/not-ready")
    _finish("unready", t0, http, dns, out)
    http, dns = _watch(w, ["-seen", flip], ["-want", ",".join(pods.values())])
    t0 = w.now_in(flip, "rm -f /tmp/not-ready")
    _finish("ready", t0, http, dns, out)
    w.wait_web(3)
    # 4. scale 3 -> 2 (some pod leaves), 5. scale 2 -> 3 (a new pod serves).
    http, dns = _watch(w, ["-gone", ",".join(names)], ["-count", "2"])
    t0 = time.time()
    w.cluster.scale("deployment/web", 2)
    _finish("scale down", t0, http, dns, out)
    pods = w.wait_web(2)
    http, dns = _watch(w, ["-new", ",".join(pods)], ["-count", "3"])
    t0 = time.time()
    w.cluster.scale("deployment/web", 3)
    _finish("scale up", t0, http, dns, out)
    w.wait_web(3)


def measure(ctx: Context) -> dict:
    """{(event, "proxy"|"dns"): [seconds per run], (event, "errors"): [...], "failed": {...}}"""
    if "events" not in ctx.cache:
        w = ctx.workload()
        out: dict = {}
        for run in range(ctx.runs):
            log(f"endpoint events run {run + 1}/{ctx.runs}")
            one_run(w, run, out)
        ctx.cache["events"] = out
    return ctx.cache["events"]
