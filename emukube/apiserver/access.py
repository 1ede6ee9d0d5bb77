"""Authorization of every authenticated request, ahead of routing as kube-apiserver's filters do:
impersonation (Impersonate-User/-Group/-Uid, itself authorized), then RBAC over the stored
objects; a refusal is the API server's 403."""

from __future__ import annotations

from ..k8s.resources import BY_KEY
from . import errors
from .rbac import (
    AUTHENTICATED,
    MASTERS,
    UNAUTHENTICATED,
    Attributes,
    Policy,
    User,
    authorize,
    forbidden_message,
    service_account_groups,
    split_service_account,
)
from .request_info import of_request

_RBAC = "rbac.authorization.k8s.io"
_KINDS = {"roles": "roles." + _RBAC, "cluster_roles": "clusterroles." + _RBAC,
          "role_bindings": "rolebindings." + _RBAC, "cluster_role_bindings": "clusterrolebindings." + _RBAC}
# kubectl's WebSocket exec/attach/port-forward is a GET; kube-apiserver asks for create as well.
_STREAMS = ("exec", "attach", "portforward")


def policy(registry) -> Policy:
    return Policy(**{field: registry.list(BY_KEY[key], None)[0] for field, key in _KINDS.items()})


def forbidden(user: User, attrs: Attributes, reason: str = "") -> errors.ApiError:
    details: dict = {}
    if attrs.name:
        details["name"] = attrs.name
    if attrs.group:
        details["group"] = attrs.group
    if attrs.resource_request and attrs.resource:
        details["kind"] = attrs.resource
    return errors.ApiError(403, "Forbidden", forbidden_message(user, attrs, reason), details)


class Check:
    """One request's authorization; the policy is read once, and only for callers RBAC judges."""

    def __init__(self, registry):
        self.registry, self._policy = registry, None

    def policy(self) -> Policy:
        if self._policy is None:
            self._policy = policy(self.registry)
        return self._policy

    def allowed(self, user: User, attrs: Attributes) -> tuple[bool, str]:
        if MASTERS in user.groups:
            return True, ""
        return authorize(self.policy(), user, attrs)

    def require(self, user: User, attrs: Attributes) -> None:
        ok, reason = self.allowed(user, attrs)
        if not ok:
            raise forbidden(user, attrs, reason)


def _impersonated(request, user: User, check: Check) -> User:
    headers = request.headers
    name, groups, uid = headers.get("Impersonate-User"), headers.getall("Impersonate-Group", []), \
        headers.get("Impersonate-Uid")
    if name is None and not groups and uid is None:
        return user
    if not name:
        raise errors.bad_request("requested impersonation of groups or a uid without impersonating a user")
    account = split_service_account(name)
    if account is not None:
        check.require(user, Attributes("impersonate", resource="serviceaccounts", namespace=account[0],
                                       name=account[1]))
    else:
        check.require(user, Attributes("impersonate", resource="users", name=name))
    for group in groups:
        check.require(user, Attributes("impersonate", resource="groups", name=group))
    if uid:
        check.require(user, Attributes("impersonate", group="authentication.k8s.io", resource="uids", name=uid))
    if account is not None and not groups:
        groups = list(service_account_groups(account[0]))
    if name != "system:anonymous" and not {AUTHENTICATED, UNAUTHENTICATED} & set(groups):
        groups = [*groups, AUTHENTICATED]
    return User(name, tuple(groups), uid or "")


def check(request, user: User, registry) -> User:
    """The user the request acts as, once allowed; raises the 403 otherwise."""
    gate = Check(registry)
    user = _impersonated(request, user, gate)
    attrs = of_request(request)
    gate.require(user, attrs)
    if request.method == "GET" and attrs.resource == "pods" and attrs.subresource in _STREAMS:
        gate.require(user, Attributes("create", resource="pods", subresource=attrs.subresource,
                                      namespace=attrs.namespace, name=attrs.name, version=attrs.version))
    return user
