"""x-kubernetes-validations: the CEL rules of a CRD's schema, as apiextensions-apiserver 0.35
checks them (pkg/apiserver/schema/cel/validation.go) when a custom resource is written, and as it
checks the rules themselves when the CRD is written (validation.go's ValidateCustomResourceDefinition).

A rule is evaluated at each non-null value its schema node holds, with `self` that value (at the
root: the object, its metadata only name and generateName) and, on update, `oldSelf` the value it
replaces, where the old object has one at the same place (object keys, and list-type map items by
their keys). A rule that names `oldSelf` (a transition rule) is skipped where there is none. A rule
that is not true fails with its message, messageExpression or `failed rule: RULE`, at the rule's
fieldPath, as the error its reason names. On update, a failure where the value did not change is a
warning only (validation ratcheting, on by default since 1.30).

CEL is cel.py's interpreter: no type-checking, so a rule that would not compile against the schema's
types on a cluster is refused only when it is evaluated."""

from __future__ import annotations

import json
import re
from typing import Any

from . import cel
from .cr_schema import go_value

_OLD_SELF = re.compile(r"\boldSelf\b")
_MISSING: Any = object()  # no correlated old value
REASONS = ["FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"]
# hasBlockingErr: schema errors after which the rules are not evaluated
_BLOCKING = (": Unsupported value:", ": Required value", ": Too long:", ": Too many:", "in body must be of type")
NOT_CHECKED = ('<nil>: Invalid value: "null": some validation rules were not checked because the object was '
               "invalid; correct the existing errors to complete validation")


# ---- the CRD's rules --------------------------------------------------------------------------

def _rule_json(rule: dict) -> str:
    """The internal ValidationRule as the CRD's errors print it: Go's json.Marshal of its fields
    (no JSON tags: Go's names; <, > and & escaped)."""
    fields = {"Rule": rule.get("rule") or "", "Message": rule.get("message") or "",
              "MessageExpression": rule.get("messageExpression") or "", "Reason": rule.get("reason"),
              "FieldPath": rule.get("fieldPath") or "", "OptionalOldSelf": rule.get("optionalOldSelf")}
    text = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def schema_problems(schema: dict, path: str) -> list[str]:
    """Every rule of `schema` (at `path`, e.g. spec.versions[0].schema.openAPIV3Schema) checked:
    what validation.go checks of it statically, and that its CEL parses."""
    out: list[str] = []
    _schema_problems(schema, path, out)
    return out


def _schema_problems(schema: dict, path: str, out: list[str]) -> None:
    if not isinstance(schema, dict):
        return
    for i, rule in enumerate(schema.get("x-kubernetes-validations") or []):
        if isinstance(rule, dict):
            _rule_problems(rule, f"{path}.x-kubernetes-validations[{i}]", out)
    for key, sub in (schema.get("properties") or {}).items():
        _schema_problems(sub, f"{path}.properties[{key}]", out)
    if isinstance(schema.get("items"), dict):
        _schema_problems(schema["items"], f"{path}.items", out)
    if isinstance(schema.get("additionalProperties"), dict):
        _schema_problems(schema["additionalProperties"], f"{path}.additionalProperties", out)
    for i, sub in enumerate(schema.get("allOf") or []):
        _schema_problems(sub, f"{path}.allOf[{i}]", out)


def _rule_problems(rule: dict, at: str, out: list[str]) -> None:
    text, message = rule.get("rule") or "", rule.get("message")
    if not text.strip():
        out.append(f"{at}.rule: Required value: rule is not specified")
    if message is not None and not message.strip():
        out.append(f"{at}.message: Invalid value: {go_value(message)}: must be non-empty if specified")
    elif message is not None and "\n" in message:
        out.append(f"{at}.message: Invalid value: {go_value(message)}: must not contain line breaks")
    elif message is None and "\n" in text:
        out.append(f"{at}.message: Required value: message must be specified if rule contains line breaks")
    if rule.get("messageExpression") is not None and not rule["messageExpression"].strip():
        out.append(f"{at}.messageExpression: Required value: messageExpression must be non-empty if specified")
    if rule.get("reason") is not None and rule["reason"] not in REASONS:
        quoted = ", ".join(f'"{r}"' for r in REASONS)
        out.append(f"{at}.reason: Unsupported value: {go_value(rule['reason'])}: supported values: {quoted}")
    field_path = rule.get("fieldPath")
    if field_path is not None and not field_path.strip():
        out.append(f"{at}.fieldPath: Invalid value: {go_value(field_path)}: must be non-empty if specified")
    if not text.strip():
        return
    if (problem := cel.compile_problem(text)) is not None:
        out.append(f"{at}.rule: Invalid value: {_rule_json(rule)}: {problem}")
    expression = rule.get("messageExpression")
    if expression and (problem := cel.compile_problem(expression)) is not None:
        out.append(f"{at}.messageExpression: Invalid value: {_rule_json(rule)}: messageExpression {problem}")
    if rule.get("optionalOldSelf") is not None and not _OLD_SELF.search(text):
        out.append(f"{at}.optionalOldSelf: Invalid value: {str(rule['optionalOldSelf']).lower()}: may not be set "
                   "if oldSelf is not used in rule")


# ---- a custom resource's write ----------------------------------------------------------------

