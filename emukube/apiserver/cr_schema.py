"""A custom resource against its CRD's openAPIV3Schema, in the order the API server takes them:
unknown fields pruned (unless x-kubernetes-preserve-unknown-fields), defaults filled in, then
validation with apiextensions-apiserver's wording (kube-openapi's validate errors turned into
field errors by ValidateCustomResource: `spec.replicas: Invalid value: "string": spec.replicas in
body must be of type integer: "string"`, `spec.x: Required value`). CEL rules
(x-kubernetes-validations) are cr_rules.py's; the `format`s kube-apiserver 1.35 keeps are checked
with cr_formats.py (the others it blanks, so they are ignored)."""

from __future__ import annotations

import copy
import json
import re

from ..plan.downward import quote
from . import cr_formats

_ROOT_KEPT = ("apiVersion", "kind", "metadata")


# --- pruning ----------------------------------------------------------------------------------


def prune(obj: dict, schema: dict) -> None:
    """Drops what the schema does not declare, in place (apiVersion, kind, metadata always stay)."""
    for key in list(obj):
        if key in _ROOT_KEPT:
            continue
        props = schema.get("properties") or {}
        if key in props:
            obj[key] = _pruned(obj[key], props[key])
        elif isinstance(schema.get("additionalProperties"), dict):
            obj[key] = _pruned(obj[key], schema["additionalProperties"])
        elif not schema.get("x-kubernetes-preserve-unknown-fields"):
            del obj[key]


def _pruned(value, schema: dict):
    if isinstance(value, dict):
        if schema.get("x-kubernetes-embedded-resource"):
            kept = {k: value[k] for k in _ROOT_KEPT if k in value}
            prune(value, schema)
            value.update(kept)
            return value
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key in list(value):
            if props and key in props:
                value[key] = _pruned(value[key], props[key])
            elif isinstance(extra, dict):
                value[key] = _pruned(value[key], extra)
            elif extra is True or schema.get("x-kubernetes-preserve-unknown-fields"):
                continue
            elif props is not None or schema.get("type") == "object":
                del value[key]
        return value
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_pruned(item, schema["items"]) for item in value]
    return value


# --- defaults ---------------------------------------------------------------------------------


