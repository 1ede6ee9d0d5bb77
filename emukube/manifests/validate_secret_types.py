"""What a Secret's `type` requires of it (ValidateSecret in pkg/apis/core/validation), and what an
update of a Secret or ConfigMap may not change (its type; an immutable one's data), in the API
server's words: a service-account token names its account, TLS has a certificate and a key,
the docker config types hold well-formed JSON. Other types (Opaque, bootstrap tokens, a
vendor's own) require nothing."""

from __future__ import annotations

import base64
import binascii
import json

from ..k8s.token_secrets import ACCOUNT_NAME, SERVICE_ACCOUNT_TOKEN
from .fielderrors import FieldErrors, key_path

_JSON_KEYS = {"kubernetes.io/dockercfg": ".dockercfg", "kubernetes.io/dockerconfigjson": ".dockerconfigjson"}
REDACTED = "<secret contents redacted>"


def secret_keys(obj: dict) -> dict[str, bytes | None]:
    """Its data as the API server stores it, stringData folded in (None: a value not base64)."""
    out: dict[str, bytes | None] = {}
    for key, value in (obj.get("data") or {}).items() if isinstance(obj.get("data"), dict) else ():
        try:
            out[str(key)] = base64.b64decode(value, validate=True) if isinstance(value, str) else None
        except (binascii.Error, ValueError):
            out[str(key)] = None
    for key, value in (obj.get("stringData") or {}).items() if isinstance(obj.get("stringData"), dict) else ():
        out[str(key)] = value.encode() if isinstance(value, str) else None
    return out


def validate_secret_type(obj: dict, errs: FieldErrors) -> None:
    kind = obj.get("type")
    if not isinstance(kind, str):
        return
    data = secret_keys(obj)
    if kind == SERVICE_ACCOUNT_TOKEN:
        annotations = (obj.get("metadata") or {}).get("annotations")
        if not (annotations.get(ACCOUNT_NAME) if isinstance(annotations, dict) else None):
            errs.required(key_path("metadata.annotations", ACCOUNT_NAME))
    elif kind in _JSON_KEYS:
        key = _JSON_KEYS[kind]
        if key not in data:
            errs.required(key_path("data", key))
        elif data[key] is not None and (why := _json_error(data[key] or b"")):
            errs.invalid(key_path("data", key), None, why, shown=f'"{REDACTED}"')
    elif kind == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:  # either may be empty, one must be there
            errs.required(key_path("data", "username"))
            errs.required(key_path("data", "password"))
    elif kind == "kubernetes.io/ssh-auth":
        if not data.get("ssh-privatekey"):
            errs.required(key_path("data", "ssh-privatekey"))
    elif kind == "kubernetes.io/tls":
        for key in ("tls.crt", "tls.key"):
            if key not in data:
                errs.required(key_path("data", key))


def _json_error(raw: bytes) -> str:
    """Go's encoding/json words for what json.Unmarshal into a map refuses, "" when it takes it
    (the commonest of them; an error deep in a document is worded as at its start)."""
    text = raw.decode(errors="replace").strip()
    try:
        value = json.loads(text)
    except ValueError as exc:
        pos = getattr(exc, "pos", 0)
        for literal in ("null", "true", "false"):
            if text[pos:pos + 1] == literal[0]:
                for i, c in enumerate(text[pos:pos + len(literal)]):
                    if c != literal[i]:
                        return f"invalid character {_go_char(c)} in literal {literal} (expecting '{literal[i]}')"
                if len(text) - pos < len(literal):
                    return "unexpected end of JSON input"
        if pos >= len(text):
            return "unexpected end of JSON input"
        return f"invalid character {_go_char(text[pos])} looking for beginning of value"
    if isinstance(value, dict) or value is None:
        return ""
    kinds = {list: "array", str: "string", bool: "bool", int: "number", float: "number"}
    return f"json: cannot unmarshal {kinds.get(type(value), 'value')} into Go value of type map[string]interface {{}}"


def _go_char(c: str) -> str:
    return f"'{c}'" if c.isprintable() and c != "'" else repr(c)


IMMUTABLE_SET = "field is immutable when `immutable` is set"


def config_update_problems(kind: str, obj: dict, old: dict) -> list[str]:
    """ValidateSecretUpdate / ValidateConfigMapUpdate, before the object's own checks: a
    Secret's type stays, and an immutable one's data (and the flag itself) too."""
    errs = FieldErrors()
    if kind == "Secret" and (obj.get("type") or "Opaque") != (old.get("type") or "Opaque"):
        errs.invalid("type", obj.get("type") or "Opaque", "field is immutable")
    if old.get("immutable") is True:
        if obj.get("immutable") is not True:
            errs.forbidden("immutable", IMMUTABLE_SET)
        for field in ("data",) if kind == "Secret" else ("data", "binaryData"):
            if (obj.get(field) or {}) != (old.get(field) or {}):
                errs.forbidden(field, IMMUTABLE_SET)
    return errs.items
