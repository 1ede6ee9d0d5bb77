"""The serviceaccounts/token subresource (authentication.k8s.io/v1 TokenRequest), which
`kubectl create token NAME` posts: a token of the ServiceAccount that this API server accepts
until it expires (one hour by default, ten minutes at least), for the audiences asked (a token
only for other audiences is refused here, as kube-apiserver refuses it). A token bound to an
object (--bound-object-kind) needs that object to exist; it is not revoked with it."""

from __future__ import annotations

import time

from aiohttp import web

from ..k8s.resources import BY_KEY, Resource
from . import errors, negotiate, sa_tokens
from .handlers import respond

TOKEN_REQUESTS = Resource("authentication.k8s.io", "v1", "TokenRequest", "tokenrequests")
HOUR, LEAST, MOST = 3600, 600, 1 << 32
_BOUND = {"Pod": BY_KEY["pods"], "Secret": BY_KEY["secrets"], "Node": BY_KEY["nodes"]}


def _problems(spec: dict) -> list[tuple[str, str, str]]:
    """ValidateTokenRequest, as (field, message, reason) causes."""
    out = []
    seconds = spec.get("expirationSeconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        return [("spec.expirationSeconds", f"Invalid value: {seconds!r}: must be an integer", "FieldValueInvalid")]
    if seconds < LEAST:
        out.append(("spec.expirationSeconds",
                    f"Invalid value: {seconds}: may not specify a duration less than 10 minutes", "FieldValueInvalid"))
    elif seconds > MOST:
        out.append(("spec.expirationSeconds",
                    f"Invalid value: {seconds}: may not specify a duration larger than 2^32 seconds",
                    "FieldValueInvalid"))
    return out


async def create(request: web.Request, resource: Resource, namespace: str | None, name: str | None) -> web.Response:
    from .app import REGISTRY, SIGNER  # app imports this module when it builds the routes

    if request.method != "POST":
        raise errors.method_not_allowed()
    body = negotiate.decode_object(await negotiate.read_body(request), request.headers.get("Content-Type", ""))
    registry = request.app[REGISTRY]
    account = registry.must_get(resource, namespace, name or "")
    spec = dict(body.get("spec") or {})
    spec["audiences"] = list(spec.get("audiences") or [sa_tokens.ISSUER])
    spec.setdefault("expirationSeconds", HOUR)
    spec.setdefault("boundObjectRef", None)
    problems = _problems(spec)
    if problems:
        raise errors.invalid(TOKEN_REQUESTS, name or "", problems)
    bound = spec.get("boundObjectRef") or {}
    if bound:
        kind = _BOUND.get(bound.get("kind", ""))
        if kind is None:
            raise errors.invalid(TOKEN_REQUESTS, name or "", [(
                "spec.boundObjectRef.kind", f"Unsupported value: \"{bound.get('kind', '')}\": supported values: "
                '"Node", "Pod", "Secret"', "FieldValueNotSupported")])
        registry.must_get(kind, namespace if kind.namespaced else None, bound.get("name", ""))
    signer = request.app[SIGNER]
    if signer is None:  # an API server without authentication has no signing key
        raise errors.ApiError(500, "InternalError", "this API server signs no tokens")
    now = int(time.time())
    expires = now + spec["expirationSeconds"]
    token = signer.mint(namespace or "default", name or "", now, audiences=spec["audiences"],
                        seconds=spec["expirationSeconds"], uid=account["metadata"].get("uid", ""))
    meta = {"name": name, "namespace": namespace, "creationTimestamp": None}
    return respond({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1", "metadata": meta,
                    "spec": spec, "status": {"token": token, "expirationTimestamp": time.strftime(
                        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))}}, 201)


HANDLERS = {("serviceaccounts", "token"): create}
