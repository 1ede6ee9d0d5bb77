"""What the horizontal pod autoscaler decides (pkg/controller/podautoscaler), from plain data:
the replica count each Resource metric asks for, then the behavior's stabilization windows and
rate policies, then minReplicas/maxReplicas; with the status conditions it writes. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .quantity import quantity

GOT_SCALE = ("AbleToScale", "True", "SucceededGetScale",
             "the HPA controller was able to get the target's current scale")
TOLERANCE = 0.1  # --horizontal-pod-autoscaler-tolerance: no change for a ratio within 10% of 1
MEMORY_UNITS = ("Ki", 2**10), ("Mi", 2**20), ("Gi", 2**30)


@dataclass
class PodUse:
    """One running pod of the target: its containers' requests and usage (cores, bytes)."""

    name: str
    requests: dict[str, float | None]  # resource -> the sum of its containers' requests; None: one has none
    usage: dict[str, float] | None  # None: the metrics API has none for it yet
    missing: dict[str, str] = field(default_factory=dict)  # resource -> a container without its request


@dataclass
class Decision:
    replicas: int  # what the target's scale is set to (the current count when nothing changes)
    recommendation: int  # before the behavior's rules, kept for the stabilization windows
    current_metrics: list[dict]
    conditions: list[tuple[str, str, str, str]]  # (type, status, reason, message)
    reason: str = ""  # the SuccessfulRescale event's reason, when it scales
    problem: str = ""  # why no count could be computed (the FailedGetResourceMetric event's message)


def quantity_text(name: str, value: float) -> str:
    """A usage as the API server prints it: millicores for cpu, else the largest binary unit."""
    if name == "cpu":
        return f"{round(value * 1000)}m"
    for suffix, size in reversed(MEMORY_UNITS):
        if value >= size and value % size == 0:
            return f"{int(value // size)}{suffix}"
    return f"{round(value / 1000)}k" if value >= 1000 else str(round(value))


def _metric(spec: dict, pods: list[PodUse], current: int) -> tuple[int | None, dict | None, str, str]:
    """(replicas it asks for, its currentMetrics entry, what it is called, a problem or "")."""
    source = spec.get("resource") or {}
    name, target = source.get("name", ""), source.get("target") or {}
    measured = [p for p in pods if p.usage is not None and name in p.usage]
    if not measured:
        return None, None, name, f"unable to get metrics for resource {name}: no metrics returned from " \
                                 "resource metrics API"
    used = sum(p.usage[name] for p in measured if p.usage)
    if target.get("type") == "Utilization":
        lacking = next((p for p in measured if p.requests.get(name) is None), None)
        if lacking is not None:
            return None, None, name, f"failed to get {name} utilization: missing request for {name} in " \
                                     f"container {lacking.missing.get(name, '')} of Pod {lacking.name}"
        requested = sum(p.requests[name] or 0 for p in measured)
        utilization = math.floor(used * 100 / requested) if requested else 0
        ratio = utilization / target["averageUtilization"]
        entry = {"averageUtilization": utilization, "averageValue": quantity_text(name, used / len(measured))}
        what = f"{name} resource utilization (percentage of request)"
    else:
        wanted = _quantity(target.get("averageValue") or target.get("value"))
        average = used / len(measured)
        ratio = average / wanted if wanted else 1.0
        entry = {"averageValue": quantity_text(name, average)}
        what = f"{name} resource"
    metric = {"type": "Resource", "resource": {"name": name, "current": entry}}
    if abs(ratio - 1.0) <= TOLERANCE:
        return current, metric, what, ""
    return math.ceil(ratio * len(measured)), metric, what, ""


def _quantity(value: object) -> float:
    return quantity(value) or 0.0


def recommend(spec: dict, current: int, pods: list[PodUse]) -> tuple[int | None, list[dict], str, str]:
    """(the replicas the metrics ask for, currentMetrics, the deciding metric, a problem or "")."""
    best, metrics, why, problem = None, [], "", ""
    for m in spec.get("metrics") or []:
        if m.get("type") != "Resource":
            problem = problem or f"emukube serves Resource metrics (cpu, memory) only, not {m.get('type')}"
            continue
        replicas, entry, what, trouble = _metric(m, pods, current)
        if entry is not None:
            metrics.append(entry)
        if replicas is None:
            problem = problem or trouble
        elif best is None or replicas > best:
            best, why = replicas, what
    return best, metrics, why, problem


