"""The Swagger 2.0 document in protobuf: gnostic's openapi.v2.Document, as kube-apiserver serves it.

kubectl's client-side validation (`apply -f` of a `kind: List`, which no PATCH operation in /openapi/v3
vouches for) reads /openapi/v2 through client-go's OpenAPISchema(): it asks for
`application/com.github.proto-openapi.spec.v2@v1.0+protobuf` and proto.Unmarshals whatever comes back,
so JSON there fails with "proto: cannot parse invalid wire-format data".

The mapping is gnostic-models' (openapiv2/OpenAPIv2.proto for the field numbers, OpenAPIv2.go's
New<Message> for how the JSON fills them, which kube-openapi's ToProtoBinary uses): JSON maps become
repeated Named<Value>{name, value} in key order; `x-...` keys become `vendor_extension` NamedAny whose
Any.yaml holds the value's text (JSON, which is YAML: kube-openapi reads extensions back with
yaml.Unmarshal); `default`, `example` and each `enum` value are Any{yaml} too; `type` is a TypeItem,
`items` an ItemsItem, `additionalProperties` a oneof of a Schema or a boolean. Fields are written in
field-number order, zero scalars left out, as proto3's marshaller does.

A key the message has no field for is reported: `encode(strict=True)` (the tests) raises, the server
logs it and leaves the key out. Stdlib only: this runs inside the cluster's API server container."""

from __future__ import annotations

import json
import logging
import re
import struct
from typing import Any, Callable

# What client-go's OpenAPISchema() sends in Accept (its openAPIV2mimePb) is not a valid media type ("@"),
# so the answer names the other spelling, as kube-openapi's handler does: client-go's REST client runs
# mime.ParseMediaType on the response's Content-Type and fails on the "@" one ("unexpected content after
# media subtype"). Both are accepted.
MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
ACCEPTED = ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf", MEDIA_TYPE)

log = logging.getLogger(__name__)


class UnhandledKey(ValueError):
    """A key of the JSON document the protobuf message has no field for (strict encoding only)."""


# ---- wire format -----------------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64  # int64 as two's complement, ten bytes
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _delimited(key: bytes, payload: bytes) -> bytes:
    return key + _varint(len(payload)) + payload


# Characters a YAML double-quoted scalar must not hold raw (non-printables, its line breaks, the BOM);
# json.dumps(ensure_ascii=False) escapes only the C0 controls, "\\" and '"'.
_NOT_YAML = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


def _yaml_text(value) -> str:
    """The value as YAML text (flow style: JSON with ", " and ": ", which yaml.v2 and v3 both read)."""
    text = json.dumps(value, ensure_ascii=False)
    if not text.isascii() or "\x7f" in text:
        text = _NOT_YAML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text + "\n"


def _any(value) -> bytes:
    """An openapi.v2.Any: field 2 (yaml); field 1, a google.protobuf.Any, stays unset."""
    return _delimited(b"\x12", _yaml_text(value).encode())


# ---- messages ----------------------------------------------------------------------------------------
# A message's table: JSON key -> (field number, kind, argument). Kinds:
#   str, bool, double, int64      a scalar (left out when zero)
#   strs                          repeated string
#   any / anys                    Any / repeated Any (a JSON list)
#   msg / msgs                    a message / repeated message (a JSON list), argument its name
#   map                           a message whose field 1 is repeated Named<X>{name=1, value=2} for the
#                                 JSON object's entries; argument: X's name, or "any" / "str" / "strs"
#   type / items / extra          TypeItem / ItemsItem / AdditionalPropertiesItem
# _EXT: the field number of `repeated NamedAny vendor_extension` for the x-... keys.

_Table = dict[str, tuple[int, str, str | None]]

