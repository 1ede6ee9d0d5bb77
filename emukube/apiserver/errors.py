"""Status bodies for failures, worded as the real API server words them (clients such as kubectl and
client-go read `reason` and `code`, users read `message`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..k8s.resources import Resource

if TYPE_CHECKING:
    from aiohttp import web


class ApiError(Exception):
    """A failure answered as a meta/v1 Status."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict:
        body: dict = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason}
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body

    def response(self) -> web.Response:
        return status_response(self.status(), self.code)


def status_response(body: dict, code: int, headers: dict | None = None) -> web.Response:
    # aiohttp only where a response is made: `up` reads the API server's Status wording through this
    # package without loading a web framework.
    from aiohttp import web

    return web.Response(status=code, body=json.dumps(body).encode(), content_type="application/json",
                        headers=headers)


def _details(resource: Resource | None, name: str) -> dict:
    details: dict = {"name": name} if name else {}
    if resource is not None:
        if resource.group:
            details["group"] = resource.group
        details["kind"] = resource.plural  # the API server puts the resource (plural) here
    return details


def qualified(resource: Resource) -> str:
    """`pods`, `deployments.apps`: how NotFound/AlreadyExists/Conflict name the resource."""
    return resource.key


def not_found(resource: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{qualified(resource)} "{name}" not found', _details(resource, name))


def namespace_not_found(namespace: str) -> ApiError:
    return ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                    {"name": namespace, "kind": "namespaces"})


def no_such_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(resource: Resource, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{qualified(resource)} "{name}" already exists',
                    _details(resource, name))


def conflict(resource: Resource, name: str, why: str = "") -> ApiError:
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {qualified(resource)} "{name}": {why}',
                    _details(resource, name))


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def too_large(limit: int) -> ApiError:
    return ApiError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {limit}")


def unsupported_media(accepted: list[str]) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                    "accepted media types include: " + ", ".join(accepted))


def expired(requested: int, oldest: int) -> ApiError:
    return ApiError(410, "Expired", f"too old resource version: {requested} ({oldest})")


def invalid(resource: Resource, name: str, causes: list[tuple[str, str, str]], message: str = "") -> ApiError:
    """422, e.g. `Deployment.apps "x" is invalid: spec.replicas: Invalid value: -1: ...`."""
    if not message:
        parts = [f"{field}: {msg}" for field, msg, _ in causes]
        text = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
        message = f'{resource.group_kind} "{name}" is invalid: {text}'
    details: dict = {"name": name}
    if resource.group:
        details["group"] = resource.group
    details["kind"] = resource.kind
    details["causes"] = [{"reason": reason, "message": msg, "field": field} for field, msg, reason in causes]
    return ApiError(422, "Invalid", message, details)


def forbidden_terminating(resource: Resource, name: str, namespace: str) -> ApiError:
    why = f"unable to create new content in namespace {namespace} because it is being terminated"
    details = _details(resource, name)
    details["causes"] = [{"reason": "NamespaceTerminating", "message": why, "field": "metadata.namespace"}]
    return ApiError(403, "Forbidden", f'{qualified(resource)} "{name}" is forbidden: {why}', details)


def success(resource: Resource, name: str, uid: str = "") -> dict:
    """The Status a DELETE answers when the object is gone and the kind does not return it."""
    details = _details(resource, name)
    if uid:
        details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
