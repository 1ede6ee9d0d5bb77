"""What a request asks, in the authorizer's terms: apiserver's RequestInfoFactory, which reads the
URL before any routing (so a refused caller learns nothing of what exists)."""

from __future__ import annotations

from aiohttp import web

from .rbac import Attributes

_METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
                 "DELETE": "delete"}
_NAMESPACE_SUBRESOURCES = ("status", "finalize")
_TRUE = ("1", "t", "T", "TRUE", "true", "True")  # Go's strconv.ParseBool


def _field_name(selector: str) -> str:
    """The name a `metadata.name=x` field selector pins (RequiresExactMatch)."""
    for term in selector.split(","):
        for op in ("==", "="):
            key, sep, value = term.partition(op)
            if sep and key.strip() == "metadata.name" and "!" not in key:
                value = value.strip()
                return value if value and "/" not in value and value not in (".", "..") else ""
    return ""


def attributes(method: str, path: str, query) -> Attributes:
    parts = [p for p in path.split("/") if p]
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return Attributes(verb=method.lower(), resource_request=False, path=path)
    rest = parts[1:]
    group = ""
    if parts[0] == "apis":
        if len(rest) < 3:
            return Attributes(verb=method.lower(), resource_request=False, path=path)
        group, rest = rest[0], rest[1:]
    version, rest = rest[0], rest[1:]
    verb = ""
    if rest[0] in ("watch", "proxy"):
        verb, rest = rest[0], rest[1:]
        if not rest:
            return Attributes(verb=verb, group=group, version=version, path=path)
    else:
        verb = _METHOD_VERBS.get(method, "")
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 and verb != "proxy" else ""
    if not name and verb == "get":
        verb = "watch" if query.get("watch", "") in _TRUE else "list"
        name = _field_name(query.get("fieldSelector", ""))
    if not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(verb=verb, group=group, version=version, resource=resource, subresource=subresource,
                      namespace=namespace, name=name, path=path)


def of_request(request) -> Attributes:
    """attributes() of an aiohttp request, read once and kept on it: the metrics middleware and
    the authorizer both ask, for every request."""
    attrs = request.get(_KEY)
    if attrs is None:
        attrs = request[_KEY] = attributes(request.method, request.path, request.query)
    return attrs


# aiohttp 3.9+ asks for a typed key (a plain string warns); the controller's image has Debian's 3.8.
_KEY = web.RequestKey("emukube.request_info", Attributes) if hasattr(web, "RequestKey") else "emukube.request_info"
