"""GET /api/v1/componentstatuses (`kubectl get cs`), computed on each request as kube-apiserver
computes it (the kind is deprecated, and says so in a Warning). The scheduler and the
controller manager are both the control loop here: healthy while it writes its report, which it
does every tick; etcd is the store."""

from __future__ import annotations

import os
import time

from aiohttp import web

from ..k8s.resources import Resource
from . import errors, handlers, negotiate

DEPRECATION = "v1 ComponentStatus is deprecated in v1.19+"
STALE = 30.0  # seconds without a report after which the loop counts as down
_KEY = getattr(web, "AppKey", lambda name, kind: name)("emukube_report_path", str)


def register(app: web.Application, state_dir: str) -> None:
    app[_KEY] = os.path.join(state_dir, "status.json")


def _component(name: str, healthy: bool, error: str = "") -> dict:
    condition = {"type": "Healthy", "status": "True" if healthy else "False", "message": "ok" if healthy else ""}
    if error:
        condition["error"] = error
    return {"kind": "ComponentStatus", "apiVersion": "v1", "metadata": {"name": name}, "conditions": [condition]}


def _loop_error(report: str | None, now: float) -> str:
    """Why the control loop is not healthy; "" when it is (or cannot be asked: no state dir)."""
    if report is None:
        return ""
    try:
        age = now - os.stat(report).st_mtime
    except OSError:
        return "the control loop has written no report yet"
    return f"the control loop wrote its last report {age:.0f}s ago" if age > STALE else ""


def statuses(report: str | None, store_answers: bool, now: float) -> list[dict]:
    loop = _loop_error(report, now)
    return [_component(name, not loop, loop) for name in ("controller-manager", "scheduler")] + [
        _component("etcd-0", store_answers, "" if store_answers else "the store does not answer")]


async def serve(request: web.Request, resource: Resource, name: str | None, store_answers: bool) -> web.Response:
    items = statuses(request.app.get(_KEY), store_answers, time.time())
    want = negotiate.wanted(request.headers.get("Accept"), request.query.get("includeObject"))
    if name is None:
        return handlers.respond(negotiate.render_list(resource, items, {}, want), warnings=[DEPRECATION])
    found = next((c for c in items if c["metadata"]["name"] == name), None)
    if found is None:
        raise errors.not_found(resource, name)
    return handlers.respond(negotiate.render_one(resource, found, want), warnings=[DEPRECATION])
