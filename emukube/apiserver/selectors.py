"""Label and field selectors as list and watch take them (`labelSelector=app in (a,b),!canary`,
`fieldSelector=spec.nodeName=n1,status.phase!=Running`), with the API server's error wording."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .errors import ApiError, bad_request

# ---- label selectors ------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|>|<|[^\s!=(),<>]+)")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", ">", "<"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if value is None:
            return False
        try:  # ">" and "<" compare integers; a label that is not one does not match
            have, want = int(value), int(self.values[0])
        except (TypeError, ValueError):
            return False
        return have > want if self.op == ">" else have < want


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            raise _parse_error(f"unable to parse requirement: invalid character at position {pos}")
        out.append(m.group(1))
        pos = m.end()
    return out


def _parse_error(message: str) -> ApiError:
    return bad_request(message)


def parse_labels(text: str | None) -> list[Requirement]:
    """Parse a label selector; an empty one selects everything."""
    toks = _tokens(text or "")
    reqs: list[Requirement] = []
    i = 0

    def need(cond: bool, what: str):
        if not cond:
            raise _parse_error(f"unable to parse requirement: found '{toks[i] if i < len(toks) else ''}', "
                               f"expected: {what}")

    while i < len(toks):
        if toks[i] == "!":
            i += 1
            need(i < len(toks) and _is_word(toks[i]), "identifier after '!'")
            reqs.append(Requirement(toks[i], "!"))
            i += 1
        else:
            need(_is_word(toks[i]), "identifier")
            key = toks[i]
            i += 1
            if i >= len(toks) or toks[i] == ",":
                reqs.append(Requirement(key, "exists"))
            elif toks[i] in ("=", "==", "!=", ">", "<"):
                op = "=" if toks[i] == "==" else toks[i]
                i += 1
                value = ""
                if i < len(toks) and _is_word(toks[i]):
                    value = toks[i]
                    i += 1
                need(op not in (">", "<") or value.lstrip("-").isdigit(), "integer value")
                reqs.append(Requirement(key, op, (value,)))
            elif toks[i] in ("in", "notin"):
                op = toks[i]
                i += 1
                need(i < len(toks) and toks[i] == "(", "'('")
                i += 1
                values = []
                while i < len(toks) and toks[i] != ")":
                    if toks[i] == ",":
                        i += 1
                        continue
                    need(_is_word(toks[i]), "value")
                    values.append(toks[i])
                    i += 1
                need(i < len(toks), "')'")
                i += 1
                reqs.append(Requirement(key, op, tuple(values)))
            else:
                need(False, "'=', '!=', '==', 'in', notin'")
        if i < len(toks):
            need(toks[i] == ",", "','")
            i += 1
    return reqs


def _is_word(tok: str) -> bool:
    return tok not in ("!=", "==", "=", "!", "(", ")", ",", ">", "<")


def labels_match(reqs: list[Requirement], obj: dict) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(r.matches(labels) for r in reqs)


_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def selector_string(selector) -> str | None:
    """metav1.LabelSelectorAsSelector(sel).String() (Scale.status.selector, the printers'
    SELECTOR, the autoscaler's queries): requirements sorted by key, values sorted, "" for a nil
    or empty selector; None when the selector is invalid (an unknown operator)."""
    if not selector:
        return ""
    reqs = [(k, "=", [str(v)]) for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        op = _OPS.get(expr.get("operator"))
        if op is None:
            return None
        reqs.append((expr.get("key", ""), op, sorted(str(v) for v in expr.get("values") or [])))
    reqs.sort(key=lambda r: r[0])
    return ",".join(_requirement(key, op, values) for key, op, values in reqs)


def _requirement(key: str, op: str, values: list[str]) -> str:
    if op == "exists":
        return key
    if op == "!":
        return "!" + key
    if op == "=":
        return f"{key}={values[0]}"
    return f"{key} {op} ({','.join(values)})"


# ---- field selectors ------------------------------------------------------------------------------

def _path(*keys: str) -> Callable[[dict], str]:
    def get(obj: dict) -> str:
        cur: object = obj
        for k in keys:
            cur = cur.get(k) if isinstance(cur, dict) else None
        if cur is None:
            return ""
        if isinstance(cur, bool):
            return "true" if cur else "false"
        return str(cur)
    return get


_COMMON = {"metadata.name": _path("metadata", "name"), "metadata.namespace": _path("metadata", "namespace")}

_INVOLVED = {f"involvedObject.{f}": _path("involvedObject", f)
             for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")}
_EVENT_FIELDS = {**_INVOLVED, "reason": _path("reason"), "type": _path("type"),
                 "source": _path("source", "component"), "reportingComponent": _path("reportingComponent")}
# events.k8s.io/v1 names the same stored fields its own way
_EVENT_V1_FIELDS = {**_EVENT_FIELDS, **{f"regarding.{f}": _path("involvedObject", f)
                                        for f in ("kind", "namespace", "name", "uid", "apiVersion",
                                                  "resourceVersion", "fieldPath")},
                    "reportingController": _path("reportingComponent")}

FIELDS: dict[str, dict[str, Callable[[dict], str]]] = {
    "pods": {"spec.nodeName": _path("spec", "nodeName"), "spec.restartPolicy": _path("spec", "restartPolicy"),
             "spec.schedulerName": _path("spec", "schedulerName"),
             "spec.serviceAccountName": _path("spec", "serviceAccountName"),
             "spec.hostNetwork": lambda o: "true" if (o.get("spec") or {}).get("hostNetwork") else "false",
             "status.phase": _path("status", "phase"), "status.podIP": _path("status", "podIP"),
             "status.nominatedNodeName": _path("status", "nominatedNodeName")},
    "events": _EVENT_FIELDS,
    "events.events.k8s.io": _EVENT_V1_FIELDS,
    "secrets": {"type": _path("type")},
    "namespaces": {"status.phase": _path("status", "phase")},
    "nodes": {"spec.unschedulable": lambda o: "true" if (o.get("spec") or {}).get("unschedulable") else "false"},
    "replicasets.apps": {"status.replicas": _path("status", "replicas")},
    "services": {"spec.clusterIP": _path("spec", "clusterIP"), "spec.type": _path("spec", "type")},
    "certificatesigningrequests.certificates.k8s.io": {"spec.signerName": _path("spec", "signerName")},
}


@dataclass(frozen=True)
class FieldReq:
    field: str
    negate: bool
    value: str
    get: Callable[[dict], str]


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, cur, i = [], "", 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            cur += text[i:i + 2]
            i += 2
            continue
        if text[i] == sep:
            parts.append(cur)
            cur = ""
        else:
            cur += text[i]
        i += 1
    parts.append(cur)
    return parts


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def parse_fields(text: str | None, resource_key: str) -> list[FieldReq]:
    """Parse a field selector for a resource; unknown fields are a 400 as the API server says it."""
    if not text:
        return []
    known = {**_COMMON, **FIELDS.get(resource_key, {})}
    reqs = []
    for term in _split_unescaped(text, ","):
        if not term:
            continue
        m = re.match(r"^((?:[^=!\\]|\\.)*)(!=|==|=)(.*)$", term)
        if not m:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        field, op, value = m.group(1).strip(), m.group(2), _unescape(m.group(3))
        if field not in known:
            raise bad_request(f"field label not supported: {field}")
        reqs.append(FieldReq(field, op == "!=", value, known[field]))
    return reqs


def fields_match(reqs: list[FieldReq], obj: dict) -> bool:
    return all((r.get(obj) == r.value) != r.negate for r in reqs)


def exact_name(reqs: list[FieldReq]) -> str | None:
    """The name a `metadata.name=x` selector pins (kubectl's wait and watch of one object)."""
    return next((r.value for r in reqs if r.field == "metadata.name" and not r.negate), None)
