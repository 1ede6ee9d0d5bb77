"""kubectl's names for resources: plural, singular, short names, kind, `plural.group`."""

from __future__ import annotations

from ..errors import EmukubeError
from .resources import RESOURCES, Resource

# What `kubectl apply` (and emukube's apply) keeps of what it last applied (manifests/last_applied.py).
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# The namespaces every cluster has from the start (kube-apiserver's system namespaces).
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

# Both event APIs serve one store: `get events` means the core one, as kubectl's discovery picks it.
_PREFERRED = {"events": "events", "ev": "events", "event": "events"}


def resolve(name: str) -> Resource:
    wanted = name.lower()
    if wanted in _PREFERRED:
        wanted = _PREFERRED[wanted]
    bare, _, group = wanted.partition(".")
    for res in RESOURCES:
        if wanted in (res.plural, res.singular, res.key, res.kind.lower(), *res.short_names):
            return res
        if group and group == res.group and bare in (res.singular, res.kind.lower()):  # deployment.apps
            return res
    raise EmukubeError(f'error: the server doesn\'t have a resource type "{name}"')


def kind_of(name: str, among: tuple[str, ...] = ()) -> str | None:
    """The Kind a name of kubectl's means ("svc", "deploy", "statefulsets.apps" ...); None when no
    resource has that name or, given `among`, when its Kind is not one of those."""
    try:
        kind = resolve(name).kind
    except EmukubeError:
        return None
    return kind if not among or kind in among else None


def category(name: str) -> list[Resource] | None:
    """`all`: the resources in that category, in discovery order."""
    found = [r for r in RESOURCES if name in r.categories]
    return found or None
