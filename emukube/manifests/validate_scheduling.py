"""PriorityClass validation (pkg/apis/scheduling/validation), and the classes every cluster has."""

from __future__ import annotations

from .fielderrors import FieldErrors

HIGHEST_USER_PRIORITY = 1_000_000_000
PREEMPTION_POLICIES = ["PreemptLowerPriority", "Never"]
# kube-apiserver makes these at start-up (scheduling.SystemPriorityClasses).
SYSTEM_CLASSES = {
    "system-node-critical": (2_000_001_000, "Used for system critical pods that must not be moved from their "
                                            "current node."),
    "system-cluster-critical": (2_000_000_000, "Used for system critical pods that must run in the cluster, but "
                                               "can be moved to another node if necessary."),
}


def system_class(name: str) -> dict:
    value, description = SYSTEM_CLASSES[name]
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
            "value": value, "description": description, "globalDefault": False,
            "preemptionPolicy": "PreemptLowerPriority"}


def validate_priority_class(obj: dict, errs: FieldErrors) -> None:
    name = (obj.get("metadata") or {}).get("name") or ""
    value = errs.get_int(obj, "value", "")
    if name.startswith("system-"):
        known = SYSTEM_CLASSES.get(name)
        if known is None or known[0] != value or obj.get("globalDefault"):
            errs.forbidden("metadata.name", "priority class names with 'system-' prefix are reserved for system "
                                            f"use only. error: {name} is not a known system priority class")
    elif value is not None and value > HIGHEST_USER_PRIORITY:
        errs.forbidden("value", f"maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}")
    policy = errs.get_str(obj, "preemptionPolicy", "")
    if policy and policy not in PREEMPTION_POLICIES:
        errs.not_supported("preemptionPolicy", policy, PREEMPTION_POLICIES)


def missing_priority_classes(objects: list[dict]) -> list[str]:
    """One warning per priorityClassName no PriorityClass among the objects (nor a system
    class) has: the API server refuses such pods unless the cluster holds that class."""
    declared = {(o.get("metadata") or {}).get("name") for o in objects if o.get("kind") == "PriorityClass"}
    named: dict[str, list[str]] = {}
    for obj in objects:
        spec: dict = obj["spec"] if isinstance(obj.get("spec"), dict) else {}
        if obj.get("kind") == "CronJob":
            spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
        pod_spec = spec if obj.get("kind") == "Pod" else ((spec.get("template") or {}).get("spec")) or {}
        wanted = pod_spec.get("priorityClassName") if isinstance(pod_spec, dict) else None
        if isinstance(wanted, str) and wanted and wanted not in declared and wanted not in SYSTEM_CLASSES:
            named.setdefault(wanted, []).append(f"{str(obj.get('kind', '')).lower()}/{obj['metadata']['name']}")
    return [f'priorityClassName "{name}" names no PriorityClass in these manifests: the pods of '
            f"{', '.join(owners)} are refused unless the cluster has it (kubectl create priorityclass {name} "
            "--value=N)" for name, owners in sorted(named.items())]
