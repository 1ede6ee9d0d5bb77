"""The serviceaccounts/token subresource (authentication.k8s.io/v1 TokenRequest), which
`kubectl create token NAME` posts: a token of the ServiceAccount that this API server accepts
until it expires (one hour by default, ten minutes at least), for the audiences asked (a token
only for other audiences is refused here, as kube-apiserver refuses it). A token bound to an
object (--bound-object-kind Pod, Secret or Node) names it, and is refused once it is gone."""

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
    claims = _bound_claims(registry, name or "", namespace, spec.get("boundObjectRef") or {})
    signer = request.app[SIGNER]
    if signer is None:  # an API server without authentication has no signing key
        raise errors.ApiError(500, "InternalError", "this API server signs no tokens")
    now = int(time.time())
    expires = now + spec["expirationSeconds"]
    token = signer.mint(namespace or "default", name or "", now, audiences=spec["audiences"],
                        seconds=spec["expirationSeconds"], uid=account["metadata"].get("uid", ""), bound=claims)
    meta = {"name": name, "namespace": namespace, "creationTimestamp": None}
    return respond({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1", "metadata": meta,
                    "spec": spec, "status": {"token": token, "expirationTimestamp": time.strftime(
                        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))}}, 201)


def _bound_claims(registry, account: str, namespace: str | None, ref: dict) -> dict[str, dict]:
    """The claims naming what the token is bound to (`--bound-object-kind`), as the
    serviceaccounts/token storage checks it: the object exists, is the one the ref's uid names,
    and a pod runs as this account; a pod's node is named too (ServiceAccountTokenPodNodeInfo)."""
    if not ref:
        return {}
    kind = _BOUND.get(ref.get("kind", ""))
    if kind is None:
        raise errors.invalid(TOKEN_REQUESTS, account, [(
            "spec.boundObjectRef.kind", f"Unsupported value: \"{ref.get('kind', '')}\": supported values: "
            '"Node", "Pod", "Secret"', "FieldValueNotSupported")])
    obj = registry.must_get(kind, namespace if kind.namespaced else None, ref.get("name", ""))
    uid = obj["metadata"].get("uid", "")
    spec = obj.get("spec") or {}
    if kind.kind == "Pod" and (spec.get("serviceAccountName") or "default") != account:
        raise errors.bad_request(f'cannot bind token for serviceaccount "{account}" to pod running with different '
                                 "serviceaccount name.")
    if ref.get("uid") and ref["uid"] != uid:
        raise errors.ApiError(409, "Conflict", f'Operation cannot be fulfilled on {kind.kind} "{ref["name"]}": the UID '
                              f"in the bound object reference ({ref['uid']}) does not match the UID in record. The "
                              "object might have been deleted and then recreated",
                              {"name": ref["name"], "kind": kind.kind})
    claims = {kind.kind.lower(): {"name": ref["name"], "uid": uid}}
    node = registry.get(_BOUND["Node"], None, spec["nodeName"]) if kind.kind == "Pod" and spec.get("nodeName") else None
    if node is not None:
        claims["node"] = {"name": spec["nodeName"], "uid": node["metadata"].get("uid", "")}
    return claims


HANDLERS = {("serviceaccounts", "token"): create}
