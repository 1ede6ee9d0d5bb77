"""What the horizontal pod autoscaler decides (pkg/controller/podautoscaler), from plain data:
the most any of its metrics asks for (plan/hpa_metrics.py), then the behavior's stabilization windows and
rate policies, then minReplicas/maxReplicas; with the status conditions it writes. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..k8s.reasons import Reason
from .hpa_metrics import TOLERANCE, Outcome, PodUse, Reading, measure

__all__ = ["Decision", "PodUse", "Reading", "TOLERANCE", "decide"]

GOT_SCALE = ("AbleToScale", "True", "SucceededGetScale",
             "the HPA controller was able to get the target's current scale")


@dataclass
class Decision:
    replicas: int  # what the target's scale is set to (the current count when nothing changes)
    recommendation: int  # before the behavior's rules, kept for the stabilization windows
    current_metrics: list[dict]
    conditions: list[tuple[str, str, str, str]]  # (type, status, reason, message)
    reason: str = ""  # the SuccessfulRescale event's reason, when it scales
    # Warning events (reason, message): a metric that could not be read, FailedComputeMetricsReplicas
    events: list[tuple[str, str]] = field(default_factory=list)


def recommend(spec: dict, current: int, pods: list[PodUse], readings: dict[int, Reading] | None = None,
              status_replicas: int | None = None, namespace: str = "default") -> tuple[int | None, list[dict], str,
                                                                                      list[Outcome]]:
    """computeReplicasForMetrics: (the most any metric asks for, currentMetrics (one per metric,
    `{"type": ""}` for a metric that failed, as the controller writes it), the deciding metric,
    the metrics that failed)."""
    best, statuses, why, failed = None, [], "", []
    for i, m in enumerate(spec.get("metrics") or []):
        outcome = measure(m, pods, current, current if status_replicas is None else status_replicas,
                          (readings or {}).get(i), namespace)
        statuses.append(outcome.status or {"type": ""})
        if outcome.replicas is None:
            failed.append(outcome)
        elif best is None or outcome.replicas > best:
            best, why = outcome.replicas, outcome.name
    return best, statuses, why, failed


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


def _unable(current: int, metrics: list[dict], failed: list[Outcome], events: list[tuple[str, str]]) -> Decision:
    first = failed[0]
    events.append((Reason.FAILED_COMPUTE_METRICS_REPLICAS,
                   f"invalid metrics ({len(failed)} invalid out of {len(metrics)}), first error is: {first.wrapped}"))
    return Decision(current, current, metrics, [GOT_SCALE, (
        "ScalingActive", "False", first.reason, f"the HPA was unable to compute the replica count: {first.error}")],
        events=events)


def decide(spec: dict, current: int, pods: list[PodUse], history: list[tuple[float, int]], now: float,
           readings: dict[int, Reading] | None = None, status_replicas: int | None = None,
           namespace: str = "default") -> Decision:
    """The autoscaler's reconcile of one HorizontalPodAutoscaler whose target asks for `current`
    pods and runs `status_replicas`; `readings`: the custom and external metrics read for the
    metrics (by index) that need them."""
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
    wanted, metrics, why, failed = recommend(spec, current, pods, readings, status_replicas, namespace)
    events = [(f.reason, f.error) for f in failed]  # each as getUnableComputeReplicaCountCondition records it
    # All metrics invalid, or some and the rest would scale down: nothing changes (the controller
    # does not scale down on what it could read when something it could not might say otherwise).
    if failed and (wanted is None or wanted < current):
        return _unable(current, metrics, failed, events)
    wanted = current if wanted is None else wanted  # no metrics at all (the API server defaults one)
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
    return Decision(replicas, wanted, metrics, [able, active, limit], reason, events)
