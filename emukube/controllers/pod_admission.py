"""What the API server's admission would answer to a pod a workload's controller is about to
make: the ServiceAccount plugin (an account the namespace lacks), the Priority plugin (a
priorityClassName no PriorityClass has), the RuntimeClass plugin (its class's overhead, node
selector and tolerations; a class that does not exist), the LimitRanger (the namespace's default
requests and limits, then its bounds), PodSecurity (the namespace's enforced Pod Security
Standard) and the ResourceQuota plugin (no room left in the namespace's quotas). The loop starts
a pod's containers before it writes the pod, so it asks first, as the ReplicaSet controller's
create would be refused: the pod is not made, its owner says FailedCreate, and tries again on
later ticks. Pure (the webhooks are asked by the loop)."""

from __future__ import annotations

from dataclasses import replace

from ..k8s.resources import BY_KEY
from ..plan import limit_ranges, pod_security, quota, runtime_classes
from ..plan.api_access import missing_account
from ..plan.workloads import PodPlan


def shown_name(plan: PodPlan) -> str:
    """The name admission gives a pod it refuses: a StatefulSet's (or a bare) pod's own, else
    its generateName (the ReplicaSet's, DaemonSet's... name and a dash)."""
    if plan.ordinal is not None or not plan.owner_kind:
        return plan.name
    owner = f"{plan.owner_name}-{plan.template_hash}" if plan.owner_kind == "Deployment" else plan.owner_name
    return f"{owner}-"


def admitted(plan: PodPlan, objects: list[dict], pods: list[dict],
             runtime_class_objects: dict[str, dict] | None = None) -> tuple[PodPlan, str]:
    """(the pod as admission makes it, its owner's FailedCreate message or "" when admission
    lets it in). objects: the desired objects (PriorityClasses, LimitRanges, ResourceQuotas);
    pods: the namespace's pods that count (running or being made); runtime_class_objects: the
    RuntimeClasses the API holds by name, at least the one the pod names (the loop does not
    watch them: it asks); None when unknown, the RuntimeClass plugin then left to the write."""
    shown = shown_name(plan)
    accounts = {o["metadata"]["name"] for o in objects
                if o["kind"] == "ServiceAccount" and o["metadata"].get("namespace") == plan.namespace}
    if why := missing_account(plan.spec, plan.namespace, accounts):
        return plan, f'Error creating: pods "{shown}" is forbidden: {why}'
    wanted = plan.spec.get("priorityClassName")
    if wanted and not any(o["kind"] == "PriorityClass" and o["metadata"]["name"] == wanted for o in objects):
        return plan, f'Error creating: pods "{shown}" is forbidden: no PriorityClass with name {wanted} was found'
    if runtime_class_objects is not None:
        found = runtime_class_objects.get(plan.spec.get("runtimeClassName") or "")
        spec, why = runtime_classes.admit(plan.spec, found)
        if why:
            return plan, f'Error creating: pods "{shown}" is forbidden: {why}'
        plan = replace(plan, spec=spec)
    ranges = [o for o in objects if o["kind"] == "LimitRange" and o["metadata"].get("namespace") == plan.namespace]
    if ranges:
        spec, _, why = limit_ranges.admit(plan.spec, ranges)
        if why:
            return plan, f'Error creating: pods "{shown}" is forbidden: {why}'
        plan = replace(plan, spec=spec)
    if why := _pod_security_refusal(plan, objects):
        return plan, f'Error creating: pods "{shown}" is forbidden: {why}'
    return plan, _quota_refusal(plan, shown, objects, pods)


def _pod_security_refusal(plan: PodPlan, objects: list[dict]) -> str:
    """The PodSecurity plugin: the namespace's enforced Pod Security Standard, broken."""
    labels = next(((o["metadata"].get("labels") or {}) for o in objects
                   if o["kind"] == "Namespace" and o["metadata"]["name"] == plan.namespace), {})
    level, version = pod_security.namespace_policy(labels)[0]["enforce"]
    failures = pod_security.checks(level, version, {"labels": plan.labels, "annotations": plan.annotations},
                                   plan.spec)
    return pod_security.violation_message(level, version, failures) if failures else ""


def _quota_refusal(plan: PodPlan, shown: str, objects: list[dict], pods: list[dict]) -> str:
    quotas = [o for o in objects if o["kind"] == "ResourceQuota" and o["metadata"].get("namespace") == plan.namespace]
    if not quotas:
        return ""
    counted = quota.kinds_counted(quotas)
    others = [o for o in objects if o["kind"] in counted and o["kind"] != "Pod"
              and o["metadata"].get("namespace", "default") == plan.namespace]
    new = {"kind": "Pod", "metadata": {"name": shown, "namespace": plan.namespace}, "spec": plan.spec}
    why = quota.verdict(new, quotas, others + pods)
    return f'Error creating: pods "{shown}" is forbidden: {why}' if why else ""


def webhooks_may_see(plan: PodPlan, objects: list[dict]) -> bool:
    """Whether an admission webhook's rules match the create of this pod (its selectors are
    the API server's to weigh, in the dry run the loop then makes)."""
    from ..apiserver.webhooks import Request, hooks_of, may_match

    configurations = [o for o in objects if o.get("kind") in ("MutatingWebhookConfiguration",
                                                                "ValidatingWebhookConfiguration")]
    if not configurations:
        return False
    req = Request("CREATE", BY_KEY["pods"], plan.namespace, plan.name, {})
    return any(may_match(h, req) for h in hooks_of(configurations, False))
