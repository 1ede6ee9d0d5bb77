"""The pods/eviction subresource (policy/v1 Eviction), which `kubectl drain` posts: the pod is
deleted as by a DELETE unless a PodDisruptionBudget forbids it, which is answered 429 with the
API server's words (the decision: plan/disruption.py). An approved eviction takes one from the
budget's disruptionsAllowed and records the pod in disruptedPods, as kube-apiserver does, so
that concurrent evictions cannot overdraw it before the disruption controller counts again."""

from __future__ import annotations

import time

from aiohttp import web

from ..k8s.resources import BY_KEY, Resource
from ..plan.disruption import evict
from . import errors, negotiate
from .handlers import respond
from .objects import DeleteOpts, WriteOpts

BUDGETS = BY_KEY["poddisruptionbudgets.policy"]


def _delete_opts(eviction: dict) -> DeleteOpts:
    options = eviction.get("deleteOptions") or {}
    pre = options.get("preconditions") or {}
    grace = options.get("gracePeriodSeconds")
    return DeleteOpts(dry_run=bool(options.get("dryRun")), grace=None if grace is None else int(grace),
                      uid=pre.get("uid"), resource_version=pre.get("resourceVersion"))


async def create(request: web.Request, resource: Resource, namespace: str | None, name: str | None) -> web.Response:
    from .app import REGISTRY  # app imports this module when it builds the routes

    if request.method != "POST":
        raise errors.method_not_allowed()
    eviction = negotiate.decode_object(await negotiate.read_body(request), request.headers.get("Content-Type", ""))
    if (eviction.get("metadata") or {}).get("name") != name:
        raise errors.bad_request("name in URL does not match name in Eviction object")
    registry = request.app[REGISTRY]
    pod = registry.must_get(resource, namespace, name or "")
    opts = _delete_opts(eviction)
    opts.dry_run = opts.dry_run or bool(request.query.getall("dryRun", []))  # propagateDryRun
    budgets, _ = registry.list(BUDGETS, namespace)
    verdict = evict(pod, budgets, time.time())
    if not verdict.delete:
        details: dict = {"causes": [{"reason": "DisruptionBudget", "message": verdict.cause}]} if verdict.cause else {}
        if verdict.retry_after:
            details["retryAfterSeconds"] = verdict.retry_after
        error = errors.ApiError(verdict.code, verdict.reason, verdict.message, details or None)
        if verdict.retry_after:
            return errors.status_response(error.status(), error.code, {"Retry-After": str(verdict.retry_after)})
        raise error
    if verdict.budget is not None and not opts.dry_run:
        old = registry.must_get(BUDGETS, namespace, verdict.budget["metadata"]["name"])
        registry.update(BUDGETS, old, verdict.budget, WriteOpts(manager="kube-apiserver", subresource="status"),
                        admit=False)
    registry.delete(resource, namespace, name or "", opts)
    return respond({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}, 201)


HANDLERS = {("pods", "eviction"): create}
