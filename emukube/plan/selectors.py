"""One requirement of a selector (a LabelSelector's matchExpressions, a NodeSelectorTerm's
expressions and fields, a quota's scope selector) against a set of labels. Pure."""

from __future__ import annotations


def holds(req: dict, labels: dict) -> bool:
    """In, NotIn, Exists, DoesNotExist; Gt and Lt (node selectors only) compare one integer.
    An unknown operator holds for nothing."""
    key, op, wanted = req.get("key", ""), req.get("operator", ""), req.get("values") or []
    present = key in labels
    if op == "In":
        return present and labels[key] in wanted
    if op == "NotIn":
        return not present or labels[key] not in wanted
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and len(wanted) == 1:
        try:
            have, limit = int(labels[key]), int(wanted[0])
        except ValueError:
            return False
        return have > limit if op == "Gt" else have < limit
    return False


def label_selector(selector: dict, labels: dict) -> bool:
    """A LabelSelector: every matchLabels pair and every matchExpressions requirement; an empty
    one matches everything (as a NetworkPolicy's podSelector {} does)."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    return all(holds(expr, labels) for expr in selector.get("matchExpressions") or [])
