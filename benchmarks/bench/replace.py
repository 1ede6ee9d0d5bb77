"""Section 3: pod replacement and endpoint convergence through the Service's proxy, and failed
requests during a rolling update and during scale 3 -> 1 -> 3 under a bounded load loop
(200 requests/s from the host to the NodePort, a new connection per request)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import events, tools
from .context import Context, Workload, log
from .measure import ZERO, Row

RATE = 200
EMUKUBE = str(Path(sys.executable).parent / "emukube")


class Load:
    """ekload on the host against 127.0.0.1:NodePort: bounded by -timeout, stopped by SIGTERM."""

    def __init__(self, url: str, limit: float):
        self.proc = subprocess.Popen([str(tools.ekload()), "load", "-url", url, "-rate", str(RATE),
                                      "-timeout", f"{int(limit)}s", "-trace"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.proc.stderr.readline()  # "started"

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=30)
        if not out.strip():
            raise RuntimeError(f"load loop printed nothing: {err[-300:]}")
        result = json.loads(out.strip().splitlines()[-1])
        # -trace: one "sent-at seconds-taken error" line per failed request
        result["failed_at"] = [float(line.split()[0]) for line in err.splitlines() if line[:1].isdigit()]
        return result


def rollout_restart(w: Workload) -> str:
    """`emukube rollout restart` when the CLI has it; else what it does: a changed template."""
    probe = subprocess.run([EMUKUBE, "rollout", "--help"], capture_output=True, timeout=60)
    if probe.returncode == 0:
        subprocess.run([EMUKUBE, "rollout", "restart", "deployment/web", "--cluster", w.cluster.name],
                       capture_output=True, timeout=120, check=True)
        return "emukube rollout restart"
    deploy = next(o for o in w.cluster.objects("Deployment") if o["metadata"]["name"] == "web")
    meta = deploy["spec"]["template"].setdefault("metadata", {})
    meta.setdefault("annotations", {})["kubectl.kubernetes.io/restartedAt"] = \
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + f"{time.time() % 1:.6f}"[1:]
    w.cluster.apply(objects=[deploy], wait=False)
    return "apply of a changed template"


def under_load(w: Workload, change) -> tuple[dict, float]:
    """Run change() with the load loop going; return the loop's result and change()'s seconds."""
    url = w.cluster.url("web") + "/hostname"
    w.wait_web(3)
    load = Load(url, limit=240)
    try:
        time.sleep(1)
        t0, wall = time.monotonic(), time.time()
        change()
        took = time.monotonic() - t0
        time.sleep(2)  # removed pods finish draining with the loop still going
    finally:
        result = load.stop()
    result["failed_at"] = [t - wall for t in result["failed_at"]]
    return result, took


def run(ctx: Context) -> list[Row]:
    found = events.measure(ctx)
    w = ctx.workload()
    rollout: dict = {"errors": [], "sent": [], "took": [], "kinds": {}, "failed_at": []}
    scaling: dict = {"errors": [], "sent": [], "took": [], "kinds": {}, "failed_at": []}
    how = ""
    for run_ in range(ctx.runs):
        log(f"rolling update under load, run {run_ + 1}/{ctx.runs}")

        def restart():
            nonlocal how
            how = rollout_restart(w)
            w.cluster.wait_ready(timeout=180)

        _record(rollout, *under_load(w, restart))
        log(f"scale 3 -> 1 -> 3 under load, run {run_ + 1}/{ctx.runs}")

        def scale():
            w.cluster.scale("deployment/web", 1, wait=True, timeout=180)
            w.cluster.scale("deployment/web", 3, wait=True, timeout=180)

        _record(scaling, *under_load(w, scale))

    def times(event: str, side: str = "proxy") -> list[float]:
        return found.get((event, side), [])

    rows = [
        Row("3", "docker kill a pod -> replacement answers via the Service", "s", times("kill"),
            note=_failures(found, "kill")),
        Row("3", "readiness failure -> endpoint leaves the proxy (probe every 1 s)", "s", times("unready")),
        Row("3", "readiness back -> endpoint rejoins the proxy", "s", times("ready")),
        Row("3", "scale 3 -> 2 -> a pod leaves the proxy", "s", times("scale down")),
        Row("3", "scale 2 -> 3 -> the new pod answers via the Service", "s", times("scale up")),
        Row("3", f"failed requests during a rolling update ({how or 'rollout'}), {RATE} req/s via NodePort",
            "errors", rollout["errors"], goal=ZERO, note=_load_note(rollout)),
        Row("3", f"failed requests during scale 3 -> 1 -> 3, {RATE} req/s via NodePort", "errors",
            scaling["errors"], goal=ZERO, note=_load_note(scaling)),
    ]
    for row, event in zip(rows, events.EVENTS):
        if (event, "proxy") in found.get("failed", {}):
            row.error = found["failed"][(event, "proxy")]
    return rows


def _record(acc: dict, result: dict, took: float) -> None:
    acc["failed_at"] += result["failed_at"]
    acc["errors"].append(result["errors"])
    acc["sent"].append(result["sent"])
    acc["took"].append(took)
    for kind, n in (result.get("kinds") or {}).items():
        acc["kinds"][kind] = acc["kinds"].get(kind, 0) + n


def _load_note(acc: dict) -> str:
    if not acc["sent"]:
        return ""
    took = sorted(acc["took"])[len(acc["took"]) // 2]
    note = f"of ~{sorted(acc['sent'])[len(acc['sent']) // 2]} requests; change took {took:.0f} s"
    if acc["kinds"]:
        note += "; " + ", ".join(f"{k}: {v}" for k, v in sorted(acc["kinds"].items()))
    if acc["failed_at"]:
        note += f"; sent {min(acc['failed_at']):+.1f} s to {max(acc['failed_at']):+.1f} s from the change"
    return note


def _failures(found: dict, event: str) -> str:
    errors, requests = found.get((event, "errors"), []), found.get((event, "requests"), [])
    if not sum(errors):
        return "no request failed meanwhile"
    return f"{sum(errors)} of {sum(requests)} requests failed meanwhile (all runs)"
