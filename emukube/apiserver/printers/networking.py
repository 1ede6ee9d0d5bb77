"""The printers for Ingresses, IngressClasses, NetworkPolicies, ServiceCIDRs and IPAddresses
(printIngress, printIngressClass, printNetworkPolicy, printServiceCIDR, printIPAddress), and the
last two's columns' descriptions (networking/v1beta1's field docs, as printers.go takes them)."""

from __future__ import annotations

from .core import load_balancer_ingress
from .format import format_label_selector, since

CIDRS_DOC = ("CIDRs defines the IP blocks in CIDR notation (e.g. \"192.168.0.0/24\" or \"2001:db8::/64\") from which "
             "to assign service cluster IPs. Max of two CIDRs is allowed, one of each IP family. This field is "
             "immutable.")
PARENT_REF_DOC = ("ParentRef references the resource that an IPAddress is attached to. An IPAddress must reference "
                  "a parent object.")
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


def service_cidr_cells(obj: dict, now: float) -> list:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    return [meta.get("name", ""), ",".join(str(c) for c in spec.get("cidrs") or []),
            since(meta.get("creationTimestamp"), now)]


def ip_address_cells(obj: dict, now: float) -> list:
    """NAME PARENTREF, and an AGE cell without a column: printIPAddress writes three cells for
    its two columns, and kubectl prints as many as there are columns."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    ref = spec.get("parentRef")
    parent = "<none>"
    if isinstance(ref, dict):
        group, resource = str(ref.get("group") or ""), str(ref.get("resource") or "")
        parent = (f"{resource}.{group}" if group else resource).lower()  # GroupResource.String()
        if ref.get("namespace"):
            parent += f"/{ref['namespace']}"
        parent += f"/{ref.get('name') or ''}"
    return [meta.get("name", ""), parent, since(meta.get("creationTimestamp"), now)]
