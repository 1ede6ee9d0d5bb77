"""The ClusterRoles and ClusterRoleBindings kube-apiserver bootstraps (rbac/bootstrappolicy), the
part of them that concerns what emukube serves: cluster-admin for system:masters, the user-facing
admin/edit/view (aggregated from system:aggregate-to-*), discovery, public info and
self-reviews for every authenticated caller, and /metrics for the group system:monitoring."""

from __future__ import annotations

from ..k8s.resources import BY_KEY
from .rbac import AUTHENTICATED, GROUP, MASTERS, SERVICE_ACCOUNTS, UNAUTHENTICATED

_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]
_ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
_META = {"labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}


def _rule(groups: list[str], resources: list[str], verbs: list[str]) -> dict:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs}


def _urls(urls: list[str], verbs: list[str]) -> dict:
    return {"nonResourceURLs": urls, "verbs": verbs}


def _role(name: str, rules: list[dict], labels: dict | None = None, aggregate_from: str = "") -> dict:
    meta = {"name": name, "labels": {**_META["labels"], **(labels or {})}, "annotations": dict(_META["annotations"])}
    role = {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRole", "metadata": meta, "rules": rules}
    if aggregate_from:
        role["aggregationRule"] = {"clusterRoleSelectors": [
            {"matchLabels": {f"rbac.authorization.k8s.io/aggregate-to-{aggregate_from}": "true"}}]}
    return role


def _binding(name: str, role: str, groups: list[str]) -> dict:
    return {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, **{k: dict(v) for k, v in _META.items()}},
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": GROUP, "kind": "Group", "name": g} for g in groups]}


_TO_VIEW = [
    _rule([""], ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods",
                 "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
                 "services/status"], _READ),
    _rule([""], ["bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
                 "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"], _READ),
    _rule([""], ["namespaces"], _READ),
    _rule(["discovery.k8s.io"], ["endpointslices"], _READ),
    _rule(["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                     "deployments/status", "replicasets", "replicasets/scale", "replicasets/status",
                     "statefulsets", "statefulsets/scale", "statefulsets/status"], _READ),
    _rule(["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"], _READ),
    _rule(["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], _READ),
    _rule(["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"], _READ),
    _rule(["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"], _READ),
]
_TO_EDIT = [
    _rule([""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"], _READ),
    _rule([""], ["serviceaccounts"], ["impersonate"]),
    _rule([""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"], _WRITE),
    _rule([""], ["pods/eviction"], ["create"]),
    _rule([""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
                 "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"], _WRITE),
    _rule([""], ["serviceaccounts/token"], ["create"]),
    _rule(["apps"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets",
                     "replicasets/scale", "statefulsets", "statefulsets/scale"], _WRITE),
    _rule(["autoscaling"], ["horizontalpodautoscalers"], _WRITE),
    _rule(["batch"], ["cronjobs", "jobs"], _WRITE),
    _rule(["policy"], ["poddisruptionbudgets"], _WRITE),
    _rule(["networking.k8s.io"], ["ingresses", "networkpolicies"], _WRITE),
    _rule(["coordination.k8s.io"], ["leases"], _ALL),
]
_TO_ADMIN = [
    _rule(["authorization.k8s.io"], ["localsubjectaccessreviews"], ["create"]),
    _rule([GROUP], ["rolebindings", "roles"], _ALL),
]
_ISSUER_DISCOVERY = ["/.well-known/openid-configuration", "/.well-known/openid-configuration/", "/openid/v1/jwks",
                     "/openid/v1/jwks/"]
_HEALTH = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
_MONITORING = ["/healthz", "/healthz/*", "/livez", "/livez/*", "/metrics", "/metrics/slis", "/readyz", "/readyz/*"]


def _aggregated(name: str, own: list[dict], label: str) -> dict:
    return _role(f"system:aggregate-to-{name}", own, {f"rbac.authorization.k8s.io/aggregate-to-{label}": "true"})


def cluster_roles() -> list[dict]:
    view, edit = _TO_VIEW, _TO_EDIT + [r for r in _TO_VIEW if r not in _TO_EDIT]
    return [
        _role("cluster-admin", [_rule(["*"], ["*"], ["*"]), _urls(["*"], ["*"])]),
        # Stored with the rules the aggregation controller would write; rbac.py aggregates anew when asked.
        _role("admin", _TO_ADMIN + edit, aggregate_from="admin"),
        _role("edit", edit, {"rbac.authorization.k8s.io/aggregate-to-admin": "true"}, aggregate_from="edit"),
        _role("view", view, {"rbac.authorization.k8s.io/aggregate-to-edit": "true"}, aggregate_from="view"),
        _aggregated("admin", _TO_ADMIN, "admin"),
        _aggregated("edit", _TO_EDIT, "edit"),
        _aggregated("view", _TO_VIEW, "view"),
        _role("system:basic-user", [_rule(["authorization.k8s.io"], ["selfsubjectaccessreviews",
                                                                     "selfsubjectrulesreviews"], ["create"]),
                                    _rule(["authentication.k8s.io"], ["selfsubjectreviews"], ["create"])]),
        _role("system:discovery", [_urls(["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
                                          "/openapi/*", "/readyz", "/version", "/version/"], ["get"])]),
        _role("system:public-info-viewer", [_urls(_HEALTH, ["get"])]),
        _role("system:monitoring", [_urls(_MONITORING, ["get"])]),
        _role("system:service-account-issuer-discovery", [_urls(_ISSUER_DISCOVERY, ["get"])]),
        _role("system:auth-delegator", [_rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
                                        _rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"])]),
    ]


def cluster_role_bindings() -> list[dict]:
    return [
        _binding("cluster-admin", "cluster-admin", [MASTERS]),
        _binding("system:basic-user", "system:basic-user", [AUTHENTICATED]),
        _binding("system:discovery", "system:discovery", [AUTHENTICATED]),
        _binding("system:public-info-viewer", "system:public-info-viewer", [AUTHENTICATED, UNAUTHENTICATED]),
        _binding("system:monitoring", "system:monitoring", ["system:monitoring"]),
        _binding("system:service-account-issuer-discovery", "system:service-account-issuer-discovery",
                 [SERVICE_ACCOUNTS]),
    ]


def objects() -> list[tuple[object, dict]]:
    """(resource, object) of each, roles before the bindings that name them."""
    return [(BY_KEY["clusterroles." + GROUP], r) for r in cluster_roles()] + \
        [(BY_KEY["clusterrolebindings." + GROUP], b) for b in cluster_role_bindings()]
