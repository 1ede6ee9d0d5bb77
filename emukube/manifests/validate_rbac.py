"""Defaulting and validation of Roles, ClusterRoles and their bindings (pkg/apis/rbac/v1 defaults,
pkg/apis/rbac/validation), with the API server's words: its admission and `up`'s validation
(all problems at once, before anything is written) share them. Not done: escalation prevention
(a caller may grant what it does not hold)."""

from __future__ import annotations

from ..k8s.resources import RBAC_GROUP as GROUP
from .fielderrors import FieldErrors

KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")

_SUBJECT_KINDS = ("ServiceAccount", "User", "Group")


def _strings(values: list) -> str:
    """A []string as Go's %#v prints it."""
    return "[]string{" + ", ".join(f'"{v}"' for v in values) + "}"


def _supported(path: str, value: object, allowed: list[str]) -> str:
    return f'{path}: Unsupported value: "{value}": supported values: ' + ", ".join(f'"{a}"' for a in allowed)


def default(obj: dict) -> None:
    """SetDefaults_RoleBinding / SetDefaults_Subject."""
    if "roleRef" in obj and isinstance(obj["roleRef"], dict) and not obj["roleRef"].get("apiGroup"):
        obj["roleRef"]["apiGroup"] = GROUP
    for subject in obj.get("subjects") or []:
        if isinstance(subject, dict) and not subject.get("apiGroup") and subject.get("kind") in ("User", "Group"):
            subject["apiGroup"] = GROUP


def _rule_problems(rule: dict, namespaced: bool, path: str) -> list[str]:
    out = []
    if not rule.get("verbs"):
        out.append(f"{path}.verbs: Required value: verbs must contain at least one value")
    urls = rule.get("nonResourceURLs") or []
    if urls:
        if namespaced:
            out.append(f"{path}.nonResourceURLs: Invalid value: {_strings(urls)}: namespaced rules cannot apply "
                       "to non-resource URLs")
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            out.append(f"{path}.nonResourceURLs: Invalid value: {_strings(urls)}: rules cannot apply to both "
                       "regular resources and non-resource URLs")
        return out
    if not rule.get("apiGroups"):
        out.append(f"{path}.apiGroups: Required value: resource rules must supply at least one api group")
    if not rule.get("resources"):
        out.append(f"{path}.resources: Required value: resource rules must supply at least one resource")
    return out


def _subject_problems(subject: dict, namespaced: bool, path: str) -> list[str]:
    out = []
    if not subject.get("name"):
        out.append(f"{path}.name: Required value")
    kind, group = subject.get("kind"), subject.get("apiGroup") or ""
    if kind == "ServiceAccount":
        if group:
            out.append(_supported(f"{path}.apiGroup", group, [""]))
        if not namespaced and not subject.get("namespace"):
            out.append(f"{path}.namespace: Required value")
    elif kind in ("User", "Group"):
        if group != GROUP:
            out.append(_supported(f"{path}.apiGroup", group, [GROUP]))
    else:
        out.append(_supported(f"{path}.kind", kind or "", list(_SUBJECT_KINDS)))
    return out


def _ref_string(ref: dict) -> str:
    return (f'rbac.RoleRef{{APIGroup:"{ref.get("apiGroup", "")}", Kind:"{ref.get("kind", "")}", '
            f'Name:"{ref.get("name", "")}"}}')


def problems(kind: str, obj: dict, old: dict | None) -> list[str]:
    out: list[str] = []
    if kind in ("Role", "ClusterRole"):
        for i, rule in enumerate(obj.get("rules") or []):
            out += _rule_problems(rule if isinstance(rule, dict) else {}, kind == "Role", f"rules[{i}]")
        return out
    namespaced = kind == "RoleBinding"
    ref = obj.get("roleRef")
    if not isinstance(ref, dict):
        ref = {}
    if ref.get("apiGroup") != GROUP:
        out.append(_supported("roleRef.apiGroup", ref.get("apiGroup", ""), [GROUP]))
    kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    if ref.get("kind") not in kinds:
        out.append(_supported("roleRef.kind", ref.get("kind", ""), kinds))
    if not ref.get("name"):
        out.append("roleRef.name: Required value")
    for i, subject in enumerate(obj.get("subjects") or []):
        out += _subject_problems(subject if isinstance(subject, dict) else {}, namespaced, f"subjects[{i}]")
    if old is not None and (old.get("roleRef") or {}) != ref:
        out.append(f"roleRef: Invalid value: {_ref_string(ref)}: cannot change roleRef")
    return out


def validate_rbac(obj: dict, errs: FieldErrors) -> None:
    """`up`'s check of a Role, ClusterRole or binding: as the API server's, on its defaults."""
    defaulted = {**obj, "roleRef": dict(obj["roleRef"])} if isinstance(obj.get("roleRef"), dict) else dict(obj)
    if isinstance(obj.get("subjects"), list):
        defaulted["subjects"] = [dict(s) if isinstance(s, dict) else s for s in obj["subjects"]]
    default(defaulted)
    errs.items += problems(str(obj.get("kind")), defaulted, None)
