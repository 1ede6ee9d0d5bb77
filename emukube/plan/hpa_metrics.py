"""The replica count one metric of a HorizontalPodAutoscaler asks for, as kube-controller-manager's
replica calculator (pkg/controller/podautoscaler) computes it, and what it writes and says when it
cannot: Resource and ContainerResource metrics from the pods' usage (metrics.k8s.io), Pods and
Object metrics from custom.metrics.k8s.io, External ones from external.metrics.k8s.io, read by
the controller beforehand (Reading). Values are milli-units, as the calculator's are. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..k8s.reasons import Reason
from .canonical_quantity import canonical, exact

TOLERANCE = 0.1  # --horizontal-pod-autoscaler-tolerance: no change for a ratio within 10% of 1


@dataclass
class PodUse:
    """One pod of the target: its containers' requests and usage (cores, bytes), its phase and
    readiness (Pods metrics ignore pending pods; Object and External ones count ready pods)."""

    name: str
    requests: dict[str, float | None]  # resource -> the sum of its containers' requests; None: one has none
    usage: dict[str, float] | None  # None: the metrics API has none for it yet
    missing: dict[str, str] = field(default_factory=dict)  # resource -> a container without its request
    phase: str = "Running"
    ready: bool = True
    # container -> resource -> its request (None: none), and its usage from the metrics API
    container_requests: dict[str, dict[str, float | None]] = field(default_factory=dict)
    container_usage: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Reading:
    """What a custom or external metrics API answered for one metric: the values in milli-units
    (pod name -> value for Pods; "" -> the object's for Object; one per series for External),
    or the metrics client's error in its words."""

    values: dict[str, int] = field(default_factory=dict)
    error: str = ""


@dataclass
class Outcome:
    """One metric's proposal, or why there is none (an event's reason and message, the condition's
    message, and the longer text FailedComputeMetricsReplicas quotes)."""

    replicas: int | None
    status: dict | None = None  # its currentMetrics entry
    name: str = ""  # how ValidMetricFound names it
    reason: str = ""
    error: str = ""
    wrapped: str = ""


def milli(value: object) -> int:
    """Quantity.MilliValue(): rounded up."""
    amount = exact(value)
    return math.ceil(amount * 1000) if amount is not None else 0


def milli_text(value: int) -> str:
    """resource.NewMilliQuantity(value, DecimalSI).String()."""
    return canonical(f"{value}m") or f"{value}m"


def go_selector(selector: dict | None) -> str:
    """A *metav1.LabelSelector as Go's %+v prints it (the generated String()), which the
    autoscaler's messages quote."""
    if selector is None:
        return "nil"
    labels = "".join(f"{k}: {v}," for k, v in sorted((selector.get("matchLabels") or {}).items()))
    exprs = "".join(f"LabelSelectorRequirement{{Key:{e.get('key', '')},Operator:{e.get('operator', '')},"
                    f"Values:[{' '.join(e.get('values') or [])}],}}," for e in selector.get("matchExpressions") or [])
    return f"&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{" \
           f"{exprs}}},}}"


def measure(spec: dict, pods: list[PodUse], current: int, status_replicas: int, reading: Reading | None,
            namespace: str = "default") -> Outcome:
    """computeReplicasForMetric for one entry of spec.metrics; `current` is the target's
    spec.replicas, `status_replicas` its status.replicas."""
    kind = spec.get("type", "")
    if kind in ("Resource", "ContainerResource"):
        return _resource(spec, pods, current, namespace)
    if kind == "Pods":
        return _pods(spec, pods, current, reading or Reading())
    if kind == "Object":
        return _object(spec, pods, current, status_replicas, reading or Reading(), namespace)
    if kind == "External":
        return _external(spec, pods, current, status_replicas, reading or Reading(), namespace)
    why = f'unknown metric source type "{kind}"'
    return Outcome(None, reason=Reason.INVALID_METRIC_SOURCE_TYPE, error=why, wrapped=why)


def _failed(reason: str, error: str, wrapping: str) -> Outcome:
    return Outcome(None, reason=reason, error=error, wrapped=wrapping + error)


def _resource(spec: dict, pods: list[PodUse], current: int, namespace: str) -> Outcome:
    """computeStatusForResourceMetricGeneric: the running pods' usage against their requests."""
    container = spec.get("type") == "ContainerResource"
    source = (spec.get("containerResource") if container else spec.get("resource")) or {}
    name, target = source.get("name", ""), source.get("target") or {}
    utilization = target.get("type") == "Utilization"
    reason = Reason.FAILED_GET_CONTAINER_RESOURCE_METRIC if container else Reason.FAILED_GET_RESOURCE_METRIC
    wrapping = f"failed to get {source.get('container', '')} container metric value: " if container else \
        f"failed to get {name} resource metric value: "
    failing = f"failed to get {name} {'utilization' if utilization else 'usage'}: "
    running = [p for p in pods if p.phase == "Running"]
    used, asked = _usages(running, name, source.get("container") if container else None, namespace)
    if isinstance(used, str):
        return _failed(reason, failing + f"unable to get metrics for resource {name}: {used}", wrapping)
    if not used:
        return _failed(reason, failing + f"unable to get metrics for resource {name}: no metrics returned from "
                                          "resource metrics API", wrapping)
    average = sum(used.values()) // len(used)
    if utilization:
        lacking = next((why for pod, why in asked.items() if pod in used and why), "")
        if lacking:
            return _failed(reason, failing + lacking, wrapping)
        requested = sum(_milli_of(p.requests.get(name)) if not container else
                        _milli_of(p.container_requests.get(source.get("container", ""), {}).get(name))
                        for p in running if p.name in used)
        percent = sum(used.values()) * 100 // requested if requested else 0
        ratio = percent / target["averageUtilization"]
        current_entry = {"averageUtilization": percent, "averageValue": milli_text(average)}
        what = f"{name} {'container ' if container else ''}resource utilization (percentage of request)"
    else:
        wanted = milli(target.get("averageValue") or target.get("value"))
        ratio = average / wanted if wanted else 1.0
        current_entry = {"averageValue": milli_text(average)}
        what = f"{name} resource"
    status = {"type": "ContainerResource", "containerResource": {"name": name, "container": source.get("container", ""),
                                                                  "current": current_entry}} if container else \
        {"type": "Resource", "resource": {"name": name, "current": current_entry}}
    replicas = current if abs(ratio - 1.0) <= TOLERANCE else math.ceil(ratio * len(used))
    return Outcome(replicas, status, what)


def _milli_of(value: float | None) -> int:
    return round((value or 0.0) * 1000)


def _usages(pods: list[PodUse], name: str, container: str | None,
            namespace: str) -> tuple[dict[str, int] | str, dict[str, str]]:
    """(pod -> its usage of `name` in milli-units, or the metrics client's error), and pod -> why
    its request cannot be counted ("" when it can)."""
    used: dict[str, int] = {}
    asked: dict[str, str] = {}
    for p in pods:
        if container is None:
            if p.usage is not None and name in p.usage:
                used[p.name] = _milli_of(p.usage[name])
            lacking = p.missing.get(name, "") if p.requests.get(name) is None else None
        else:
            if p.usage is None:
                continue
            if container not in p.container_usage:
                return f"failed to get container metrics: container {container} not present in metrics for pod " \
                       f"{namespace}/{p.name}", {}
            if name in p.container_usage[container]:
                used[p.name] = _milli_of(p.container_usage[container][name])
            lacking = container if (p.container_requests.get(container) or {}).get(name) is None else None
        asked[p.name] = "" if lacking is None else f"missing request for {name} in container {lacking} of Pod {p.name}"
    return used, asked


def _pods(spec: dict, pods: list[PodUse], current: int, reading: Reading) -> Outcome:
    """GetMetricReplicas and calcPlainMetricReplicas: each pod's value against the average."""
    source = spec.get("pods") or {}
    metric = (source.get("metric") or {}).get("name", "")
    target = milli((source.get("target") or {}).get("averageValue"))
    wrapping = "failed to get pods metric value: "
    if reading.error:
        return _failed(Reason.FAILED_GET_PODS_METRIC, f"unable to get metric {metric}: {reading.error}", wrapping)
    counted = [p for p in pods if p.phase != "Failed"]
    if not counted:
        return _failed(Reason.FAILED_GET_PODS_METRIC, "no pods returned by selector while calculating replica count",
                       wrapping)
    ignored = {p.name for p in counted if p.phase == "Pending"}
    missing = {p.name for p in counted if p.name not in ignored and p.name not in reading.values}
    ready = len(counted) - len(ignored) - len(missing)
    values = {n: v for n, v in reading.values.items() if n not in ignored}  # a deleted pod's too, as there
    if not values:
        return _failed(Reason.FAILED_GET_PODS_METRIC, "did not receive metrics for any ready pods", wrapping)
    ratio, average = _ratio(values, target)
    status = {"type": "Pods", "pods": {"metric": _identifier(source), "current": {"averageValue": milli_text(average)}}}
    outcome = Outcome(current, status, f"pods metric {metric}")
    rebalance = bool(ignored) and ratio > 1.0
    if not rebalance and not missing:
        if abs(1.0 - ratio) > TOLERANCE:
            outcome.replicas = math.ceil(ratio * ready)
        return outcome
    filled = dict(values)
    for name in missing:  # a scale-down counts them at the target, a scale-up at nothing
        filled[name] = target if ratio < 1.0 else 0
    if rebalance:
        filled.update({name: 0 for name in ignored})
    again, _ = _ratio(filled, target)
    flipped = (ratio < 1.0 and again > 1.0) or (ratio > 1.0 and again < 1.0)
    if abs(1.0 - again) > TOLERANCE and not flipped:
        outcome.replicas = math.ceil(again * len(filled))
    return outcome


def _ratio(values: dict[str, int], target: int) -> tuple[float, int]:
    """GetMetricUtilizationRatio: (average / target, the average), in integer milli-units."""
    average = sum(values.values()) // len(values)
    return (average / target if target else 1.0), average


def _identifier(source: dict) -> dict:
    metric = source.get("metric") or {}
    return {"name": metric.get("name", ""), **({"selector": metric["selector"]} if metric.get("selector") else {})}


def _by_ready_pods(value: int, target: object, current: int, pods: list[PodUse]) -> tuple[int | None, str]:
    """getUsageRatioReplicaCount: value / target (a quantity) of the ready pods' count (of
    itself for 0 pods)."""
    wanted = milli(target)
    ratio = value / wanted if wanted else 1.0
    if current == 0:
        return math.ceil(ratio), ""
    if abs(1.0 - ratio) <= TOLERANCE:
        return current, ""
    if not pods:
        return None, "unable to calculate ready pods: no pods returned by selector while calculating replica count"
    return math.ceil(ratio * sum(1 for p in pods if p.phase == "Running" and p.ready)), ""


def _per_pod(total: int, target: int, status_replicas: int) -> tuple[int, int]:
    """GetObjectPerPodMetricReplicas / GetExternalPerPodMetricReplicas: (replicas, the average)."""
    replicas = status_replicas
    ratio = total / (target * replicas) if target and replicas else math.inf
    if abs(1.0 - ratio) > TOLERANCE:
        replicas = math.ceil(total / target) if target else replicas
    return replicas, (math.ceil(total / status_replicas) if status_replicas else total)


def _object(spec: dict, pods: list[PodUse], current: int, status_replicas: int, reading: Reading,
            namespace: str) -> Outcome:
    """computeStatusForObjectMetric: one object's value, against the target or per pod."""
    source = spec.get("object") or {}
    described, target = source.get("describedObject") or {}, source.get("target") or {}
    metric = _identifier(source)
    wrapping = "failed to get object metric value: "
    # The calculator's own format string puts its arguments one place off; its message is quoted as it reads.
    fetched = f"unable to get metric {metric['name']}: {described.get('kind', '')} on {namespace} " \
              f"{described.get('name', '')}/{reading.error}"
    value = next(iter(reading.values.values()), 0)
    if target.get("type") == "Value" and target.get("value") is not None:
        if reading.error:
            return _failed(Reason.FAILED_GET_OBJECT_METRIC, fetched, wrapping)
        replicas, trouble = _by_ready_pods(value, target["value"], current, pods)
        if replicas is None:
            return _failed(Reason.FAILED_GET_OBJECT_METRIC, trouble, wrapping)
        return Outcome(replicas, {"type": "Object", "object": {"describedObject": described, "metric": metric,
                                                               "current": {"value": milli_text(value)}}},
                       f"{described.get('kind', '')} metric {metric['name']}")
    if target.get("type") == "AverageValue" and target.get("averageValue") is not None:
        if reading.error:
            return _failed(Reason.FAILED_GET_OBJECT_METRIC, fetched,
                           wrapping + f"failed to get {metric['name']} object metric: ")
        replicas, average = _per_pod(value, milli(target["averageValue"]), status_replicas)
        return Outcome(replicas, {"type": "Object", "object": {"describedObject": {"kind": "", "name": ""},
                                                               "metric": metric,
                                                               "current": {"averageValue": milli_text(average)}}},
                       f"external metric {metric['name']}({go_selector(metric.get('selector'))})")
    why = "invalid object metric source: neither a value target nor an average value target was set"
    return _failed(Reason.FAILED_GET_OBJECT_METRIC, why, wrapping)


def _external(spec: dict, pods: list[PodUse], current: int, status_replicas: int, reading: Reading,
              namespace: str) -> Outcome:
    """computeStatusForExternalMetric: the series' sum, against the target or per pod."""
    source = spec.get("external") or {}
    target, metric = source.get("target") or {}, _identifier(source)
    name, selector = metric["name"], go_selector(metric.get("selector"))
    total = sum(reading.values.values())
    what = f"external metric {name}({selector})"
    fetched = f"unable to get external metric {namespace}/{name}/{selector}: {reading.error}"
    wrapping, failing = f"failed to get {name} external metric value: ", Reason.FAILED_GET_EXTERNAL_METRIC
    if target.get("averageValue") is not None:
        if reading.error:
            return _failed(failing, fetched, wrapping + f"failed to get {name} external metric: ")
        replicas, average = _per_pod(total, milli(target["averageValue"]), status_replicas)
        return Outcome(replicas, {"type": "External", "external": {"metric": metric, "current": {
            "averageValue": milli_text(average)}}}, what)
    if target.get("value") is not None:
        if reading.error:
            return _failed(failing, fetched, wrapping + f"failed to get external metric {name}: ")
        counted, trouble = _by_ready_pods(total, target["value"], current, pods)
        if counted is None:
            return _failed(failing, trouble, wrapping + f"failed to get external metric {name}: ")
        return Outcome(counted, {"type": "External", "external": {"metric": metric, "current": {
            "value": milli_text(total)}}}, what)
    why = "invalid external metric source: neither a value target nor an average value target was set"
    return _failed(Reason.FAILED_GET_EXTERNAL_METRIC, why, wrapping)
