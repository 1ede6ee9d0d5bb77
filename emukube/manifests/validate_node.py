"""RuntimeClass validation (pkg/apis/node/validation) and the checks of pkg/apis/core/validation
it reuses: a pod overhead's resources (ValidateContainerResourceRequirements) and tolerations
(ValidateTolerations); its warnings (pkg/api/node GetWarningsForRuntimeClass) and what an update
may not change. Nothing acts on a class's handler: pods run on the engine's one runtime."""

from __future__ import annotations

import json
import math
from fractions import Fraction

from ..plan.canonical_quantity import canonical, exact
from ..plan.quantity import FORMAT_ERROR
from .fielderrors import FieldErrors, key_path
from .names import is_dns1123_label, is_label_value, is_qualified_name, validate_labels
from .text import go_quote

IMMUTABLE = "field is immutable"
NONNEGATIVE = "must be greater than or equal to 0"
TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
# pkg/apis/core/helper: the names a quota or a container may use without a domain.
_STANDARD = {"cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage",
             "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods", "resourcequotas", "services",
             "replicationcontrollers", "secrets", "configmaps", "persistentvolumeclaims", "storage",
             "requests.storage", "services.nodeports", "services.loadbalancers"}
_STANDARD_CONTAINER = {"cpu", "memory", "ephemeral-storage"}
_INTEGER = {"pods", "resourcequotas", "services", "replicationcontrollers", "secrets", "configmaps",
            "persistentvolumeclaims", "services.nodeports", "services.loadbalancers"}
_HUGE_PAGES = "hugepages-"
# pkg/api/node: node labels whose use draws a warning.
DEPRECATED_NODE_LABELS = {
    "beta.kubernetes.io/arch": 'deprecated since v1.14; use "kubernetes.io/arch" instead',
    "beta.kubernetes.io/os": 'deprecated since v1.14; use "kubernetes.io/os" instead',
    "failure-domain.beta.kubernetes.io/region": 'deprecated since v1.17; use "topology.kubernetes.io/region" instead',
    "failure-domain.beta.kubernetes.io/zone": 'deprecated since v1.17; use "topology.kubernetes.io/zone" instead',
    "beta.kubernetes.io/instance-type": 'deprecated since v1.17; use "node.kubernetes.io/instance-type" instead',
    "app.kubernetes.io/created-by": "deprecated since v1.9",
    "scheduler.alpha.kubernetes.io/preferAvoidPods": "deprecated since v1.22; use Taints and Tolerations instead",
    "node-role.kubernetes.io/master": 'use "node-role.kubernetes.io/control-plane" instead',
}


def go_struct_json(value: object) -> str:
    """json.Marshal of a Go value rebuilt as Python: dicts keep their (struct field) order."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def validate_runtime_class(obj: dict, errs: FieldErrors) -> None:
    """ValidateRuntimeClass (the metadata's checks are validate.py's)."""
    handler = errs.get_str(obj, "handler", "")
    errs.invalid_each("handler", handler, is_dns1123_label(handler))
    if obj.get("overhead") is not None:
        overhead = errs.get_map(obj, "overhead", "")
        validate_limits(errs.get_map(overhead, "podFixed", "overhead"), "overhead", errs)
    if obj.get("scheduling") is not None:
        scheduling = errs.get_map(obj, "scheduling", "")
        if scheduling.get("nodeSelector") is not None:
            validate_labels(errs, errs.get_str_map(scheduling, "nodeSelector", "scheduling"),
                            "scheduling.nodeSelector")
        validate_tolerations(errs.get_list(scheduling, "tolerations", "scheduling"), "scheduling.tolerations", errs,
                             unique=True)


def runtime_class_update_problems(obj: dict, old: dict) -> list[str]:
    """ValidateRuntimeClassUpdate: the handler stays."""
    errs = FieldErrors()
    if (obj.get("handler") or "") != (old.get("handler") or ""):
        errs.invalid("handler", obj.get("handler") or "", IMMUTABLE)
    return errs.items


def runtime_class_warnings(obj: dict) -> list[str]:
    """GetWarningsForRuntimeClass: deprecated node labels in scheduling.nodeSelector."""
    scheduling = s if isinstance(s := obj.get("scheduling"), dict) else {}
    selector = n if isinstance(n := scheduling.get("nodeSelector"), dict) else {}
    return [f"scheduling.nodeSelector: {DEPRECATED_NODE_LABELS[key]}" for key in selector
            if key in DEPRECATED_NODE_LABELS]


# ---- resources (validateResourceRequirements with limits only, as an overhead is checked) -------

def _native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def _extended(name: str) -> bool:
    """IsExtendedResourceName: a domain other than kubernetes.io's, usable in a quota's name."""
    return not _native(name) and not name.startswith("requests.") and not is_qualified_name("requests." + name)


def container_resource_name_problems(name: str) -> list[str]:
    """validateContainerResourceName's messages."""
    problems = is_qualified_name(name)
    if not problems and "/" not in name and name not in _STANDARD and \
            not name.startswith((_HUGE_PAGES, "requests." + _HUGE_PAGES)):
        problems.append("must be a standard resource type or fully qualified")
    if "/" not in name:
        if name not in _STANDARD_CONTAINER and not name.startswith(_HUGE_PAGES):
            problems.append("must be a standard resource for containers")
    elif not _native(name) and not _extended(name):
        problems.append("doesn't follow extended resource name standard")
    return problems


