"""What kube-apiserver's CertificateSigningRequest strategies (pkg/registry/certificates/
certificates/strategy.go) do to an object before validating it: who asked is recorded on create,
and updates change only what their endpoint owns. Pure: the caller stores the result."""

from __future__ import annotations

import copy

# The requester's fields: UserInfo and the spec name them alike.
_REQUESTOR = ("username", "uid", "groups", "extra")


def requestor_fields(spec: dict, user_info: dict) -> dict:
    """PrepareForCreate: the spec with username, uid, groups and extra taken from the requester's
    authentication/v1 UserInfo, whatever the client wrote there; empty ones are left out, as Go's
    omitempty leaves them."""
    out = {k: v for k, v in spec.items() if k not in _REQUESTOR}
    out.update({k: copy.deepcopy(user_info[k]) for k in _REQUESTOR if user_info.get(k)})
    return out


def prepare_for_update(new: dict, old: dict, subresource: str, now: str) -> dict:
    """PrepareForUpdate of the strategy for `subresource` ("" for the object itself, "status" or
    "approval"): `new` as it is validated and stored. The spec never changes. A plain update keeps
    the status too; /status keeps the Approved and Denied conditions (when as many are asked for),
    /approval keeps the certificate and takes only the conditions. now: RFC 3339, for conditions
    that come without their times."""
    out = copy.deepcopy(new)
    out["spec"] = copy.deepcopy(old.get("spec") or {})
    before = old.get("status") or {}
    if not subresource:
        out["status"] = copy.deepcopy(before)
        return out
    status = out["status"] = dict(out.get("status") or {})
    conditions = status["conditions"] = [dict(c) for c in status.get("conditions") or [] if isinstance(c, dict)]
    if subresource == "status":
        for kind in ("Approved", "Denied"):
            _keep_instances(conditions, before.get("conditions") or [], kind)
    _stamp(conditions, before.get("conditions") or [], now)
    if subresource == "approval":
        out["status"] = {**copy.deepcopy(before), "conditions": conditions}
    if not out["status"].get("conditions"):
        out["status"].pop("conditions", None)  # omitempty
    return out


def _keep_instances(conditions: list[dict], before: list, kind: str) -> None:
    """preserveConditionInstances: the stored conditions of this type replace the new ones, in
    order, when there are as many; else they stay, for validation to refuse."""
    new_at = [i for i, c in enumerate(conditions) if c.get("type") == kind]
    old = [c for c in before if isinstance(c, dict) and c.get("type") == kind]
    if len(new_at) == len(old):
        for i, condition in zip(new_at, old):
            conditions[i] = copy.deepcopy(condition)


def _stamp(conditions: list[dict], before: list, now: str) -> None:
    """populateConditionTimestamps: a missing lastUpdateTime is now; a missing lastTransitionTime
    is that of a stored condition of the same type and status, else now."""
    for condition in conditions:
        if not condition.get("lastUpdateTime"):
            condition["lastUpdateTime"] = now
        if condition.get("lastTransitionTime"):
            continue
        same = next((c.get("lastTransitionTime") for c in before if isinstance(c, dict)
                     and (c.get("type"), c.get("status")) == (condition.get("type"), condition.get("status"))
                     and c.get("lastTransitionTime")), None)
        condition["lastTransitionTime"] = same or now
