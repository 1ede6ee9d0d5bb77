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
    return _event(obj, "v1", _RENAMES)


def to_view(resource: Resource, obj: dict) -> dict:
    if getattr(resource, "storage_version", None) is not None:
        return _custom_version(resource, obj, resource.version)
    if resource.key != _V1_KEY or obj.get("apiVersion") == resource.api_version:
        return obj
    return _event(obj, resource.api_version, [(old, new) for new, old in _RENAMES])


def _event(obj: dict, api_version: str, renames) -> dict:
    """An Event in the other API's words: the shared fields as they are, the others renamed."""
    out = {"apiVersion": api_version, "kind": "Event"}
    out.update({key: obj[key] for key in _SAME if key in obj})
    out.update({to: obj[name] for name, to in renames if name in obj})
    return out
