"""A published pod's annotations: its template's, as the ReplicaSet and StatefulSet controllers
copy them (a pod-deletion-cost or the image map's stamp), and those users set on the pod since
(`kubectl annotate pod`), which the next status write must not take away."""

from __future__ import annotations

from ..plan.workloads import template_hash


def template_annotations(workloads: list[dict], namespace: str, owner: str, thash: str) -> dict:
    """The annotations of the template a workload's pod was made from (none once it changed)."""
    for w in workloads:
        if f"{w['kind']}/{w['metadata']['name']}" == owner and w["metadata"].get("namespace", "default") == namespace:
            template = w["spec"]["template"]
            if template_hash(template) == thash:
                return dict((template.get("metadata") or {}).get("annotations") or {})
    return {}


def with_kept_annotations(obj: dict, previous: dict | None) -> dict:
    """The pod to write, with the annotations the API's copy holds besides ours."""
    kept = ((previous or {}).get("metadata") or {}).get("annotations") or {}
    if kept:
        obj["metadata"]["annotations"] = {**kept, **(obj["metadata"].get("annotations") or {})}
    return obj