_PRIMITIVE_BASE: _Table = {  # PrimitivesItems and Header
    "type": (1, "str", None), "format": (2, "str", None), "items": (3, "msg", "PrimitivesItems"),
    "collectionFormat": (4, "str", None), "default": (5, "any", None), "maximum": (6, "double", None),
    "exclusiveMaximum": (7, "bool", None), "minimum": (8, "double", None), "exclusiveMinimum": (9, "bool", None),
    "maxLength": (10, "int64", None), "minLength": (11, "int64", None), "pattern": (12, "str", None),
    "maxItems": (13, "int64", None), "minItems": (14, "int64", None), "uniqueItems": (15, "bool", None),
    "enum": (16, "anys", None), "multipleOf": (17, "double", None)}


def _sub_schema(query_like: bool) -> _Table:
    """Header/Path (query_like False) and Query/FormData ParameterSubSchema: the same fields, the latter
    with allowEmptyValue at 5 and the rest one further."""
    head: _Table = {"required": (1, "bool", None), "in": (2, "str", None), "description": (3, "str", None),
                "name": (4, "str", None)}
    shift = 1 if query_like else 0
    if query_like:
        head["allowEmptyValue"] = (5, "bool", None)
    rest = ["type", "format", "items", "collectionFormat", "default", "maximum", "exclusiveMaximum", "minimum",
            "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "enum",
            "multipleOf"]
    for i, key in enumerate(rest):
        _, kind, arg = _PRIMITIVE_BASE[key]
        head[key] = (5 + shift + i, kind, arg)
    return head


