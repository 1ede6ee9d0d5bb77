"""events.k8s.io/v1 Events are stored as core v1 Events (as the API server stores them) and converted
on the way in and out; every other resource is served as stored."""

from __future__ import annotations

from ..k8s.resources import BY_KEY, Resource

CORE_EVENTS = BY_KEY["events"]
_V1_KEY = "events.events.k8s.io"

# (events.k8s.io field, core field)
_RENAMES = (("note", "message"), ("regarding", "involvedObject"), ("reportingController", "reportingComponent"),
            ("deprecatedSource", "source"), ("deprecatedFirstTimestamp", "firstTimestamp"),
            ("deprecatedLastTimestamp", "lastTimestamp"), ("deprecatedCount", "count"))
_SAME = ("metadata", "eventTime", "series", "reportingInstance", "action", "reason", "related", "type")


def storage_resource(resource: Resource) -> Resource:
    """The resource objects are stored under (events.k8s.io Events live under core "events")."""
    return CORE_EVENTS if resource.key == _V1_KEY else resource


def _custom_version(resource: Resource, obj: dict, version: str) -> dict:
    """A custom resource's versions differ by apiVersion only (conversion strategy None)."""
    api_version = f"{resource.group}/{version}"
    return obj if not version or obj.get("apiVersion") == api_version else {**obj, "apiVersion": api_version}


def to_storage(resource: Resource, obj: dict) -> dict:
    storage = getattr(resource, "storage_version", None)
    if storage is not None:
        return _custom_version(resource, obj, storage)
    if resource.key != _V1_KEY:
        return obj
    out = {"apiVersion": "v1", "kind": "Event"}
    for key in _SAME:
        if key in obj:
            out[key] = obj[key]
    for new, old in _RENAMES:
        if new in obj:
            out[old] = obj[new]
    return out


def to_view(resource: Resource, obj: dict) -> dict:
    if getattr(resource, "storage_version", None) is not None:
        return _custom_version(resource, obj, resource.version)
    if resource.key != _V1_KEY or obj.get("apiVersion") == resource.api_version:
        return obj
    out = {"apiVersion": resource.api_version, "kind": "Event"}
    for key in _SAME:
        if key in obj:
            out[key] = obj[key]
    for new, old in _RENAMES:
        if old in obj:
            out[new] = obj[old]
    return out
