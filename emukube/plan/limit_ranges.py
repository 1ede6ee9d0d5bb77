"""LimitRanges: their defaulting, and the LimitRanger admission plugin: a new pod's containers get
the namespace's default requests and limits, then the minimums, maximums and ratios are checked.
Pure: from plain objects.

Rules read from kubernetes' pkg/apis/core/v1/defaults.go (SetDefaults_LimitRangeItem) and
plugin/pkg/admission/limitranger (defaultContainerResourceRequirements, PodValidateLimitFunc)."""

from __future__ import annotations

import copy

from .quantity import quantity
from .quota import format_amount

TYPES = ["Pod", "Container", "PersistentVolumeClaim"]
ANNOTATION = "kubernetes.io/limit-ranger"


def default_item(item: dict) -> None:
    """SetDefaults_LimitRangeItem: a Container item's default limit is its max, its default
    request its default limit, else its min."""
    if item.get("type") != "Container":
        return
    default = item.setdefault("default", {})
    request = item.setdefault("defaultRequest", {})
    for source, target in ((item.get("max") or {}, default), (default, request), (item.get("min") or {}, request)):
        for key, value in source.items():
            target.setdefault(key, value)
    for key in ("default", "defaultRequest"):
        if not item[key]:
            del item[key]


def _items(ranges: list[dict], kind: str) -> list[dict]:
    return [i for r in sorted(ranges, key=lambda r: r["metadata"]["name"])
            for i in (r.get("spec") or {}).get("limits") or [] if i.get("type") == kind]


def with_defaults(pod_spec: dict, ranges: list[dict]) -> tuple[dict, str]:
    """The pod spec with the Container items' default requests and limits where its containers
    give none, and the annotation that says what was set ("" when nothing)."""
    spec = copy.deepcopy(pod_spec)
    said = []
    inits = spec.get("initContainers") or []
    for item in _items(ranges, "Container"):
        for c in inits + (spec.get("containers") or []):
            resources = c.setdefault("resources", {})
            what = "init container" if any(c is i for i in inits) else "container"
            for field, kind in (("defaultRequest", "requests"), ("default", "limits")):
                added = [k for k in sorted(item.get(field) or {}) if k not in (resources.get(kind) or {})]
                for key in added:
                    resources.setdefault(kind, {})[key] = item[field][key]
                if added:
                    said.append(f"{', '.join(added)} {kind[:-1]} for {what} {c.get('name', '')}")
            if not resources:
                del c["resources"]
    return spec, ("LimitRanger plugin set: " + "; ".join(said)) if said else ""


def _check(kind: str, item: dict, requests: dict, limits: dict) -> list[str]:
    out = []
    for key, least in sorted((item.get("min") or {}).items()):
        asked = requests.get(key)
        if asked is None:
            out.append(f"minimum {key} usage per {kind} is {least}.  No request is specified")
        elif (quantity(asked) or 0) < (quantity(least) or 0):
            out.append(f"minimum {key} usage per {kind} is {least}, but request is {asked}")
    for key, most in sorted((item.get("max") or {}).items()):
        limit = limits.get(key)
        if limit is None:
            out.append(f"maximum {key} usage per {kind} is {most}.  No limit is specified")
        elif (quantity(limit) or 0) > (quantity(most) or 0):
            out.append(f"maximum {key} usage per {kind} is {most}, but limit is {limit}")
    for key, ratio in sorted((item.get("maxLimitRequestRatio") or {}).items()):
        limit, asked = quantity(limits.get(key)), quantity(requests.get(key))
        if limit and asked and limit / asked > (quantity(ratio) or 0):
            out.append(f"{key} max limit to request ratio per {kind} is {ratio}, but provided ratio is "
                       f"{limit / asked:f}")
    return out


def _pod_total(spec: dict, kind: str) -> dict:
    total: dict[str, float] = {}
    for c in spec.get("containers") or []:
        for key, value in ((c.get("resources") or {}).get(kind) or {}).items():
            total[key] = total.get(key, 0.0) + (quantity(value) or 0.0)
    return {k: format_amount(k, v) for k, v in total.items()}


def refusal(pod_spec: dict, ranges: list[dict]) -> str:
    """"" when the (defaulted) pod spec is within the ranges, else the plugin's message (after
    `pods "x" is forbidden: `): one problem, or all in brackets."""
    problems = []
    containers = (pod_spec.get("containers") or []) + (pod_spec.get("initContainers") or [])
    for item in _items(ranges, "Container"):
        for c in containers:
            resources = c.get("resources") or {}
            problems += _check("Container", item, resources.get("requests") or {}, resources.get("limits") or {})
    for item in _items(ranges, "Pod"):
        problems += _check("Pod", item, _pod_total(pod_spec, "requests"), _pod_total(pod_spec, "limits"))
    if not problems:
        return ""
    return problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"


def admit(pod_spec: dict, ranges: list[dict]) -> tuple[dict, str, str]:
    """(the defaulted spec, the limit-ranger annotation or "", the refusal or "")."""
    spec, said = with_defaults(pod_spec, ranges)
    return spec, said, refusal(spec, ranges)
