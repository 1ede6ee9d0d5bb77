"""HorizontalPodAutoscaler (autoscaling/v2) validation, worded as kube-apiserver's
(pkg/apis/autoscaling/validation ValidateHorizontalPodAutoscaler)."""

from __future__ import annotations

from ..plan.quantity import FORMAT_ERROR, quantity
from .fielderrors import FieldErrors

METRIC_TYPES = ["ContainerResource", "External", "Object", "Pods", "Resource"]
TARGET_TYPES = ["AverageValue", "Utilization", "Value"]
SELECT_POLICIES = ["Disabled", "Max", "Min"]
POLICY_TYPES = ["Percent", "Pods"]
MAX_WINDOW, MAX_PERIOD = 3600, 1800


def validate_autoscaler(obj: dict, errs: FieldErrors) -> None:
    spec = errs.get_map(obj, "spec", "")
    ref = errs.get_map(spec, "scaleTargetRef", "spec")
    for field in ("kind", "name"):
        if not errs.get_str(ref, field, "spec.scaleTargetRef"):
            errs.required(f"spec.scaleTargetRef.{field}")
    least = errs.get_int(spec, "minReplicas", "spec")
    if least is not None and least < 1:
        errs.invalid("spec.minReplicas", least, "must be greater than or equal to 1")
    most = errs.get_int(spec, "maxReplicas", "spec")
    if most is None or most < 1:
        errs.invalid("spec.maxReplicas", most or 0, "must be greater than 0")
    elif least is not None and most < least:
        errs.invalid("spec.maxReplicas", most, "must be greater than or equal to `minReplicas`")
    for i, metric in errs.maps_in(errs.get_list(spec, "metrics", "spec"), "spec.metrics"):
        _metric(metric, f"spec.metrics[{i}]", errs)
    behavior = errs.get_map(spec, "behavior", "spec")
    for direction in ("scaleUp", "scaleDown"):
        if behavior.get(direction) is not None:
            _rules(errs.get_map(behavior, direction, "spec.behavior"), f"spec.behavior.{direction}", errs)


def _metric(metric: dict, mp: str, errs: FieldErrors) -> None:
    kind = errs.get_str(metric, "type", mp)
    if not kind:
        errs.required(f"{mp}.type", "must specify a metric source type")
        return
    if kind not in METRIC_TYPES:
        errs.not_supported(f"{mp}.type", kind, METRIC_TYPES)
        return
    if kind != "Resource":
        return  # accepted as the API server does; the controller says it serves Resource metrics only
    source = errs.get_map(metric, "resource", mp)
    if not source:
        errs.required(f"{mp}.resource", "must populate information for the given metric source")
        return
    sp = f"{mp}.resource"
    if not errs.get_str(source, "name", sp):
        errs.required(f"{sp}.name", "must specify a resource name")
    target = errs.get_map(source, "target", sp)
    tp = f"{sp}.target"
    kind = errs.get_str(target, "type", tp)
    if not kind:
        errs.required(f"{tp}.type", "must specify a metric target type")
    elif kind not in TARGET_TYPES:
        errs.not_supported(f"{tp}.type", kind, TARGET_TYPES)
    elif kind == "Utilization":
        share = errs.get_int(target, "averageUtilization", tp)
        if share is None:
            errs.required(f"{tp}.averageUtilization", "must set either a target raw value or a target utilization")
        elif share <= 0:
            errs.invalid(f"{tp}.averageUtilization", share, "must be greater than 0")
    else:
        field = "averageValue" if kind == "AverageValue" else "value"
        value = target.get(field)
        amount = quantity(value)
        if value is None:
            errs.required(f"{tp}.{field}", "must set either a target raw value or a target utilization")
        elif amount is None:
            errs.invalid(f"{tp}.{field}", value, FORMAT_ERROR)
        elif amount <= 0:
            errs.invalid(f"{tp}.{field}", value, "must be positive")


def _rules(rules: dict, rp: str, errs: FieldErrors) -> None:
    window = errs.get_int(rules, "stabilizationWindowSeconds", rp)
    if window is not None and not 0 <= window <= MAX_WINDOW:
        why = f"must be less than or equal to {MAX_WINDOW}" if window > 0 else "must be greater than or equal to zero"
        errs.invalid(f"{rp}.stabilizationWindowSeconds", window, why)
    select = errs.get_str(rules, "selectPolicy", rp)
    if select and select not in SELECT_POLICIES:
        errs.not_supported(f"{rp}.selectPolicy", select, SELECT_POLICIES)
    policies = errs.get_list(rules, "policies", rp)
    if rules.get("policies") is not None and not policies:
        errs.required(f"{rp}.policies", "must specify at least one Policy")
    for i, policy in errs.maps_in(policies, f"{rp}.policies"):
        pp = f"{rp}.policies[{i}]"
        kind = errs.get_str(policy, "type", pp)
        if kind not in POLICY_TYPES:
            errs.not_supported(f"{pp}.type", kind, POLICY_TYPES)
        value = errs.get_int(policy, "value", pp)
        if value is None or value <= 0:
            errs.invalid(f"{pp}.value", value or 0, "must be greater than zero")
        period = errs.get_int(policy, "periodSeconds", pp)
        if period is None or period <= 0:
            errs.invalid(f"{pp}.periodSeconds", period or 0, "must be greater than zero")
        elif period > MAX_PERIOD:
            errs.invalid(f"{pp}.periodSeconds", period, f"must be less than or equal to {MAX_PERIOD}")
