"""Formatting shared by the printers, each mirroring the Go helper it is named after:
labels.FormatLabels, metav1.FormatLabelSelector, layoutContainerCells (the time helpers,
HumanDuration and translateTimestampSince, are in emukube.k8s.times)."""

from __future__ import annotations

# The printers import the time helpers from here, beside the other Go helpers' twins.
from ...k8s.times import human_duration, now_or, parse_time, short_human_duration, since
from ..selectors import selector_string

__all__ = ["human_duration", "now_or", "parse_time", "short_human_duration", "since", "format_labels",
           "selector_string", "format_label_selector", "layout_containers", "pod_template_containers",
           "join_host_port", "more"]


def format_labels(labels: dict | None) -> str:
    """labels.FormatLabels: "k=v,k2=v2" sorted by key, "<none>" when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def format_label_selector(selector) -> str:
    """metav1.FormatLabelSelector: like selector_string, "<none>" when empty, "<error>" if invalid."""
    text = selector_string(selector)
    if text is None:
        return "<error>"
    return text or "<none>"


def layout_containers(containers) -> tuple[str, str]:
    """layoutContainerCells: container names and images, each comma-joined."""
    containers = containers or []
    return (",".join(c.get("name", "") for c in containers),
            ",".join(c.get("image", "") for c in containers))


def pod_template_containers(obj: dict) -> list:
    return (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []


def join_host_port(host: str, port) -> str:
    """net.JoinHostPort: an IPv6 address is bracketed."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def more(items: list[str], count: int, limit: int = 3, empty: str = "<unset>") -> str:
    """listWithMoreString: the first `limit` items, then " + N more..." for the rest."""
    text = ",".join(items[:limit])
    if count > limit:
        return f"{text} + {count - limit} more..."
    return text or empty
