"""PodDisruptionBudget validation, worded as kube-apiserver's (pkg/apis/policy/validation
ValidatePodDisruptionBudgetSpec)."""

from __future__ import annotations

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
