"""Deployment, StatefulSet, ReplicaSet, DaemonSet (pkg/apis/apps/validation) and
ReplicationController (pkg/apis/core/validation) validation."""

from __future__ import annotations

from typing import Callable

from ..plan.selectors import holds
from .fielderrors import FieldErrors, go_string_map
from .names import is_label_value, is_qualified_name, is_valid_percent, validate_labels
from .text import go_quote
from .validate_pod import NONNEGATIVE, validate_pod_spec
from .validate_storage import validate_claim_spec

_EMPTY_SELECTOR = "&LabelSelector{MatchLabels:map[string]string{},MatchExpressions:[]LabelSelectorRequirement{},}"
_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
Matcher = Callable[[dict], bool]


def validate_workload(kind: str, obj: dict, errs: FieldErrors, allow_privileged: bool) -> None:
    spec = errs.get_map(obj, "spec", "")
    for field in ("replicas", "minReadySeconds"):
        value = errs.get_int(spec, field, "spec")
        if value is not None and value < 0:
            errs.invalid(f"spec.{field}", value, NONNEGATIVE)

    matcher = None
    if kind == "ReplicationController":  # a plain map of labels, not a LabelSelector
        wanted = errs.get_str_map(spec, "selector", "spec")
        validate_labels(errs, wanted, "spec.selector")
        template: dict = spec["template"] if isinstance(spec.get("template"), dict) else {}
        # Defaulting (which runs first on the API server) takes the template's labels.
        wanted = wanted or ((template.get("metadata") or {}).get("labels") or {})
        if not wanted:
            errs.required("spec.selector")
        else:
            matcher = label_selector({"matchLabels": wanted}, "spec.selector", FieldErrors())
    elif spec.get("selector") is None:
        errs.required("spec.selector")
    else:
        selector = errs.get_map(spec, "selector", "spec")
        matcher = label_selector(selector, "spec.selector", errs)
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            errs.invalid("spec.selector", None, f"empty selector is invalid for {kind.lower()}",
                         shown=_EMPTY_SELECTOR)
            matcher = None

    claim_templates: frozenset[str] = frozenset()
    if kind == "Deployment":
        _strategy(errs.get_map(spec, "strategy", "spec"), errs)
    elif kind == "StatefulSet":
        claim_templates = _statefulset(spec, errs)
    elif kind == "DaemonSet":
        _daemonset(spec, errs)

    if spec.get("template") is None:
        errs.required("spec.template")
        return
    template = errs.get_map(spec, "template", "spec")
    meta = errs.get_map(template, "metadata", "spec.template")
    labels = errs.get_str_map(meta, "labels", "spec.template.metadata")
    validate_labels(errs, labels, "spec.template.metadata.labels")
    if matcher is not None and not matcher(labels):
        shown = go_string_map(labels if meta.get("labels") is not None else None)
        errs.invalid("spec.template.metadata.labels", None, "`selector` does not match template `labels`",
                     shown=shown)
    validate_pod_spec(errs.get_map(template, "spec", "spec.template"), "spec.template.spec", errs,
                      allow_privileged, template=True, claim_templates=claim_templates)


