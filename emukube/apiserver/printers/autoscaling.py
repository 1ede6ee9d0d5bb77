"""The printer for HorizontalPodAutoscalers (printHorizontalPodAutoscaler, formatHPAMetrics)."""

from __future__ import annotations

from .format import since

SHOWN_METRICS = 3  # then "+ N more..."


def _metric_text(spec: dict, current: dict | None) -> str:
    if spec.get("type") not in ("Resource", "ContainerResource"):
        return f"{spec.get('type', '')}: <unknown>"
    source = spec.get("resource") or spec.get("containerResource") or {}
    target = source.get("target") or {}
    now = ((current or {}).get("resource") or (current or {}).get("containerResource") or {}).get("current") or {}
    if target.get("type") == "Utilization":
        shown = f"{now['averageUtilization']}%" if now.get("averageUtilization") is not None else "<unknown>"
        return f"{source.get('name', '')}: {shown}/{target.get('averageUtilization')}%"
    field = "averageValue" if target.get("type") == "AverageValue" else "value"
    return f"{source.get('name', '')}: {now.get(field) or '<unknown>'}/{target.get(field)}"


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
