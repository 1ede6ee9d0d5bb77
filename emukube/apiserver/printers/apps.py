"""Printers for Deployments, ReplicaSets, StatefulSets, DaemonSets, ReplicationControllers and
ControllerRevisions. spec.replicas defaults to 1 on read, as the API server's defaulting would
have set it."""

from __future__ import annotations

from .format import (
    format_label_selector,
    format_labels,
    layout_containers,
    pod_template_containers,
    selector_string,
    since,
)


def _common(obj: dict, now: float) -> tuple[str, str, dict, dict]:
    meta = obj.get("metadata") or {}
    age = since(meta.get("creationTimestamp"), now)
    return meta.get("name", ""), age, obj.get("spec") or {}, obj.get("status") or {}


def _replicas(spec: dict) -> int:
    value = spec.get("replicas")
    return 1 if value is None else int(value)


def deployment_cells(obj: dict, now: float) -> list:
    name, age, spec, status = _common(obj, now)
    names, images = layout_containers(pod_template_containers(obj))
    selector = selector_string(spec.get("selector"))
    return [name, f"{int(status.get('readyReplicas') or 0)}/{_replicas(spec)}",
            int(status.get("updatedReplicas") or 0), int(status.get("availableReplicas") or 0), age,
            names, images, "<invalid>" if selector is None else selector]


def replicaset_cells(obj: dict, now: float) -> list:
    name, age, spec, status = _common(obj, now)
    names, images = layout_containers(pod_template_containers(obj))
    return [name, _replicas(spec), int(status.get("replicas") or 0), int(status.get("readyReplicas") or 0),
            age, names, images, format_label_selector(spec.get("selector"))]


def statefulset_cells(obj: dict, now: float) -> list:
    name, age, spec, status = _common(obj, now)
    names, images = layout_containers(pod_template_containers(obj))
    return [name, f"{int(status.get('readyReplicas') or 0)}/{_replicas(spec)}", age, names, images]


def daemonset_cells(obj: dict, now: float) -> list:
    name, age, spec, status = _common(obj, now)
    names, images = layout_containers(pod_template_containers(obj))
    node_selector = (((spec.get("template") or {}).get("spec")) or {}).get("nodeSelector")
    return [name, *(int(status.get(k) or 0) for k in ("desiredNumberScheduled", "currentNumberScheduled",
                                                        "numberReady", "updatedNumberScheduled", "numberAvailable")),
            format_labels(node_selector), age, names, images, format_label_selector(spec.get("selector"))]


def replicationcontroller_cells(obj: dict, now: float) -> list:
    name, age, spec, status = _common(obj, now)
    names, images = layout_containers(pod_template_containers(obj))
    return [name, _replicas(spec), int(status.get("replicas") or 0), int(status.get("readyReplicas") or 0),
            age, names, images, format_labels(spec.get("selector"))]


def controller_of(obj: dict) -> str:
    """The controller column: "<kind>.<group>/<name>" in lower case, "<none>" without one."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            api_version, kind = ref.get("apiVersion") or "", ref.get("kind") or ""
            group = api_version.split("/")[0] if "/" in api_version else ""
            if not group and not kind:
                return ref.get("name", "")
            group_kind = f"{kind}.{group}" if group else kind
            return f"{group_kind.lower()}/{ref.get('name', '')}"
    return "<none>"


def controllerrevision_cells(obj: dict, now: float) -> list:
    name, age, _, _ = _common(obj, now)
    return [name, controller_of(obj), int(obj.get("revision") or 0), age]
