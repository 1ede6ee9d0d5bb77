"""The RuntimeClass admission plugin (plugin/pkg/admission/runtimeclass), pure: what it makes of
a new pod given the RuntimeClass its runtimeClassName names. Read by the API server's admission
and by the controller's loop, which asks before it makes a workload's pod. Pods still run on
the engine's one runtime whatever their class's handler says."""

from __future__ import annotations

from .canonical_quantity import exact

NOT_FOUND = 'pod rejected: RuntimeClass "{name}" not found'
OVERHEAD_MISMATCH = "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"
OVERHEAD_WITHOUT_CLASS = "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead"
CONFLICT = ("conflict: runtimeClass.scheduling.nodeSelector[{key}] = {class_value}; "
            "pod.spec.nodeSelector[{key}] = {pod_value}")


def admit(spec: dict, found: dict | None) -> tuple[dict, str]:
    """(the pod's spec as the plugin's Admit and Validate leave it, the reason it refuses the pod
    or ""). found: the RuntimeClass spec.runtimeClassName names, None when there is none of
    that name (or the pod names none)."""
    wanted = spec.get("runtimeClassName")
    if wanted and found is None:
        return spec, NOT_FOUND.format(name=wanted)
    out = dict(spec)
    rc = found if wanted else None
    if rc is not None and isinstance(rc.get("overhead"), dict):  # setOverhead
        fixed = rc["overhead"].get("podFixed")
        if out.get("overhead") and not same_resources(fixed, out.get("overhead")):
            return spec, OVERHEAD_MISMATCH
        if fixed:
            out["overhead"] = dict(fixed)
        else:
            out.pop("overhead", None)
    if rc is not None and isinstance(rc.get("scheduling"), dict):  # setScheduling
        scheduling = rc["scheduling"]
        selector: dict | None = scheduling.get("nodeSelector") or None
        if out.get("nodeSelector") is None:
            merged = dict(selector) if selector is not None else None
        else:
            merged = dict(out["nodeSelector"])
            for key, value in sorted((selector or {}).items()):
                if key in merged and merged[key] != value:
                    return spec, CONFLICT.format(key=key, class_value=value, pod_value=merged[key])
                merged[key] = value
        if merged is None:
            out.pop("nodeSelector", None)
        else:
            out["nodeSelector"] = merged
        tolerations = merge_tolerations(out.get("tolerations") or [], scheduling.get("tolerations") or [])
        if tolerations:
            out["tolerations"] = tolerations
        else:
            out.pop("tolerations", None)
    # validateOverhead
    if rc is not None and isinstance(rc.get("overhead"), dict):
        if not same_resources(rc["overhead"].get("podFixed"), out.get("overhead")):
            return spec, OVERHEAD_MISMATCH
    elif out.get("overhead") is not None:
        return spec, OVERHEAD_WITHOUT_CLASS
    return out, ""


def same_resources(a: object, b: object) -> bool:
    """apiequality.Semantic.DeepEqual of two ResourceLists: the same names, each quantity of
    the same value (nil and empty alike)."""
    a = a if isinstance(a, dict) else {}
    b = b if isinstance(b, dict) else {}
    return set(a) == set(b) and all(exact(a[k]) is not None and exact(a[k]) == exact(b[k]) for k in a)


def _toleration(t: dict) -> tuple:
    seconds = t.get("tolerationSeconds")
    return (t.get("key") or "", t.get("operator") or "", t.get("value") or "", t.get("effect") or "",
            seconds if isinstance(seconds, int) and not isinstance(seconds, bool) else None)


def _is_superset(ss: dict, t: dict) -> bool:
    """isSuperset: whether ss tolerates everything t does."""
    s_key, s_op, s_value, s_effect, s_seconds = _toleration(ss)
    t_key, t_op, t_value, t_effect, t_seconds = _toleration(t)
    if _toleration(ss) == _toleration(t):
        return True
    if t_key != s_key and (s_key != "" or s_op != "Exists"):  # an empty key with Exists matches all keys
        return False
    if t_effect != s_effect and s_effect != "":  # an empty effect matches all effects
        return False
    if s_effect == "NoExecute" and s_seconds is not None and (t_seconds is None or t_seconds > s_seconds):
        return False
    if s_op in ("Equal", ""):
        return bool(t_op == "Equal" and t_value == s_value)
    return bool(s_op == "Exists")


def merge_tolerations(first: list, second: list) -> list:
    """tolerations.MergeTolerations: both lists, without those another one covers (of two
    equal ones, the first stays)."""
    every = [t for t in [*first, *second] if isinstance(t, dict)]
    merged: list[dict] = []
    for i, t in enumerate(every):
        if any(_is_superset(kept, t) for kept in merged):
            continue
        if any(_toleration(t) != _toleration(later) and _is_superset(later, t) for later in every[i + 1:]):
            continue
        merged.append(t)
    return merged
