"""ResourceQuotas: what each object counts towards a namespace's quota, what the quota has used,
and the admission plugin's verdict on a new object. Pure: from plain objects.

Rules read from kubernetes' pkg/quota/v1/evaluator/core (pods, services, claims and the generic
object counts), staging/src/k8s.io/apiserver/pkg/admission/plugin/resourcequota (the verdict and
its words) and pkg/controller/resourcequota (status.used)."""

from __future__ import annotations

from .quantity import quantity
from .selectors import holds

# kind -> (the resource name quota counts it by, its count/ name)
COUNTED = {"Pod": ("pods", "count/pods"), "Service": ("services", "count/services"),
           "ConfigMap": ("configmaps", "count/configmaps"), "Secret": ("secrets", "count/secrets"),
           "PersistentVolumeClaim": ("persistentvolumeclaims", "count/persistentvolumeclaims"),
           "ReplicationController": ("replicationcontrollers", "count/replicationcontrollers"),
           "ResourceQuota": ("resourcequotas", "count/resourcequotas"),
           "Deployment": ("", "count/deployments.apps"), "StatefulSet": ("", "count/statefulsets.apps"),
           "ReplicaSet": ("", "count/replicasets.apps"), "DaemonSet": ("", "count/daemonsets.apps"),
           "Job": ("", "count/jobs.batch"), "CronJob": ("", "count/cronjobs.batch")}
_COMPUTE = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
_ALIASES = {"cpu": "requests.cpu", "memory": "requests.memory"}
SCOPES = ("Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass")


def _pod_compute(spec: dict) -> dict[str, float]:
    """A pod's requests and limits: its containers' sums, or its largest init container's."""
    def sums(containers: list, kind: str, name: str) -> float:
        return sum(quantity(((c.get("resources") or {}).get(kind) or {}).get(name)) or 0.0 for c in containers)
    out = {}
    for key in _COMPUTE:
        kind, name = key.split(".")
        apps = sums(spec.get("containers") or [], kind, name)
        init = max((sums([c], kind, name) for c in spec.get("initContainers") or []), default=0.0)
        out[key] = max(apps, init)
    return out


