"""The RBAC authorizer (plugin/pkg/auth/authorizer/rbac), as pure functions over the stored Roles,
ClusterRoles, RoleBindings and ClusterRoleBindings: which bindings name a user, which rules those
grant, and whether a rule covers a request. Wording of reasons and denials is kube-apiserver's."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..k8s.resources import RBAC_GROUP as GROUP
from .selectors import labels_match, parse_labels, selector_string

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
SA_PREFIX = "system:serviceaccount:"
SERVICE_ACCOUNTS = "system:serviceaccounts"  # the group of every ServiceAccount


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)


def service_account_user(namespace: str, name: str, uid: str = "") -> User:
    return User(f"{SA_PREFIX}{namespace}:{name}", service_account_groups(namespace) + (AUTHENTICATED,), uid)


def service_account_groups(namespace: str) -> tuple[str, ...]:
    return (SERVICE_ACCOUNTS, f"{SERVICE_ACCOUNTS}:{namespace}")


def split_service_account(username: str) -> tuple[str, str] | None:
    """(namespace, name) of "system:serviceaccount:NS:NAME"; None for other users."""
    if not username.startswith(SA_PREFIX):
        return None
    parts = username[len(SA_PREFIX):].split(":")
    return (parts[0], parts[1]) if len(parts) == 2 and all(parts) else None


@dataclass(frozen=True)
class Attributes:
    """authorizer.Attributes: a resource request, or a non-resource one (path set, resource empty)."""
    verb: str
    resource_request: bool = True
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""


@dataclass
class Policy:
    """The stored RBAC objects (lists of dicts, as the store holds them)."""
    roles: list[dict] = field(default_factory=list)
    cluster_roles: list[dict] = field(default_factory=list)
    role_bindings: list[dict] = field(default_factory=list)
    cluster_role_bindings: list[dict] = field(default_factory=list)


# ---- rule matching (rbac/rules.go: RuleAllows) ---------------------------------------------------

def _has(values, wanted: str) -> bool:
    values = values or []
    return "*" in values or wanted in values


def resource_matches(rule: dict, resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for res in rule.get("resources") or []:
        if res in ("*", combined):
            return True
        # "*/scale" covers the scale subresource of every resource
        if subresource and res == "*/" + subresource:
            return True
    return False


def non_resource_url_matches(rule: dict, path: str) -> bool:
    for url in rule.get("nonResourceURLs") or []:
        if url in ("*", path) or (url.endswith("*") and path.startswith(url[:-1])):
            return True
    return False


def rule_allows(attrs: Attributes, rule: dict) -> bool:
    if not _has(rule.get("verbs"), attrs.verb):
        return False
    if not attrs.resource_request:
        return non_resource_url_matches(rule, attrs.path)
    names = rule.get("resourceNames") or []
    return _has(rule.get("apiGroups"), attrs.group) and \
        resource_matches(rule, attrs.resource, attrs.subresource) and (not names or attrs.name in names)


# ---- bindings ------------------------------------------------------------------------------------

def applies_to(user: User, subject: dict, binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return user.name == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return bool(namespace) and user.name == f"{SA_PREFIX}{namespace}:{name}"
    return False


def describe_subject(subject: dict, binding_namespace: str) -> str:
    name = subject.get("name", "")
    if subject.get("kind") == "ServiceAccount":
        name = f"{name}/{subject.get('namespace') or binding_namespace}"
    return f'{subject.get("kind")} "{name}"'


def _by_name(objs: list[dict], namespace: str | None = None) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objs
            if namespace is None or o["metadata"].get("namespace") == namespace}


def cluster_role_rules(role: dict, cluster_roles: dict[str, dict], depth: int = 0) -> list[dict]:
    """A ClusterRole's rules; an aggregated one's are those of the ClusterRoles its selectors pick
    (the aggregation controller's work, done when asked)."""
    aggregation = role.get("aggregationRule")
    if not aggregation or depth > 4:
        return list(role.get("rules") or [])
    rules: list[dict] = []
    me = role["metadata"]["name"]
    for selector in aggregation.get("clusterRoleSelectors") or []:
        # LabelSelectorAsSelector: an empty selector picks every ClusterRole, an invalid one none
        text = selector_string(selector if selector is not None else {"matchExpressions": [{}]})
        if text is None:
            continue
        reqs = parse_labels(text)
        for name in sorted(cluster_roles):
            other = cluster_roles[name]
            if name != me and labels_match(reqs, other):
                rules += [r for r in cluster_role_rules(other, cluster_roles, depth + 1) if r not in rules]
    return rules


def _role_rules(ref: dict, namespace: str, roles: dict, cluster_roles: dict) -> tuple[list[dict], str]:
    """(rules, error) of a binding's roleRef, as GetRoleReferenceRules."""
    kind, name = ref.get("kind"), ref.get("name", "")
    if kind == "Role":
        role = roles.get((namespace, name))
        if role is None:
            return [], f'role.{GROUP} "{name}" not found'
        return list(role.get("rules") or []), ""
    if kind == "ClusterRole":
        role = cluster_roles.get(name)
        if role is None:
            return [], f'clusterrole.{GROUP} "{name}" not found'
        return cluster_role_rules(role, cluster_roles), ""
    return [], f"unsupported role reference kind: {kind!r}"


def visit(policy: Policy, user: User, namespace: str):
    """(source, rules, error) for every binding naming the user: cluster-wide first, then those
    of `namespace` (VisitRulesFor)."""
    cluster_roles = _by_name(policy.cluster_roles)
    roles = {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in policy.roles}
    for binding in policy.cluster_role_bindings:
        for subject in binding.get("subjects") or []:
            if applies_to(user, subject, ""):
                ref = binding.get("roleRef") or {}
                rules, error = _role_rules(ref, "", {}, cluster_roles)
                source = (f'ClusterRoleBinding "{binding["metadata"]["name"]}" of {ref.get("kind")} '
                          f'"{ref.get("name")}" to {describe_subject(subject, "")}')
                yield source, rules, error
                break
    if not namespace:
        return
    for binding in policy.role_bindings:
        meta = binding["metadata"]
        if meta.get("namespace") != namespace:
            continue
        for subject in binding.get("subjects") or []:
            if applies_to(user, subject, namespace):
                ref = binding.get("roleRef") or {}
                rules, error = _role_rules(ref, namespace, roles, cluster_roles)
                source = (f'RoleBinding "{meta["name"]}/{namespace}" of {ref.get("kind")} "{ref.get("name")}" '
                          f"to {describe_subject(subject, namespace)}")
                yield source, rules, error
                break


def authorize(policy: Policy, user: User, attrs: Attributes) -> tuple[bool, str]:
    """(allowed, reason): system:masters may do anything (kube-apiserver's privileged-group
    authorizer, ahead of RBAC); otherwise the first rule that allows, or the errors met."""
    if MASTERS in user.groups:
        return True, ""
    errors: list[str] = []
    for source, rules, error in visit(policy, user, attrs.namespace):
        if error:
            errors.append(error)
        if any(rule_allows(attrs, rule) for rule in rules):
            return True, f"RBAC: allowed by {source}"
    if not errors:
        return False, ""
    return False, "RBAC: " + (errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")


def rules_for(policy: Policy, user: User, namespace: str) -> tuple[list[dict], list[dict], list[str]]:
    """(resource rules, non-resource rules, errors) a user holds in a namespace, as
    SelfSubjectRulesReview reports them."""
    resource, non_resource, errors = [], [], []
    if MASTERS in user.groups:
        resource.append({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})
        non_resource.append({"verbs": ["*"], "nonResourceURLs": ["*"]})
    for _source, rules, error in visit(policy, user, namespace):
        if error:
            errors.append(error)
        for rule in rules:
            if rule.get("nonResourceURLs"):
                non_resource.append({"verbs": list(rule.get("verbs") or []),
                                     "nonResourceURLs": list(rule["nonResourceURLs"])})
            else:
                entry = {"verbs": list(rule.get("verbs") or []), "apiGroups": list(rule.get("apiGroups") or []),
                         "resources": list(rule.get("resources") or [])}
                if rule.get("resourceNames"):
                    entry["resourceNames"] = list(rule["resourceNames"])
                resource.append(entry)
    return resource, non_resource, errors


def forbidden_message(user: User, attrs: Attributes, reason: str = "") -> str:
    """responsewriters.Forbidden wrapped in apierrors.NewForbidden, as a 403 Status says it."""
    if not attrs.resource_request:
        text = f'forbidden: User "{user.name}" cannot {attrs.verb} path "{attrs.path}"'
    else:
        resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        where = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
        why = (f'User "{user.name}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.group}" '
               f"{where}")
        qualified = f"{attrs.resource}.{attrs.group}" if attrs.group else attrs.resource
        text = f'{qualified} "{attrs.name}" is forbidden: {why}' if attrs.name else f"{qualified} is forbidden: {why}"
    return f"{text}: {reason}" if reason else text
