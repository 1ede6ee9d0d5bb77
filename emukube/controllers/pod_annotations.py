"""A published pod's annotations: its template's, as the ReplicaSet and StatefulSet controllers
copy them (a pod-deletion-cost or the image map's stamp), the LimitRanger's note of the defaults
it gave the pod, and those users set on the pod since (`kubectl annotate pod`), which the next
status write must not take away."""

from __future__ import annotations

from typing import Sequence

from ..plan import limit_ranges
from ..plan.workloads import template_hash


def template_annotations(workloads: list[dict], namespace: str, owner: str, thash: str,
                         ranges: Sequence[dict] = (), created: str = "") -> dict:
    """The annotations of the template a workload's pod was made from (none once it changed),
    with the LimitRanger's for the namespace's LimitRanges that were there when it was made."""
    for w in workloads:
        if f"{w['kind']}/{w['metadata']['name']}" == owner and w["metadata"].get("namespace", "default") == namespace:
            template = w["spec"]["template"]
            if template_hash(template) == thash:
                out = dict((template.get("metadata") or {}).get("annotations") or {})
                older = [r for r in ranges if (r["metadata"].get("creationTimestamp") or "") <= created]
                _, said = limit_ranges.with_defaults(template.get("spec") or {}, older) if older else ({}, "")
                if said:
                    out[limit_ranges.ANNOTATION] = said
                return out
    return {}


def with_kept_annotations(obj: dict, previous: dict | None) -> dict:
    """The pod to write, with the annotations the API's copy holds besides ours."""
    kept = ((previous or {}).get("metadata") or {}).get("annotations") or {}
    if kept:
        obj["metadata"]["annotations"] = {**kept, **(obj["metadata"].get("annotations") or {})}
    return obj