def label_selector(selector: dict, path: str, errs: FieldErrors) -> Matcher | None:
    """Validate a metav1.LabelSelector; return a matcher, or None when it cannot be evaluated."""
    match_labels = errs.get_str_map(selector, "matchLabels", path)
    validate_labels(errs, match_labels, f"{path}.matchLabels")
    requirements: list[dict] = []
    ok = True
    for i, req in errs.maps_in(errs.get_list(selector, "matchExpressions", path), f"{path}.matchExpressions"):
        rp = f"{path}.matchExpressions[{i}]"
        key = errs.get_str(req, "key", rp)
        errs.invalid_each(f"{rp}.key", key, is_qualified_name(key))
        op = errs.get_str(req, "operator", rp)
        values = [v for v in errs.get_list(req, "values", rp) if isinstance(v, str)]
        if op in ("In", "NotIn") and not values:
            errs.required(f"{rp}.values", "must be specified when `operator` is 'In' or 'NotIn'")
        elif op in ("Exists", "DoesNotExist") and values:
            errs.forbidden(f"{rp}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        elif op not in _OPERATORS:
            errs.invalid(f"{rp}.operator", op, "not a valid selector operator")
            ok = False
        for j, v in enumerate(values):
            errs.invalid_each(f"{rp}.values[{j}]", v, is_label_value(v))
        requirements.append({"key": key, "operator": op, "values": values})
    if not ok:
        return None

    def matches(labels: dict) -> bool:
        return all(labels.get(k) == v for k, v in match_labels.items()) and \
            all(holds(r, labels) for r in requirements)

    return matches


def _strategy(strategy: dict, errs: FieldErrors) -> None:
    kind = errs.get_str(strategy, "type", "spec.strategy") or "RollingUpdate"
    if kind == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            errs.forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")
        return
    if kind != "RollingUpdate":
        errs.not_supported("spec.strategy.type", kind, ["Recreate", "RollingUpdate"])
        return
    rolling = errs.get_map(strategy, "rollingUpdate", "spec.strategy")
    rp = "spec.strategy.rollingUpdate"
    surge = int_or_percent(rolling, "maxSurge", rp, errs)
    unavailable = int_or_percent(rolling, "maxUnavailable", rp, errs)
    _at_most_100_percent(unavailable, f"{rp}.maxUnavailable", errs)
    if _is_zero(surge) and _is_zero(unavailable):
        errs.invalid(f"{rp}.maxUnavailable", None, "may not be 0 when `maxSurge` is 0", shown=str(unavailable))


def _daemonset(spec: dict, errs: FieldErrors) -> None:
    """ValidateDaemonSetSpec's own part: the update strategy, the history kept, and a template
    that never ends (a daemon has no deadline)."""
    value = errs.get_int(spec, "revisionHistoryLimit", "spec")
    if value is not None and value < 0:
        errs.invalid("spec.revisionHistoryLimit", value, NONNEGATIVE)
    template_spec = (spec.get("template") or {}).get("spec") if isinstance(spec.get("template"), dict) else None
    if isinstance(template_spec, dict) and template_spec.get("activeDeadlineSeconds") is not None:
        errs.invalid("spec.template.spec.activeDeadlineSeconds", template_spec["activeDeadlineSeconds"],
                     "activeDeadlineSeconds in DaemonSet is not Supported")
    update = errs.get_map(spec, "updateStrategy", "spec")
    kind = errs.get_str(update, "type", "spec.updateStrategy") or "RollingUpdate"
    if kind == "OnDelete":
        return
    if kind != "RollingUpdate":
        # The API server names the whole strategy, printed as Go prints the struct.
        shown = (f'apps.DaemonSetUpdateStrategy{{Type:{go_quote(kind)}, '
                 f'RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}}')
        errs.items.append(f"spec.updateStrategy: Unsupported value: {shown}: supported values: "
                          '"RollingUpdate", "OnDelete"')
        return
    rolling = errs.get_map(update, "rollingUpdate", "spec.updateStrategy")
    rp = "spec.updateStrategy.rollingUpdate"
    unavailable = int_or_percent(rolling, "maxUnavailable", rp, errs) if "maxUnavailable" in rolling else 1
    surge = int_or_percent(rolling, "maxSurge", rp, errs) if "maxSurge" in rolling else 0
    for key, v in (("maxUnavailable", unavailable), ("maxSurge", surge)):
        _at_most_100_percent(v, f"{rp}.{key}", errs)
    if not _is_zero(unavailable) and not _is_zero(surge):
        errs.invalid(f"{rp}.maxSurge", None, "may not be set when maxUnavailable is non-zero", shown=str(surge))
    elif _is_zero(unavailable) and _is_zero(surge):
        errs.required(f"{rp}.maxUnavailable", "cannot be 0 when maxSurge is 0")


def int_or_percent(obj: dict, key: str, path: str, errs: FieldErrors) -> int | str | None:
    value = errs.get_int_or_str(obj, key, path)
    # an IntOrString prints through its String() method: no quotes
    if isinstance(value, int) and value < 0:
        errs.invalid(f"{path}.{key}", None, NONNEGATIVE, shown=str(value))
    elif isinstance(value, str):
        for msg in is_valid_percent(value):
            errs.invalid(f"{path}.{key}", None, msg, shown=value)
    return value


def _at_most_100_percent(value: int | str | None, path: str, errs: FieldErrors) -> None:
    """IsNotMoreThan100Percent: a percentage above 100% is refused."""
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit() and int(value[:-1]) > 100:
        errs.invalid(path, None, "must not be greater than 100%", shown=value)


def _is_zero(v: int | str | None) -> bool:
    return v in (0, "0%")


def _statefulset(spec: dict, errs: FieldErrors) -> frozenset[str]:
    policy = errs.get_str(spec, "podManagementPolicy", "spec")
    if policy and policy not in ("OrderedReady", "Parallel"):
        errs.invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'")
    update = errs.get_map(spec, "updateStrategy", "spec")
    kind = errs.get_str(update, "type", "spec.updateStrategy")
    if kind and kind not in ("OnDelete", "RollingUpdate"):
        errs.not_supported("spec.updateStrategy.type", kind, ["OnDelete", "RollingUpdate"])
    errs.get_str(spec, "serviceName", "spec")
    names = set()
    for i, claim in errs.maps_in(errs.get_list(spec, "volumeClaimTemplates", "spec"), "spec.volumeClaimTemplates"):
        meta = errs.get_map(claim, "metadata", f"spec.volumeClaimTemplates[{i}]")
        name = errs.get_str(meta, "name", f"spec.volumeClaimTemplates[{i}].metadata")
        if not name:
            errs.required(f"spec.volumeClaimTemplates[{i}].metadata.name")
        names.add(name)
        validate_claim_spec(errs.get_map(claim, "spec", f"spec.volumeClaimTemplates[{i}]"),
                            f"spec.volumeClaimTemplates[{i}].spec", errs)
    return frozenset(names)