_MESSAGES: dict[str, _Table] = {
    "Document": {
        "swagger": (1, "str", None), "info": (2, "msg", "Info"), "host": (3, "str", None),
        "basePath": (4, "str", None), "schemes": (5, "strs", None), "consumes": (6, "strs", None),
        "produces": (7, "strs", None), "paths": (8, "msg", "Paths"), "definitions": (9, "map", "Schema"),
        "parameters": (10, "map", "Parameter"), "responses": (11, "map", "Response"),
        "security": (12, "msgs", "SecurityRequirement"), "securityDefinitions": (13, "map", "SecurityDefinitionsItem"),
        "tags": (14, "msgs", "Tag"), "externalDocs": (15, "msg", "ExternalDocs")},
    "Info": {"title": (1, "str", None), "version": (2, "str", None), "description": (3, "str", None),
             "termsOfService": (4, "str", None), "contact": (5, "msg", "Contact"), "license": (6, "msg", "License")},
    "Contact": {"name": (1, "str", None), "url": (2, "str", None), "email": (3, "str", None)},
    "License": {"name": (1, "str", None), "url": (2, "str", None)},
    "ExternalDocs": {"description": (1, "str", None), "url": (2, "str", None)},
    "Tag": {"name": (1, "str", None), "description": (2, "str", None), "externalDocs": (3, "msg", "ExternalDocs")},
    "Xml": {"name": (1, "str", None), "namespace": (2, "str", None), "prefix": (3, "str", None),
            "attribute": (4, "bool", None), "wrapped": (5, "bool", None)},
    "Schema": {
        "$ref": (1, "str", None), "format": (2, "str", None), "title": (3, "str", None),
        "description": (4, "str", None), "default": (5, "any", None), "multipleOf": (6, "double", None),
        "maximum": (7, "double", None), "exclusiveMaximum": (8, "bool", None), "minimum": (9, "double", None),
        "exclusiveMinimum": (10, "bool", None), "maxLength": (11, "int64", None), "minLength": (12, "int64", None),
        "pattern": (13, "str", None), "maxItems": (14, "int64", None), "minItems": (15, "int64", None),
        "uniqueItems": (16, "bool", None), "maxProperties": (17, "int64", None),
        "minProperties": (18, "int64", None), "required": (19, "strs", None), "enum": (20, "anys", None),
        "additionalProperties": (21, "extra", None), "type": (22, "type", None), "items": (23, "items", None),
        "allOf": (24, "msgs", "Schema"), "properties": (25, "map", "Schema"), "discriminator": (26, "str", None),
        "readOnly": (27, "bool", None), "xml": (28, "msg", "Xml"), "externalDocs": (29, "msg", "ExternalDocs"),
        "example": (30, "any", None)},
    "FileSchema": {
        "format": (1, "str", None), "title": (2, "str", None), "description": (3, "str", None),
        "default": (4, "any", None), "required": (5, "strs", None), "type": (6, "str", None),
        "readOnly": (7, "bool", None), "externalDocs": (8, "msg", "ExternalDocs"), "example": (9, "any", None)},
    "PathItem": {
        "$ref": (1, "str", None), "get": (2, "msg", "Operation"), "put": (3, "msg", "Operation"),
        "post": (4, "msg", "Operation"), "delete": (5, "msg", "Operation"), "options": (6, "msg", "Operation"),
        "head": (7, "msg", "Operation"), "patch": (8, "msg", "Operation"),
        "parameters": (9, "msgs", "ParametersItem")},
    "Operation": {
        "tags": (1, "strs", None), "summary": (2, "str", None), "description": (3, "str", None),
        "externalDocs": (4, "msg", "ExternalDocs"), "operationId": (5, "str", None), "produces": (6, "strs", None),
        "consumes": (7, "strs", None), "parameters": (8, "msgs", "ParametersItem"),
        "responses": (9, "msg", "Responses"), "schemes": (10, "strs", None), "deprecated": (11, "bool", None),
        "security": (12, "msgs", "SecurityRequirement")},
    "JsonReference": {"$ref": (1, "str", None), "description": (2, "str", None)},
    "BodyParameter": {"description": (1, "str", None), "name": (2, "str", None), "in": (3, "str", None),
                      "required": (4, "bool", None), "schema": (5, "msg", "Schema")},
    "HeaderParameterSubSchema": _sub_schema(False),
    "PathParameterSubSchema": _sub_schema(False),
    "QueryParameterSubSchema": _sub_schema(True),
    "FormDataParameterSubSchema": _sub_schema(True),
    "PrimitivesItems": _PRIMITIVE_BASE,
    "Header": {**_PRIMITIVE_BASE, "description": (18, "str", None)},
    "Response": {"description": (1, "str", None), "schema": (2, "msg", "SchemaItem"),
                 "headers": (3, "map", "Header"), "examples": (4, "map", "any")},
    "BasicAuthenticationSecurity": {"type": (1, "str", None), "description": (2, "str", None)},
    "ApiKeySecurity": {"type": (1, "str", None), "name": (2, "str", None), "in": (3, "str", None),
                       "description": (4, "str", None)},
    "Oauth2ImplicitSecurity": {"type": (1, "str", None), "flow": (2, "str", None), "scopes": (3, "map", "str"),
                               "authorizationUrl": (4, "str", None), "description": (5, "str", None)},
    "Oauth2PasswordSecurity": {"type": (1, "str", None), "flow": (2, "str", None), "scopes": (3, "map", "str"),
                               "tokenUrl": (4, "str", None), "description": (5, "str", None)},
    "Oauth2ApplicationSecurity": {"type": (1, "str", None), "flow": (2, "str", None), "scopes": (3, "map", "str"),
                                  "tokenUrl": (4, "str", None), "description": (5, "str", None)},
    "Oauth2AccessCodeSecurity": {"type": (1, "str", None), "flow": (2, "str", None), "scopes": (3, "map", "str"),
                                 "authorizationUrl": (4, "str", None), "tokenUrl": (5, "str", None),
                                 "description": (6, "str", None)},
}

_EXT = {"Document": 16, "Info": 7, "Contact": 4, "License": 3, "ExternalDocs": 3, "Tag": 4, "Xml": 6, "Schema": 31,
        "FileSchema": 10, "PathItem": 10, "Operation": 13, "BodyParameter": 6, "HeaderParameterSubSchema": 22,
        "PathParameterSubSchema": 22, "QueryParameterSubSchema": 23, "FormDataParameterSubSchema": 23,
        "PrimitivesItems": 18, "Header": 19, "Response": 5, "BasicAuthenticationSecurity": 3, "ApiKeySecurity": 5,
        "Oauth2ImplicitSecurity": 6, "Oauth2PasswordSecurity": 6, "Oauth2ApplicationSecurity": 6,
        "Oauth2AccessCodeSecurity": 7}

