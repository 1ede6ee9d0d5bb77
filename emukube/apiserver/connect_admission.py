"""Admission of CONNECT requests (pods/exec, pods/attach, pods/portforward): the webhooks whose
rules name them are sent the request's options (PodExecOptions, ...) before the stream opens, as
kube-apiserver sends them; a denial is the answer kubectl prints instead of a shell."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..k8s.resources import BY_KEY
from . import webhooks

_KINDS = {"exec": "PodExecOptions", "attach": "PodAttachOptions", "portforward": "PodPortForwardOptions"}


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true")


def options_of(request: web.Request, subresource: str) -> dict:
    """The options object the API server decodes from the query (no defaults it would not add)."""
    out: dict = {"kind": _KINDS[subresource], "apiVersion": "v1"}
    if subresource == "portforward":
        ports = [int(p) for p in request.query.getall("ports", []) if p.isdigit()]
        return {**out, **({"ports": ports} if ports else {})}
    for name in ("stdin", "stdout", "stderr", "tty"):
        if _flag(request, name):
            out[name] = True
    if request.query.get("container"):
        out["container"] = request.query["container"]
    if subresource == "exec":
        out["command"] = request.query.getall("command", [])
    return out


async def admit_connect(request: web.Request, registry, namespace: str, name: str, subresource: str) -> None:
    """Raise the webhooks' refusal of this CONNECT; return when none refuses (or none matches)."""
    if subresource not in _KINDS:
        return
    from .handlers import requester

    admitter = webhooks.Admitter(registry.store, requester(request))
    req = webhooks.Request("CONNECT", BY_KEY["pods"], namespace, name, admitter.user, subresource=subresource,
                           obj=options_of(request, subresource))
    if not admitter.configured(req, ("CONNECT",)):
        return
    warnings: list[str] = []

    def ask() -> None:
        admitter.mutate(req, warnings)
        admitter.validate(req, warnings)

    await asyncio.to_thread(ask)  # the webhook's own requests are served meanwhile
