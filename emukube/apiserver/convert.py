"""events.k8s.io/v1 Events are stored as core v1 Events (as the API server stores them) and converted
on the way in and out; custom resources are stored in their CRD's storage version and served in the
version asked for (by their CRD's webhook when it has one); every other resource is served as stored."""

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


def by_webhook(resource: Resource) -> bool:
    """A custom resource its CRD's webhook converts: reading or writing it may wait on the webhook."""
    return getattr(resource, "conversion", None) is not None


def _custom_versions(resource: Resource, objs: list[dict], version: str, listed: bool = False) -> list[dict]:
    """Custom resources in `version`: relabelled (conversion strategy None), or converted by the
    CRD's webhook (crd_conversion.py)."""
    api_version = f"{resource.group}/{version}"
    conversion = getattr(resource, "conversion", None)
    if conversion is None:
        return [o if o.get("apiVersion") == api_version else {**o, "apiVersion": api_version} for o in objs]
    from . import crd_conversion

    first = next((o for o in objs if o.get("apiVersion") != api_version), None)
    if first is None:
        return objs
    named = crd_conversion.gvk(first.get("apiVersion", ""), resource.kind + ("List" if listed else ""))
    return crd_conversion.convert(conversion, objs, api_version, named, listed)


def to_storage(resource: Resource, obj: dict) -> dict:
    storage = getattr(resource, "storage_version", None)
    if storage is not None:
        return _custom_versions(resource, [obj], storage)[0]
    if resource.key != _V1_KEY:
        return obj
    return _event(obj, "v1", _RENAMES)


def to_view(resource: Resource, obj: dict) -> dict:
    if getattr(resource, "storage_version", None) is not None:
        return _custom_versions(resource, [obj], resource.version)[0]
    if resource.key != _V1_KEY or obj.get("apiVersion") == resource.api_version:
        return obj
    return _event(obj, resource.api_version, [(old, new) for new, old in _RENAMES])


def served_as_stored(resource: Resource) -> bool:
    """Whether to_view() gives every stored object of the resource back as it is."""
    return getattr(resource, "storage_version", None) is None and resource.key != _V1_KEY


def to_views(resource: Resource, objs: list[dict]) -> list[dict]:
    """A list's items as the client asked for them: a webhook converts them in one review."""
    if getattr(resource, "storage_version", None) is not None:
        return _custom_versions(resource, objs, resource.version, listed=True)
    return [to_view(resource, o) for o in objs]


def _event(obj: dict, api_version: str, renames) -> dict:
    """An Event in the other API's words: the shared fields as they are, the others renamed."""
    out = {"apiVersion": api_version, "kind": "Event"}
    out.update({key: obj[key] for key in _SAME if key in obj})
    out.update({to: obj[name] for name, to in renames if name in obj})
    return out
