"""The reviews clients create to ask the API server (never stored): authorization.k8s.io's
SelfSubjectAccessReview (`kubectl auth can-i`), SubjectAccessReview, LocalSubjectAccessReview and
SelfSubjectRulesReview (`can-i --list`); authentication.k8s.io's TokenReview and
SelfSubjectReview (`kubectl auth whoami`)."""

from __future__ import annotations

from aiohttp import web

from . import errors, negotiate
from .access import Check
from .authn import Authenticator, object_uids, user_info
from .handlers import respond
from .rbac import Attributes, User, rules_for

# The request's (impersonated) user, set by the middleware.
USER = web.RequestKey("emukube_user", User) if hasattr(web, "RequestKey") else "emukube_user"
_AUTHZ, _AUTHN = "authorization.k8s.io", "authentication.k8s.io"


def _invalid(kind: str, group: str, field_path: str, message: str, reason: str) -> errors.ApiError:
    return errors.ApiError(422, "Invalid", f'{kind}.{group} "" is invalid: {field_path}: {message}',
                           {"group": group, "kind": kind,
                            "causes": [{"reason": reason, "message": message, "field": field_path}]})


def _attributes(kind: str, spec: dict, namespace: str | None = None) -> Attributes:
    res, non = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if res and non:
        raise _invalid(kind, _AUTHZ, "spec.nonResourceAttributes", f"Invalid value: &authorization."
                       f'NonResourceAttributes{{Path:"{non.get("path", "")}", Verb:"{non.get("verb", "")}"}}: '
                       "cannot be specified in combination with resourceAttributes", "FieldValueInvalid")
    if non:
        return Attributes(non.get("verb", ""), resource_request=False, path=non.get("path", ""))
    if not res:
        raise _invalid(kind, _AUTHZ, "spec.resourceAttributes", 'Invalid value: "null": exactly one of '
                       "nonResourceAttributes or resourceAttributes must be specified", "FieldValueInvalid")
    return Attributes(res.get("verb", ""), group=res.get("group", ""), version=res.get("version", ""),
                      resource=res.get("resource", ""), subresource=res.get("subresource", ""),
                      namespace=res.get("namespace", "") if namespace is None else namespace,
                      name=res.get("name", ""))


def _answer(kind: str, group: str, body: dict, spec: dict, status: dict) -> web.Response:
    return respond({"kind": kind, "apiVersion": f"{group}/v1",
                    "metadata": {**(body.get("metadata") or {}), "creationTimestamp": None},
                    "spec": spec, "status": status}, 201)


def _access_status(allowed: bool, reason: str) -> dict:
    status: dict = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return status


def register(app: web.Application, registry, authenticator: Authenticator) -> None:
    """POST routes for the reviews, ahead of the API's catch-all; discovery lists them (k8s/resources.py)."""
    # Long because: six small handlers close over the registry and the authenticator, and the
    # routes that name them follow right after.

    uids = object_uids(registry)

    async def body_of(request: web.Request) -> dict:
        body = negotiate.decode_object(await negotiate.read_body(request), request.headers.get("Content-Type", ""))
        return body if isinstance(body, dict) else {}

    def asker(request: web.Request) -> User:
        return request[USER]

    async def self_access(request: web.Request) -> web.Response:
        body = await body_of(request)
        spec = body.get("spec") or {}
        allowed, reason = Check(registry).allowed(asker(request), _attributes("SelfSubjectAccessReview", spec))
        return _answer("SelfSubjectAccessReview", _AUTHZ, body, spec, _access_status(allowed, reason))

    async def subject_access(request: web.Request) -> web.Response:
        namespace = request.match_info.get("namespace")
        kind = "LocalSubjectAccessReview" if namespace else "SubjectAccessReview"
        body = await body_of(request)
        spec = body.get("spec") or {}
        if not spec.get("user") and not spec.get("groups"):
            raise _invalid(kind, _AUTHZ, "spec.user", 'Invalid value: "": at least one of user or group must be '
                           "specified", "FieldValueInvalid")
        attrs = _attributes(kind, spec, namespace)
        user = User(spec.get("user", ""), tuple(spec.get("groups") or ()), spec.get("uid", ""))
        allowed, reason = Check(registry).allowed(user, attrs)
        return _answer(kind, _AUTHZ, body, spec, _access_status(allowed, reason))

    async def self_rules(request: web.Request) -> web.Response:
        body = await body_of(request)
        spec = body.get("spec") or {}
        resource, non_resource, problems = rules_for(Check(registry).policy(), asker(request),
                                                     spec.get("namespace", ""))
        status: dict = {"resourceRules": resource, "nonResourceRules": non_resource, "incomplete": bool(problems)}
        if problems:
            status["evaluationError"] = ", ".join(problems)
        return _answer("SelfSubjectRulesReview", _AUTHZ, body, spec, status)

    async def token_review(request: web.Request) -> web.Response:
        body = await body_of(request)
        spec = body.get("spec") or {}
        # For the audiences asked for (an app's own, as Vault asks for its), else the API server's.
        user, audiences = authenticator.review(spec["token"], uids, spec.get("audiences")) if spec.get("token") \
            else (None, [])
        if user is None:
            status: dict = {"user": {}, "error": "[invalid bearer token, service account token is not valid]"}
        else:
            status = {"authenticated": True, "user": user_info(user), "audiences": audiences}
        return _answer("TokenReview", _AUTHN, body, spec, status)

    async def self_subject(request: web.Request) -> web.Response:
        body = await body_of(request)
        return respond({"kind": "SelfSubjectReview", "apiVersion": f"{_AUTHN}/v1",
                        "metadata": {**(body.get("metadata") or {}), "creationTimestamp": None},
                        "status": {"userInfo": user_info(asker(request))}}, 201)

    routes = {f"/apis/{_AUTHZ}/v1/selfsubjectaccessreviews": self_access,
              f"/apis/{_AUTHZ}/v1/subjectaccessreviews": subject_access,
              f"/apis/{_AUTHZ}/v1/namespaces/{{namespace}}/localsubjectaccessreviews": subject_access,
              f"/apis/{_AUTHZ}/v1/selfsubjectrulesreviews": self_rules,
              f"/apis/{_AUTHN}/v1/tokenreviews": token_review,
              f"/apis/{_AUTHN}/v1/selfsubjectreviews": self_subject}
    for path, handler in routes.items():
        app.router.add_post(path, handler)