def stabilized(recommendation: int, current: int, history: list[tuple[float, int]], now: float,
               behavior: dict) -> int:
    """stabilizeRecommendationWithBehaviors: the lowest recommendation within the scale-up
    window, the highest within the scale-down one (history: (time, recommendation))."""
    up_window = (behavior.get("scaleUp") or {}).get("stabilizationWindowSeconds", 0) or 0
    down_window = (behavior.get("scaleDown") or {}).get("stabilizationWindowSeconds", 300)
    up = down = recommendation
    for when, past in history:
        if when > now - up_window:
            up = min(up, past)
        if when > now - (down_window or 0):
            down = max(down, past)
    return min(max(current, up), down)


def _rate_limit(current: int, wanted: int, behavior: dict) -> tuple[int, bool]:
    """The behavior's policies (the changes within a period not counted): (limited, limited?)."""
    rising = wanted > current
    rules = behavior.get("scaleUp" if rising else "scaleDown") or {}
    select = rules.get("selectPolicy", "Max")
    if select == "Disabled":
        return current, True
    limits = []
    for p in rules.get("policies") or []:
        value = p.get("value", 0)
        if p.get("type") == "Pods":
            limits.append(current + value if rising else current - value)
        else:
            limits.append(math.ceil(current * (1 + value / 100)) if rising else math.floor(current * (1 - value / 100)))
    if not limits:
        return wanted, False
    # "Max" picks the policy that allows the most change
    bound = (max(limits) if select == "Max" else min(limits)) if rising else \
        (min(limits) if select == "Max" else max(limits))
    limited = min(wanted, bound) if rising else max(wanted, bound)
    return limited, limited != wanted


def decide(spec: dict, current: int, pods: list[PodUse], history: list[tuple[float, int]], now: float) -> Decision:
    """The autoscaler's reconcile of one HorizontalPodAutoscaler whose target runs `current`."""
    least, most = spec.get("minReplicas", 1), spec.get("maxReplicas", 1)
    if current == 0:
        return Decision(0, 0, [], [GOT_SCALE, ("ScalingActive", "False", "ScalingDisabled",
                                               "scaling is disabled since the replica count of the target is zero")])
    if not least <= current <= most:  # brought within bounds first, metrics or not
        replicas = min(max(current, least), most)
        above = current > most
        return Decision(replicas, replicas, [], [
            ("AbleToScale", "True", "SucceededRescale", f"the HPA controller was able to update the target scale to "
                                                        f"{replicas}"),
            ("ScalingLimited", "True", "TooManyReplicas" if above else "TooFewReplicas",
             f"the desired replica count is {'more than the maximum' if above else 'less than the minimum'} replica "
             "count")],
            f"Current number of replicas {'above Spec.MaxReplicas' if above else 'below Spec.MinReplicas'}")
    wanted, metrics, why, problem = recommend(spec, current, pods)
    if wanted is None:
        return Decision(current, current, metrics, [GOT_SCALE, (
            "ScalingActive", "False", "FailedGetResourceMetric", f"the HPA was unable to compute the replica count: "
                                                                  f"{problem}")], problem=problem)
    behavior = spec.get("behavior") or {}
    steady = stabilized(wanted, current, history, now, behavior)
    limited, rate_limited = _rate_limit(current, steady, behavior)
    replicas = min(max(limited, least), most)
    if replicas != limited and replicas == most:
        limit = ("ScalingLimited", "True", "TooManyReplicas", "the desired replica count is more than the maximum "
                                                                "replica count")
    elif replicas != limited:
        limit = ("ScalingLimited", "True", "TooFewReplicas", "the desired replica count is less than the minimum "
                                                               "replica count")
    elif rate_limited:
        limit = ("ScalingLimited", "True", "ScaleUpLimit" if steady > current else "ScaleDownLimit",
                 "the desired replica count is " + ("increasing" if steady > current else "decreasing") +
                 " faster than the maximum scale rate")
    else:
        limit = ("ScalingLimited", "False", "DesiredWithinRange", "the desired count is within the acceptable range")
    if replicas != current:
        able = ("AbleToScale", "True", "SucceededRescale",
                f"the HPA controller was able to update the target scale to {replicas}")
    elif steady != wanted:
        able = ("AbleToScale", "True", "ScaleDownStabilized" if wanted < current else "ScaleUpStabilized",
                "recent recommendations were " + ("higher" if wanted < current else "lower") +
                " than current one, applying the " + ("highest" if wanted < current else "lowest") +
                " recent recommendation")
    else:
        able = ("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")
    active = ("ScalingActive", "True", "ValidMetricFound",
              f"the HPA was able to successfully calculate a replica count from {why}")
    reason = ""
    if replicas != current:
        reason = f"{why} above target" if replicas > current else "All metrics below target"
    return Decision(replicas, wanted, metrics, [able, active, limit], reason)