def default(value, schema: dict):
    """Fills in `default`s of absent properties (and of list items and map values), in place."""
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                default(value[key], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in value:
                if key not in (schema.get("properties") or {}):
                    default(value[key], extra)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            default(item, schema["items"])
    return value


# --- validation -------------------------------------------------------------------------------


def _type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _fits(value, wanted: str) -> bool:
    got = _type_name(value)
    return got == wanted or (wanted == "number" and got == "integer")


def go_value(value) -> str:
    """A value as apimachinery's field.Error prints it (strings quoted, numbers bare)."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _number(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def validate(obj: dict, schema: dict) -> list[str]:
    """Field errors as `path: message`, root properties only (metadata is the API server's own)."""
    out: list[str] = []
    for key, sub in (schema.get("properties") or {}).items():
        if key in ("metadata", "apiVersion", "kind"):
            continue
        if key in obj:
            _check(obj[key], sub, key, out)
    for key in schema.get("required") or []:
        if key not in obj and key not in ("metadata", "apiVersion", "kind"):
            out.append(f"{key}: Required value")
    return out


def _invalid(path: str, value, message: str) -> str:
    return f"{path}: Invalid value: {go_value(value)}: {message}"


def _check(value, schema: dict, path: str, out: list[str]) -> None:
    if value is None:
        if schema.get("nullable"):
            return
        if schema.get("type"):
            out.append(_invalid(path, "null", f'{path} in body must be of type {schema["type"]}: "null"'))
        return
    wanted = schema.get("type")
    fmt = _format(schema)
    if fmt and not isinstance(value, (str, list)) and _format_type_error(value, schema, fmt, path, out):
        return
    if schema.get("x-kubernetes-int-or-string"):
        if _type_name(value) not in ("integer", "string"):
            out.append(_invalid(path, _type_name(value), f'{path} in body must be of type integer,string: '
                                                          f'"{_type_name(value)}"'))
            return
    elif fmt and isinstance(value, (str, list)) and wanted not in ("integer", "number"):
        pass  # kube-openapi's typeValidator lets a string or a list through when a format is set
    elif wanted and not _fits(value, wanted):
        got = _type_name(value)
        out.append(_invalid(path, got, f'{path} in body must be of type {wanted}: "{got}"'))
        if isinstance(value, str):
            _check_format(value, schema, path, out)  # its formatValidator still runs
        return
    _check_enum(value, schema, path, out)
    if isinstance(value, str):
        _check_string(value, schema, path, out)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(value, schema, path, out)
    elif isinstance(value, list):
        _check_array(value, schema, path, out)
    elif isinstance(value, dict):
        _check_object(value, schema, path, out)


def _check_enum(value, schema: dict, path: str, out: list[str]) -> None:
    enum = schema.get("enum")
    if enum and value not in enum:
        values = ", ".join(json.dumps(v if isinstance(v, str) else json.dumps(v)) for v in enum)
        out.append(f"{path}: Unsupported value: {go_value(value)}: supported values: {values}")


def _check_string(value: str, schema: dict, path: str, out: list[str]) -> None:
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        out.append(f"{path}: Too long: may not be more than {schema['maxLength']} bytes")
    if "minLength" in schema and len(value) < schema["minLength"]:
        out.append(_invalid(path, value, f"{path} in body should be at least {schema['minLength']} chars long"))
    pattern = schema.get("pattern")
    if pattern and re.search(pattern, value) is None:
        out.append(_invalid(path, value, f"{path} in body should match '{pattern}'"))
    _check_format(value, schema, path, out)


def _format(schema: dict) -> str | None:
    """The schema's `format` when kube-apiserver validates it (it blanks every other one)."""
    fmt = schema.get("format")
    return fmt if isinstance(fmt, str) and cr_formats.is_validated(fmt) else None


def _check_format(value: str, schema: dict, path: str, out: list[str]) -> None:
    """kube-openapi's formatValidator: errors.InvalidType(path, "body", format, value), which
    apiextensions-apiserver makes a field.TypeInvalid (printed "Invalid value"); the format is
    named as the schema spells it, the value %q-quoted in both places."""
    fmt = _format(schema)
    if fmt and cr_formats.check(value, fmt) is False:
        out.append(f"{path}: Invalid value: {quote(value)}: {path} in body must be of type {fmt}: {quote(value)}")


def _format_type_error(value, schema: dict, fmt: str, path: str, out: list[str]) -> bool:
    """kube-openapi's typeValidator for a non-string, non-list value under a format: unless the
    value fits the schema's type, the error names the format and the Go type the JSON decoder
    gave the value (int64, float64; nothing for a boolean or an object)."""
    types = (["integer", "string"] if schema.get("x-kubernetes-int-or-string")
             else [schema["type"]] if schema.get("type") else [])
    if isinstance(value, bool):
        kind, go_type = "boolean", ""
    elif isinstance(value, int):
        kind, go_type = "integer", "int64"
    elif isinstance(value, float):
        kind, go_type = "number", "float64"
    else:
        kind, go_type = "object", ""
    if (kind in types or (kind == "integer" and "number" in types)
            or (kind == "number" and value.is_integer() and "integer" in types)):
        return False
    out.append(f"{path}: Invalid value: {quote(go_type)}: {path} in body must be of type {fmt}: {quote(go_type)}")
    return True


def _check_number(value, schema: dict, path: str, out: list[str]) -> None:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None:
        if schema.get("exclusiveMinimum") and value <= low:
            out.append(_invalid(path, value, f"{path} in body should be greater than {_number(low)}"))
        elif value < low:
            out.append(_invalid(path, value, f"{path} in body should be greater than or equal to {_number(low)}"))
    if high is not None:
        if schema.get("exclusiveMaximum") and value >= high:
            out.append(_invalid(path, value, f"{path} in body should be less than {_number(high)}"))
        elif value > high:
            out.append(_invalid(path, value, f"{path} in body should be less than or equal to {_number(high)}"))
    step = schema.get("multipleOf")
    if step and (value / step) != int(value / step):
        out.append(_invalid(path, value, f"{path} in body should be a multiple of {_number(step)}"))


def _check_array(value: list, schema: dict, path: str, out: list[str]) -> None:
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        out.append(f"{path}: Too many: {len(value)}: must have at most {schema['maxItems']} items")
    if "minItems" in schema and len(value) < schema["minItems"]:
        out.append(_invalid(path, len(value), f"{path} in body should have at least {schema['minItems']} items"))
    if schema.get("uniqueItems") or schema.get("x-kubernetes-list-type") == "set":
        seen = set()
        for i, item in enumerate(value):
            key = json.dumps(item, sort_keys=True)
            if key in seen:
                out.append(f"{path}[{i}]: Duplicate value: {go_value(item)}")
            seen.add(key)
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            _check(item, items, f"{path}[{i}]", out)


def _check_object(value: dict, schema: dict, path: str, out: list[str]) -> None:
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        if key in props:
            _check(item, props[key], f"{path}.{key}", out)
        elif isinstance(extra, dict):
            _check(item, extra, f"{path}.{key}", out)
    for key in schema.get("required") or []:
        if key not in value:
            out.append(f"{path}.{key}: Required value")
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        out.append(f"{path}: Too many: {len(value)}: must have at most {schema['maxProperties']} items")
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        out.append(_invalid(path, len(value), f"{path} in body should have at least "
                                              f"{schema['minProperties']} properties"))
