"""Sections 1 and 6: `emukube up examples/pizza.yaml` until every Service answers, and
`emukube down`, against the same containers started with plain `docker run` (the floor) and
with `docker-compose`. The three are interleaved in every run, in a rotating order."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from emukube import Cluster
from emukube.client.cluster import unique_name
from emukube.runtime import engine

from . import baseline
from .context import Context, log
from .machine import cpu_seconds
from .measure import Row, at_most_x

ROOT = Path(__file__).resolve().parent.parent.parent
EMUKUBE = str(Path(sys.executable).parent / "emukube")


def pizza_copy() -> Path:
    """examples/pizza.yaml with its fixed nodePort 30080 left to allocation, so the benchmark
    never collides with a demo (NodePorts are host ports, unique across clusters)."""
    text = (ROOT / "examples" / "pizza.yaml").read_text()
    text = re.sub(r"^(\s*)nodePort: 30080\s*$", r"\1# nodePort: allocated by emukube", text, flags=re.M)
    fd, path = tempfile.mkstemp(prefix="ekbench-pizza-", suffix=".yaml")
    os.write(fd, text.encode())
    os.close(fd)
    return Path(path)


def busy_cpu() -> float:
    """CPU-seconds the machine has spent busy (all processes, the engine's and the kernel's),
    from /proc/stat: on 2 cores `up` is CPU-bound, and this is what bounds its wall time."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # less idle and iowait


def own_cpu(client, cluster: str) -> float:
    """CPU-seconds the cluster's controller container (its API server and controllers) has used."""
    return next((cpu_seconds(c) for c in engine.containers(client, cluster)
                 if c.labels.get("emukube.io/role") == "controller"), 0.0)


def api_requests(cluster: str, out: dict) -> float:
    """The requests the cluster's API server answered during `up` (its /metrics, read once `up`
    returned), and the resources most asked for, for the table's note."""
    text = Cluster(cluster).api().request("GET", "/metrics").get("text", "")
    by: dict[str, float] = {}
    for line in text.splitlines():
        found = re.fullmatch(r'apiserver_request_total\{(.*)\} (\S+)', line)
        if found:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', found.group(1)))
            what = f"{labels['verb']} {labels['resource'] or 'non-resource'}" + \
                (f"/{labels['subresource']}" if labels["subresource"] else "")
            by[what] = by.get(what, 0) + float(found.group(2))
    out["api requests by"] = by
    return sum(by.values())


def emukube_cycle(ctx: Context, manifest: Path, out: dict) -> None:
    name = unique_name("ekbu")
    try:
        t0, cpu0, cli0 = time.monotonic(), busy_cpu(), _children_cpu()
        result = subprocess.run([EMUKUBE, "up", str(manifest), "--cluster", name, "--timeout", "300s"],
                                capture_output=True, text=True, timeout=400)
        up = time.monotonic() - t0
        if result.returncode:
            raise RuntimeError(f"emukube up exited {result.returncode}: {result.stderr.strip()[-300:]}")
        out.setdefault("emukube up", []).append(up)
        out.setdefault("emukube up cpu", []).append(busy_cpu() - cpu0)
        out.setdefault("emukube own cpu", []).append(own_cpu(ctx.client, name) + _children_cpu() - cli0)
        out.setdefault("emukube api requests", []).append(api_requests(name, out))
        out["containers"] = len(engine.containers(ctx.client, name))
        t0 = time.monotonic()
        subprocess.run([EMUKUBE, "down", "--cluster", name], capture_output=True, timeout=300, check=True)
        out.setdefault("emukube down", []).append(time.monotonic() - t0)
    finally:
        Cluster(name).down()


def floor_cycle(ctx: Context, out: dict) -> None:
    layout = baseline.Layout(ctx.client, unique_name("f"))
    try:
        cpu0 = busy_cpu()
        out.setdefault("floor up", []).append(baseline.docker_run_up(layout))
        out.setdefault("floor up cpu", []).append(busy_cpu() - cpu0)
        out.setdefault("floor down", []).append(baseline.docker_run_down(ctx.client, layout))
        out["floor containers"] = len(layout.boxes)
    finally:
        layout.cleanup(ctx.client)


def ordered_cycle(ctx: Context, out: dict) -> None:
    layout = baseline.Layout(ctx.client, unique_name("o"))
    try:
        out.setdefault("ordered up", []).append(baseline.docker_run_ordered_up(layout))
    finally:
        layout.cleanup(ctx.client)


def compose_cycle(ctx: Context, out: dict) -> None:
    cmd = baseline.compose_command()
    if cmd is None:
        return
    layout = baseline.Layout(ctx.client, unique_name("c"))
    try:
        out.setdefault("compose up", []).append(baseline.compose_up(cmd, layout))
        out.setdefault("compose down", []).append(baseline.compose_down(cmd, layout))
    finally:
        layout.cleanup(ctx.client)


