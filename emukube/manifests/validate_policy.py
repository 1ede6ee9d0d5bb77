"""PodDisruptionBudget (pkg/apis/policy/validation ValidatePodDisruptionBudgetSpec), ResourceQuota
and LimitRange (pkg/apis/core/validation) validation, worded as kube-apiserver's: what limits a
namespace's pods."""

from __future__ import annotations

from ..plan.limit_ranges import TYPES
from ..plan.quantity import FORMAT_ERROR, quantity
from ..plan.quota import SCOPES
from .fielderrors import FieldErrors
from .validate_workload import int_or_percent, label_selector

EVICTION_POLICIES = ["AlwaysAllow", "IfHealthyBudget"]


def validate_budget(obj: dict, errs: FieldErrors) -> None:
    spec = errs.get_map(obj, "spec", "")
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        # The API server shows the whole spec struct (with pointers) here; its two fields will do.
        shown = f"policy.PodDisruptionBudgetSpec{{MinAvailable:{spec['minAvailable']}, " \
                f"MaxUnavailable:{spec['maxUnavailable']}}}"
        errs.invalid("spec", None, "minAvailable and maxUnavailable cannot be both set", shown=shown)
    for key in ("minAvailable", "maxUnavailable"):
        value = int_or_percent(spec, key, "spec", errs)
        if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit() and int(value[:-1]) > 100:
            errs.invalid(f"spec.{key}", None, "must not be greater than 100%", shown=value)
    if spec.get("selector") is not None:
        label_selector(errs.get_map(spec, "selector", "spec"), "spec.selector", errs)
    policy = errs.get_str(spec, "unhealthyPodEvictionPolicy", "spec")
    if policy and policy not in EVICTION_POLICIES:
        errs.not_supported("spec.unhealthyPodEvictionPolicy", policy, EVICTION_POLICIES)


def validate_quota(obj: dict, errs: FieldErrors) -> None:
    spec = errs.get_map(obj, "spec", "")
    for key, value in errs.get_map(spec, "hard", "spec").items():
        if quantity(value) is None:
            errs.invalid(f"spec.hard[{key}]", value, FORMAT_ERROR)
        elif (quantity(value) or 0) < 0:
            errs.invalid(f"spec.hard[{key}]", value, "must be greater than or equal to 0")
    for i, scope in enumerate(errs.get_list(spec, "scopes", "spec")):
        if scope not in SCOPES:
            errs.not_supported(f"spec.scopes[{i}]", scope, list(SCOPES))


def validate_limit_range(obj: dict, errs: FieldErrors) -> None:
    spec = errs.get_map(obj, "spec", "")
    for i, item in errs.maps_in(errs.get_list(spec, "limits", "spec"), "spec.limits"):
        path = f"spec.limits[{i}]"
        kind = errs.get_str(item, "type", path)
        if not kind:
            errs.required(f"{path}.type")
        elif kind not in TYPES:
            errs.not_supported(f"{path}.type", kind, TYPES)
        for field in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
            for key, value in errs.get_map(item, field, path).items():
                if quantity(value) is None:
                    errs.invalid(f"{path}.{field}[{key}]", value, FORMAT_ERROR)
        least, most = item.get("min") or {}, item.get("max") or {}
        for key in sorted(set(least) & set(most)):
            if (quantity(least[key]) or 0) > (quantity(most[key]) or 0):
                errs.invalid(f"{path}.min[{key}]", least[key], f"min value {least[key]} is greater than max value "
                                                               f"{most[key]}")
