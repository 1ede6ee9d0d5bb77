"""The printers for Ingresses, IngressClasses and NetworkPolicies (printIngress,
printIngressClass, printNetworkPolicy)."""

from __future__ import annotations

from .core import load_balancer_ingress
from .format import format_label_selector, since

MOST_HOSTS = 3  # formatHosts names this many, then "+ N more..."


def _hosts(rules: list) -> str:
    named = [r["host"] for r in rules if isinstance(r, dict) and r.get("host")][:MOST_HOSTS]
    if not named:
        return "*"
    # kubectl counts the rules beyond the third, hosts or not
    return ",".join(named) + (f" + {len(rules) - MOST_HOSTS} more..." if len(rules) > MOST_HOSTS else "")


def ingress_cells(obj: dict, now: float) -> list:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    return [meta.get("name", ""), spec.get("ingressClassName") or "<none>", _hosts(spec.get("rules") or []),
            load_balancer_ingress(obj), "80, 443" if spec.get("tls") else "80",
            since(meta.get("creationTimestamp"), now)]


def ingress_class_cells(obj: dict, now: float) -> list:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    params = spec.get("parameters")
    shown = "<none>"
    if isinstance(params, dict):
        kind = params.get("kind", "") + (f".{params['apiGroup']}" if params.get("apiGroup") else "")
        shown = f"{kind}/{params.get('name', '')}"
    return [meta.get("name", ""), spec.get("controller", ""), shown, since(meta.get("creationTimestamp"), now)]


def network_policy_cells(obj: dict, now: float) -> list:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    return [meta.get("name", ""), format_label_selector(spec.get("podSelector") or {}),
            since(meta.get("creationTimestamp"), now)]