def _huge_page_divisible(name: str, amount: Fraction) -> bool:
    """IsHugePageResourceValueDivisible: a whole number of pages of the size the name says."""
    size = exact(name[len(_HUGE_PAGES):])
    if size is None or size <= 0 or size.denominator != 1:
        return False
    return bool(math.ceil(amount) % int(size) == 0)


def validate_limits(limits: dict, path: str, errs: FieldErrors) -> None:
    """validateResourceRequirements of {limits: ...} at `path` (its entries are path.limits[name])."""
    cpu_or_memory = huge_pages = False
    for name, value in limits.items():
        fp = key_path(f"{path}.limits", str(name))
        errs.invalid_each(fp, name, container_resource_name_problems(str(name)))
        amount = exact(value)
        if amount is None:
            errs.invalid(fp, value, FORMAT_ERROR)
            continue
        shown = go_quote(canonical(value) or str(value))
        if amount < 0:
            errs.invalid(fp, None, NONNEGATIVE, shown=shown)
        if (name in _INTEGER or _extended(str(name))) and math.ceil(amount * 1000) % 1000:
            errs.invalid(fp, None, "must be an integer", shown=shown)
        if str(name).startswith(_HUGE_PAGES):
            huge_pages = True
            if not _huge_page_divisible(str(name), amount):
                errs.invalid(fp, None, f"{shown[1:-1]} is not positive integer multiple of {name}", shown=shown)
        cpu_or_memory |= name in ("cpu", "memory")
    if huge_pages and not cpu_or_memory:
        errs.forbidden(path, "HugePages require cpu or memory")


# ---- tolerations ---------------------------------------------------------------------------------

def validate_tolerations(items: list, path: str, errs: FieldErrors, unique: bool = False) -> None:
    """ValidateTolerations (the Lt and Gt operators are an alpha feature, off); unique: no two
    alike in key, operator, value and effect (RuntimeClass's validateTolerations)."""
    seen: set[tuple] = set()
    for i, t in errs.maps_in(items, path):
        ip = f"{path}[{i}]"
        key, op = errs.get_str(t, "key", ip), errs.get_str(t, "operator", ip)
        value, effect = errs.get_str(t, "value", ip), errs.get_str(t, "effect", ip)
        seconds = errs.get_int(t, "tolerationSeconds", ip)
        if key:
            errs.invalid_each(f"{ip}.key", key, is_qualified_name(key))
        if not key and op != "Exists":
            errs.invalid(f"{ip}.operator", op, 'operator must be Exists when `key` is empty, which means "match all '
                                               'values and all keys"')
        if t.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.invalid(f"{ip}.effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set")
        if op in ("Equal", ""):
            if problems := is_label_value(value):
                errs.invalid(f"{ip}.operator", value, ";".join(problems))
        elif op == "Exists":
            if value:
                errs.invalid(f"{ip}.operator", value, "value must be empty when `operator` is 'Exists'")
        elif op in ("Lt", "Gt"):
            errs.not_supported(f"{ip}.operator", op, ["Equal", "Exists", "Lt", "Gt"])
        else:
            errs.not_supported(f"{ip}.operator", op, ["Equal", "Exists"])
        if effect and effect not in TAINT_EFFECTS:
            errs.not_supported(f"{ip}.effect", effect, TAINT_EFFECTS)
        if unique:
            if (key, op, value, effect) in seen:
                errs.duplicate(ip, None, shown=go_struct_json({"Key": key, "Operator": op, "Value": value,
                                                               "Effect": effect, "TolerationSeconds": seconds}))
            seen.add((key, op, value, effect))