def measure_cycles(ctx: Context) -> dict:
    """Up and down, the three ways, ctx.runs times; kept for section 6."""
    if "pizza" in ctx.cache:
        return ctx.cache["pizza"]
    manifest = pizza_copy()
    out: dict = {"errors": {}}
    ways = [("emukube", lambda: emukube_cycle(ctx, manifest, out)), ("floor", lambda: floor_cycle(ctx, out)),
            ("compose", lambda: compose_cycle(ctx, out)), ("ordered", lambda: ordered_cycle(ctx, out))]
    try:
        for run in range(ctx.runs):
            for label, cycle in ways[run % len(ways):] + ways[:run % len(ways)]:
                log(f"pizza up/down run {run + 1}/{ctx.runs}: {label}")
                try:
                    cycle()
                    key = f"{label} up"
                    if out.get(key):  # each run's figure, for the spread the table's median hides
                        log(f"  {label} up took {out[key][-1]:.2f} s")
                except Exception as exc:  # noqa: BLE001 - reported in the table
                    out["errors"][label] = str(exc)[:200]
                    log(f"  {label} failed: {exc}")
    finally:
        manifest.unlink(missing_ok=True)
    ctx.cache["pizza"] = out
    return out


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _compose_label() -> str:
    cmd = baseline.compose_command()
    return f"{' '.join(cmd)} {baseline.compose_version(cmd)}" if cmd else ""


def _rows(out: dict, verb: str, section: str, measure: str, goal) -> list[Row]:
    errors = out["errors"]
    n = out.get("containers", "?")
    main = Row(section, measure.format(n=n), "s", out.get(f"emukube {verb}", []),
               f"docker run ({out.get('floor containers', '?')} containers, 8 at a time)",
               out.get(f"floor {verb}", []), goal)
    if "emukube" in errors or "floor" in errors:
        main.error = "; ".join(f"{k}: {v}" for k, v in errors.items() if k in ("emukube", "floor"))
    label = _compose_label()
    compose = Row(section, measure.format(n=n) + ", compose instead", "s", out.get(f"compose {verb}", []),
                  "docker run", out.get(f"floor {verb}", []))
    if not label:
        compose.error = "no compose implementation installed (benchmarks/setup.sh installs docker-compose)"
    elif "compose" in errors:
        compose.error = errors["compose"]
    else:
        compose.measure = f"{label} {verb} (same containers)"
    return [main, compose]


def run_up(ctx: Context) -> list[Row]:
    out = measure_cycles(ctx)
    rows = _rows(out, "up", "1", "emukube up pizza.yaml ({n} containers) until every Service answers",
                 at_most_x(1.3))
    busy = Row("1", "CPU the machine spent busy during that `up` (all processes)", "CPU-s",
               out.get("emukube up cpu", []), "docker run", out.get("floor up cpu", []))
    cores = os.cpu_count() or 1
    busy.note = (f"{cores} cores: at full use of all of them, that CPU alone takes "
                 f"{busy.value / cores:.2f} s of wall time" if busy.value else "")
    own = Row("1", "of which emukube's own processes (the CLI, the API server and controllers)", "CPU-s",
              out.get("emukube own cpu", []))
    requests = Row("1", "requests the cluster's API server answered during that `up` (its /metrics)", "requests",
                   out.get("emukube api requests", []))
    by = sorted((out.get("api requests by") or {}).items(), key=lambda kv: -kv[1])[:5]
    requests.note = "last run, most: " + ", ".join(f"{what} {n:.0f}" for what, n in by) if by else ""
    # What Kubernetes' order alone costs, with no emukube code: how much of the gap is the
    # semantics (a controller before anything, OrderedReady) and how much is emukube's.
    ordered = Row("1", "docker run in Kubernetes' order: a Python controller answering first, then the "
                  "rest, the StatefulSet's pods one at a time", "s", out.get("ordered up", []),
                  "docker run", out.get("floor up", []))
    if "ordered" in out["errors"]:
        ordered.error = out["errors"]["ordered"]
    return [*rows, busy, own, requests, ordered]


def run_down(ctx: Context) -> list[Row]:
    out = measure_cycles(ctx)
    rows = _rows(out, "down", "6", "emukube down, pizza.yaml ({n} containers)", None)
    if "scale100 down" in ctx.cache:
        n = ctx.cache["scale100 services"]
        rows.append(Row("6", f"emukube down, {n} Services x 2 pods", "s", ctx.cache["scale100 down"]))
    return rows
