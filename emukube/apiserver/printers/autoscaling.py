"""The printer for HorizontalPodAutoscalers (printHorizontalPodAutoscaler, formatHPAMetrics)."""

from __future__ import annotations

from .format import since

SHOWN_METRICS = 2  # then "+ N more..."


def _metric_text(spec: dict, current: dict | None) -> str:
    kind = spec.get("type", "")
    key = {"Resource": "resource", "ContainerResource": "containerResource", "Pods": "pods", "Object": "object",
           "External": "external"}.get(kind)
    if key is None:
        return "<unknown type>"
    source = spec.get(key) or {}
    target = source.get("target") or {}
    now = ((current or {}).get(key) or {}).get("current") or {}
    if kind in ("Resource", "ContainerResource"):
        if target.get("averageValue") is not None:
            return f"{source.get('name', '')}: {now.get('averageValue') or '<unknown>'}/{target['averageValue']}"
        shown = f"{now['averageUtilization']}%" if now.get("averageUtilization") is not None else "<unknown>"
        wanted = f"{target['averageUtilization']}%" if target.get("averageUtilization") is not None else "<auto>"
        return f"{source.get('name', '')}: {shown}/{wanted}"
    if kind == "Pods":
        return f"{now.get('averageValue') or '<unknown>'}/{target.get('averageValue')}"
    if target.get("averageValue") is not None:  # Object and External, per pod
        return f"{now.get('averageValue') or '<unknown>'}/{target['averageValue']} (avg)"
    return f"{now.get('value') or '<unknown>'}/{target.get('value')}"


def targets(spec: dict, status: dict) -> str:
    metrics = spec.get("metrics") or []
    if not metrics:
        return "<none>"
    current = status.get("currentMetrics") or []
    texts = [_metric_text(m, current[i] if i < len(current) else None) for i, m in enumerate(metrics)]
    more = len(texts) - SHOWN_METRICS
    return ", ".join(texts[:SHOWN_METRICS]) + (f" + {more} more..." if more > 0 else "")


def autoscaler_cells(obj: dict, now: float) -> list:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    least = spec.get("minReplicas")
    return [meta.get("name", ""), f"{ref.get('kind', '')}/{ref.get('name', '')}", targets(spec, status),
            "<unset>" if least is None else str(least), str(spec.get("maxReplicas", 0)),
            int(status.get("currentReplicas") or 0), since(meta.get("creationTimestamp"), now)]
