"""The Kubernetes type definitions (kubernetes-validate's _definitions.json for 1.35), read lazily.

The file is 1.5 MB of JSON; parsed whole it costs over 10 MB of Python objects, and the API server
must idle small. So it is indexed once (where each definition starts and ends) and left in the
file, which is ASCII: a definition is read and parsed when asked for. Patches, apply and
unknown-field checks use a structural copy (no descriptions or enums) cached per definition;
OpenAPI documents parse full definitions one at a time and keep only their serialized bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading

CONTAINER_PATH = "/opt/emukube/schema/_definitions.json"
REF_PREFIX = "#/$defs/"

_lock = threading.Lock()
_path = ""
_text: str | None = None  # only for a file that is not ASCII (offsets are characters, not bytes)
_index: dict[str, tuple[int, int]] | None = None
_structural: dict[str, dict] = {}

# The keys that matter for merging and field checks; the rest (descriptions above all) stays in the file.
_STRUCTURAL_KEYS = ("properties", "items", "additionalProperties", "$ref", "type", "oneOf",
                    "x-kubernetes-patch-merge-key", "x-kubernetes-patch-strategy",
                    "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type",
                    "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string")


def definitions_path() -> str:
    """EMUKUBE_SCHEMA, else the copy in the API server's image, else the installed kubernetes_validate's."""
    env = os.environ.get("EMUKUBE_SCHEMA")
    if env:
        return env
    if os.path.exists(CONTAINER_PATH):
        return CONTAINER_PATH
    import importlib.util

    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"no schema: set EMUKUBE_SCHEMA or provide {CONTAINER_PATH}")
    base = list(spec.submodule_search_locations)[0]
    return os.path.join(base, "kubernetes-json-schema", "v1.35.0-local", "_definitions.json")


def _skip_ws(text: str, i: int) -> int:
    while text[i] in " \t\r\n":
        i += 1
    return i


def _build_index(text: str) -> dict[str, tuple[int, int]]:
    """Offsets of each definition's JSON value inside the "$defs" object, found with raw_decode."""
    decoder = json.JSONDecoder()
    i = text.index('"$defs"')
    i = _skip_ws(text, i + len('"$defs"'))
    assert text[i] == ":"
    i = _skip_ws(text, i + 1)
    assert text[i] == "{"
    i = _skip_ws(text, i + 1)
    index: dict[str, tuple[int, int]] = {}
    while text[i] != "}":
        name, i = decoder.raw_decode(text, i)
        i = _skip_ws(text, i)
        assert text[i] == ":"
        start = _skip_ws(text, i + 1)
        _, end = decoder.raw_decode(text, start)
        index[name] = (start, end)
        i = _skip_ws(text, end)
        if text[i] == ",":
            i = _skip_ws(text, i + 1)
    return index


def _load() -> dict[str, tuple[int, int]]:
    global _path, _text, _index
    if _index is None:
        with _lock:
            if _index is None:
                _path = definitions_path()
                with open(_path, encoding="utf-8") as f:
                    text = f.read()
                _text = None if text.isascii() else text
                _index = _build_index(text)
    return _index


def digest() -> str:
    """SHA-512 of the definitions file, as hex."""
    _load()
    with open(_path, "rb") as f:
        return hashlib.sha512(f.read()).hexdigest()


def names() -> list[str]:
    return list(_load())


def has(name: str) -> bool:
    return name in _load()


def raw(name: str) -> dict:
    """A fresh, full parse of one definition (descriptions included); not cached."""
    start, end = _load()[name]
    if _text is not None:
        return json.loads(_text[start:end])
    with open(_path, "rb") as f:
        f.seek(start)
        return json.loads(f.read(end - start))


def ref_name(ref: str) -> str:
    return ref[len(REF_PREFIX):] if ref.startswith(REF_PREFIX) else ref.rsplit("/", 1)[-1]


def _strip(node):
    if isinstance(node, list):
        return [_strip(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key in _STRUCTURAL_KEYS:
        if key not in node:
            continue
        value = node[key]
        if key == "properties":
            out[key] = {k: _strip(v) for k, v in value.items()}
        elif key == "type":
            out[key] = primary_type(value)
        else:
            out[key] = _strip(value)
    return out


def strip_descriptions(node):
    """The structural copy of a schema given whole (a CRD's)."""
    return _strip(node)


def structural(name: str) -> dict:
    """One definition without descriptions, cached: what merging and field checks walk."""
    node = _structural.get(name)
    if node is None:
        node = _structural[name] = _strip(raw(name))
    return node


def resolve(schema: dict | None) -> dict:
    """Follows a $ref (structural copy); {} for no schema."""
    if not schema:
        return {}
    ref = schema.get("$ref")
    if ref:
        merged = dict(structural(ref_name(ref)))
        # Extensions sit beside the $ref on the referring property (patch strategy of `strategy`).
        for key, value in schema.items():
            if key != "$ref":
                merged.setdefault(key, value)
        return merged
    return schema


def for_resource(resource) -> dict:
    custom = getattr(resource, "structural", None)  # a custom resource's, from its CRD
    return custom if custom is not None else structural(resource.definition)


def primary_type(value) -> str | None:
    """["string","null"] -> "string"."""
    if isinstance(value, list):
        rest = [t for t in value if t != "null"]
        return rest[0] if rest else None
    return value


def field(schema: dict, key: str) -> dict | None:
    """The (resolved) schema of an object's field or map value; None when the schema does not know it."""
    schema = resolve(schema)
    props = schema.get("properties")
    if props is not None and key in props:
        return resolve(props[key])
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        return resolve(extra)
    return None


def items(schema: dict) -> dict:
    return resolve(resolve(schema).get("items"))


def is_free_form(schema: dict) -> bool:
    """Any content is allowed below this schema (maps of strings are checked by their value type)."""
    schema = resolve(schema)
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return True
    if "properties" in schema or "items" in schema or "additionalProperties" in schema:
        return False
    return schema.get("type") in (None, "object")