def has_rules(schema: object) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("x-kubernetes-validations"):
        return True
    subs = list((schema.get("properties") or {}).values()) + list(schema.get("allOf") or [])
    subs += [schema[k] for k in ("items", "additionalProperties") if isinstance(schema.get(k), dict)]
    return any(has_rules(s) for s in subs)


def validate(obj: dict, old: dict | None, schema: dict, schema_errors: list[str]) -> tuple[list[str], list[str]]:
    """(errors, warnings) of the schema's rules for `obj` (replacing `old` on update).
    `schema_errors`: the schema validation's; one the API server holds blocking means no rule runs."""
    if not has_rules(schema):
        return [], []
    if any(marker in e for e in schema_errors for marker in _BLOCKING):
        return [NOT_CHECKED], []
    errors: list[str] = []
    warnings: list[str] = []
    root = {**obj, "metadata": {k: v for k, v in (obj.get("metadata") or {}).items() if k in ("name", "generateName")}}
    old_root = _MISSING if old is None else \
        {**old, "metadata": {k: v for k, v in (old.get("metadata") or {}).items() if k in ("name", "generateName")}}
    _Walk(errors, warnings, ratcheting=old is not None).node(root, old_root, schema, "", False, root=True)
    return errors, warnings


class _Walk:
    def __init__(self, errors: list[str], warnings: list[str], ratcheting: bool):
        self.errors, self.warnings, self.ratcheting = errors, warnings, ratcheting

    def node(self, value, old, schema: dict, path: str, parent_unchanged: bool, root: bool = False) -> None:
        if value is None or not isinstance(schema, dict):
            return
        unchanged = self.ratcheting and (value == old if old is not _MISSING else parent_unchanged)
        self.rules(value, old, schema, path or "<nil>", unchanged)
        for sub in schema.get("allOf") or []:
            self.node(value, _MISSING, sub, path, unchanged)
        if isinstance(value, dict):
            props = schema.get("properties") or {}
            more = schema.get("additionalProperties") if isinstance(schema.get("additionalProperties"), dict) else None
            for key, item in value.items():
                if root and key in ("metadata", "apiVersion", "kind"):
                    continue
                sub = props.get(key, more)
                if sub is None:
                    continue
                was = old.get(key, _MISSING) if isinstance(old, dict) else _MISSING
                self.node(item, was, sub, f"{path}.{key}" if path else key, unchanged)
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            keys = schema.get("x-kubernetes-list-map-keys") if schema.get("x-kubernetes-list-type") == "map" else None
            for i, item in enumerate(value):
                self.node(item, _old_item(item, old, keys), schema["items"], f"{path}[{i}]", unchanged)

    def rules(self, value, old, schema: dict, path: str, unchanged: bool) -> None:
        kind = schema.get("type") or ""
        for rule in schema.get("x-kubernetes-validations") or []:
            text = (rule.get("rule") or "").strip()
            if not text:
                continue
            transition = bool(_OLD_SELF.search(text))
            if transition and old is _MISSING:
                continue  # transition rules need an old value (optionalOldSelf's optional.none is not served)
            variables = {"self": value, **({"oldSelf": old} if transition else {})}
            shown = (rule.get("message") or "").strip() or text
            try:
                if cel.evaluate(text, variables) is True:
                    continue
            except cel.CelError as exc:
                problem = f"rule compile error: {exc}" if str(exc).startswith("compilation failed") else \
                    f"{exc} evaluating rule: {shown}"
                self.errors.append(f"{path}: Invalid value: {go_value(kind)}: {problem}")
                continue
            at = path
            if rule.get("fieldPath"):
                step = rule["fieldPath"].strip()
                at = f"{path}{step}" if path != "<nil>" else step.lstrip(".")
            error = _failure(rule, variables, at, value, kind)
            (self.warnings if unchanged and not transition else self.errors).append(error)


def _old_item(item, old, keys) -> Any:
    """The old list's item with the same map keys (list-type map); other lists do not correlate."""
    if not keys or not isinstance(old, list) or not isinstance(item, dict):
        return _MISSING
    wanted = [item.get(k) for k in keys]
    return next((o for o in old if isinstance(o, dict) and [o.get(k) for k in keys] == wanted), _MISSING)


def _failure(rule: dict, variables: dict, path: str, value, kind: str) -> str:
    detail = ""
    if rule.get("messageExpression"):
        try:
            text = cel.evaluate(rule["messageExpression"], variables)
            if isinstance(text, str) and text.strip() and "\n" not in text.strip():
                detail = text.strip()
        except cel.CelError:
            pass  # as the API server: logged, and the message (or the rule) said instead
    if not detail:
        message = (rule.get("message") or "").strip()
        detail = message or f"failed rule: {(rule.get('rule') or '').strip()}"
    reason = rule.get("reason")
    if reason == "FieldValueForbidden":
        return f"{path}: Forbidden: {detail}"
    if reason == "FieldValueRequired":
        return f"{path}: Required value: {detail}"
    shown = "" if kind in ("object", "array") else f"{go_value(value)}: "
    if reason == "FieldValueDuplicate":
        return f"{path}: Duplicate value" + (f": {go_value(value)}" if shown else "")
    return f"{path}: Invalid value: {shown}{detail}"