# Messages whose JSON object is one map: (vendor_extension field or None, [(key pattern, field, value)]).
_WHOLE_MAPS: dict[str, tuple[int | None, list[tuple[re.Pattern, int, str]]]] = {
    "Paths": (1, [(re.compile(r"^/"), 2, "PathItem")]),
    "Responses": (2, [(re.compile(r"^([0-9]{3})$|^(default)$"), 1, "ResponseValue")]),
    "SecurityRequirement": (None, [(re.compile(""), 1, "strs")]),
}

_SECURITY = {("basic", None): (1, "BasicAuthenticationSecurity"), ("apiKey", None): (2, "ApiKeySecurity"),
             ("oauth2", "implicit"): (3, "Oauth2ImplicitSecurity"),
             ("oauth2", "password"): (4, "Oauth2PasswordSecurity"),
             ("oauth2", "application"): (5, "Oauth2ApplicationSecurity"),
             ("oauth2", "accessCode"): (6, "Oauth2AccessCodeSecurity")}
_NON_BODY = {"header": (1, "HeaderParameterSubSchema"), "formData": (2, "FormDataParameterSubSchema"),
             "query": (3, "QueryParameterSubSchema"), "path": (4, "PathParameterSubSchema")}


class _Encoder:
    def __init__(self, strict: bool):
        self.strict = strict
        self.dropped: list[str] = []
        # per message, in field-number order: (JSON key, encoder of the whole field, key included)
        self.plans: dict[str, list[tuple[str, Callable[[Any, str], bytes]]]] = {}
        self.oneofs: dict[str, Callable[[dict, str], bytes | None]] = {
            "ParametersItem": self._parameters_item, "Parameter": self._parameter,
            "ResponseValue": self._response_value, "SchemaItem": self._schema_item,
            "SecurityDefinitionsItem": self._security_item}

    def bad(self, where: str, why: str) -> None:
        if self.strict:
            raise UnhandledKey(f"{where}: {why}")
        self.dropped.append(f"{where}: {why}")

    # -- messages --

    def message(self, name: str, node, where: str) -> bytes | None:
        """The message's bytes (possibly empty), or None when node is not a JSON object (reported)."""
        if not isinstance(node, dict):
            self.bad(where, f"{name} wants an object, not {type(node).__name__}")
            return None
        special = self.oneofs.get(name)
        if special is not None:
            return special(node, where)
        if name in _WHOLE_MAPS:
            return self._whole_map(name, node, where)
        plan = self.plans.get(name) or self._plan(name)
        out = []
        seen = 0
        for key, encode in plan:
            if key in node:
                seen += 1
                out.append(encode(node[key], f"{where}.{key}"))
        if len(node) > seen:  # vendor extensions (the highest field number) or keys with no field
            fields, ext = _MESSAGES[name], _EXT.get(name)
            for key, value in node.items():
                if key in fields:
                    continue
                if ext is not None and key.startswith("x-"):
                    out.append(_delimited(_key(ext, 2), _named(key, _any(value))))
                else:
                    self.bad(where, f"{name} has no field for {key!r}")
        return b"".join(out)

    def _plan(self, name: str):
        plan = [(key, self._field(number, kind, arg))
                for key, (number, kind, arg) in sorted(_MESSAGES[name].items(), key=lambda kv: kv[1][0])]
        self.plans[name] = plan
        return plan

    def _field(self, number: int, kind: str, arg: str | None) -> Callable[[Any, str], bytes]:
        tag = _key(number, 2)
        if kind in ("bool", "int64", "double"):
            scalar = {"bool": self._bool, "int64": self._int64, "double": self._double}[kind]
            tag = _key(number, 1 if kind == "double" else 0)
            return lambda v, where: self._keyed(tag, scalar(v, where))
        if kind == "str":
            return lambda v, where: self._maybe(tag, self._str(v, where) or None)
        if kind == "strs":
            return lambda v, where: self._each(tag, v, where, self._str)
        if kind == "anys":
            return lambda v, where: self._each(tag, v, where, lambda x, w: _any(x))
        if kind == "msgs":
            return lambda v, where: self._each(tag, v, where, lambda x, w: self.message(str(arg), x, w))
        payload: Callable[[Any, str], bytes | None] = {
            "any": lambda v, where: _any(v),
            "msg": lambda v, where: self.message(str(arg), v, where),
            "map": lambda v, where: self._map(v, where, str(arg)),
            "type": self._type_item, "items": self._items_item, "extra": self._additional}[kind]
        return lambda v, where: self._maybe(tag, payload(v, where))

    @staticmethod
    def _keyed(tag: bytes, data: bytes | None) -> bytes:
        return b"" if data is None else tag + data

    @staticmethod
    def _maybe(tag: bytes, data: bytes | None) -> bytes:
        return b"" if data is None else _delimited(tag, data)

    # -- scalars: None for proto3's zero values (left out) and for values of the wrong type --

    def _str(self, value, where: str) -> bytes | None:
        if not isinstance(value, str):
            self.bad(where, f"wants a string, not {type(value).__name__}")
            return None
        return value.encode()

    def _bool(self, value, where: str) -> bytes | None:
        if not isinstance(value, bool):
            self.bad(where, f"wants a boolean, not {type(value).__name__}")
            return None
        return b"\x01" if value else None

    def _int64(self, value, where: str) -> bytes | None:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not -(1 << 63) <= value < 1 << 63:
            self.bad(where, f"wants an int64, not {value!r}")
            return None
        return _varint(value) if value else None

    def _double(self, value, where: str) -> bytes | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.bad(where, f"wants a number, not {value!r}")
            return None
        return struct.pack("<d", value) if value else None

    # -- repeated fields and maps --

    def _each(self, tag: bytes, values, where: str, encode: Callable[[Any, str], bytes | None]) -> bytes:
        if not isinstance(values, list):
            self.bad(where, f"wants a list, not {type(values).__name__}")
            return b""
        return b"".join(self._maybe(tag, encode(value, f"{where}[{i}]")) for i, value in enumerate(values))

    def _value(self, kind: str, value, where: str) -> bytes | None:
        """A Named<X>'s value: X a message, or Any / string / StringArray."""
        if kind == "any":
            return _any(value)
        if kind == "str":
            return self._str(value, where)
        if kind == "strs":
            return self._each(b"\x0a", value, where, self._str)
        return self.message(kind, value, where)

    def _map(self, node, where: str, kind: str) -> bytes | None:
        """A message whose field 1 holds the object's entries as Named<kind>, in the object's order."""
        if not isinstance(node, dict):
            self.bad(where, f"wants an object, not {type(node).__name__}")
            return None
        out = []
        for name, value in node.items():
            data = self._value(kind, value, f"{where}[{name!r}]")
            if data is not None:
                out.append(_delimited(b"\x0a", _named(name, data)))
        return b"".join(out)

    def _whole_map(self, name: str, node: dict, where: str) -> bytes:
        """Paths, Responses, SecurityRequirement: each key picks its field by pattern."""
        ext, patterns = _WHOLE_MAPS[name]
        out = []
        for key, value in node.items():
            if ext is not None and key.startswith("x-"):
                out.append((ext, _delimited(_key(ext, 2), _named(key, _any(value)))))
                continue
            for pattern, number, kind in patterns:
                if pattern.search(key):
                    data = self._value(kind, value, f"{where}[{key!r}]")
                    if data is not None:
                        out.append((number, _delimited(_key(number, 2), _named(key, data))))
                    break
            else:
                self.bad(where, f"{name} has no field for {key!r}")
        return b"".join(data for _, data in sorted(out, key=lambda pair: pair[0]))

    # -- Schema's own items --

    def _type_item(self, value, where: str) -> bytes | None:
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in values):
            self.bad(where, f"type wants a string or strings, not {value!r}")
            return None
        return b"".join(_delimited(b"\x0a", v.encode()) for v in values)

    def _items_item(self, value, where: str) -> bytes | None:
        data = self.message("Schema", value, where)  # gnostic's ItemsItem takes one schema, not a list
        return None if data is None else _delimited(b"\x0a", data)

    def _additional(self, value, where: str) -> bytes | None:
        if isinstance(value, bool):
            return b"\x10\x01" if value else b"\x10\x00"  # a oneof member is written even when false
        data = self.message("Schema", value, where)
        return None if data is None else _delimited(b"\x0a", data)

    # -- oneofs: the member is chosen as gnostic's New<Message> would --

    def _one(self, number: int, kind: str, node: dict, where: str) -> bytes | None:
        data = self.message(kind, node, where)
        return None if data is None else _delimited(_key(number, 2), data)

    def _parameters_item(self, node: dict, where: str) -> bytes | None:
        if "$ref" in node:
            return self._one(2, "JsonReference", node, where)
        return self._one(1, "Parameter", node, where)

    def _parameter(self, node: dict, where: str) -> bytes | None:
        place = node.get("in")
        if place == "body":
            return self._one(1, "BodyParameter", node, where)
        number, kind = _NON_BODY.get(place, (0, "")) if isinstance(place, str) else (0, "")
        if not number:
            self.bad(where, f"parameter with in={place!r}")
            return None
        inner = self._one(number, kind, node, where)
        return None if inner is None else _delimited(b"\x12", inner)

    def _response_value(self, node: dict, where: str) -> bytes | None:
        if "$ref" in node:
            return self._one(2, "JsonReference", node, where)
        return self._one(1, "Response", node, where)

    def _schema_item(self, node: dict, where: str) -> bytes | None:
        return self._one(1, "Schema", node, where)  # gnostic tries Schema first, and it takes any type

    def _security_item(self, node: dict, where: str) -> bytes | None:
        kind = node.get("type")
        choice = _SECURITY.get((kind, node.get("flow") if kind == "oauth2" else None))  # type: ignore[arg-type]
        if choice is None:
            self.bad(where, f"security definition of type {kind!r}")
            return None
        return self._one(choice[0], choice[1], node, where)