def _active_pod(pod: dict) -> bool:
    return not (pod.get("metadata") or {}).get("deletionTimestamp") and \
        (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def kinds_counted(quotas: list[dict]) -> set[str]:
    """The kinds whose objects these quotas count (what to list to know their use)."""
    out = set()
    for q in quotas:
        for key in (q.get("spec") or {}).get("hard") or {}:
            out |= {kind for kind, names in COUNTED.items() if key in names}
            if key in _COMPUTE or key in _ALIASES:
                out.add("Pod")
            elif key.startswith("services."):
                out.add("Service")
            elif key == "requests.storage":
                out.add("PersistentVolumeClaim")
    return out


def usage(obj: dict) -> dict[str, float]:
    """What the object counts towards a quota, by resource name."""
    kind = obj.get("kind", "")
    if kind not in COUNTED or (kind == "Pod" and not _active_pod(obj)):
        return {}
    name, count = COUNTED[kind]
    out = {count: 1.0, **({name: 1.0} if name else {})}
    spec = obj.get("spec") or {}
    if kind == "Pod":
        compute = _pod_compute(spec)
        out.update(compute)
        out["cpu"], out["memory"] = compute["requests.cpu"], compute["requests.memory"]
    elif kind == "Service":
        kind_of = spec.get("type") or "ClusterIP"
        out["services.loadbalancers"] = 1.0 if kind_of == "LoadBalancer" else 0.0
        out["services.nodeports"] = float(len(spec.get("ports") or [])) if kind_of in ("NodePort", "LoadBalancer") \
            else 0.0
    elif kind == "PersistentVolumeClaim":
        out["requests.storage"] = quantity(((spec.get("resources") or {}).get("requests") or {}).get("storage")) or 0.0
    return out


def _scoped(quota: dict, obj: dict) -> bool:
    """Whether the quota's scopes take in the object (scopes only ever take in pods)."""
    spec = quota.get("spec") or {}
    scopes: list[tuple[str, str, list]] = [(s, "Exists", []) for s in spec.get("scopes") or []]
    scopes += [(e.get("scopeName", ""), e.get("operator", ""), e.get("values") or [])
               for e in (spec.get("scopeSelector") or {}).get("matchExpressions") or []]
    if not scopes:
        return True
    if obj.get("kind") != "Pod":
        return False
    pod_spec = obj.get("spec") or {}
    best_effort = not any((c.get("resources") or {}).get("requests") or (c.get("resources") or {}).get("limits")
                          for c in (pod_spec.get("containers") or []) + (pod_spec.get("initContainers") or []))
    terminating = pod_spec.get("activeDeadlineSeconds") is not None
    for scope, op, values in scopes:
        if scope == "PriorityClass":
            name = pod_spec.get("priorityClassName") or ""
            held = holds({"key": scope, "operator": op, "values": values}, {scope: name} if name else {})
        else:
            held = {"Terminating": terminating, "NotTerminating": not terminating, "BestEffort": best_effort,
                    "NotBestEffort": not best_effort}.get(scope, False)
            held = held if op != "DoesNotExist" else not held
        if not held:
            return False
    return True


def used(quota: dict, objects: list[dict]) -> dict[str, float]:
    """status.used: the sum over the namespace's objects the quota takes in, for each of its
    hard resources."""
    hard = (quota.get("spec") or {}).get("hard") or {}
    ns = (quota.get("metadata") or {}).get("namespace", "default")
    total = dict.fromkeys(hard, 0.0)
    for obj in objects:
        if (obj.get("metadata") or {}).get("namespace", "default") != ns or not _scoped(quota, obj):
            continue
        for resource, amount in usage(obj).items():
            if resource in total:
                total[resource] += amount
    return total


def format_amount(resource: str, value: float) -> str:
    """A quantity as the API server prints it: millicores for cpu, binary units for bytes."""
    if resource.endswith("cpu") or resource == "cpu":
        milli = round(value * 1000)
        return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"
    if resource.endswith(("memory", "storage")):
        for suffix, size in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
            if value and value % size == 0:
                return f"{int(value // size)}{suffix}"
    return str(int(value)) if value == int(value) else str(value)


def _listing(amounts: dict[str, float]) -> str:
    return ",".join(f"{k}={format_amount(k, v)}" for k, v in sorted(amounts.items()))


def verdict(new: dict, quotas: list[dict], objects: list[dict]) -> str:
    """"" when the quotas of the new object's namespace allow it, else why not, in the
    admission plugin's words (after `pods "x" is forbidden: `)."""
    wanted = usage(new)
    if not wanted:
        return ""
    for quota in sorted(quotas, key=lambda q: q["metadata"]["name"]):
        hard = (quota.get("spec") or {}).get("hard") or {}
        if not _scoped(quota, new):
            continue
        name = quota["metadata"]["name"]
        if new.get("kind") == "Pod":  # a compute resource the quota limits must be given by every container
            missing = []
            for key in [k for k in _COMPUTE if k in hard or {v: k for k, v in _ALIASES.items()}.get(k, "") in hard]:
                kind, res = key.split(".")
                lacking = [c.get("name", "") for c in (new.get("spec") or {}).get("containers") or []
                           if ((c.get("resources") or {}).get(kind) or {}).get(res) is None]
                if lacking:
                    missing.append(f"{key} for: {','.join(lacking)}")
            if missing:
                return f"failed quota: {name}: must specify {'; '.join(missing)}"
        now = used(quota, objects)
        requested = {k: v for k, v in wanted.items() if k in hard and v}
        over = {k for k, v in requested.items() if now.get(k, 0.0) + v > (quantity(hard[k]) or 0.0)}
        if over:
            return (f"exceeded quota: {name}, requested: {_listing({k: requested[k] for k in over})}, "
                    f"used: {_listing({k: now.get(k, 0.0) for k in over})}, "
                    f"limited: {_listing({k: quantity(hard[k]) or 0.0 for k in over})}")
    return ""


def status(quota: dict, objects: list[dict]) -> dict:
    """The quota controller's status: hard as asked, used as counted."""
    hard = (quota.get("spec") or {}).get("hard") or {}
    return {"hard": dict(hard), "used": {k: format_amount(k, v) for k, v in used(quota, objects).items()}}
