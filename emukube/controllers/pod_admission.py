"""What the API server's admission would answer to a pod a workload's controller is about to
make: the Priority plugin (a priorityClassName no PriorityClass has) and the ResourceQuota
plugin (no room left in the namespace's quotas). The loop starts a pod's containers before it
writes the pod, so it asks first, as the ReplicaSet controller's create would be refused: the
pod is not made, its owner says FailedCreate, and tries again on later ticks. Pure."""

from __future__ import annotations

from ..plan import quota
from ..plan.workloads import PodPlan


def shown_name(plan: PodPlan) -> str:
    """The name admission gives a pod it refuses: a StatefulSet's (or a bare) pod's own, else
    its generateName (the ReplicaSet's, DaemonSet's... name and a dash)."""
    if plan.ordinal is not None or not plan.owner_kind:
        return plan.name
    owner = f"{plan.owner_name}-{plan.template_hash}" if plan.owner_kind == "Deployment" else plan.owner_name
    return f"{owner}-"


def refusal(plan: PodPlan, objects: list[dict], pods: list[dict]) -> str:
    """"" when admission lets the pod in, else its owner's FailedCreate message. objects: the
    desired objects (PriorityClasses, ResourceQuotas); pods: the namespace's pods that count
    (running or being made)."""
    shown = shown_name(plan)
    wanted = plan.spec.get("priorityClassName")
    if wanted and not any(o["kind"] == "PriorityClass" and o["metadata"]["name"] == wanted for o in objects):
        return f'Error creating: pods "{shown}" is forbidden: no PriorityClass with name {wanted} was found'
    quotas = [o for o in objects if o["kind"] == "ResourceQuota" and o["metadata"].get("namespace") == plan.namespace]
    if not quotas:
        return ""
    counted = quota.kinds_counted(quotas)
    others = [o for o in objects if o["kind"] in counted and o["kind"] != "Pod"
              and o["metadata"].get("namespace", "default") == plan.namespace]
    new = {"kind": "Pod", "metadata": {"name": shown, "namespace": plan.namespace}, "spec": plan.spec}
    why = quota.verdict(new, quotas, others + pods)
    return f'Error creating: pods "{shown}" is forbidden: {why}' if why else ""
