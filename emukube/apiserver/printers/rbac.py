"""printRoleBinding and printClusterRoleBinding (Roles and ClusterRoles have no printer: the
API server's default NAME, CREATED AT)."""

from __future__ import annotations

from .format import since


def subjects_strings(subjects: list[dict]) -> tuple[list[str], list[str], list[str]]:
    """rbac.SubjectsStrings: users, groups and service accounts as namespace/name."""
    users, groups, accounts = [], [], []
    for subject in subjects or []:
        kind, name = subject.get("kind"), subject.get("name", "")
        if kind == "ServiceAccount":
            accounts.append(f"{subject.get('namespace', '')}/{name}")
        elif kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
    return users, groups, accounts


def binding_cells(binding: dict, now: float) -> list:
    ref = binding.get("roleRef") or {}
    users, groups, accounts = subjects_strings(binding.get("subjects") or [])
    return [(binding.get("metadata") or {}).get("name", ""), f"{ref.get('kind', '')}/{ref.get('name', '')}",
            since((binding.get("metadata") or {}).get("creationTimestamp"), now),
            ", ".join(users), ", ".join(groups), ", ".join(accounts)]