def _named(name: str, value: bytes) -> bytes:
    """A Named<X>{name = 1, value = 2}."""
    return _delimited(b"\x0a", name.encode()) + _delimited(b"\x12", value)


def encode(document: dict, strict: bool = False) -> bytes:
    """The wire bytes of the openapi.v2.Document for a Swagger 2.0 document (a dict). A key with no
    field raises UnhandledKey when strict; otherwise it is left out and logged."""
    encoder = _Encoder(strict)
    data = encoder.message("Document", document, "$")
    if encoder.dropped:
        log.warning("OpenAPI v2 protobuf: %d keys left out, first: %s", len(encoder.dropped), encoder.dropped[0])
    return data or b""


def wants_protobuf(accept: str | None) -> bool:
    """Whether the Accept header's most preferred media range we serve is the protobuf document (JSON
    wins for */*, application/* and application/json, as in kube-openapi's handler)."""
    ranges = []
    for order, item in enumerate((accept or "").split(",")):
        parts = [p.strip() for p in item.split(";")]
        quality = 1.0
        for param in parts[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if parts[0] and quality > 0:
            ranges.append((-quality, order, parts[0].lower()))
    for _, _, media in sorted(ranges):
        if media in ACCEPTED:
            return True
        if media in ("application/json", "application/*", "*/*"):
            return False
    return False


def v2() -> bytes:
    """The served v2 document in protobuf, encoded once and cached beside its JSON."""
    from . import openapi

    text = openapi.v2()  # outside _cached: its lock is not reentrant
    return openapi._cached("v2.pb", lambda: encode(json.loads(text)))
