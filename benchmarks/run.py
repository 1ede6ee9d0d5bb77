"""emukube benchmarks: one command, one table (`make bench`, or .venv/bin/python benchmarks/run.py).

    run.py [--runs N] [--only up|proxy|replace|dns|ingress|scale100|down|api|streams|helm|live] [--quick] [--results FILE]

Every figure is the median of --runs runs (default 3), compared side by side with its
baseline measured in the same run. A full run writes benchmarks/RESULTS.md; --only and
--quick runs print the table and write nothing unless --results is given.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import api, dns, helm, ingress, live, proxy, replace, scale100, startup, streams, table, tools  # noqa: E402
from bench.context import Context, log  # noqa: E402
from bench.machine import describe  # noqa: E402
from bench.measure import Row  # noqa: E402

from emukube.runtime import engine  # noqa: E402

SECTIONS = {  # name -> (number, what, function); run in this order
    "up": ("1", "emukube up vs docker run vs compose", startup.run_up),
    "proxy": ("2", "proxy throughput, latency, memory", proxy.run),
    "replace": ("3", "pod replacement and endpoint convergence", replace.run),
    "dns": ("4", "DNS update latency and queries/s", dns.run),
    "ingress": ("11", "HTTP through an Ingress, and a rule change served", ingress.run),
    "scale100": ("5", "100 Services x 2 pods", scale100.run),
    "down": ("6", "emukube down", startup.run_down),
    "api": ("7", "Kubernetes API: kubectl, watch, scale", api.run),
    "streams": ("8", "kubectl exec and port-forward through the API", streams.run),
    "helm": ("9", "helm install against emukube up of the rendered chart", helm.run),
    "live": ("10", "a running workload: ConfigMap change, crashed container restart", live.run),
}
WORKLOAD_USERS = ("proxy", "replace", "dns", "ingress")  # sections sharing benchmarks/manifests/workload.yaml
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=None, help="runs per figure (median; default 3, --quick 1)")
    p.add_argument("--only", action="append", choices=list(SECTIONS), help="run this section (repeatable)")
    p.add_argument("--quick", action="store_true", help="short smoke run: 1 run, small loads, 10 Services")
    p.add_argument("--results", type=Path, help="write the Markdown table here")
    args = p.parse_args(argv)
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    if args.runs < 1:
        p.error("--runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    client = engine.connect()
    machine = describe(client)
    log("building the load tools (hey, ekload) if needed")
    tools.hey(), tools.ekload()
    ctx = Context(client=client, runs=args.runs, quick=args.quick)
    rows: list[Row] = []
    selected = [n for n in SECTIONS if not args.only or n in args.only]
    last_workload_user = ([n for n in selected if n in WORKLOAD_USERS] or [None])[-1]
    started = time.monotonic()
    try:
        for name in selected:
            number, what, fn = SECTIONS[name]
            log(f"section {number}: {what}")
            try:
                rows += fn(ctx)
            except Exception as exc:  # noqa: BLE001 - one broken section must not hide the others
                log(traceback.format_exc())
                rows.append(Row(number, what, "", error=f"{type(exc).__name__}: {str(exc)[:200]}"))
            if name == last_workload_user:
                ctx.close()  # the shared workload cluster is not needed any more
    finally:
        ctx.close()
    minutes = (time.monotonic() - started) / 60
    machine["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text = table.text(rows)
    print(text)
    target = args.results or (RESULTS if not args.only and not args.quick else None)
    if target:
        target.write_text(results_markdown(rows, machine, args, minutes))
        log(f"wrote {target}")
    return 1 if any(r.error for r in rows) else 0


def results_markdown(rows: list[Row], machine: dict, args: argparse.Namespace, minutes: float) -> str:
    how = " ".join(["make bench"] + ([f"--runs {args.runs}"] if args.runs != 3 else []) +
                   [f"--only {o}" for o in args.only or []] + (["--quick"] if args.quick else []))
    lines = ["# emukube benchmark results", "",
             f"`{how}` (median of {args.runs} runs, {minutes:.0f} min). "
             "Baselines are measured in the same run, interleaved.", "",
             "| machine | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in machine.items()]
    lines += ["", table.markdown(rows), "",
              "What each row measures: benchmarks/README.md. Figures from a machine that other "
              "work shares are noisy; compare rows of the same run.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
