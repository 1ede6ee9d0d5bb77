"""Discovery documents: /api, /apis, /apis/<group>, /api/v1 and /apis/<group>/<version>, always as
plain JSON (APIVersions, APIGroupList, APIResourceList): kubectl asks for aggregated discovery
first and falls back to these when the answer's Content-Type names no aggregated kind."""

from __future__ import annotations

from ..k8s.resources import Resource, groups, served
from . import errors, metrics

VERSION = {"major": "1", "minor": "35", "emulationMajor": "1", "emulationMinor": "35",
           "minCompatibilityMajor": "1", "minCompatibilityMinor": "34", "gitVersion": "v1.35.0",
           "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
           "buildDate": "2025-12-17T00:00:00Z", "goVersion": "go1.25.5", "compiler": "gc",
           "platform": "linux/amd64"}

_RW = ["get", "patch", "update"]
# Subresources other modules may serve, as discovery describes them: (group, version, kind, verbs)
_SUBRESOURCE_KINDS = {
    "scale": ("autoscaling", "v1", "Scale", _RW),
    "log": ("", "", "Pod", ["get"]),
    "exec": ("", "", "PodExecOptions", ["create", "get"]),
    "attach": ("", "", "PodAttachOptions", ["create", "get"]),
    "portforward": ("", "", "PodPortForwardOptions", ["create", "get"]),
    "proxy": ("", "", "PodProxyOptions", ["create", "delete", "get", "patch", "update"]),
    "eviction": ("policy", "v1", "Eviction", ["create"]),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ["create"]),
    "binding": ("", "", "Binding", ["create"]),
    "ephemeralcontainers": ("", "", "Pod", _RW),
    "finalize": ("", "", "Namespace", ["update"]),
}


def api_versions(server_address: str) -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group(name: str, versions: list[str]) -> dict:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def group_list(delegated: dict[str, list[str]] | None = None) -> dict:
    """Served groups, and those APIServices delegate to other servers (aggregation.py)."""
    served_groups = {name: versions for name, versions in groups().items() if name}
    listed = [_group(name, versions) for name, versions in served_groups.items()] + [metrics.group()]
    listed += [_group(name, versions) for name, versions in (delegated or {}).items() if name not in served_groups]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": listed}


def api_group(name: str, delegated: dict[str, list[str]] | None = None) -> dict:
    versions = (groups().get(name) or (delegated or {}).get(name)) if name else None
    if not versions:
        raise errors.no_such_path()
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def _entry(r: Resource) -> dict:
    entry = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
             "verbs": list(r.verbs)}
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if r.categories:
        entry["categories"] = list(r.categories)
    return entry


def _sub_entry(r: Resource, sub: str) -> dict:
    group, version, kind, verbs = _SUBRESOURCE_KINDS.get(sub, ("", "", r.kind, _RW))
    if sub == "proxy":  # PodProxyOptions, ServiceProxyOptions, NodeProxyOptions
        kind = f"{r.kind}ProxyOptions"
    entry = {"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced}
    if group or version:
        entry["group"], entry["version"] = group, version
    entry.update({"kind": kind, "verbs": list(verbs)})
    return entry


def resource_list(group: str, version: str, extra_subresources: dict | None = None) -> dict:
    """APIResourceList of a group/version; extra_subresources: resource key -> names served elsewhere."""
    listed = [r for r in served() if (r.group, r.version) == (group, version)]
    if not listed:
        raise errors.no_such_path()
    entries = []
    for r in listed:
        entries.append(_entry(r))
        subs = list(r.subresources) + [s for s in (extra_subresources or {}).get(r.key, ())
                                       if s not in r.subresources]
        if r.key == "namespaces" and "finalize" not in subs:
            subs.append("finalize")
        entries.extend(_sub_entry(r, s) for s in subs)
    entries.sort(key=lambda e: e["name"])
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}" if group else version,
            "resources": entries}
