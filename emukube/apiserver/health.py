"""/healthz, /livez and /readyz as kube-apiserver answers them: "ok", or with ?verbose one line
per check ("[+]etcd ok") and "readyz check passed", as CI scripts print them; /readyz/etcd alone;
?exclude=NAME leaves a check out. The store stands where kube-apiserver names etcd. /metrics/slis
counts them as kube-apiserver's health SLIs do: each check's last result and how many times it
passed and failed, per endpoint (what a Prometheus probing the control plane's health scrapes)."""

from __future__ import annotations

from collections import Counter
from typing import Callable

from aiohttp import web

from .prometheus import CONTENT_TYPE, family

# endpoint -> its checks, in kube-apiserver's order (those emukube has an equivalent of)
_CHECKS = {
    "healthz": ("ping", "log", "etcd"),
    "livez": ("ping", "log", "etcd"),
    "readyz": ("ping", "log", "etcd", "etcd-readiness", "informer-sync", "shutdown"),
}


def register(app: web.Application, store_answers: Callable[[], bool]) -> None:
    last: dict[tuple[str, str], bool] = {}  # (check, endpoint) -> passed when last run
    runs: Counter[tuple[str, str, str]] = Counter()  # (check, "success" | "error", endpoint)

    def check(name: str) -> bool:
        return store_answers() if name.startswith("etcd") else True

    def counted(name: str, endpoint: str) -> bool:
        ok = last[(name, endpoint)] = check(name)
        runs[(name, "success" if ok else "error", endpoint)] += 1
        return ok

    def handler(endpoint: str):
        async def answer(request: web.Request) -> web.Response:
            tail = request.match_info.get("tail", "")
            checks = _CHECKS[endpoint]
            if tail:  # one check by name
                if tail not in checks:
                    return web.Response(status=404, text="404 page not found\n", content_type="text/plain")
                ok = check(tail)
                return _text(200 if ok else 500, "ok" if ok else f"[-]{tail} failed: reason withheld\n")
            excluded = set(request.query.getall("exclude", []))
            results = [(name, counted(name, endpoint)) for name in checks if name not in excluded]
            passed = all(ok for _, ok in results)
            verbose = "verbose" in request.query
            if passed and not verbose:
                return _text(200, "ok")
            lines = [f"[+]{name} ok" if ok else f"[-]{name} failed: reason withheld" for name, ok in results]
            lines += [f"{name} check excluded: ok" for name in checks if name in excluded]
            lines.append(f"{endpoint} check {'passed' if passed else 'failed'}")
            return _text(200 if passed else 500, "\n".join(lines) + "\n")
        return answer

    async def slis(_request: web.Request) -> web.Response:
        out: list[str] = []
        if last:  # a family with no samples is left out, as the Prometheus client leaves it
            family(out, "kubernetes_healthcheck", "gauge",
                   "[STABLE] This metric records the result of a single healthcheck.",
                   [(f'{{name="{n}",type="{t}"}}', "1" if ok else "0") for (n, t), ok in sorted(last.items())])
            family(out, "kubernetes_healthchecks_total", "counter",
                   "[STABLE] This metric records the results of all healthcheck.",
                   [(f'{{name="{n}",status="{s}",type="{t}"}}', str(c)) for (n, s, t), c in sorted(runs.items())])
        return web.Response(body="".join(line + "\n" for line in out).encode(),
                            headers={"Content-Type": CONTENT_TYPE})

    for endpoint in _CHECKS:
        app.router.add_get(f"/{endpoint}", handler(endpoint))
        app.router.add_get(f"/{endpoint}/{{tail:.*}}", handler(endpoint))
    app.router.add_get("/metrics/slis", slis)


def _text(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain")
